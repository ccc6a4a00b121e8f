package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/clearmlauth/clearmltest"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/internal/testserver"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	svcSecret = "svc-secret-4242"
	keySecret = "bucket-secret-5151"
)

// TestPresignWithSettingsFromClearML drives the presign handler built from
// the three ClearML values alone: ClearML down at cold start is 503
// upstream_unavailable with Retry-After, and the same handler serves once
// ClearML answers; a removed bucket is 403 not_configured; a caller of
// another company is 403 company_not_allowed; /healthz reports the
// settings' age; no secret reaches a log line or an answer.
func TestPresignWithSettingsFromClearML(t *testing.T) {
	cml := clearmltest.New(t)
	cml.AddUser(clearmltest.User{ID: "svc", Name: "storagegate", Role: "user", CompanyID: "c1", CompanyName: "Acme"})
	cml.AddUser(clearmltest.User{ID: "alice", Name: "Alice", Role: "user", CompanyID: "c1", CompanyName: "Acme"})
	cml.AddUser(clearmltest.User{ID: "eve", Name: "Eve", Role: "admin", CompanyID: "c2", CompanyName: "Other"})
	cml.AddKey("svc", "SVCKEY", svcSecret)
	no := false
	cml.SetStorageSettings("c1", clearmltest.StorageSettings{AWS: &clearmltest.AWSSettings{Buckets: []clearmltest.S3Bucket{
		{Bucket: "artifacts", Host: "minio:9000", Key: "AKIAFROMCLEARML", Secret: keySecret, Secure: &no},
	}}})
	cml.SetDown(true)

	env := map[string]string{config.EnvAPIHost: cml.URL, config.EnvAccessKey: "SVCKEY", config.EnvSecretKey: svcSecret}
	cfg, _, err := config.FromEnv(context.Background(), func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{t: time.Now()}
	logs := &testserver.SyncBuffer{}
	h, err := NewPresign(cfg, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: clk.Now})
	if err != nil {
		t.Fatalf("start-up with ClearML down: %v", err)
	}
	alice, eve := cml.Token("alice", time.Hour), cml.Token("eve", time.Hour)
	get := func(token, storageURL string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/presign?url="+url.QueryEscape(storageURL), nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	health := func() map[string]any {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
		var out struct {
			Settings map[string]any `json:"settings"`
		}
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil {
			t.Fatalf("healthz: %d %s", w.Code, w.Body)
		}
		return out.Settings
	}
	const obj = "s3://minio:9000/artifacts/p/t.1/artifacts/a/f.bin"

	// ClearML was down at start-up (NewPresign above). Callers are checked
	// by ClearML too, so bring it back for them while the service account
	// still cannot load the settings (ClearML no longer knows its secret).
	cml.SetDown(false)
	cml.AddKey("svc", "SVCKEY", "another-secret")
	clk.Add(10 * time.Second)
	w := get(alice, obj)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "upstream_unavailable") || w.Header().Get("Retry-After") == "" {
		t.Fatalf("cold start without settings: %d %s %v", w.Code, w.Body, w.Header())
	}
	if s := health(); s["loaded"] != false || s["failing"] != true {
		t.Fatalf("healthz while failing: %v", s)
	}

	// ClearML accepts the service account again: served without a restart.
	cml.AddKey("svc", "SVCKEY", svcSecret)
	cml.SetStorageSettings("c1", clearmltest.StorageSettings{AWS: &clearmltest.AWSSettings{Buckets: []clearmltest.S3Bucket{
		{Bucket: "artifacts", Host: "minio:9000", Key: "AKIAFROMCLEARML", Secret: keySecret, Secure: &no},
	}}})
	clk.Add(10 * time.Second)
	w = get(alice, obj)
	if w.Code != http.StatusFound || !strings.Contains(w.Header().Get("Location"), "AKIAFROMCLEARML") {
		t.Fatalf("after recovery: %d %s", w.Code, w.Body)
	}
	// Another company's caller: the settings are c1's.
	if w := get(eve, obj); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "company_not_allowed") {
		t.Fatalf("other company: %d %s", w.Code, w.Body)
	}
	if s := health(); s["loaded"] != true || s["source"] != "clearml" || s["age_seconds"] != float64(0) {
		t.Fatalf("healthz: %v", s)
	}

	// Removed in the UI: after storage.refresh, 403 not_configured.
	cml.SetStorageSettings("c1", clearmltest.StorageSettings{AWS: &clearmltest.AWSSettings{}})
	clk.Add(61 * time.Second)
	get(alice, obj) // served the copy; the refresh runs meanwhile
	deadline := time.Now().Add(10 * time.Second)
	for {
		w = get(alice, obj)
		if w.Code == http.StatusForbidden || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "not_configured") {
		t.Fatalf("removed bucket: %d %s", w.Code, w.Body)
	}

	// ClearML down later: the last settings keep serving, healthz says
	// how old they are.
	cml.SetStorageSettings("c1", clearmltest.StorageSettings{AWS: &clearmltest.AWSSettings{Buckets: []clearmltest.S3Bucket{
		{Bucket: "artifacts", Host: "minio:9000", Key: "AKIAFROMCLEARML", Secret: keySecret, Secure: &no},
	}}})
	clk.Add(61 * time.Second)
	for deadline := time.Now().Add(10 * time.Second); get(alice, obj).Code != http.StatusFound; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the re-added bucket is not served")
		}
	}
	cml.SetDown(true)
	clk.Add(2 * time.Minute)
	for range 3 {
		// alice's identity is cached, so the verifier needs no ClearML.
		if w := get(alice, obj); w.Code != http.StatusFound {
			t.Fatalf("ClearML down later: %d %s", w.Code, w.Body)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); health()["failing"] != true; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("healthz does not report the failing refresh")
		}
	}
	if s := health(); s["age_seconds"].(float64) < 120 {
		t.Fatalf("healthz age: %v", s)
	}

	for _, secret := range []string{svcSecret, keySecret, "another-secret", alice, eve} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("a secret reached the logs:\n%s", logs)
		}
	}
}
