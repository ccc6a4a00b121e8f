// Package clearmlconf turns the storage credentials of a ClearML SDK
// configuration file (clearml.conf: sdk.aws.s3, sdk.google.storage,
// sdk.azure.storage) or of the ClearML server's storage_credentials file
// (services.storage_credentials, or the file itself: aws.s3, google.storage,
// azure.storage) into storagegate's storage section, for operators who keep
// credentials in files. Both are HOCON.
package clearmlconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gurkankaymak/hocon"
	"sigs.k8s.io/yaml"
)

// Storage is the storage section in ClearML's storage-settings shape;
// empty fields are left out of the YAML.
type Storage struct {
	AWS    *AWS    `json:"aws,omitempty"`
	Google *Google `json:"google,omitempty"`
	Azure  *Azure  `json:"azure,omitempty"`
}

// AWS are the S3 defaults and bucket entries.
type AWS struct {
	Key                 string     `json:"key,omitempty"`
	Secret              string     `json:"secret,omitempty"`
	Token               string     `json:"token,omitempty"`
	Region              string     `json:"region,omitempty"`
	UseCredentialsChain bool       `json:"use_credentials_chain,omitempty"`
	Buckets             []S3Bucket `json:"buckets,omitempty"`
}

// S3Bucket is one entry of sdk.aws.s3.credentials.
type S3Bucket struct {
	Bucket              string `json:"bucket,omitempty"`
	Subdir              string `json:"subdir,omitempty"`
	Host                string `json:"host,omitempty"`
	Key                 string `json:"key,omitempty"`
	Secret              string `json:"secret,omitempty"`
	Token               string `json:"token,omitempty"`
	Region              string `json:"region,omitempty"`
	Secure              *bool  `json:"secure,omitempty"`
	Verify              *bool  `json:"verify,omitempty"`
	UseCredentialsChain bool   `json:"use_credentials_chain,omitempty"`
}

// Google are the GCS defaults and bucket entries; credentials_json holds the
// key file's content.
type Google struct {
	Project         string     `json:"project,omitempty"`
	CredentialsJSON string     `json:"credentials_json,omitempty"`
	Buckets         []GSBucket `json:"buckets,omitempty"`
}

// GSBucket is one entry of sdk.google.storage.credentials.
type GSBucket struct {
	Bucket          string `json:"bucket,omitempty"`
	Subdir          string `json:"subdir,omitempty"`
	Project         string `json:"project,omitempty"`
	CredentialsJSON string `json:"credentials_json,omitempty"`
}

// Azure are the container entries.
type Azure struct {
	Containers []AzureContainer `json:"containers,omitempty"`
}

// AzureContainer is one entry of sdk.azure.storage.containers.
type AzureContainer struct {
	AccountName   string `json:"account_name,omitempty"`
	AccountKey    string `json:"account_key,omitempty"`
	ContainerName string `json:"container_name,omitempty"`
}

// roots are where the three providers sit, first found wins: a clearml.conf,
// the server's configuration (services.storage_credentials, as in a merged
// config or an env-style override file), the storage_credentials.conf file
// itself.
var roots = []string{"sdk", "services.storage_credentials", "storage_credentials", ""}

