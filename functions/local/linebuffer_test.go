package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// writes records each Write it receives.
type writes struct {
	mu sync.Mutex
	w  []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.w = append(w.w, string(p))
	return len(p), nil
}

func (w *writes) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.w...)
}

func TestLineBufferBatchesWholeLines(t *testing.T) {
	var out writes
	b := newLineBuffer(&out)
	for i := range 100 {
		if n, err := b.Write([]byte(strings.Repeat("x", i) + "\n")); err != nil || n != i+1 {
			t.Fatalf("Write: %d %v", n, err)
		}
	}
	if got := out.all(); len(got) != 0 {
		t.Fatalf("written before any flush: %d writes", len(got))
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	got := out.all()
	if len(got) != 1 || strings.Count(got[0], "\n") != 100 {
		t.Fatalf("Flush: %d writes, want 1 of 100 lines", len(got))
	}
	if err := b.Flush(); err != nil || len(out.all()) != 1 {
		t.Fatal("an empty Flush wrote")
	}
}

func TestLineBufferFlushesOnItsOwn(t *testing.T) {
	var out writes
	b := newLineBuffer(&out)
	b.Write([]byte("one\n"))
	deadline := time.Now().Add(10 * time.Second)
	for len(out.all()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a buffered line was never written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := out.all(); len(got) != 1 || got[0] != "one\n" {
		t.Fatalf("%q", got)
	}
	// The timer is armed again by the next line.
	b.Write([]byte("two\n"))
	for len(out.all()) == 1 {
		if time.Now().After(deadline) {
			t.Fatal("the second line was never written")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLineBufferNeverSplitsAWrite(t *testing.T) {
	var out writes
	b := newLineBuffer(&out)
	line := strings.Repeat("a", 1000) + "\n"
	for range lineBufferSize/len(line) + 5 {
		b.Write([]byte(line))
	}
	huge := strings.Repeat("h", lineBufferSize+10) + "\n"
	b.Write([]byte(huge))
	b.Flush()
	got := out.all()
	if len(got) != 3 || got[2] != huge {
		t.Fatalf("%d writes; the last is the oversized line: %v", len(got), len(got) > 0 && got[len(got)-1] == huge)
	}
	for _, w := range got[:2] {
		if len(w)%len(line) != 0 || len(w) > lineBufferSize {
			t.Fatalf("a write of %d bytes: not whole lines within the buffer", len(w))
		}
	}
}

func TestFlushFirstKeepsOrder(t *testing.T) {
	var out bytes.Buffer
	b := newLineBuffer(&out)
	b.Write([]byte("logged\n"))
	flushFirst{b, &out}.Write([]byte("storagegate: message\n"))
	if out.String() != "logged\nstoragegate: message\n" {
		t.Fatalf("%q", out.String())
	}
}
