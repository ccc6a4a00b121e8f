package cleanup_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// TestSamplesMatchSchemaAndParse: every bare message in events/cleanup is
// valid against events/schema/deletion-message.v1.json and parses.
func TestSamplesMatchSchemaAndParse(t *testing.T) {
	root, err := testserver.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	schema := loadSchema(t, filepath.Join(root, "events", "schema", "deletion-message.v1.json"))
	files, err := filepath.Glob(filepath.Join(root, "events", "cleanup", "*.json"))
	if err != nil || len(files) < 3 {
		t.Fatalf("events/cleanup samples: %v (%d found)", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			if errs := validate(schema, doc, "$"); len(errs) > 0 {
				t.Errorf("schema: %s", strings.Join(errs, "; "))
			}
			if _, err := cleanup.ParseMessage(data); err != nil {
				t.Errorf("ParseMessage: %v", err)
			}
		})
	}
}

// TestSchemaRefuses keeps the validator below honest: messages the reader
// refuses for reasons the schema can express fail it too.
func TestSchemaRefuses(t *testing.T) {
	root, _ := testserver.ModuleRoot()
	schema := loadSchema(t, filepath.Join(root, "events", "schema", "deletion-message.v1.json"))
	for _, in := range []string{
		`{"urls": ["s3://b/k/x"]}`,
		`{"version": 2, "urls": ["s3://b/k/x"]}`,
		`{"version": "1", "urls": ["s3://b/k/x"]}`,
		`{"version": 1}`,
		`{"version": 1, "urls": []}`,
		`{"version": 1, "urls": ["ftp://b/k/x"]}`,
		`{"version": 1, "urls": ["s3://b/k/"]}`,
		`{"version": 1, "prefixes": ["s3://b/"]}`,
		`{"version": 1, "prefixes": ["s3://b///"]}`,
		`{"version": 1, "urls": ["s3://b/k/x"], "created": "yesterday"}`,
		`{"version": 1, "urls": ["s3://b/k/x"], "dry_run": "yes"}`,
		`{"version": 1, "urls": ["s3://b/k/x"], "task": 7}`,
	} {
		var doc any
		if err := json.Unmarshal([]byte(in), &doc); err != nil {
			t.Fatal(err)
		}
		if len(validate(schema, doc, "$")) == 0 {
			t.Errorf("the schema accepts %s", in)
		}
		if _, err := cleanup.ParseMessage([]byte(in)); err == nil {
			t.Errorf("ParseMessage accepts %s", in)
		}
	}
}

func loadSchema(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("%s: $schema is %v, want draft 2020-12", path, s["$schema"])
	}
	return s
}

// validate checks doc against the subset of JSON Schema 2020-12 that the
// deletion-message schema uses, and fails on any other keyword, so the
// schema cannot grow a rule this check silently skips. (A full validator
// would be a dependency for a dozen keywords.)
func validate(s map[string]any, doc any, at string) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	for k, v := range s {
		switch k {
		case "$schema", "$id", "title", "description", "default":
		case "type":
			if !hasType(doc, v.(string)) {
				bad("is not of type %s", v)
			}
		case "const":
			if fmt.Sprint(doc) != fmt.Sprint(v) || !hasType(doc, typeOf(v)) {
				bad("is not %v", v)
			}
		case "required":
			if o, ok := doc.(map[string]any); ok {
				for _, r := range v.([]any) {
					if _, ok := o[r.(string)]; !ok {
						bad("lacks %s", r)
					}
				}
			}
		case "properties":
			if o, ok := doc.(map[string]any); ok {
				for name, sub := range v.(map[string]any) {
					if pv, ok := o[name]; ok {
						errs = append(errs, validate(sub.(map[string]any), pv, at+"."+name)...)
					}
				}
			}
		case "anyOf":
			ok := false
			for _, sub := range v.([]any) {
				if len(validate(sub.(map[string]any), doc, at)) == 0 {
					ok = true
				}
			}
			if !ok {
				bad("matches none of anyOf")
			}
		case "items":
			if a, ok := doc.([]any); ok {
				for i, e := range a {
					errs = append(errs, validate(v.(map[string]any), e, fmt.Sprintf("%s[%d]", at, i))...)
				}
			}
		case "minItems", "maxItems":
			if a, ok := doc.([]any); ok {
				n := int(v.(float64))
				if (k == "minItems" && len(a) < n) || (k == "maxItems" && len(a) > n) {
					bad("has %d items (%s %d)", len(a), k, n)
				}
			}
		case "minLength", "maxLength":
			if str, ok := doc.(string); ok {
				n, l := int(v.(float64)), len([]rune(str))
				if (k == "minLength" && l < n) || (k == "maxLength" && l > n) {
					bad("has length %d (%s %d)", l, k, n)
				}
			}
		case "pattern":
			if str, ok := doc.(string); ok && !regexp.MustCompile(v.(string)).MatchString(str) {
				bad("%q does not match %s", str, v)
			}
		case "format":
			if str, ok := doc.(string); ok && v == "date-time" {
				if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
					bad("%q is not a date-time", str)
				}
			}
		default:
			errs = append(errs, at+": the test's validator does not know keyword "+k)
		}
	}
	return errs
}

func typeOf(v any) string {
	switch v.(type) {
	case float64:
		return "number"
	case string:
		return "string"
	case bool:
		return "boolean"
	}
	return "object"
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	}
	return false
}