// Import reads the file at path and returns the storage section as YAML
// (a document with one key, storage). credentials_json given as a path (the
// SDK's way) is read into the document, relative to the file's folder.
func Import(path string) ([]byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	st, err := Convert(string(src), filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(map[string]any{"storage": st})
}

// Convert parses HOCON text and converts its storage credentials; dir is
// where relative credentials_json paths are read from.
func Convert(src, dir string) (*Storage, error) {
	cfg, err := hocon.ParseString(src)
	if err != nil {
		return nil, fmt.Errorf("not valid HOCON: %s", parseErrorPlace(err))
	}
	root, _ := plain(cfg.GetRoot()).(map[string]any)
	var base map[string]any
	for _, r := range roots {
		m := lookup(root, r)
		if m != nil && (lookup(m, "aws.s3") != nil || lookup(m, "google.storage") != nil || lookup(m, "azure.storage") != nil) {
			base = m
			break
		}
	}
	if base == nil {
		return nil, errors.New("no storage credentials found: expected sdk.aws.s3, sdk.google.storage or sdk.azure.storage (clearml.conf), or aws.s3, google.storage, azure.storage (the server's storage_credentials)")
	}
	out := &Storage{}
	if s3 := lookup(base, "aws.s3"); s3 != nil {
		a := &AWS{
			Key: str(s3, "key"), Secret: str(s3, "secret"), Token: str(s3, "token"), Region: str(s3, "region"),
			UseCredentialsChain: boolean(s3, "use_credentials_chain"),
		}
		for _, e := range objects(s3["credentials"]) {
			a.Buckets = append(a.Buckets, S3Bucket{
				Bucket: strings.TrimRight(strings.Trim(str(e, "bucket"), `"'`), "/"), Subdir: strings.Trim(str(e, "subdir"), "/"),
				Host: str(e, "host"), Key: str(e, "key"), Secret: str(e, "secret"), Token: str(e, "token"),
				Region: str(e, "region"), Secure: optBool(e, "secure"), Verify: optBool(e, "verify"),
				UseCredentialsChain: boolean(e, "use_credentials_chain"),
			})
		}
		if a.Key != "" || a.Secret != "" || a.Token != "" || a.Region != "" || a.UseCredentialsChain || len(a.Buckets) > 0 {
			out.AWS = a
		}
	}
	if gs := lookup(base, "google.storage"); gs != nil {
		g := &Google{Project: str(gs, "project")}
		if g.CredentialsJSON, err = keyFile(str(gs, "credentials_json"), dir, "google.storage.credentials_json"); err != nil {
			return nil, err
		}
		for i, e := range objects(gs["credentials"]) {
			b := GSBucket{Bucket: str(e, "bucket"), Subdir: strings.Trim(str(e, "subdir"), "/"), Project: str(e, "project")}
			if b.CredentialsJSON, err = keyFile(str(e, "credentials_json"), dir, fmt.Sprintf("google.storage.credentials[%d].credentials_json", i)); err != nil {
				return nil, err
			}
			g.Buckets = append(g.Buckets, b)
		}
		if g.Project != "" || g.CredentialsJSON != "" || len(g.Buckets) > 0 {
			out.Google = g
		}
	}
	if az := lookup(base, "azure.storage"); az != nil {
		a := &Azure{}
		for _, e := range objects(az["containers"]) {
			a.Containers = append(a.Containers, AzureContainer{
				AccountName: str(e, "account_name"), AccountKey: str(e, "account_key"), ContainerName: str(e, "container_name"),
			})
		}
		if len(a.Containers) > 0 {
			out.Azure = a
		}
	}
	return out, nil
}

// keyFile returns a key file's content: the SDK takes credentials_json as a
// path, the server's settings (and storagegate) as the content. A value that
// already is JSON is kept.
func keyFile(v, dir, field string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.HasPrefix(v, "{") {
		return v, nil
	}
	p := v
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[2:])
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		// The error names the path (the config's own value, not a secret).
		return "", fmt.Errorf("%s: reading the key file: %w", field, err)
	}
	return string(b), nil
}

// parseErrorPlace keeps the kind and place of a parse error ("invalid
// config object! at: 3:5") and drops the rest, which may quote the text.
func parseErrorPlace(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ", "); i > 0 && strings.Contains(msg[:i], " at: ") {
		return msg[:i]
	}
	return "the file cannot be parsed"
}

// plain turns a parsed HOCON value into plain Go values.
func plain(v hocon.Value) any {
	switch x := v.(type) {
	case nil:
		return nil
	case hocon.Object:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plain(e)
		}
		return m
	case hocon.Array:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = plain(e)
		}
		return l
	case hocon.String:
		return unescape(string(x))
	case hocon.Boolean:
		return bool(x)
	case hocon.Null:
		return nil
	case hocon.Int:
		return int(x)
	}
	return v.String()
}

// unescape decodes a quoted string's escapes (\", \\, \n, \uXXXX): the
// parser hands quoted strings over with their escapes still in them, which
// would corrupt a key file's JSON written inline. HOCON forbids backslashes
// in unquoted strings, so a backslash here comes from a quoted one.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	if u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `\/`, "/") + `"`); err == nil {
		return u
	}
	return s
}

// lookup follows a dotted path through nested objects; "" is m itself.
func lookup(m map[string]any, path string) map[string]any {
	if path == "" {
		return m
	}
	for _, k := range strings.Split(path, ".") {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil
		}
		m = next
	}
	return m
}

func objects(v any) []map[string]any {
	var out []map[string]any
	for _, e := range asList(v) {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func optBool(m map[string]any, k string) *bool {
	switch v := m[k].(type) {
	case bool:
		return &v
	case string:
		switch strings.ToLower(v) {
		case "true":
			t := true
			return &t
		case "false":
			f := false
			return &f
		}
	}
	return nil
}

func boolean(m map[string]any, k string) bool {
	b := optBool(m, k)
	return b != nil && *b
}
