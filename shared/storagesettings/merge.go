package storagesettings

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/storagegate/storagegate/shared/config"
)

// Where an entry comes from, as check-config --probe reports it.
const (
	SourceDocument = "document"
	SourceClearML  = "clearml"
	// SourceBoth is a ClearML entry with the document's entry for the same
	// bucket laid over it (public_host, endpoint, or other keys).
	SourceBoth = "document over clearml"
)

// skipped is one ClearML entry left out, named by what it serves (never by
// a secret) with the reason.
type skipped struct {
	entry  string
	reason string
}

// decodeClearML turns data.settings into the storage section entry by
// entry: an entry that does not decode or validate is skipped, so that one
// bad bucket in the UI does not take the others down.
func decodeClearML(raw map[string]any) (config.Storage, []skipped) {
	var st config.Storage
	var skips []skipped
	if a, ok := raw["aws"].(map[string]any); ok {
		defaults := without(a, "buckets")
		if _, err := config.Decode("storage.aws", defaults, &st.AWS); err != nil {
			skips = append(skips, skipped{"aws default credentials", reasonOf(err)})
			st.AWS = config.AWS{}
		} else if err := (config.Storage{AWS: st.AWS}).Validate(); err != nil {
			skips = append(skips, skipped{"aws default credentials", reasonOf(err)})
			st.AWS = config.AWS{}
		}
		for _, rb := range list(a["buckets"]) {
			m, _ := rb.(map[string]any)
			name := s3Name(m)
			if m == nil {
				skips = append(skips, skipped{name, "not an object"})
				continue
			}
			var b config.S3Bucket
			if _, err := config.Decode("bucket", normalizeS3(m), &b); err != nil {
				skips = append(skips, skipped{name, reasonOf(err)})
				continue
			}
			if err := (config.Storage{AWS: config.AWS{Buckets: []config.S3Bucket{b}}}).Validate(); err != nil {
				skips = append(skips, skipped{name, reasonOf(err)})
				continue
			}
			st.AWS.Buckets = append(st.AWS.Buckets, b)
		}
	}
	if g, ok := raw["google"].(map[string]any); ok {
		defaults := normalizeGoogle(without(g, "buckets"))
		if _, err := config.Decode("storage.google", defaults, &st.Google); err != nil {
			skips = append(skips, skipped{"google default credentials", reasonOf(err)})
			st.Google = config.Google{}
		}
		for _, rb := range list(g["buckets"]) {
			m, _ := rb.(map[string]any)
			name := gsName(m)
			if m == nil {
				skips = append(skips, skipped{name, "not an object"})
				continue
			}
			var b config.GSBucket
			if _, err := config.Decode("bucket", normalizeGoogle(m), &b); err != nil {
				skips = append(skips, skipped{name, reasonOf(err)})
				continue
			}
			if err := (config.Storage{Google: config.Google{Buckets: []config.GSBucket{b}}}).Validate(); err != nil {
				skips = append(skips, skipped{name, reasonOf(err)})
				continue
			}
			st.Google.Buckets = append(st.Google.Buckets, b)
		}
	}
	if az, ok := raw["azure"].(map[string]any); ok {
		for _, rc := range list(az["containers"]) {
			m, _ := rc.(map[string]any)
			name := azureName(m)
			if m == nil {
				skips = append(skips, skipped{name, "not an object"})
				continue
			}
			var c config.AzureContainer
			if _, err := config.Decode("container", m, &c); err != nil {
				skips = append(skips, skipped{name, reasonOf(err)})
				continue
			}
			if err := (config.Storage{Azure: config.Azure{Containers: []config.AzureContainer{c}}}).Validate(); err != nil {
				skips = append(skips, skipped{name, reasonOf(err)})
				continue
			}
			st.Azure.Containers = append(st.Azure.Containers, c)
		}
	}
	return st, skips
}

