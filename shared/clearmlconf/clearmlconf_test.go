package clearmlconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storagegate/storagegate/shared/config"
)

// TestImport: each sample under testdata (a clearml.conf in the SDK's
// documented shape, the server's storage_credentials.conf, a server config
// naming services.storage_credentials) yields exactly the expected storage
// section, which storagegate's own loader accepts.
func TestImport(t *testing.T) {
	for _, name := range []string{"clearml", "storage_credentials", "server-merged"} {
		t.Run(name, func(t *testing.T) {
			got, err := Import(filepath.Join("testdata", name+".conf"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", name+".want.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
			if _, _, err := config.Parse(got); err != nil {
				t.Fatalf("the loader refuses the section: %v", err)
			}
		})
	}
}

// TestImportDetails: a credentials_json path is read (relative to the
// file), ~ and absolute paths work, a missing key file names the field, a
// file without storage credentials and a parse error say so without
// quoting the text.
func TestImportDetails(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "keys", "sa.json")
	os.MkdirAll(filepath.Dir(key), 0o700)
	os.WriteFile(key, []byte(`{"type": "service_account"}`), 0o600)

	st, err := Convert(`sdk.google.storage { credentials_json: "keys/sa.json", credentials: [{bucket: b, credentials_json: "`+key+`"}] }`, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Google.CredentialsJSON != `{"type": "service_account"}` || st.Google.Buckets[0].CredentialsJSON != st.Google.CredentialsJSON {
		t.Fatalf("key files not read: %+v", st.Google)
	}
	if _, err := Convert(`sdk.google.storage { credentials: [{bucket: b, credentials_json: "missing.json"}] }`, dir); err == nil ||
		!strings.Contains(err.Error(), "google.storage.credentials[0].credentials_json") {
		t.Fatalf("missing key file: %v", err)
	}
	if _, err := Convert(`api { api_server: "http://x:8008" }`, dir); err == nil || !strings.Contains(err.Error(), "no storage credentials") {
		t.Fatalf("no storage: %v", err)
	}
	_, err = Convert("sdk.aws.s3 { secret: \"very-secret-value\" \n key = = }", dir)
	if err == nil || strings.Contains(err.Error(), "very-secret-value") {
		t.Fatalf("parse error: %v", err)
	}
}
