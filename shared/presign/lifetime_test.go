package presign_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/clearmlauth"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/presign"
	"github.com/storagegate/storagegate/shared/store"
)

// expiringSigner signs as the real stores do with credentials that expire
// at credsExpire (a session token, a delegation key): the URL's expiry is
// SignedAt plus Lifetime, shortened to the providers' 7 days and to the
// credentials' expiry; under a second left is an error.
type expiringSigner struct {
	store.Deleter // never called: presign only signs
	mu            sync.Mutex
	credsExpire   time.Time // zero: credentials that do not expire
	signs         []store.SignRequest
}

func (s *expiringSigner) Sign(_ context.Context, req store.SignRequest) (store.Signed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signs = append(s.signs, req)
	exp := req.SignedAt.Add(min(req.Lifetime, store.MaxLifetime))
	if !s.credsExpire.IsZero() && s.credsExpire.Before(exp) {
		exp = s.credsExpire
	}
	if exp.Sub(req.SignedAt) < time.Second {
		return store.Signed{}, store.ErrCredentials
	}
	return store.Signed{URL: "https://storage.example/b/k?signed=" + strconv.FormatInt(req.SignedAt.Unix(), 10) + "&exp=" + strconv.FormatInt(exp.Unix(), 10), ExpiresAt: exp}, nil
}

type allowAll struct{}

func (allowAll) Verify(context.Context, clearmlauth.Credential) (clearmlauth.Identity, error) {
	return clearmlauth.Identity{UserID: "alice", CompanyID: "c1", Role: "user"}, nil
}

func lifetimeHandler(t *testing.T, doc string, signer store.Store, now func() time.Time) http.Handler {
	t.Helper()
	cfg, _, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	res, err := credentials.New(cfg.Storage, credentials.Builders{
		GCS: func(config.Google, *config.GSBucket) (store.Store, error) { return signer, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := presign.New(presign.Options{Config: cfg, Verifier: allowAll{}, Resolver: res, Now: now,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestNeverHandsOutShortOrExpiredURLs: a windowed URL has at least expires
// left; when the credentials live shorter, the URL is signed from now for
// what they have left; a URL is never handed out expired (issue 9, item 1).
func TestNeverHandsOutShortOrExpiredURLs(t *testing.T) {
	const doc = `{"storage": {"google": {"buckets": [{"bucket": "b"}]}}, "clearml": {"auth_mode": "jwt", "token_secret": "x"},
		"presign": {"expires": "15m", "window": "10m"}}`
	t0 := time.Date(2026, 3, 1, 12, 9, 30, 0, time.UTC) // 9m30s into a 10m window
	now := t0
	get := func(h http.Handler, extra string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/presign?url="+url.QueryEscape("gs://b/k")+extra, nil)
		r.Header.Set("Authorization", "Bearer x.y.z")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	expiresAt := func(w *httptest.ResponseRecorder) time.Time {
		t.Helper()
		if w.Code != http.StatusFound {
			t.Fatalf("status %d, want 302: %s", w.Code, w.Body)
		}
		u, _ := url.Parse(w.Header().Get("Location"))
		n, _ := strconv.ParseInt(u.Query().Get("exp"), 10, 64)
		return time.Unix(n, 0).UTC()
	}

	t.Run("credentials that outlive the window", func(t *testing.T) {
		s := &expiringSigner{}
		h := lifetimeHandler(t, doc, s, func() time.Time { return now })
		if got, want := expiresAt(get(h, "")), t0.Truncate(10*time.Minute).Add(25*time.Minute); !got.Equal(want) {
			t.Fatalf("expires %s, want the window's %s", got, want)
		}
	})
	t.Run("credentials expiring within expires plus window", func(t *testing.T) {
		// The windowed URL would end at the credentials' expiry, 5m from
		// now, with less than expires left although the credentials have
		// 5m: sign from now, for those 5m.
		s := &expiringSigner{credsExpire: t0.Add(5 * time.Minute)}
		h := lifetimeHandler(t, doc, s, func() time.Time { return now })
		w := get(h, "")
		if got := expiresAt(w); !got.Equal(t0.Add(5 * time.Minute)) {
			t.Fatalf("expires %s, want the credentials' %s", got, t0.Add(5*time.Minute))
		}
		if last := s.signs[len(s.signs)-1]; !last.SignedAt.Equal(t0) {
			t.Fatalf("re-signed at %s, want now (%s)", last.SignedAt, t0)
		}
	})
	t.Run("credentials expiring between the window's start and now", func(t *testing.T) {
		s := &expiringSigner{credsExpire: t0.Add(-time.Minute)}
		h := lifetimeHandler(t, doc, s, func() time.Time { return now })
		if w := get(h, ""); w.Code != http.StatusInternalServerError {
			t.Fatalf("status %d (%s), want 500: never an expired URL", w.Code, w.Header().Get("Location"))
		}
		if w := get(h, "&expires=60"); w.Code != http.StatusInternalServerError {
			t.Fatalf("explicit expires: status %d, want 500", w.Code)
		}
	})
	t.Run("a cached URL is not reused once too short", func(t *testing.T) {
		s := &expiringSigner{credsExpire: t0.Add(30 * time.Minute)}
		h := lifetimeHandler(t, doc, s, func() time.Time { return now })
		expiresAt(get(h, ""))
		now = t0.Add(16 * time.Minute) // credentials have 14m left, under expires
		defer func() { now = t0 }()
		got := expiresAt(get(h, ""))
		if !got.Equal(t0.Add(30 * time.Minute)) {
			t.Fatalf("expires %s, want what the credentials have left (%s)", got, t0.Add(30*time.Minute))
		}
	})
}

// TestHugeWindowIsAStartUpError: the config of issue 9 item 1 never reaches
// a handler.
func TestHugeWindowIsAStartUpError(t *testing.T) {
	_, _, err := config.Parse([]byte(`{"presign": {"window": "1000h"}}`))
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Field != "presign.window" {
		t.Fatalf("window 1000h: %v, want a presign.window error", err)
	}
}
