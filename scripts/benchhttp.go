//go:build ignore

// benchhttp measures `storagegate serve` under wrk next to a trivial Go
// server that answers every request with a fixed 302, in the same run and
// interleaved (scripts/bench.sh, make bench): a cached caller with the
// default signing window, for each store. Signing reaches no store, so the
// configs name local endpoints (MinIO's, fake-gcs-server's, Azurite's) that
// need not be running; the caller is verified once by a stand-in for the
// ClearML API in this process. With -soak it then runs wrk on presign for
// that long and reports non-3xx answers and the server's RSS over time.
//
//	go run scripts/benchhttp.go -bin bin/storagegate [-duration 10s] [-rounds 3] [-soak 60s]
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The published Azurite development key and the dummy service account of
// Google's conformance tests: not secrets.
const azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

const key = "proj/task.0123456789abcdef/metrics/loss/train/iter_000123.png"

func main() {
	bin := flag.String("bin", "bin/storagegate", "the storagegate binary")
	wrk := flag.String("wrk", "wrk", "the wrk binary")
	dur := flag.Duration("duration", 10*time.Second, "one wrk run")
	rounds := flag.Int("rounds", 3, "rounds of (bare, S3, GCS, Azure)")
	soak := flag.Duration("soak", 0, "then run wrk on presign (S3) this long")
	bare := flag.String("bare", "", "internal: serve the bare 302 on this address")
	flag.Parse()
	if *bare != "" {
		serveBare(*bare)
		return
	}
	sa, err := os.ReadFile("shared/internal/gcsverify/testdata/dummy-service-account.json")
	if err != nil {
		log.Fatal(err)
	}
	api := startClearML()
	stores := []struct {
		name, url string
		storage   map[string]any
	}{
		{"S3 (MinIO bucket)", "s3://127.0.0.1:9000/artifacts/" + key, map[string]any{"aws": map[string]any{"buckets": []any{map[string]any{
			"bucket": "artifacts", "host": "127.0.0.1:9000", "key": "storagegate", "secret": "storagegate-bench-secret", "secure": false}}}}},
		{"GCS (fake-gcs-server, key file)", "gs://artifacts/" + key, map[string]any{"google": map[string]any{
			"endpoint": "http://127.0.0.1:4443", "buckets": []any{map[string]any{"bucket": "artifacts", "credentials_json": string(sa)}}}}},
		{"Azure (Azurite)", "azure://127.0.0.1:10000/artifacts/" + key, map[string]any{"azure": map[string]any{"containers": []any{map[string]any{
			"account_name": "devstoreaccount1", "account_key": azuriteKey, "endpoint": "http://127.0.0.1:10000/devstoreaccount1"}}}}},
	}

	self, _ := os.Executable()
	bareAddr := freeAddr()
	bareCmd := exec.Command(self, "-bare", bareAddr)
	bareCmd.Stderr = os.Stderr
	must(bareCmd.Start())
	defer kill(bareCmd)
	waitUp("http://" + bareAddr + "/")

	token := fakeToken()
	type server struct {
		name, target string
		cmd          *exec.Cmd
	}
	servers := []server{{name: "bare 302 (net/http)", target: "http://" + bareAddr + "/presign?url=" + url.QueryEscape(stores[0].url), cmd: bareCmd}}
	for _, s := range stores {
		cfg, _ := json.Marshal(map[string]any{"storage": s.storage, "clearml": map[string]any{"api_server": api}})
		addr := freeAddr()
		cmd := exec.Command(*bin, "serve", "--addr", addr)
		cmd.Env = append(os.Environ(), "STORAGEGATE_CONFIG="+string(cfg), "STORAGEGATE_CONFIG_FILE=", "STORAGEGATE_CONFIG_SECRET=")
		cmd.Stderr, cmd.Stdout = nil, nil // the JSON log lines are written, to /dev/null
		must(cmd.Start())
		defer kill(cmd)
		target := "http://" + addr + "/presign?url=" + url.QueryEscape(s.url)
		waitUp("http://" + addr + "/healthz")
		// Verify the caller once and fill the signed-URL cache.
		req, _ := http.NewRequest("GET", target, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := noRedirect.Do(req)
		if err != nil || resp.StatusCode != http.StatusFound {
			log.Fatalf("%s: warm-up answered %v %v", s.name, resp.StatusCode, err)
		}
		resp.Body.Close()
		servers = append(servers, server{name: s.name, target: target, cmd: cmd})
	}

	rps := make([][]float64, len(servers))
	cpu := make([][]float64, len(servers)) // the server's CPU µs per request
	for r := 0; r < *rounds; r++ {
		for i, s := range servers {
			before := cpuTime(s.cmd.Process.Pid)
			res := runWrk(*wrk, s.target, token, *dur)
			if res.bad > 0 {
				log.Fatalf("%s: %d non-3xx answers", s.name, res.bad)
			}
			rps[i] = append(rps[i], res.rps)
			if res.requests > 0 {
				cpu[i] = append(cpu[i], float64(cpuTime(s.cmd.Process.Pid)-before)/float64(time.Microsecond)/float64(res.requests))
			}
		}
	}
	base := median(rps[0])
	fmt.Printf("wrk -t2 -c64 -d%s, %d rounds interleaved, median requests/s (cached caller, default signing window);\n", *dur, *rounds)
	fmt.Printf("server CPU per request: the server process's user+system time over the requests wrk counted\n\n")
	fmt.Printf("| server | requests/s (median) | rounds | vs bare 302 | server CPU µs/request (median) |\n|---|---|---|---|---|\n")
	for i, s := range servers {
		fmt.Printf("| %s | %.0f | %s | %.2fx | %.1f |\n", s.name, median(rps[i]), join(rps[i]), median(rps[i])/base, median(cpu[i]))
	}

	if *soak > 0 {
		s := servers[1]
		fmt.Printf("\nsoak: wrk -t2 -c64 -d%s on %s\n", *soak, s.name)
		done := make(chan result)
		go func() { done <- runWrk(*wrk, s.target, token, *soak) }()
		var samples []string
		var first, peak, last int
		tick := time.NewTicker(*soak / 12)
		defer tick.Stop()
	loop:
		for {
			select {
			case res := <-done:
				last = rssKB(s.cmd.Process.Pid)
				fmt.Printf("requests/s %.0f, non-3xx answers %d, socket errors %d\n", res.rps, res.bad, res.errors)
				break loop
			case <-tick.C:
				v := rssKB(s.cmd.Process.Pid)
				if first == 0 {
					first = v
				}
				peak = max(peak, v)
				samples = append(samples, strconv.Itoa(v/1024))
			}
		}
		fmt.Printf("RSS (MiB) every %s: %s; first %d, peak %d, after %d KiB\n", *soak/12, strings.Join(samples, " "), first, peak, last)
		if first > 0 && float64(peak) > 1.2*float64(first) {
			fmt.Printf("RSS NOT flat: peak %.2fx the first sample\n", float64(peak)/float64(first))
		} else {
			fmt.Printf("RSS flat: peak within 20%% of the first sample\n")
		}
	}
}

type result struct {
	rps                   float64
	requests, bad, errors int
}

var (
	reqsRE   = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	totalRE  = regexp.MustCompile(`(\d+) requests in`)
	non3xxRE = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	sockRE   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func runWrk(wrk, target, token string, d time.Duration) result {
	out, err := exec.Command(wrk, "-t2", "-c64", "-d"+strconv.Itoa(int(d/time.Second))+"s",
		"-H", "Authorization: Bearer "+token, target).CombinedOutput()
	if err != nil {
		log.Fatalf("wrk: %v\n%s", err, out)
	}
	var r result
	m := reqsRE.FindSubmatch(out)
	if m == nil {
		log.Fatalf("wrk printed no Requests/sec:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := totalRE.FindSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(string(m[1]))
	}
	if m := non3xxRE.FindSubmatch(out); m != nil {
		r.bad, _ = strconv.Atoi(string(m[1]))
	}
	if m := sockRE.FindSubmatch(out); m != nil {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(string(g))
			r.errors += n
		}
	}
	return r
}

// serveBare answers every request with a fixed 302: the baseline.
func serveBare(addr string) {
	loc := "https://127.0.0.1:9000/artifacts/" + key + "?X-Amz-Signature=0123456789abcdef"
	log.Fatal(http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Location"] = []string{loc}
		w.WriteHeader(http.StatusFound)
	})))
}

// startClearML answers users.get_current_user for any credential.
func startClearML() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"meta":{"result_code":200,"result_subcode":0,"result_msg":"OK"},"data":{"user":{"id":"bench","name":"Bench","role":"user","company":{"id":"c1","name":"Acme"}}}}`)
	}))
	return "http://" + ln.Addr().String()
}

// fakeToken is JWT-shaped, living a day; the stand-in accepts any.
func fakeToken() string {
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]any{"identity": map[string]string{"user": "bench", "company": "c1"}, "exp": time.Now().Add(24 * time.Hour).Unix()})
	return enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims) + ".c2lnbmF0dXJl"
}

// cpuTime is a process's user plus system time so far (/proc/<pid>/stat,
// fields 14 and 15, in clock ticks of 1/100 s on Linux).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func rssKB(pid int) int {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	defer ln.Close()
	return ln.Addr().String()
}

func waitUp(u string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := noRedirect.Get(u); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	log.Fatalf("%s did not come up", u)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func join(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, strconv.FormatFloat(x, 'f', 0, 64))
	}
	return strings.Join(parts, ", ")
}

func kill(c *exec.Cmd) {
	_ = c.Process.Kill()
	_ = c.Wait()
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
