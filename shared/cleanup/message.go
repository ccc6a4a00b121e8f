// Package cleanup deletes a ClearML task's artifacts from the configured
// stores (docs/cleanup.md): it parses the deletion message that every
// queue carries, checks every URL against the same scope rules as presign,
// and deletes objects and prefixes in batches, streaming listings page by
// page. Every entrypoint (SQS, Pub/Sub, Azure queue, POST /cleanup, the CLI)
// calls Pipeline.Process or Pipeline.Run and turns the Summary into its
// platform's answer.
//
// A message runs in stages, a file each: message.go parses it; pipeline.go
// holds the Pipeline, its options and the run's deadline; plan.go checks each
// entry's guards and scope and groups objects by store and bucket;
// objects.go inspects named objects (created, dry runs); prefix.go sweeps a
// prefix's listings; batch.go sends batches of deletes on the workers;
// retry.go decides, once, what is retried, what fails and what is done, and
// waits between attempts; report.go counts and reports; summary.go is the
// result; requestid.go the id that ties its log lines together.
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

// ItemError is an entry of urls or prefixes that can never be done: a URL
// that does not parse or that no store can address (an unknown scheme, a
// `..` segment, a ClearML fileserver http:// URL), an object URL that names a
// bucket or ends in "/", a prefix at a bucket's root. The message itself is
// valid: the cleanup function does every other item, fails this one
// permanently without any store call, and so fails the message
// (docs/cleanup.md#mixed-messages; the entries: docs/cleanup.md#bad-entries).
type ItemError struct {
	// Field is the entry at fault, e.g. "urls[3]".
	Field string
	// URL is the entry as sent (clipped).
	URL string
	// Code is the Failure code the cleanup function reports for it:
	// invalid_url or refused.
	Code    string
	Message string
	// More counts the other bad entries of the same message.
	More int
}

func (e *ItemError) Error() string {
	msg := "deletion message: " + e.Field + ": " + e.Message
	if e.More > 0 {
		msg += fmt.Sprintf(" (and %d more entries that cannot be deleted)", e.More)
	}
	return msg
}

// ParseMessage decodes and checks a deletion message with the default URL
// syntax (Azure URLs on *.blob.core.windows.net only), for producers that
// want to refuse anything the cleanup function would not do. Entrypoints
// use Pipeline.ParseMessage, which also knows the configured Azure
// endpoints. Unknown fields are ignored. A message that can never be
// processed is an *InvalidError; a valid message with entries that can
// never be done is returned together with an *ItemError naming the first.
func ParseMessage(data []byte) (Message, error) {
	return parseMessage(data, storageurl.Options{})
}

func parseMessage(data []byte, opts storageurl.Options) (Message, error) {
	m, err := decodeMessage(data)
	if err != nil {
		return Message{}, err
	}
	items, err := m.check(opts)
	if err != nil {
		return Message{}, err
	}
	var first *ItemError
	for _, it := range items {
		switch {
		case it.bad == nil:
		case first == nil:
			first = &ItemError{Field: it.field, URL: it.bad.URL, Code: it.bad.Code, Message: it.bad.Reason}
		default:
			first.More++
		}
	}
	if first != nil {
		return m, first
	}
	return m, nil
}

// decodeMessage decodes a message and checks what makes it unusable as a
// whole (every error is an *InvalidError); its entries are checked one by
// one when it runs.
func decodeMessage(data []byte) (Message, error) {
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
	if err := m.checkSize(); err != nil {
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
	// bad, when set, is why the item can never be done: it is reported
	// as a permanent failure and reaches no store.
	bad *Failure
}

// checkSize checks what makes a message unusable as a whole: its version and
// its number of items.
func (m Message) checkSize() error {
	if m.Version != Version {
		return invalid("version", "is %d; this reader understands version %d only", m.Version, Version)
	}
	n := len(m.URLs) + len(m.Prefixes)
	if n == 0 {
		return invalid("", "neither urls nor prefixes holds anything to delete")
	}
	if n > MaxItems {
		return invalid("", "holds %d URLs and prefixes; the limit is %d together: split the job into several messages", n, MaxItems)
	}
	return nil
}

// check validates a message built by hand (the CLI) or parsed, and returns
// its items with prefixes normalised to end in "/". The error is an
// *InvalidError for the message as a whole; an entry that can never be done
// comes back as an item with bad set, so that the rest still runs. Duplicate
// URLs are dropped: deleting one twice in a batch would count it twice.
func (m Message) check(opts storageurl.Options) ([]item, error) {
	if err := m.checkSize(); err != nil {
		return nil, err
	}
	n := len(m.URLs) + len(m.Prefixes)
	items := make([]item, 0, n)
	seen := make(map[string]bool, n)
	add := func(key string, it item) {
		if !seen[key] {
			seen[key] = true
			items = append(items, it)
		}
	}
	refuse := func(it item, code, format string, args ...any) {
		it.bad = &Failure{URL: clip(it.raw), Code: code, Reason: fmt.Sprintf(format, args...)}
		kind := "url"
		if it.prefix {
			kind = "prefix"
		}
		add("bad "+kind+":"+it.raw, it)
	}
	for i, raw := range m.URLs {
		it := item{raw: raw, field: fmt.Sprintf("urls[%d]", i)}
		u, err := opts.Parse(raw)
		switch {
		case err != nil:
			refuse(it, codeInvalidURL, "%v", err)
		case strings.HasSuffix(u.Key, "/"):
			refuse(it, codeInvalidURL, "%s ends in /: a folder goes in prefixes", clip(raw))
		case u.Key == "":
			refuse(it, codeInvalidURL, "%s names a bucket, not an object", clip(raw))
		default:
			it.u = u
			add(u.String(), it)
		}
	}
	for i, raw := range m.Prefixes {
		it := item{raw: raw, field: fmt.Sprintf("prefixes[%d]", i), prefix: true}
		u, err := opts.Parse(raw)
		switch {
		case err != nil:
			refuse(it, codeInvalidURL, "%v", err)
		case u.PrefixDepth() == 0:
			refuse(it, codeRefused, "%s is a bucket root: whole buckets are never deleted", clip(raw))
		default:
			if !strings.HasSuffix(u.Key, "/") {
				u.Key += "/"
			}
			it.u = u
			add("prefix:"+u.String(), it)
		}
	}
	return items, nil
}

// providerOf names the provider of a URL that may not parse, from its
// scheme; empty when the scheme is none of them.
func providerOf(raw string) string {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	switch p := storageurl.Provider(strings.ToLower(scheme)); p {
	case storageurl.S3, storageurl.GCS, storageurl.Azure:
		return string(p)
	}
	return ""
}

// clip keeps echoed input short in messages and logs.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// NewMessage builds a deletion message from command-line style targets: one
// ending in "/" is a prefix (a folder, deleted recursively), anything else
// an object.
func NewMessage(targets []string) Message {
	m := Message{Version: Version}
	for _, t := range targets {
		if strings.HasSuffix(t, "/") {
			m.Prefixes = append(m.Prefixes, t)
		} else {
			m.URLs = append(m.URLs, t)
		}
	}
	return m
}
