package e2e

import (
	"bufio"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// TestDemoAsREADMESays runs `storagegate serve --demo` (what `make run`
// does) with no config and no cloud account, and follows both paths README
// gives: the browser page, whose image loads through the cookie and the
// redirect, and the curl commands the binary prints.
func TestDemoAsREADMESays(t *testing.T) {
	bin := buildLocal(t)
	cmd := exec.Command(bin, "serve", "--demo", "--addr", "127.0.0.1:0")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()} // no STORAGEGATE_* at all
	stdout, _ := cmd.StdoutPipe()
	p, err := testserver.StartProcess("storagegate demo", cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(5 * time.Second) })

	var printed []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		printed = append(printed, sc.Text())
		if strings.Contains(sc.Text(), "curl -L") {
			break
		}
	}
	all := strings.Join(printed, "\n")
	page := regexp.MustCompile(`http://127\.0\.0\.1:\d+/demo`).FindString(all)
	if page == "" {
		t.Fatalf("no demo URL printed:\n%s", all)
	}
	base := strings.TrimSuffix(page, "/demo")

	// The browser path: the page sets the session cookie; its <img> loads.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := browser.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	src := regexp.MustCompile(`<img[^>]+src="([^"]+)"`).FindStringSubmatch(string(body))
	if src == nil {
		t.Fatalf("no image on the demo page:\n%s", body)
	}
	resp, err = browser.Get(base + html.UnescapeString(src[1]))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || len(img) < 100 || string(img[1:4]) != "PNG" {
		t.Fatalf("image through the redirect: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(img))
	}

	// The curl path: log in with demo:demo, then follow the printed command.
	req, _ := http.NewRequest("POST", base+"/auth.login", nil)
	req.SetBasicAuth("demo", "demo")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		Meta struct {
			ResultCode int `json:"result_code"`
		} `json:"meta"`
		Data struct{ Token string } `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if login.Meta.ResultCode != 200 || login.Data.Token == "" {
		t.Fatalf("auth.login: %+v", login)
	}
	curl := regexp.MustCompile(`'(http://127\.0\.0\.1:\d+/presign\?url=[^']+)'`).FindStringSubmatch(all)
	if curl == nil {
		t.Fatalf("no presign URL in the printed curl command:\n%s", all)
	}
	// curl -L sends -H headers only to the first host:port; Go's client
	// would forward Authorization to the store on the same IP, so the
	// redirect is followed by hand, as curl does.
	req, _ = http.NewRequest("GET", curl[1], nil)
	req.Header.Set("Authorization", "Bearer "+login.Data.Token)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("presign: %d", resp.StatusCode)
	}
	resp, err = http.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(text), "the redirect worked") {
		t.Fatalf("curl path: %d %q", resp.StatusCode, text)
	}
	// Without the token, the demo refuses like the real service.
	resp, err = http.Get(curl[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("anonymous: %d", resp.StatusCode)
	}
}
