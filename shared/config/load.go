package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Environment variables that name the config's source; exactly one is set.
const (
	EnvInline = "STORAGEGATE_CONFIG"
	EnvFile   = "STORAGEGATE_CONFIG_FILE"
	EnvSecret = "STORAGEGATE_CONFIG_SECRET"
)

// ClearML's own variables, read by its SDK and agent: they fill the clearml
// section's api_server, access_key and secret_key.
const (
	EnvAPIHost   = "CLEARML_API_HOST"
	EnvAccessKey = "CLEARML_API_ACCESS_KEY"
	EnvSecretKey = "CLEARML_API_SECRET_KEY"
)

// SecretFetcher reads a secret's value by its ARN (AWS Secrets Manager).
type SecretFetcher func(ctx context.Context, arn string) ([]byte, error)

// ErrNoSource says no config variable is set.
var ErrNoSource = errors.New("config: no configuration: set one of " + EnvInline + ", " + EnvFile + " or " + EnvSecret +
	", or all three of " + EnvAPIHost + ", " + EnvAccessKey + " and " + EnvSecretKey)

// FromEnv loads the document from the one variable that is set. fetch may be
// nil where Secrets Manager is not available. Warnings name ignored fields.
// CLEARML_API_HOST, CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY fill
// the clearml fields the document leaves out; with all three set, no
// document is needed.
func FromEnv(ctx context.Context, getenv func(string) string, fetch SecretFetcher) (*Config, []string, error) {
	var set []string
	for _, k := range []string{EnvInline, EnvFile, EnvSecret} {
		if getenv(k) != "" {
			set = append(set, k)
		}
	}
	switch {
	case len(set) == 0 && getenv(EnvAPIHost) != "" && getenv(EnvAccessKey) != "" && getenv(EnvSecretKey) != "":
		return parse(nil, getenv)
	case len(set) == 0:
		return nil, nil, ErrNoSource
	case len(set) > 1:
		return nil, nil, fmt.Errorf("config: %s are set at once: set exactly one", strings.Join(set, " and "))
	}
	var data []byte
	switch set[0] {
	case EnvInline:
		data = []byte(getenv(EnvInline))
	case EnvFile:
		b, err := os.ReadFile(getenv(EnvFile))
		if err != nil {
			return nil, nil, fmt.Errorf("config: %s: %w", EnvFile, err)
		}
		data = b
	case EnvSecret:
		if fetch == nil {
			return nil, nil, fmt.Errorf("config: %s works only on AWS; use %s or %s here", EnvSecret, EnvInline, EnvFile)
		}
		b, err := fetch(ctx, getenv(EnvSecret))
		if err != nil {
			return nil, nil, fmt.Errorf("config: reading %s: %w", EnvSecret, err)
		}
		data = b
	}
	return parse(data, getenv)
}

// Parse reads a JSON or YAML document, applies defaults and validates it.
func Parse(data []byte) (*Config, []string, error) { return parse(data, nil) }

func parse(data []byte, getenv func(string) string) (*Config, []string, error) {
	var c Config
	var warnings []string
	if len(bytes.TrimSpace(data)) > 0 {
		raw, err := parseDocument(data)
		if err != nil {
			return nil, nil, err
		}
		if raw != nil {
			if err := decode("", raw, reflect.ValueOf(&c).Elem(), &warnings); err != nil {
				return nil, warnings, err
			}
		}
	}
	if getenv != nil {
		if err := c.applyClearMLEnv(getenv); err != nil {
			return nil, warnings, err
		}
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, warnings, err
	}
	return &c, warnings, nil
}

// applyClearMLEnv fills clearml.api_server, access_key and secret_key from
// ClearML's own variables where the document leaves them out. A field set
// to different values in both is an error that names the field and the
// variable, never the values: which one is meant cannot be guessed.
func (c *Config) applyClearMLEnv(getenv func(string) string) error {
	for _, f := range []struct {
		field, env string
		v          *string
		same       func(a, b string) bool
	}{
		{"clearml.api_server", EnvAPIHost, &c.ClearML.APIServer, func(a, b string) bool {
			return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
		}},
		{"clearml.access_key", EnvAccessKey, &c.ClearML.AccessKey, func(a, b string) bool { return a == b }},
		{"clearml.secret_key", EnvSecretKey, &c.ClearML.SecretKey, func(a, b string) bool { return a == b }},
	} {
		e := strings.TrimSpace(getenv(f.env))
		switch {
		case e == "":
		case *f.v == "":
			*f.v = e
		case !f.same(*f.v, e):
			return fieldErr(f.field, "the config document and %s set different values: set it in one place", f.env)
		}
	}
	return nil
}

// Decode fills v (a pointer to a config type) from plain JSON values as the
// loader does, naming the field of any error (path is the prefix, e.g.
// "storage.aws.buckets[2]") and returning the unknown fields. It is for
// settings that arrive in the document's shape from elsewhere (ClearML's
// storage.get_settings).
func Decode(path string, raw any, v any) ([]string, error) {
	var warnings []string
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, errors.New("config: Decode needs a non-nil pointer")
	}
	err := decode(path, raw, rv.Elem(), &warnings)
	return warnings, err
}

