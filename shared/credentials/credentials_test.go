package credentials

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/storageurl"
	"github.com/storagegate/storagegate/shared/store"
)

// fakeSigner stands for a GCS or Azure store; it never deletes.
type fakeSigner struct {
	store.Deleter
	name string
}

func (f *fakeSigner) Sign(context.Context, store.SignRequest) (store.Signed, error) {
	return store.Signed{URL: "https://fake/" + f.name}, nil
}

func fakeBuilders(calls *[]string) Builders {
	return Builders{
		GCS: func(g config.Google, b *config.GSBucket) (store.Store, error) {
			name := "gcs default " + g.Project
			if b != nil {
				name = "gcs " + b.Bucket + "/" + b.Subdir
			}
			*calls = append(*calls, name)
			return &fakeSigner{name: name}, nil
		},
		Azure: func(c config.AzureContainer) (store.Store, error) {
			name := "azure " + c.AccountName + "/" + c.ContainerName
			*calls = append(*calls, name)
			return &fakeSigner{name: name}, nil
		},
	}
}

func parseConfig(t *testing.T, doc string) *config.Config {
	t.Helper()
	c, _, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

func newResolver(t *testing.T, doc string, b Builders) *Resolver {
	t.Helper()
	r, err := New(parseConfig(t, doc).Storage, b)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

const s3Doc = `
storage:
  aws:
    key: DEFAULTKEY
    secret: DEFAULTSECRET
    region: eu-west-1
    buckets:
      - {bucket: artifacts, key: k0, secret: s0}                                   # 0: s3://artifacts
      - {bucket: artifacts, subdir: team/models/, key: k1, secret: s1}            # 1: s3://artifacts/team/models
      - {host: "minio:9000", bucket: artifacts, key: k2, secret: s2, secure: false} # 2: s3://minio:9000/artifacts
      - {host: "minio:9000", key: k3, secret: s3, secure: false}                  # 3: s3://minio:9000
      - {host: "MinIO.Example.com:443", bucket: data, key: k4, secret: s4}         # 4: host lower-cased
      - {bucket: nokeys}                                                           # 5: the defaults' keys
      - {host: "ceph:7480", bucket: shared}                                        # 6: the defaults' keys, own host
      - {bucket: artifacts, key: k7, secret: s7}                                   # 7: same prefix as 0: never wins
      - {host: "minio:9000", bucket: artifacts, subdir: a/b, key: k8, secret: s8, secure: false} # 8
`

func TestResolveS3(t *testing.T) {
	r := newResolver(t, s3Doc, Builders{})
	const notConfigured = ""
	tests := []struct {
		url          string
		entry        string // without defaults
		withDefaults string // with defaults
	}{
		{"s3://artifacts/x", "storage.aws.buckets[0]", "storage.aws.buckets[0]"},
		{"s3://artifacts", "storage.aws.buckets[0]", "storage.aws.buckets[0]"},
		{"s3://artifacts/", "storage.aws.buckets[0]", "storage.aws.buckets[0]"},
		// Buckets, subdirs and keys are case-sensitive, as the stores are.
		{"s3://Artifacts/x", notConfigured, "storage.aws"},
		{"s3://artifacts/team/models/m.pt", "storage.aws.buckets[1]", "storage.aws.buckets[1]"},
		{"s3://artifacts/TEAM/Models/m.pt", "storage.aws.buckets[0]", "storage.aws.buckets[0]"},
		// The folder itself is not inside it.
		{"s3://artifacts/team/models/", "storage.aws.buckets[0]", "storage.aws.buckets[0]"},
		{"s3://artifacts/team/models", "storage.aws.buckets[0]", "storage.aws.buckets[0]"},
		{"s3://artifacts/team/models2/m.pt", "storage.aws.buckets[0]", "storage.aws.buckets[0]"},
		{"s3://artifacts/team/m.pt", "storage.aws.buckets[0]", "storage.aws.buckets[0]"},
		{"s3://artifacts2/x", notConfigured, "storage.aws"},
		{"s3://artifact/x", notConfigured, "storage.aws"},
		{"s3://other/x", notConfigured, "storage.aws"},
		{"s3://minio:9000/artifacts/x", "storage.aws.buckets[2]", "storage.aws.buckets[2]"},
		{"s3://MINIO:9000/artifacts/x", "storage.aws.buckets[2]", "storage.aws.buckets[2]"},
		{"s3://minio:9000/ARTIFACTS/x", "storage.aws.buckets[3]", "storage.aws.buckets[3]"},
		{"s3://minio:9000/artifacts/a/b/c", "storage.aws.buckets[8]", "storage.aws.buckets[8]"},
		{"s3://minio:9000/artifacts/a/bc", "storage.aws.buckets[2]", "storage.aws.buckets[2]"},
		{"s3://minio:9000/artifacts2/x", "storage.aws.buckets[3]", "storage.aws.buckets[3]"},
		{"s3://minio:9000/other/x", "storage.aws.buckets[3]", "storage.aws.buckets[3]"},
		{"s3://minio:9000/other", "storage.aws.buckets[3]", "storage.aws.buckets[3]"},
		{"s3://minio:9001/artifacts/x", notConfigured, notConfigured},
		{"s3://minio:900/artifacts/x", notConfigured, notConfigured},
		{"s3://minio.example.com:443/data/k", "storage.aws.buckets[4]", "storage.aws.buckets[4]"},
		{"s3://minio.example.com:443/DATA/k", notConfigured, notConfigured},
		{"s3://minio.example.com:443/data2/k", notConfigured, notConfigured},
		{"s3://minio.example.com:9000/data/k", notConfigured, notConfigured},
		// Without a port, the first name is an AWS bucket, whatever it looks like.
		{"s3://minio.example.com/data/k", notConfigured, "storage.aws"},
		{"s3://minio/artifacts/x", notConfigured, "storage.aws"},
		{"s3://nokeys/k", "storage.aws.buckets[5]", "storage.aws.buckets[5]"},
		{"s3://ceph:7480/shared/k", "storage.aws.buckets[6]", "storage.aws.buckets[6]"},
		{"s3://ceph:7480/other/k", notConfigured, notConfigured},
	}
	for _, tt := range tests {
		u, err := storageurl.Parse(tt.url)
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		for _, wd := range []bool{false, true} {
			want := tt.entry
			if wd {
				want = tt.withDefaults
			}
			got, err := r.Resolve(u, wd)
			if want == notConfigured {
				if !errors.Is(err, ErrNotConfigured) || got != (Target{}) {
					t.Errorf("Resolve(%s, %v) = %q, %v; want ErrNotConfigured", tt.url, wd, got.Entry, err)
				}
				continue
			}
			if err != nil || got.Entry != want || got.Store == nil {
				t.Errorf("Resolve(%s, %v) = %q, %v; want %s", tt.url, wd, got.Entry, err, want)
			}
		}
	}
}

func TestResolveWithoutDefaults(t *testing.T) {
	r := newResolver(t, `storage: {aws: {buckets: [{bucket: b, key: k, secret: s}]}}`, Builders{})
	for _, raw := range []string{"s3://other/k", "s3://h:9000/b/k", "gs://b/k"} {
		u, _ := storageurl.Parse(raw)
		if _, err := r.Resolve(u, true); !errors.Is(err, ErrNotConfigured) {
			t.Errorf("Resolve(%s) err = %v, want ErrNotConfigured", raw, err)
		}
	}
	u, _ := storageurl.Parse("s3://b/k")
	if got, err := r.Resolve(u, false); err != nil || got.Entry != "storage.aws.buckets[0]" {
		t.Errorf("Resolve(s3://b/k) = %q, %v", got.Entry, err)
	}
}

// The longest prefix wins whatever the config order.
func TestLongestPrefixFirst(t *testing.T) {
	r := newResolver(t, `storage:
  aws:
    buckets:
      - {host: "h:1", key: k, secret: s}
      - {host: "h:1", bucket: b, key: k, secret: s}
      - {host: "h:1", bucket: b, subdir: x/y, key: k, secret: s}
      - {host: "h:1", bucket: b, subdir: x, key: k, secret: s}
`, Builders{})
	for raw, want := range map[string]string{
		"s3://h:1/c/k":      "storage.aws.buckets[0]",
		"s3://h:1/b/k":      "storage.aws.buckets[1]",
		"s3://h:1/b/x/k":    "storage.aws.buckets[3]",
		"s3://h:1/b/x/y/k":  "storage.aws.buckets[2]",
		"s3://h:1/b/x/yy/k": "storage.aws.buckets[3]",
		"s3://h:1/b/xx/y/k": "storage.aws.buckets[1]",
		"s3://h:1/bx/y/k":   "storage.aws.buckets[0]",
	} {
		u, err := storageurl.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.Resolve(u, false); err != nil || got.Entry != want {
			t.Errorf("Resolve(%s) = %q, %v; want %s", raw, got.Entry, err, want)
		}
	}
}

// Keys are case-sensitive, and only hosts are lower-cased, in ASCII only: a
// Kelvin sign is not a k.
func TestCaseFoldingIsASCII(t *testing.T) {
	r := newResolver(t, `storage: {aws: {buckets: [{bucket: b, subdir: key, key: k, secret: s}, {host: "kh:9000", key: k, secret: s}]}}`, Builders{})
	for raw, want := range map[string]bool{
		"s3://b/key/x":       true,
		"s3://b/KEY/x":       false,
		"s3://KH:9000/b/x":   true,
		"s3://b/\u212Aey/x":  false, // KELVIN SIGN
		"s3://b/ke\u0130y/x": false,
	} {
		u, err := storageurl.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Resolve(u, false)
		if (err == nil) != want {
			t.Errorf("Resolve(%q) err = %v, want match %v", raw, err, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		b         Builders
		field     string
		want      string
	}{
		{"entry without keys nor defaults", `storage: {aws: {buckets: [{bucket: ok, key: k, secret: s}, {bucket: b}]}}`, Builders{}, "storage.aws.buckets[1]", "no key and secret of its own and storage.aws has no default credentials"},
		{"host entry without keys nor defaults", `storage: {aws: {buckets: [{host: "h:9000"}]}}`, Builders{}, "storage.aws.buckets[0]", "no default credentials"},
		{"google bucket unsupported", `storage: {google: {buckets: [{bucket: g}]}}`, Builders{}, "storage.google", "this build does not support Google Cloud Storage"},
		{"google defaults unsupported", `storage: {google: {credentials_json: "{}"}}`, Builders{}, "storage.google", "does not support Google Cloud Storage"},
		{"azure unsupported", `storage: {azure: {containers: [{account_name: acct}]}}`, Builders{}, "storage.azure.containers[0]", "this build does not support Azure Blob"},
		{"gcs builder fails", `storage: {google: {buckets: [{bucket: a}, {bucket: g}]}}`, Builders{GCS: func(_ config.Google, b *config.GSBucket) (store.Store, error) {
			if b != nil && b.Bucket == "g" {
				return nil, errors.New("credentials_json is not a service account key")
			}
			return &fakeSigner{}, nil
		}}, "storage.google.buckets[1]", "credentials_json is not a service account key"},
		{"gcs default builder fails", `storage: {google: {project: p}}`, Builders{GCS: func(config.Google, *config.GSBucket) (store.Store, error) {
			return nil, errors.New("bad key")
		}}, "storage.google", "bad key"},
		{"azure builder fails", `storage: {azure: {containers: [{account_name: acct}, {account_name: acct2}]}}`, Builders{Azure: func(c config.AzureContainer) (store.Store, error) {
			if c.AccountName == "acct2" {
				return nil, errors.New("account_key is not base64")
			}
			return &fakeSigner{}, nil
		}}, "storage.azure.containers[1]", "account_key is not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(parseConfig(t, tt.doc).Storage, tt.b)
			var fe *config.FieldError
			if err == nil || !errors.As(err, &fe) {
				t.Fatalf("New = %v, %v; want a *config.FieldError", r, err)
			}
			if fe.Field != tt.field || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q (field %q), want field %q and %q", err, fe.Field, tt.field, tt.want)
			}
		})
	}
}

// Storage that config validation would refuse still fails New (New takes a
// config.Storage that need not come from Parse).
func TestNewRefusesSharedAzureEndpoint(t *testing.T) {
	st := config.Storage{Azure: config.Azure{Containers: []config.AzureContainer{
		{AccountName: "one", Endpoint: "http://azurite:10000/one"},
		{AccountName: "two", Endpoint: "http://azurite:10000/two"},
	}}}
	var calls []string
	_, err := New(st, fakeBuilders(&calls))
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Field != "storage.azure.containers[1].endpoint" {
		t.Fatalf("err = %v", err)
	}
}

func TestEmptyStorage(t *testing.T) {
	r := newResolver(t, `{}`, Builders{})
	if len(r.Entries()) != 0 {
		t.Fatalf("Entries = %+v", r.Entries())
	}
	for _, raw := range []string{"s3://b/k", "gs://b/k", "azure://acct.blob.core.windows.net/c/k", "s3://h:1/b/k"} {
		u, _ := storageurl.Parse(raw)
		if _, err := r.Resolve(u, true); !errors.Is(err, ErrNotConfigured) {
			t.Errorf("Resolve(%s) err = %v", raw, err)
		}
	}
	if len(r.URLOptions().AzureHosts) != 0 {
		t.Error("URLOptions has Azure hosts")
	}
}

func TestResolveGCS(t *testing.T) {
	var calls []string
	r := newResolver(t, `storage:
  google:
    project: proj
    credentials_json: "{}"
    buckets:
      - {bucket: gsb}
      - {bucket: gsb, subdir: team/a/}
      - {bucket: other, project: p2}
`, fakeBuilders(&calls))
	wantCalls := []string{"gcs default proj", "gcs gsb/", "gcs gsb/team/a/", "gcs other/"}
	if !reflect.DeepEqual(calls, wantCalls) {
		t.Errorf("builder calls %q, want %q", calls, wantCalls)
	}
	tests := []struct{ url, entry, withDefaults string }{
		{"gs://gsb/x", "storage.google.buckets[0]", "storage.google.buckets[0]"},
		{"gs://gsb", "storage.google.buckets[0]", "storage.google.buckets[0]"},
		{"gs://gsb/team/a/x", "storage.google.buckets[1]", "storage.google.buckets[1]"},
		{"gs://gsb/TEAM/a/x", "storage.google.buckets[0]", "storage.google.buckets[0]"},
		{"gs://GSB/team/a/x", "", "storage.google"},
		{"gs://gsb/team/ab/x", "storage.google.buckets[0]", "storage.google.buckets[0]"},
		{"gs://other/k", "storage.google.buckets[2]", "storage.google.buckets[2]"},
		{"gs://others/k", "", "storage.google"},
		{"gs://gs/k", "", "storage.google"},
		{"s3://gsb/k", "", ""},
	}
	for _, tt := range tests {
		u, err := storageurl.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		for _, wd := range []bool{false, true} {
			want := tt.entry
			if wd {
				want = tt.withDefaults
			}
			got, err := r.Resolve(u, wd)
			switch {
			case want == "" && !errors.Is(err, ErrNotConfigured):
				t.Errorf("Resolve(%s, %v) = %q, %v; want ErrNotConfigured", tt.url, wd, got.Entry, err)
			case want != "" && (err != nil || got.Entry != want):
				t.Errorf("Resolve(%s, %v) = %q, %v; want %s", tt.url, wd, got.Entry, err, want)
			}
		}
	}
	// The store is the one built for the entry.
	u, _ := storageurl.Parse("gs://gsb/team/a/x")
	got, _ := r.Resolve(u, false)
	if s, ok := got.Store.(*fakeSigner); !ok || s.name != "gcs gsb/team/a/" {
		t.Errorf("store = %#v", got.Store)
	}
}

// With only bucket entries, there are no Google defaults.
func TestGCSWithoutDefaults(t *testing.T) {
	var calls []string
	r := newResolver(t, `storage: {google: {buckets: [{bucket: g}]}}`, fakeBuilders(&calls))
	u, _ := storageurl.Parse("gs://other/k")
	if _, err := r.Resolve(u, true); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("err = %v", err)
	}
}

func TestResolveAzure(t *testing.T) {
	var calls []string
	r := newResolver(t, `storage:
  azure:
    containers:
      - {account_name: acct, account_key: a2V5, container_name: models}
      - {account_name: acct, account_key: a2V5}
      - {account_name: acct, account_key: a2V5, container_name: late}
      - {account_name: acct2, account_key: a2V5, container_name: data}
      - {account_name: acct2, account_key: a2V5, container_name: data}
      - {account_name: devstoreaccount1, account_key: a2V5, endpoint: "http://127.0.0.1:10000/devstoreaccount1"}
      - {account_name: gov, container_name: cont1, endpoint: "https://GOV.blob.core.usgovcloudapi.net"}
      - {account_name: pub, container_name: cont1, endpoint: "https://pub.blob.core.windows.net"}
`, fakeBuilders(&calls))
	if len(calls) != 8 {
		t.Errorf("builder calls %q", calls)
	}
	opts := r.URLOptions()
	wantHosts := map[string]string{"127.0.0.1:10000": "devstoreaccount1", "gov.blob.core.usgovcloudapi.net": "gov"}
	if !reflect.DeepEqual(opts.AzureHosts, wantHosts) {
		t.Errorf("URLOptions().AzureHosts = %v, want %v", opts.AzureHosts, wantHosts)
	}
	opts.AzureHosts["evil.example"] = "acct"
	if _, ok := r.URLOptions().AzureHosts["evil.example"]; ok {
		t.Error("URLOptions hands out the resolver's own map")
	}
	tests := []struct{ url, entry string }{
		{"azure://acct.blob.core.windows.net/models/k", "storage.azure.containers[0]"},
		{"azure://acct.blob.core.windows.net/other/k", "storage.azure.containers[1]"},
		{"azure://acct.blob.core.windows.net/late/k", "storage.azure.containers[1]"}, // config order: [1] has no container
		{"azure://ACCT.blob.core.windows.net/models", "storage.azure.containers[0]"},
		{"azure://acct2.blob.core.windows.net/data/k", "storage.azure.containers[3]"},
		{"azure://acct2.blob.core.windows.net/other/k", ""},
		{"azure://acct3.blob.core.windows.net/data/k", ""},
		{"azure://127.0.0.1:10000/anything/k", "storage.azure.containers[5]"},
		{"azure://devstoreaccount1.blob.core.windows.net/anything/k", "storage.azure.containers[5]"},
		{"azure://gov.blob.core.usgovcloudapi.net/cont1/k", "storage.azure.containers[6]"},
		{"azure://gov.blob.core.usgovcloudapi.net/cont2/k", ""},
		{"azure://pub.blob.core.windows.net/cont1/k", "storage.azure.containers[7]"},
	}
	for _, tt := range tests {
		u, err := r.URLOptions().Parse(tt.url)
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		for _, wd := range []bool{false, true} {
			got, err := r.Resolve(u, wd)
			switch {
			case tt.entry == "" && !errors.Is(err, ErrNotConfigured):
				t.Errorf("Resolve(%s, %v) = %q, %v; want ErrNotConfigured", tt.url, wd, got.Entry, err)
			case tt.entry != "" && (err != nil || got.Entry != tt.entry):
				t.Errorf("Resolve(%s, %v) = %q, %v; want %s", tt.url, wd, got.Entry, err, tt.entry)
			}
		}
	}
	// Without the resolver's options, the Azurite host is not a storage URL.
	if _, err := storageurl.Parse("azure://127.0.0.1:10000/c/k"); err == nil {
		t.Error("the endpoint host parses without URLOptions")
	}
}

func TestEntries(t *testing.T) {
	var calls []string
	doc := `storage:
  aws:
    key: K
    secret: S
    buckets:
` + strings.Repeat("      - {bucket: b, key: k, secret: s}\n", 11) + `      - {host: "h:9000", key: k, secret: s}
      - {host: "h:9000", bucket: hb, subdir: deep/er, key: k, secret: s}
  google:
    project: p
    buckets: [{bucket: g1}, {bucket: g2, subdir: x}]
  azure:
    containers: [{account_name: acct, container_name: ctr}, {account_name: acct2}]
`
	r := newResolver(t, doc, fakeBuilders(&calls))
	type row struct {
		Name     string
		Provider storageurl.Provider
		Bucket   string
	}
	var got []row
	for _, e := range r.Entries() {
		if e.Store == nil {
			t.Errorf("%s has no store", e.Name)
		}
		got = append(got, row{e.Name, e.Provider, e.Bucket})
	}
	want := []row{{"storage.aws", storageurl.S3, ""}, {"storage.google", storageurl.GCS, ""}}
	for i := 0; i < 11; i++ {
		want = append(want, row{"storage.aws.buckets[" + itoa(i) + "]", storageurl.S3, "b"})
	}
	want = append(want,
		row{"storage.aws.buckets[11]", storageurl.S3, ""},
		row{"storage.aws.buckets[12]", storageurl.S3, "hb"},
		row{"storage.google.buckets[0]", storageurl.GCS, "g1"},
		row{"storage.google.buckets[1]", storageurl.GCS, "g2"},
		row{"storage.azure.containers[0]", storageurl.Azure, "ctr"},
		row{"storage.azure.containers[1]", storageurl.Azure, ""},
	)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Entries =\n%v\nwant\n%v", got, want)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

// A config.Storage built in code (not through config.Parse) cannot widen a
// host entry by a subdir that has no bucket.
func TestNewRefusesSubdirWithoutBucket(t *testing.T) {
	st := config.Storage{AWS: config.AWS{Buckets: []config.S3Bucket{{Host: "h:9000", Subdir: "team", Key: "k", Secret: "s"}}}}
	_, err := New(st, Builders{})
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Field != "storage.aws.buckets[0].subdir" {
		t.Fatalf("err = %v", err)
	}
}
