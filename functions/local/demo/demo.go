// Package demo is the embedded default behind `storagegate serve --demo`
// (`make run`): an in-process S3 store that verifies SigV4 signatures, seeded
// with a sample task's artifacts, and a ClearML-compatible login that issues
// a demo token. It needs no cloud account and no ClearML server. Only the
// local binary imports it; no cloud function can switch it on.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/storagegate/storagegate/shared/config"
)

// The demo identity and bucket.
const (
	User        = "demo"
	Password    = "demo"
	Bucket      = "demo-artifacts"
	TaskFolder  = "ClearML Examples/train model.0123456789abcdef"
	ImageKey    = TaskFolder + "/metrics/loss/train/loss_0001.png"
	ArtifactKey = TaskFolder + "/artifacts/report/report 50%.txt"
	CookieName  = "clearml_token_basic"
	tokenTTL    = 12 * time.Hour
)

// Demo is a running demo store and identity.
type Demo struct {
	Config *config.Config
	// Host is the store's 127.0.0.1:port.
	Host   string
	secret []byte
	srv    *http.Server
	ln     net.Listener
}

// Start runs the store on a free loopback port and builds the config that
// points at it.
func Start(ctx context.Context) (*Demo, error) {
	key, secret := "demo-key", randomHex(20)
	backend := s3mem.New()
	fake := gofakes3.New(backend, gofakes3.WithV4Auth(map[string]string{key: secret}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &Demo{Host: ln.Addr().String(), secret: []byte(randomHex(32)), ln: ln,
		srv: &http.Server{Handler: fake.Server(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = d.srv.Serve(ln) }()

	if err := backend.CreateBucket(ctx, Bucket); err != nil {
		d.Close()
		return nil, err
	}
	for k, body := range map[string][]byte{
		ImageKey:    lossPlot(),
		ArtifactKey: []byte("storagegate demo artifact: if you can read this, the redirect worked.\n"),
	} {
		meta := map[string]string{"Content-Type": contentType(k)}
		if _, err := backend.PutObject(ctx, Bucket, k, meta, bytes.NewReader(body), int64(len(body))); err != nil {
			d.Close()
			return nil, err
		}
	}

	doc, _ := json.Marshal(map[string]any{
		"storage": map[string]any{"aws": map[string]any{"buckets": []map[string]any{{
			"bucket": Bucket, "host": d.Host, "key": key, "secret": secret, "secure": false,
		}}}},
		"clearml": map[string]any{"auth_mode": "jwt", "token_secret": string(d.secret)},
	})
	cfg, _, err := config.Parse(doc)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.Config = cfg
	return d, nil
}

// Close stops the store.
func (d *Demo) Close() { _ = d.srv.Close() }

// StorageURL is the s3:// URL ClearML would have written for key.
func (d *Demo) StorageURL(key string) string { return "s3://" + d.Host + "/" + Bucket + "/" + key }

// Token issues a ClearML-shaped HS256 token for the demo user.
func (d *Demo) Token() string {
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"identity": map[string]string{
			"user": "demo-user", "company": "demo-company", "role": "user",
			"user_name": "Demo User", "company_name": "Demo Company",
		},
		"iat": now.Unix(), "exp": now.Add(tokenTTL).Unix(),
		"session_id": randomHex(8), "auth_type": "Bearer", "env": "demo",
	})
	s, _ := t.SignedString(d.secret)
	return s
}

// Routes wraps next with the demo's own pages: POST /auth.login (Basic
// demo:demo, answered in ClearML's envelope) and GET /demo (sets the session
// cookie, as the ClearML web app's login would, and shows the artifacts
// through the presign redirect).
func (d *Demo) Routes(next http.Handler) http.Handler {
	// A plain path switch, not a ServeMux: a mux redirects unclean paths
	// (//presign: 307) where every other mode answers 404.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/auth.login" && r.Method == http.MethodPost:
			d.login(w, r)
		case r.URL.Path == "/demo" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			d.page(w)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func (d *Demo) login(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	w.Header().Set("Content-Type", "application/json")
	if !ok || u != User || p != Password {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(envelope(401, 22, "Invalid user id or secret", nil))
		return
	}
	_ = json.NewEncoder(w).Encode(envelope(200, 0, "OK", map[string]any{"token": d.Token()}))
}

func (d *Demo) page(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: d.Token(), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(tokenTTL / time.Second)})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = page.Execute(w, map[string]string{
		"Image":    "/presign?url=" + url.QueryEscape(d.StorageURL(ImageKey)),
		"Artifact": "/presign?url=" + url.QueryEscape(d.StorageURL(ArtifactKey)),
		"Download": "/presign?download=1&url=" + url.QueryEscape(d.StorageURL(ArtifactKey)),
		"JSON":     "/presign?format=json&url=" + url.QueryEscape(d.StorageURL(ImageKey)),
	})
}

var page = template.Must(template.New("demo").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>storagegate demo</title></head>
<body style="font-family: sans-serif; max-width: 48em; margin: 2em auto">
<h1>storagegate demo</h1>
<p>You are logged in as the demo ClearML user (a session cookie, as the ClearML web app sets).
The image below is a debug image in a private S3 bucket; the browser fetched it through
<code>{{.Image}}</code>, which checked the cookie and redirected to a short-lived signed URL.</p>
<p><img alt="loss plot" src="{{.Image}}" width="320" height="160" style="border: 1px solid #ccc"></p>
<ul>
<li><a href="{{.Artifact}}">open the text artifact</a></li>
<li><a href="{{.Download}}">download it</a></li>
<li><a href="{{.JSON}}">the JSON form</a></li>
</ul>
</body></html>
`))

func envelope(code, sub int, msg string, data any) map[string]any {
	return map[string]any{
		"meta": map[string]any{"id": randomHex(16), "trx": randomHex(16),
			"endpoint":    map[string]any{"name": "auth.login", "requested_version": "2.31", "actual_version": "1.0"},
			"result_code": code, "result_subcode": sub, "result_msg": msg, "error_stack": "", "error_data": map[string]any{}},
		"data": data,
	}
}

// BasicAuth is the Authorization header value for the demo login.
func BasicAuth() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(User+":"+Password))
}

func contentType(key string) string {
	if len(key) > 4 && key[len(key)-4:] == ".png" {
		return "image/png"
	}
	return "text/plain; charset=utf-8"
}

// lossPlot draws a small falling curve, so the demo shows a real image.
func lossPlot() []byte {
	const w, h = 320, 160
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.White)
		}
	}
	for x := 0; x < w; x++ {
		y := int(float64(h-10) * 1.0 / (1.0 + float64(x)/25.0))
		for dy := -1; dy <= 1; dy++ {
			if yy := h - 5 - y + dy; yy >= 0 && yy < h {
				img.Set(x, yy, color.RGBA{R: 31, G: 119, B: 180, A: 255})
			}
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)[:n]
}
