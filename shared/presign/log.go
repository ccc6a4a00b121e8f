package presign

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// logRecord is the one line logged per request: the audit record of who
// read which object. Ids, bucket, key, expiry; never tokens, secrets or
// signatures (the signed URL is not logged).
type logRecord struct {
	rid, method, path string
	status            int
	user, company     string
	bucket, key       string
	urls              int
	expires           time.Time
	err               string // the cause of a 5xx, for operators
}

func (h *Handler) logRequest(ctx context.Context, rec *logRecord) {
	if h.audit != nil {
		h.writeAudit(rec)
		return
	}
	var buf [11]slog.Attr // every attribute fits: no growth on the hot path
	attrs := append(buf[:0],
		slog.String("request_id", rec.rid),
		slog.String("method", rec.method),
		slog.String("path", rec.path),
		slog.Int("status", rec.status),
	)
	if rec.user != "" {
		attrs = append(attrs, slog.String("user", rec.user), slog.String("company", rec.company))
	}
	if rec.bucket != "" {
		attrs = append(attrs, slog.String("bucket", rec.bucket), slog.String("key", rec.key))
	}
	if rec.urls > 0 {
		attrs = append(attrs, slog.Int("urls", rec.urls))
	}
	if rec.err != "" {
		attrs = append(attrs, slog.String("error", rec.err))
	}
	if !rec.expires.IsZero() {
		attrs = append(attrs, slog.Time("expires_at", rec.expires))
	}
	level := slog.LevelInfo
	if rec.status >= 500 {
		level = slog.LevelError
	}
	h.log.LogAttrs(ctx, level, "presign", attrs...)
}

// auditBufs are the line buffers of writeAudit.
var auditBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeAudit writes the same line as slog's JSONHandler would, built by
// hand into a pooled buffer and written in one call: a third of a cached
// request's CPU went to slog.
func (h *Handler) writeAudit(rec *logRecord) {
	bp := auditBufs.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":"`...)
	now := time.Now()
	if localIsUTC {
		now = now.UTC() // the same text, on the fast path
	}
	b = appendTime(b, now, true)
	if rec.status >= 500 {
		b = append(b, `","level":"ERROR","msg":"presign","request_id":`...)
	} else {
		b = append(b, `","level":"INFO","msg":"presign","request_id":`...)
	}
	b = appendJSONString(b, rec.rid)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, rec.method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, rec.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(rec.status), 10)
	if rec.user != "" {
		b = append(b, `,"user":`...)
		b = appendJSONString(b, rec.user)
		b = append(b, `,"company":`...)
		b = appendJSONString(b, rec.company)
	}
	if rec.bucket != "" {
		b = append(b, `,"bucket":`...)
		b = appendJSONString(b, rec.bucket)
		b = append(b, `,"key":`...)
		b = appendJSONString(b, rec.key)
	}
	if rec.urls > 0 {
		b = append(b, `,"urls":`...)
		b = strconv.AppendInt(b, int64(rec.urls), 10)
	}
	if rec.err != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, rec.err)
	}
	if !rec.expires.IsZero() {
		b = append(b, `,"expires_at":"`...)
		b = appendTime(b, rec.expires, false)
		b = append(b, '"')
	}
	b = append(b, "}\n"...)
	_, _ = h.audit.Write(b)
	if cap(b) <= 16<<10 { // an odd huge line does not stay pooled
		*bp = b
		auditBufs.Put(bp)
	}
}

// localIsUTC: the process's zone is UTC (as in every cloud function), so
// slog's local times read as UTC ones.
var localIsUTC = func() bool { name, off := time.Now().Zone(); return off == 0 && name == "UTC" }()

// appendTime appends t as slog's JSONHandler writes it: the record's time
// in RFC 3339 with milliseconds (millis), an attribute's in RFC3339Nano. UTC
// (a cloud function's zone) is written by hand, five times cheaper than
// AppendFormat; other zones go through AppendFormat.
func appendTime(b []byte, t time.Time, millis bool) []byte {
	if t.Location() != time.UTC {
		if millis {
			return t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		}
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 0 || year > 9999 {
		if millis {
			return t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		}
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	ns := t.Nanosecond()
	switch {
	case millis:
		ms := ns / 1e6
		b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	case ns != 0:
		// RFC3339Nano: nine digits, trailing zeros dropped.
		var d [9]byte
		for i := 8; i >= 0; i-- {
			d[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 9
		for n > 0 && d[n-1] == '0' {
			n--
		}
		b = append(b, '.')
		b = append(b, d[:n]...)
	}
	return append(b, 'Z')
}

// appendJSONString appends s as a JSON string, as slog's JSONHandler does:
// control characters, quotes and backslashes escaped, U+2028 and U+2029
// too, invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case utf8.RuneError:
				b = append(b, `\ufffd`...)
			default:
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&15])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