// parseDocument reads JSON or YAML into plain values (objects, lists,
// strings, float64 numbers, booleans). A document that looks like JSON is read
// as JSON first: YAML refuses tab-indented JSON. Parser errors never quote
// the document, which holds secrets.
func parseDocument(data []byte) (any, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	var jsonErr error
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var raw any
		if jsonErr = json.Unmarshal(trimmed, &raw); jsonErr == nil {
			return raw, nil
		}
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		if jsonErr != nil {
			return nil, fmt.Errorf("config: not valid JSON: %s", jsonErrorMessage(trimmed, jsonErr))
		}
		return nil, fmt.Errorf("config: not valid JSON or YAML: %s", yamlErrorMessage(err))
	}
	var raw any
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, fmt.Errorf("config: not valid JSON or YAML: %s", jsonErrorMessage(js, err))
	}
	return raw, nil
}

// jsonErrorMessage places a JSON syntax error by line and column; the
// decoder's own text names at most one character of the input.
func jsonErrorMessage(doc []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset >= 0 && se.Offset <= int64(len(doc)) {
		before := doc[:se.Offset]
		line := bytes.Count(before, []byte("\n")) + 1
		col := len(before) - bytes.LastIndexByte(before, '\n')
		return fmt.Sprintf("line %d, column %d: %v", line, col, se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the document ends too early"
	}
	return "the document cannot be read"
}

// yamlErrorMessage keeps the YAML parser's line number and reason but drops
// anything that quotes the document: "cannot decode !!str `<value>`" and
// "unsupported map key ..., value: <value>" would print a secret.
func yamlErrorMessage(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "map key"):
		return "a mapping key is not a plain string (null, list or object keys are not supported)"
	case strings.ContainsAny(msg, "`{["), strings.Contains(msg, "cannot decode"), strings.Contains(msg, "cannot unmarshal"):
		line := ""
		if i := strings.Index(msg, "line "); i >= 0 {
			if n, _, ok := strings.Cut(msg[i+5:], ":"); ok && strings.Trim(n, "0123456789") == "" {
				line = "line " + n + ": "
			}
		}
		return line + "a tagged value (!!int, !!bool, !!binary, ...) does not fit its tag"
	}
	return msg
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// decode fills v from raw, naming the field of any error and collecting
// unknown fields as warnings. It exists (rather than one json.Unmarshal) so
// that an error says "presign.expires" and not just "cannot unmarshal".
// Each kind of field has a helper below; a type with its own UnmarshalJSON
// (Duration) reads itself.
func decode(path string, raw any, v reflect.Value, warnings *[]string) error {
	if raw == nil {
		return nil
	}
	if reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		b, _ := json.Marshal(raw)
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(b); err != nil {
			return fieldErr(path, "%v", err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := decode(path, raw, p.Elem(), warnings); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		return decodeStruct(path, raw, v, warnings)
	case reflect.Slice:
		return decodeSlice(path, raw, v, warnings)
	case reflect.Interface:
		v.Set(reflect.ValueOf(raw))
		return nil
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			return fieldErr(path, "want a string, got %s", kindOf(raw))
		}
		v.SetString(s)
		return nil
	case reflect.Bool:
		return decodeBool(path, raw, v)
	case reflect.Int:
		return decodeInt(path, raw, v)
	}
	return fieldErr(path, "unsupported field type %s", v.Type())
}

// decodeStruct fills a struct's fields by their json names. The keys are
// taken in sorted order so that, of several bad fields, the error always
// names the same one, and the warnings come out in a stable order.
func decodeStruct(path string, raw any, v reflect.Value, warnings *[]string) error {
	m, ok := raw.(map[string]any)
	if !ok {
		return fieldErr(orRoot(path), "want an object, got %s", kindOf(raw))
	}
	fields := map[string]int{}
	for i := 0; i < v.NumField(); i++ {
		tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		fields[tag] = i
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sub := join(path, k)
		i, ok := fields[k]
		if !ok {
			*warnings = append(*warnings, sub)
			continue
		}
		if err := decode(sub, m[k], v.Field(i), warnings); err != nil {
			return err
		}
	}
	return nil
}

// decodeSlice fills a list, naming an element's errors by its index.
func decodeSlice(path string, raw any, v reflect.Value, warnings *[]string) error {
	a, ok := raw.([]any)
	if !ok {
		return fieldErr(path, "want a list, got %s", kindOf(raw))
	}
	s := reflect.MakeSlice(v.Type(), len(a), len(a))
	for i, e := range a {
		if err := decode(fmt.Sprintf("%s[%d]", path, i), e, s.Index(i), warnings); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func decodeBool(path string, raw any, v reflect.Value) error {
	switch b := raw.(type) {
	case bool:
		v.SetBool(b)
	case string:
		// ClearML's settings sometimes carry "true"/"false" as strings.
		switch strings.ToLower(b) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			// Not quoted: a value in the wrong place may be a secret.
			return fieldErr(path, "want true or false, got another string")
		}
	default:
		return fieldErr(path, "want true or false, got %s", kindOf(raw))
	}
	return nil
}

// decodeInt accepts a whole number that fits in 32 bits. JSON numbers
// arrive as float64: a fraction or a number out of range is refused rather
// than truncated.
func decodeInt(path string, raw any, v reflect.Value) error {
	f, ok := raw.(float64)
	if !ok {
		return fieldErr(path, "want a whole number, got %s", kindOf(raw))
	}
	if f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
		return fieldErr(path, "want a whole number, got a number out of range or with a fraction")
	}
	v.SetInt(int64(f))
	return nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orRoot(p string) string {
	if p == "" {
		return "(document)"
	}
	return p
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}
