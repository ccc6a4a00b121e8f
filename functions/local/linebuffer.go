package main

import (
	"io"
	"sync"
	"time"
)

// How `storagegate serve` batches its log lines (the per-request audit line
// above all): written at most lineFlushAfter after the first unwritten one,
// as soon as lineBufferSize would overflow, and on shutdown. Under load one
// write(2) then carries hundreds of lines instead of one each; the cost is
// that a SIGKILL loses the last lineFlushAfter of lines. The cloud
// functions write unbuffered: a Lambda may be frozen right after answering.
const (
	lineFlushAfter = 100 * time.Millisecond
	lineBufferSize = 64 << 10
)

// lineBuffer is an io.Writer of whole lines (each Write is one or more
// complete lines, as slog and the audit line write them), safe for
// concurrent use. It never splits a Write across two writes to w, so its
// lines never interleave with another writer's.
//
// bufio.Writer is not enough: it splits a Write that does not fit, and has
// no timer. zap's BufferedWriteSyncer is this, but would bring zap for 60
// lines.
type lineBuffer struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	armed bool // the timer will flush buf
	timer *time.Timer
}

func newLineBuffer(w io.Writer) *lineBuffer {
	b := &lineBuffer{w: w, buf: make([]byte, 0, lineBufferSize)}
	b.timer = time.AfterFunc(time.Hour, func() { _ = b.Flush() })
	b.timer.Stop()
	return b
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > cap(b.buf) {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > cap(b.buf) {
			return b.w.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	if !b.armed {
		b.armed = true
		b.timer.Reset(lineFlushAfter)
	}
	return len(p), nil
}

// Flush writes what is buffered now.
func (b *lineBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *lineBuffer) flushLocked() error {
	b.armed = false
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}
