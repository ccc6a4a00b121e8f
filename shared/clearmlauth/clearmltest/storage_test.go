package clearmltest

import (
	"encoding/base64"
	"testing"
)

// TestStorageGetSettings: storage.get_settings answers as clearml-server
// does: data.settings with aws, google, azure and last_update (null until
// the company saves), every bucket field of the SDK's config, keyless S3
// entries dropped, per company, and any role may call it.
func TestStorageGetSettings(t *testing.T) {
	s := New(t)
	s.AddUser(User{ID: "svc", Name: "storagegate", Role: "user", CompanyID: "c1", CompanyName: "Acme"})
	s.AddUser(User{ID: "bob", Name: "Bob", Role: "guest", CompanyID: "c2", CompanyName: "Other"})
	s.AddKey("svc", "SVCKEY", "svcsecret")
	s.AddKey("bob", "BOBKEY", "bobsecret")
	basic := func(k, v string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(k+":"+v)) }
	settings := func(auth string) map[string]any {
		t.Helper()
		a := post(t, s.URL+"/storage.get_settings", auth, "{}")
		if a.status != 200 || a.Meta.Endpoint.Name != "storage.get_settings" {
			t.Fatalf("status %d, endpoint %+v", a.status, a.Meta.Endpoint)
		}
		st, ok := a.Data["settings"].(map[string]any)
		if !ok {
			t.Fatalf("no data.settings: %v", a.Data)
		}
		return st
	}

	st := settings(basic("SVCKEY", "svcsecret"))
	if st["last_update"] != nil {
		t.Fatalf("never saved: last_update = %v, want null", st["last_update"])
	}
	b := st["aws"].(map[string]any)["buckets"].([]any)
	if len(b) != 1 || b[0].(map[string]any)["host"] != "localhost:9000" || b[0].(map[string]any)["secure"] != false {
		t.Fatalf("the server's own settings: %v", b)
	}
	if g := st["google"].(map[string]any); g["project"] != nil || len(g["credentials_json"].(map[string]any)) != 0 {
		t.Fatalf("the server's own google: %v", g)
	}

	f := false
	s.SetStorageSettings("c1", StorageSettings{
		AWS: &AWSSettings{Region: "eu-west-1", Buckets: []S3Bucket{
			{Bucket: "artifacts", Host: "minio:9000", Key: "AK", Secret: "SK", Secure: &f},
			{Bucket: "keyless"}, // dropped, as S3BucketConfig.from_list drops it
		}},
		Azure: &AzureSettings{Containers: []AzureContainer{{AccountName: "acct", AccountKey: "a2V5", ContainerName: "c"}}},
	})
	st = settings(basic("SVCKEY", "svcsecret"))
	lu, ok := st["last_update"].(string)
	if !ok || lu == "" {
		t.Fatalf("saved: last_update = %v", st["last_update"])
	}
	b = st["aws"].(map[string]any)["buckets"].([]any)
	if len(b) != 1 {
		t.Fatalf("buckets = %v", b)
	}
	want := []string{"bucket", "subdir", "host", "key", "secret", "token", "multipart", "acl", "secure", "region", "verify", "use_credentials_chain", "extra_args"}
	for _, k := range want {
		if _, ok := b[0].(map[string]any)[k]; !ok {
			t.Errorf("bucket entry lacks %s", k)
		}
	}
	if e := b[0].(map[string]any); e["key"] != "AK" || e["secret"] != "SK" || e["secure"] != false || e["verify"] != true {
		t.Errorf("entry = %v", e)
	}
	if c := st["azure"].(map[string]any)["containers"].([]any); len(c) != 1 || c[0].(map[string]any)["account_key"] != "a2V5" {
		t.Errorf("azure = %v", c)
	}
	// Google was not saved: the server's own answers for it.
	if g := st["google"].(map[string]any); g["project"] != nil {
		t.Errorf("google = %v", g)
	}
	// Unchanged until the next save; a save always moves it.
	if again := settings(basic("SVCKEY", "svcsecret")); again["last_update"] != lu {
		t.Errorf("last_update moved without a save: %v then %v", lu, again["last_update"])
	}
	s.SetStorageSettings("c1", StorageSettings{AWS: &AWSSettings{}})
	if again := settings(basic("SVCKEY", "svcsecret")); again["last_update"] == lu {
		t.Errorf("a save kept last_update %v", lu)
	}
	// Another company sees its own (here the server's).
	if other := settings(basic("BOBKEY", "bobsecret")); other["last_update"] != nil {
		t.Errorf("company c2 sees c1's settings: %v", other)
	}
	if a := post(t, s.URL+"/storage.get_settings", "", "{}"); a.status != 401 {
		t.Errorf("anonymous: %d", a.status)
	}
	if a := post(t, s.URL+"/storage.get_settings", basic("SVCKEY", "svcsecret"), `{"x": 1}`); a.status != 400 {
		t.Errorf("extra field: %d", a.status)
	}
	s.ResetStorageSettings("c1")
	if st := settings(basic("SVCKEY", "svcsecret")); st["last_update"] != nil {
		t.Errorf("after reset: %v", st["last_update"])
	}
	if n := s.Calls("storage.get_settings"); n != 8 {
		t.Errorf("Calls = %d, want 8", n)
	}
}
