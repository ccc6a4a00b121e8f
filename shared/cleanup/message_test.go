package cleanup_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/cleanup"
)

func TestParseMessage(t *testing.T) {
	created := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want cleanup.Message
	}{
		{"objects and prefixes",
			`{"version": 1, "company": "c", "user": "u", "task": "t", "urls": ["s3://b/p/t.1/models/m.pt"], "prefixes": ["s3://b/p/t.1/artifacts/"], "created": "2026-11-22T10:00:00Z", "dry_run": true}`,
			cleanup.Message{Version: 1, Company: "c", User: "u", Task: "t", URLs: []string{"s3://b/p/t.1/models/m.pt"}, Prefixes: []string{"s3://b/p/t.1/artifacts/"}, Created: &created, DryRun: true}},
		{"prefixes only, without trailing slash",
			`{"version": 1, "prefixes": ["gs://b/p/task.abc"]}`,
			cleanup.Message{Version: 1, Prefixes: []string{"gs://b/p/task.abc"}}},
		{"unknown fields are ignored",
			`{"version": 1, "urls": ["s3://b/k/x"], "storage_type": "s3", "retry_count": 2, "extra": {"a": [1]}}`,
			cleanup.Message{Version: 1, URLs: []string{"s3://b/k/x"}}},
		{"null optional fields",
			`{"version": 1.0, "urls": ["s3://b/k/x"], "prefixes": null, "created": null, "company": null}`,
			cleanup.Message{Version: 1, URLs: []string{"s3://b/k/x"}}},
		{"keys ClearML writes",
			`{"version": 1, "urls": ["s3://host:9000/b/My Project/t.1/debug%20images/Über_0001.png"]}`,
			cleanup.Message{Version: 1, URLs: []string{"s3://host:9000/b/My Project/t.1/debug%20images/Über_0001.png"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cleanup.ParseMessage([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseMessage: %v", err)
			}
			if fmt.Sprintf("%+v %v", stripTime(got), timeOf(got.Created)) != fmt.Sprintf("%+v %v", stripTime(tc.want), timeOf(tc.want.Created)) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func stripTime(m cleanup.Message) cleanup.Message { m.Created = nil; return m }

func timeOf(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// TestParseMessageInvalid: every refusal is an *InvalidError whose text names
// the problem.
func TestParseMessageInvalid(t *testing.T) {
	many := make([]string, 10001)
	for i := range many {
		many[i] = fmt.Sprintf(`"s3://b/p/t/%d"`, i)
	}
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "the message is empty"},
		{"not JSON", `hello`, "not a JSON object"},
		{"broken JSON", `{"version": 1, "urls": [`, "not valid JSON"},
		{"a list", `[{"version": 1}]`, "not a JSON object"},
		{"no version", `{"urls": ["s3://b/k/x"]}`, "version: is missing"},
		{"wrong version", `{"version": 2, "urls": ["s3://b/k/x"]}`, "version: is 2; this reader understands version 1 only"},
		{"version as string", `{"version": "1", "urls": ["s3://b/k/x"]}`, "version: must be the number 1"},
		{"nothing to delete", `{"version": 1}`, "neither urls nor prefixes"},
		{"empty lists", `{"version": 1, "urls": [], "prefixes": []}`, "neither urls nor prefixes"},
		{"urls not a list", `{"version": 1, "urls": "s3://b/k/x"}`, "urls: must be a list"},
		{"too many", `{"version": 1, "urls": [` + strings.Join(many, ",") + `]}`, "holds 10001 URLs and prefixes; the limit is 10000"},
		{"too many, some bad", `{"version": 1, "urls": [` + strings.Join(many, ",") + `], "prefixes": ["s3://b/"]}`, "holds 10002 URLs and prefixes"},
		{"urls holds a number", `{"version": 1, "urls": ["s3://b/k/x", 7]}`, "urls: must be a list"},
		{"prefixes not a list", `{"version": 1, "prefixes": {"a": "s3://b/k/"}}`, "prefixes: must be a list"},
		{"created not a time", `{"version": 1, "urls": ["s3://b/k/x"], "created": "yesterday"}`, `created: "yesterday" is not an RFC 3339 time`},
		{"created a number", `{"version": 1, "urls": ["s3://b/k/x"], "created": 1763805600}`, "created: must be an RFC 3339 time string"},
		{"dry_run a string", `{"version": 1, "urls": ["s3://b/k/x"], "dry_run": "yes"}`, "dry_run: must be true or false"},
		{"task a number", `{"version": 1, "urls": ["s3://b/k/x"], "task": 7}`, "task: must be a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cleanup.ParseMessage([]byte(tc.in))
			var ie *cleanup.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseMessage = %v, want an *InvalidError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
		})
	}
}

// TestParseMessageItemErrors: an entry that can never be done leaves the
// message valid: ParseMessage returns the message with an *ItemError (never
// an *InvalidError) naming the entry, its failure code and the problem, so
// that a producer can refuse it while the cleanup function runs the rest.
func TestParseMessageItemErrors(t *testing.T) {
	tests := []struct {
		name, in, field, code, want string
		more                        int
	}{
		{"unknown scheme", `{"version": 1, "urls": ["ftp://b/k/x"]}`, "urls[0]", "invalid_url", `unsupported scheme "ftp"`, 0},
		{"https URL", `{"version": 1, "urls": ["https://b.s3.amazonaws.com/k"]}`, "urls[0]", "invalid_url", `unsupported scheme "https"`, 0},
		{"ClearML fileserver URL", `{"version": 1, "urls": ["http://files.example.com:8081/p/t.1/artifacts/a/a.csv"]}`, "urls[0]", "invalid_url", `unsupported scheme "http"`, 0},
		{"bucket root prefix", `{"version": 1, "prefixes": ["s3://b/"]}`, "prefixes[0]", "refused", "s3://b/ is a bucket root", 0},
		{"bucket root prefix, no slash", `{"version": 1, "prefixes": ["gs://b"]}`, "prefixes[0]", "refused", "is a bucket root", 0},
		{"slashes only", `{"version": 1, "prefixes": ["s3://b///"]}`, "prefixes[0]", "refused", "is a bucket root", 0},
		{"host bucket root", `{"version": 1, "prefixes": ["s3://host:9000/b/"]}`, "prefixes[0]", "refused", "is a bucket root", 0},
		{"dot-dot", `{"version": 1, "prefixes": ["s3://b/p/../other/"]}`, "prefixes[0]", "invalid_url", `the key contains a ".." path segment`, 0},
		{"dot-dot in url", `{"version": 1, "urls": ["s3://b/p/../x"]}`, "urls[0]", "invalid_url", `the key contains a ".." path segment`, 0},
		{"url ends in slash", `{"version": 1, "urls": ["s3://b/p/t.1/artifacts/"]}`, "urls[0]", "invalid_url", "s3://b/p/t.1/artifacts/ ends in /: a folder goes in prefixes", 0},
		{"url without key", `{"version": 1, "urls": ["s3://b"]}`, "urls[0]", "invalid_url", "names a bucket, not an object", 0},
		{"second url bad", `{"version": 1, "urls": ["s3://b/k/x", "s3://b/k/y?versionId=1"]}`, "urls[1]", "invalid_url", "the url contains a query", 0},
		{"several bad among good", `{"version": 1, "urls": ["s3://b/k/x", "http://fs:8081/a", "ftp://b/c/d"], "prefixes": ["s3://b/p/t.1/", "s3://b/"]}`, "urls[1]", "invalid_url", `unsupported scheme "http"`, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := cleanup.ParseMessage([]byte(tc.in))
			var ie *cleanup.ItemError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseMessage = %v, want an *ItemError", err)
			}
			var inv *cleanup.InvalidError
			if errors.As(err, &inv) {
				t.Errorf("an entry's problem is an *InvalidError: %v", err)
			}
			if ie.Field != tc.field || ie.Code != tc.code || ie.More != tc.more || !strings.Contains(ie.Message, tc.want) ||
				!strings.HasPrefix(err.Error(), "deletion message: "+tc.field+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %+v (%q), want field %s code %s more %d message %q", ie, err, tc.field, tc.code, tc.more, tc.want)
			}
			// The message comes back whole: the producer decides.
			if m.Version != 1 || len(m.URLs)+len(m.Prefixes) == 0 {
				t.Errorf("message %+v", m)
			}
		})
	}
}