// reasonOf is a decoding or validation error without the "config: " prefix.
// Neither ever quotes a secret (config's own rule).
func reasonOf(err error) string {
	if fe, ok := err.(*config.FieldError); ok {
		f := fe.Field
		if i := strings.LastIndexByte(f, '.'); i >= 0 {
			f = f[i+1:]
		}
		return f + ": " + fe.Message
	}
	return err.Error()
}

func without(m map[string]any, key string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// normalizeS3 drops what ClearML may carry in a shape storagegate does not
// use: verify as a CA bundle path (a file on the ClearML server's disk) is
// left at its default, verification on.
func normalizeS3(m map[string]any) map[string]any {
	if v, ok := m["verify"].(string); ok && v != "true" && v != "false" {
		m = without(m, "verify")
	}
	return m
}

// normalizeGoogle: the server answers credentials_json as an empty object
// when it configures none.
func normalizeGoogle(m map[string]any) map[string]any {
	if cj, ok := m["credentials_json"].(map[string]any); ok {
		m = without(m, "credentials_json")
		if len(cj) > 0 {
			b, _ := json.Marshal(cj)
			m["credentials_json"] = string(b)
		}
	}
	return m
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// Names of entries for logs and probe lines: what they serve, never a key.
func s3Name(m map[string]any) string {
	b, h, sub := str(m, "bucket"), str(m, "host"), str(m, "subdir")
	switch {
	case b != "" && h != "":
		return fmt.Sprintf("aws bucket %q on host %q%s", b, h, subdirNote(sub))
	case h != "":
		return fmt.Sprintf("aws host %q", h)
	case b != "":
		return fmt.Sprintf("aws bucket %q%s", b, subdirNote(sub))
	}
	return "aws entry without bucket or host"
}

func gsName(m map[string]any) string {
	if b := str(m, "bucket"); b != "" {
		return fmt.Sprintf("google bucket %q%s", b, subdirNote(str(m, "subdir")))
	}
	return "google entry without bucket"
}

func azureName(m map[string]any) string {
	a, c := str(m, "account_name"), str(m, "container_name")
	switch {
	case a != "" && c != "":
		return fmt.Sprintf("azure account %q container %q", a, c)
	case a != "":
		return fmt.Sprintf("azure account %q", a)
	}
	return "azure entry without account_name"
}

func subdirNote(sub string) string {
	if sub == "" {
		return ""
	}
	return fmt.Sprintf(" subdir %q", sub)
}

// overlay lays the document's storage section over ClearML's: the
// document's default credentials win where it sets them, and its entry for
// the same S3 host+bucket+subdir, Google bucket+subdir or Azure
// account+container wins field by field (a field it leaves empty keeps
// ClearML's, so a document entry that only adds public_host or endpoint
// still signs with the key rotated in the UI). Document entries that match
// none are added. It returns the merged section and each entry's source by
// field name (storage.aws.buckets[i], ...).
func overlay(cml, doc config.Storage) (config.Storage, map[string]string) {
	out := cml
	src := map[string]string{}

	if doc.AWS.Key != "" {
		out.AWS.Key, out.AWS.Secret, out.AWS.Token = doc.AWS.Key, doc.AWS.Secret, doc.AWS.Token
	}
	if doc.AWS.Region != "" {
		out.AWS.Region = doc.AWS.Region
	}
	out.AWS.UseCredentialsChain = out.AWS.UseCredentialsChain || doc.AWS.UseCredentialsChain
	out.AWS.Buckets = append([]config.S3Bucket(nil), cml.AWS.Buckets...)
	for i := range out.AWS.Buckets {
		src[fmt.Sprintf("storage.aws.buckets[%d]", i)] = SourceClearML
	}
	for _, d := range doc.AWS.Buckets {
		i := indexOf(out.AWS.Buckets, len(cml.AWS.Buckets), func(b config.S3Bucket) bool {
			return strings.EqualFold(b.Host, d.Host) && b.Bucket == d.Bucket && strings.Trim(b.Subdir, "/") == strings.Trim(d.Subdir, "/")
		})
		if i < 0 {
			out.AWS.Buckets = append(out.AWS.Buckets, d)
			src[fmt.Sprintf("storage.aws.buckets[%d]", len(out.AWS.Buckets)-1)] = SourceDocument
			continue
		}
		out.AWS.Buckets[i] = overS3(out.AWS.Buckets[i], d)
		src[fmt.Sprintf("storage.aws.buckets[%d]", i)] = SourceBoth
	}

	if doc.Google.CredentialsJSON != "" {
		out.Google.CredentialsJSON = doc.Google.CredentialsJSON
	}
	if doc.Google.Project != "" {
		out.Google.Project = doc.Google.Project
	}
	out.Google.Endpoint = doc.Google.Endpoint
	out.Google.Buckets = append([]config.GSBucket(nil), cml.Google.Buckets...)
	for i := range out.Google.Buckets {
		src[fmt.Sprintf("storage.google.buckets[%d]", i)] = SourceClearML
	}
	for _, d := range doc.Google.Buckets {
		i := indexOf(out.Google.Buckets, len(cml.Google.Buckets), func(b config.GSBucket) bool {
			return b.Bucket == d.Bucket && strings.Trim(b.Subdir, "/") == strings.Trim(d.Subdir, "/")
		})
		if i < 0 {
			out.Google.Buckets = append(out.Google.Buckets, d)
			src[fmt.Sprintf("storage.google.buckets[%d]", len(out.Google.Buckets)-1)] = SourceDocument
			continue
		}
		b := out.Google.Buckets[i]
		if d.Project != "" {
			b.Project = d.Project
		}
		if d.CredentialsJSON != "" {
			b.CredentialsJSON = d.CredentialsJSON
		}
		out.Google.Buckets[i] = b
		src[fmt.Sprintf("storage.google.buckets[%d]", i)] = SourceBoth
	}

	out.Azure.Containers = append([]config.AzureContainer(nil), cml.Azure.Containers...)
	for i := range out.Azure.Containers {
		src[fmt.Sprintf("storage.azure.containers[%d]", i)] = SourceClearML
	}
	for _, d := range doc.Azure.Containers {
		i := indexOf(out.Azure.Containers, len(cml.Azure.Containers), func(c config.AzureContainer) bool {
			return c.AccountName == d.AccountName && c.ContainerName == d.ContainerName
		})
		if i < 0 {
			out.Azure.Containers = append(out.Azure.Containers, d)
			src[fmt.Sprintf("storage.azure.containers[%d]", len(out.Azure.Containers)-1)] = SourceDocument
			continue
		}
		c := out.Azure.Containers[i]
		if d.AccountKey != "" {
			c.AccountKey = d.AccountKey
		}
		if d.Endpoint != "" {
			c.Endpoint = d.Endpoint
		}
		out.Azure.Containers[i] = c
		src[fmt.Sprintf("storage.azure.containers[%d]", i)] = SourceBoth
	}
	return out, src
}

// indexOf finds the first of the first n elements that match.
func indexOf[T any](s []T, n int, match func(T) bool) int {
	for i := 0; i < n && i < len(s); i++ {
		if match(s[i]) {
			return i
		}
	}
	return -1
}

// overS3 lays the document's entry d over ClearML's entry c.
func overS3(c, d config.S3Bucket) config.S3Bucket {
	if d.Key != "" || d.UseCredentialsChain {
		c.Key, c.Secret, c.Token, c.UseCredentialsChain = d.Key, d.Secret, d.Token, d.UseCredentialsChain
	}
	if d.Region != "" {
		c.Region = d.Region
	}
	if d.Secure != nil {
		c.Secure = d.Secure
	}
	if d.Verify != nil {
		c.Verify = d.Verify
	}
	if d.PublicHost != "" {
		c.PublicHost = d.PublicHost
	}
	return c
}
