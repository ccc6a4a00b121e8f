// Package cleanup deletes a ClearML task's artifacts from the configured
// stores (SPEC.md section 7): it parses the deletion message that every
// queue carries, checks every URL against the same scope rules as presign,
// and deletes objects and prefixes in batches, streaming listings page by
// page. Every entrypoint (SQS, Pub/Sub, Azure queue, POST /cleanup, the CLI)
// calls Deleter.Process or Deleter.Run and turns the Summary into its
// platform's answer.
package cleanup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/storagegate/storagegate/shared/storageurl"
)

// Version is the message format this package reads.
const Version = 1

// MaxItems bounds urls and prefixes together in one message; producers split
// larger jobs.
const MaxItems = 10000

// Message is one deletion job (events/schema/deletion-message.v1.json).
type Message struct {
	Version int    `json:"version"`
	Company string `json:"company,omitempty"`
	User    string `json:"user,omitempty"`
	Task    string `json:"task,omitempty"`
	// URLs are objects; none ends in "/".
	URLs []string `json:"urls,omitempty"`
	// Prefixes are folders, deleted recursively; a missing trailing "/" is
	// implied, so task.big never touches task.big-keep.
	Prefixes []string `json:"prefixes,omitempty"`
	// Created, when set, protects objects modified after it (a task reset
	// and re-run under the same folder).
	Created *time.Time `json:"created,omitempty"`
	DryRun  bool       `json:"dry_run,omitempty"`
}

// InvalidError is a message that can never be processed: every such error is
// permanent, and nothing was sent to any store.
type InvalidError struct {
	// Field is the JSON field at fault, e.g. "urls[3]"; empty for the
	// document as a whole.
	Field   string
	Message string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return "invalid deletion message: " + e.Message
	}
	return "invalid deletion message: " + e.Field + ": " + e.Message
}

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// wire is the message as sent: loose types, so that a wrong one gets a
// message naming the field rather than encoding/json's Go-flavoured text.
type wire struct {
	Version  json.RawMessage `json:"version"`
	Company  json.RawMessage `json:"company"`
	User     json.RawMessage `json:"user"`
	Task     json.RawMessage `json:"task"`
	URLs     json.RawMessage `json:"urls"`
	Prefixes json.RawMessage `json:"prefixes"`
	Created  json.RawMessage `json:"created"`
	DryRun   json.RawMessage `json:"dry_run"`
}

// ParseMessage decodes and checks a deletion message with the default URL
// syntax (Azure URLs on *.blob.core.windows.net only). Entrypoints use
// Deleter.ParseMessage, which also knows the configured Azure endpoints.
// Unknown fields are ignored; every error is an *InvalidError.
func ParseMessage(data []byte) (Message, error) {
	return parseMessage(data, storageurl.Options{})
}

func parseMessage(data []byte, opts storageurl.Options) (Message, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return Message{}, invalid("", "the message is empty: send a JSON object such as {\"version\": 1, \"urls\": [...]}")
	}
	if data[0] != '{' {
		return Message{}, invalid("", "the message is not a JSON object")
	}
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Message{}, invalid("", "not valid JSON (at byte %d): %s", se.Offset, se.Error())
		}
		return Message{}, invalid("", "not valid JSON: %v", err)
	}
	var m Message
	var version float64
	switch v := bytes.TrimSpace(w.Version); {
	case len(v) == 0 || string(v) == "null":
		return Message{}, invalid("version", "is missing: this reader understands version %d", Version)
	case json.Unmarshal(v, &version) != nil:
		return Message{}, invalid("version", "must be the number %d (got %s)", Version, clip(string(v)))
	case version != Version:
		return Message{}, invalid("version", "is %s; this reader understands version %d only", clip(string(v)), Version)
	}
	m.Version = Version
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{{"company", w.Company, &m.Company}, {"user", w.User, &m.User}, {"task", w.Task, &m.Task}} {
		if err := decodeOptional(f.raw, f.dst); err != nil {
			return Message{}, invalid(f.name, "must be a string")
		}
	}
	if err := decodeOptional(w.URLs, &m.URLs); err != nil {
		return Message{}, invalid("urls", "must be a list of storage URLs (strings)")
	}
	if err := decodeOptional(w.Prefixes, &m.Prefixes); err != nil {
		return Message{}, invalid("prefixes", "must be a list of storage URLs (strings)")
	}
	var created string
	if err := decodeOptional(w.Created, &created); err != nil {
		return Message{}, invalid("created", "must be an RFC 3339 time string such as 2026-11-22T10:00:00Z")
	}
	if created != "" {
		t, err := time.Parse(time.RFC3339Nano, created)
		if err != nil {
			return Message{}, invalid("created", "%q is not an RFC 3339 time such as 2026-11-22T10:00:00Z", clip(created))
		}
		m.Created = &t
	}
	if err := decodeOptional(w.DryRun, &m.DryRun); err != nil {
		return Message{}, invalid("dry_run", "must be true or false")
	}
	if _, err := m.check(opts); err != nil {
		return Message{}, err
	}
	return m, nil
}

// decodeOptional leaves dst alone for an absent or null field.
func decodeOptional(raw json.RawMessage, dst any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// item is one checked URL or prefix of a message.
type item struct {
	raw    string // as sent, for reports
	field  string // e.g. "urls[3]"
	u      storageurl.URL
	prefix bool
}

// check validates a message built by hand (the CLI) or parsed, and returns
// its items with prefixes normalised to end in "/". Duplicate URLs are
// dropped: deleting one twice in a batch would count it twice.
func (m Message) check(opts storageurl.Options) ([]item, error) {
	if m.Version != Version {
		return nil, invalid("version", "is %d; this reader understands version %d only", m.Version, Version)
	}
	n := len(m.URLs) + len(m.Prefixes)
	if n == 0 {
		return nil, invalid("", "neither urls nor prefixes holds anything to delete")
	}
	if n > MaxItems {
		return nil, invalid("", "holds %d URLs and prefixes; the limit is %d together: split the job into several messages", n, MaxItems)
	}
	items := make([]item, 0, n)
	seen := make(map[string]bool, n)
	for i, raw := range m.URLs {
		field := fmt.Sprintf("urls[%d]", i)
		u, err := opts.Parse(raw)
		if err != nil {
			return nil, invalid(field, "%v", err)
		}
		if strings.HasSuffix(u.Key, "/") {
			return nil, invalid(field, "%s ends in /: a folder goes in prefixes", clip(raw))
		}
		if u.Key == "" {
			return nil, invalid(field, "%s names a bucket, not an object", clip(raw))
		}
		if k := u.String(); !seen[k] {
			seen[k] = true
			items = append(items, item{raw: raw, field: field, u: u})
		}
	}
	for i, raw := range m.Prefixes {
		field := fmt.Sprintf("prefixes[%d]", i)
		u, err := opts.Parse(raw)
		if err != nil {
			return nil, invalid(field, "%v", err)
		}
		if u.PrefixDepth() == 0 {
			return nil, invalid(field, "%s is a bucket root: whole buckets are never deleted", clip(raw))
		}
		if !strings.HasSuffix(u.Key, "/") {
			u.Key += "/"
		}
		if k := "prefix:" + u.String(); !seen[k] {
			seen[k] = true
			items = append(items, item{raw: raw, field: field, u: u, prefix: true})
		}
	}
	return items, nil
}

// clip keeps echoed input short in messages and logs.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
