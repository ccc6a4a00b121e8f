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
		{"unknown scheme", `{"version": 1, "urls": ["ftp://b/k/x"]}`, `urls[0]: unsupported scheme "ftp"`},
		{"https URL", `{"version": 1, "urls": ["https://b.s3.amazonaws.com/k"]}`, `urls[0]: unsupported scheme "https"`},
		{"bucket root prefix", `{"version": 1, "prefixes": ["s3://b/"]}`, "prefixes[0]: s3://b/ is a bucket root"},
		{"bucket root prefix, no slash", `{"version": 1, "prefixes": ["gs://b"]}`, "is a bucket root"},
		{"slashes only", `{"version": 1, "prefixes": ["s3://b///"]}`, "is a bucket root"},
		{"host bucket root", `{"version": 1, "prefixes": ["s3://host:9000/b/"]}`, "is a bucket root"},
		{"dot-dot", `{"version": 1, "prefixes": ["s3://b/p/../other/"]}`, `prefixes[0]: the key contains a ".." path segment`},
		{"dot-dot in url", `{"version": 1, "urls": ["s3://b/p/../x"]}`, `urls[0]: the key contains a ".." path segment`},
		{"url ends in slash", `{"version": 1, "urls": ["s3://b/p/t.1/artifacts/"]}`, "urls[0]: s3://b/p/t.1/artifacts/ ends in /: a folder goes in prefixes"},
		{"url without key", `{"version": 1, "urls": ["s3://b"]}`, "names a bucket, not an object"},
		{"second url bad", `{"version": 1, "urls": ["s3://b/k/x", "s3://b/k/y?versionId=1"]}`, "urls[1]: the url contains a query"},
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
