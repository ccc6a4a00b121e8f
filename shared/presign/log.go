package presign

import (
	"context"
	"log/slog"
	"time"
)

// logRecord is the one line logged per request: ids, bucket, key, expiry;
// never tokens, secrets or signatures (the signed URL is not logged).
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
