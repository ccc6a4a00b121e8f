// Command storagegate is the local runtime and the operator's tool: it serves
// the presign contract (and, with --enable-cleanup, POST /cleanup), signs a
// URL from the config, deletes artifacts, and checks the config.
// Exit status: 0 success, 1 some item failed, 2 usage or config error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/storagegate/storagegate/functions/local/demo"
	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/clearmlconf"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/presign"
)

const usage = `usage: storagegate <command> [flags]

commands:
  serve [--addr HOST:PORT] [--demo] [--enable-cleanup]
                                           serve the presign contract (default 127.0.0.1:8080, or :$PORT);
                                           --enable-cleanup adds POST /cleanup (needs cleanup.token)
  presign [--expires S] [--download] [--method GET|HEAD] URL
                                           print a signed URL (config credentials, no ClearML check)
  delete [--dry-run] URL...                delete objects; an argument ending in / is a prefix (a folder)
  cleanup --event FILE                     run one deletion message from FILE (- reads stdin)
  enqueue [--task ID] [--company ID] [--user ID] [--created TIME] [--dry-run] [--from FILE]
          (--sqs-queue-url URL | --pubsub-topic projects/P/topics/T | --azure-queue URL|NAME) URL|PREFIX...
                                           publish deletion messages to the cleanup queue, split to fit it;
                                           the queue may also come from STORAGEGATE_SQS_QUEUE_URL,
                                           STORAGEGATE_PUBSUB_TOPIC or STORAGEGATE_AZURE_QUEUE
  sweep [--dry-run]                        delete the ClearML tasks the sweep policy names, with every file
                                           they wrote (to the queue named as for enqueue, else in process)
  check-config [--probe]                   validate the config; --probe reaches each bucket and ClearML
  import-config FILE                       print the storage section (YAML) from a clearml.conf or the
                                           server's storage_credentials file; key file paths are read in
  version                                  print the version

The config comes from exactly one of STORAGEGATE_CONFIG (inline JSON or YAML)
or STORAGEGATE_CONFIG_FILE (a path). CLEARML_API_HOST, CLEARML_API_ACCESS_KEY
and CLEARML_API_SECRET_KEY fill the clearml section; with all three set no
document is needed, and the storage credentials come from ClearML.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "storagegate: give a command\n\n"+usage)
		return 2
	}
	if _, ok := stderr.(*os.File); !ok {
		// The logger and the presign audit line share it: one lock for
		// both (an *os.File needs none).
		stderr = &lockedWriter{w: stderr}
	}
	log := app.NewLogger(stderr)
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr) // with a logger of its own
	case "presign":
		return presignCmd(ctx, args[1:], stdout, stderr, log)
	case "check-config":
		return checkConfig(ctx, args[1:], stdout, stderr, log)
	case "import-config":
		return importConfig(args[1:], stdout, stderr)
	case "delete":
		return deleteCmd(ctx, args[1:], stdout, stderr, log)
	case "cleanup":
		return cleanupCmd(ctx, args[1:], stdout, stderr, log)
	case "enqueue":
		return enqueueCmd(ctx, args[1:], stdout, stderr, log)
	case "sweep":
		return sweepCmd(ctx, args[1:], stdout, stderr, log)
	case "version", "--version":
		fmt.Fprintln(stdout, app.Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "storagegate: unknown command %q\n\n%s", args[0], usage)
	return 2
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("storagegate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses a command's flags; with noArgs, arguments left over are
// a usage error too. It returns -1 to go on, or the exit status: 0 after
// -h, 2 (with a message saying what is wrong) for a usage error. The flag
// package prints its own parse errors.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer, noArgs bool) int {
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2
	case noArgs && fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected argument %q: this command takes only flags (-h lists them)\n", fs.Name(), fs.Arg(0))
		return 2
	}
	return -1
}

func loadConfig(ctx context.Context, stderr io.Writer, log *slog.Logger) (*config.Config, bool) {
	cfg, err := app.LoadConfig(ctx, log, nil)
	if err != nil {
		fmt.Fprintf(stderr, "storagegate: %v\n", err)
		return nil, false
	}
	return cfg, true
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", stderr)
	addr := fs.String("addr", "", "listen address (default 127.0.0.1:8080, or :$PORT when PORT is set)")
	demoMode := fs.Bool("demo", false, "serve an embedded demo store and identity (no cloud account needed)")
	enableCleanup := fs.Bool("enable-cleanup", false, "also serve POST /cleanup, behind cleanup.token")
	if code := parseFlags(fs, args, stderr, true); code >= 0 {
		return code
	}
	// The server's log lines, audit lines included, are batched; anything
	// else written to stderr first flushes them, so the order holds.
	lines := newLineBuffer(stderr)
	defer lines.Flush()
	stderr = flushFirst{lines, stderr}
	log := app.NewLogger(lines)
	if *addr == "" {
		*addr = "127.0.0.1:8080"
		if p := os.Getenv("PORT"); p != "" {
			*addr = ":" + p
		}
	}

	var cfg *config.Config
	var d *demo.Demo
	if *demoMode {
		var err error
		if d, err = demo.Start(ctx); err != nil {
			fmt.Fprintf(stderr, "storagegate: demo: %v\n", err)
			return 2
		}
		defer d.Close()
		cfg = d.Config
	} else {
		var ok bool
		if cfg, ok = loadConfig(ctx, stderr, log); !ok {
			return 2
		}
	}
	settings, err := app.NewSettings(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "storagegate: %v\n", err)
		return 2
	}
	opts := app.Options{Logger: log, LogWriter: lines, Settings: settings}
	h, err := app.NewPresign(cfg, opts)
	if err != nil {
		fmt.Fprintf(stderr, "storagegate: %v\n", err)
		return 2
	}
	var handler http.Handler = h
	if d != nil {
		handler = d.Routes(h)
	}
	if *enableCleanup {
		ch, err := app.NewCleanupHTTP(cfg, opts)
		if err != nil {
			fmt.Fprintf(stderr, "storagegate: %v\n", err)
			return 2
		}
		// A plain path switch, not a ServeMux: a mux redirects unclean
		// paths (//presign) where every other platform answers 404.
		presign := handler
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/cleanup" {
				ch.ServeHTTP(w, r)
				return
			}
			presign.ServeHTTP(w, r)
		})
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "storagegate: %v\n", err)
		return 2
	}
	base := "http://" + ln.Addr().String()
	if d != nil {
		fmt.Fprintf(stdout, "storagegate demo on %s\n\n", base)
		fmt.Fprintf(stdout, "  open in a browser:  %s/demo\n", base)
		fmt.Fprintf(stdout, "  or with curl:       TOKEN=$(curl -s -X POST -u %s:%s %s/auth.login | sed 's/.*\"token\": *\"\\([^\"]*\\)\".*/\\1/')\n", demo.User, demo.Password, base)
		fmt.Fprintf(stdout, "                      curl -L -H \"Authorization: Bearer $TOKEN\" '%s/presign?url=%s'\n\n", base, url.QueryEscape(d.StorageURL(demo.ArtifactKey)))
	} else {
		fmt.Fprintf(stdout, "storagegate serving on %s\n", base)
	}

	var cleanupDeadline time.Duration
	if *enableCleanup {
		cleanupDeadline = cfg.Cleanup.Deadline.D()
	}
	srv := newServer(handler, log, cleanupDeadline)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(jsonErrors{ln}); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "storagegate: %v\n", err)
		return 1
	}
	<-drained // the requests in flight are answered (and logged)
	return 0
}

// flushFirst writes to w after flushing lines: serve's own messages to
// stderr come after the log lines before them.
type flushFirst struct {
	lines *lineBuffer
	w     io.Writer
}

func (f flushFirst) Write(p []byte) (int, error) {
	_ = f.lines.Flush()
	return f.w.Write(p)
}

func presignCmd(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := newFlags("presign", stderr)
	expiresArg := fs.String("expires", "", "lifetime in seconds, clamped to presign.max_expires (default: presign.expires)")
	download := fs.Bool("download", false, "sign for Content-Disposition: attachment")
	method := fs.String("method", "GET", "GET or HEAD")
	if code := parseFlags(fs, args, stderr, false); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "storagegate presign: give exactly one storage URL")
		return 2
	}
	m, err := presign.ParseMethod(*method) // as the HTTP forms read it: GET or HEAD, any case
	if err != nil {
		fmt.Fprintf(stderr, "storagegate presign: --method must be GET or HEAD (got %q)\n", *method)
		return 2
	}
	// As on the HTTP path: whole seconds, at least 1; more than a duration
	// holds is clamped (to presign.max_expires, by the signer), never wrapped.
	var expires time.Duration
	if *expiresArg != "" {
		d, err := presign.ParseExpires(*expiresArg)
		if err != nil {
			fmt.Fprintf(stderr, "storagegate presign: --expires %q: must be a whole number of seconds, at least 1\n", *expiresArg)
			return 2
		}
		expires = d
	}
	cfg, ok := loadConfig(ctx, stderr, log)
	if !ok {
		return 2
	}
	h, err := app.NewPresign(cfg, app.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "storagegate: %v\n", err)
		return 2
	}
	res, err := h.SignURL(ctx, fs.Arg(0), expires, *download, m)
	if err != nil {
		fmt.Fprintf(stderr, "storagegate presign: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, res.SignedURL)
	return 0
}

// importConfig prints the storage section of a ClearML configuration file.
// It reads no storagegate config: it writes one.
func importConfig(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("import-config", stderr)
	if fs.Parse(args) != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "storagegate import-config: give one file: a clearml.conf or the server's storage_credentials.conf")
		return 2
	}
	out, err := clearmlconf.Import(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "storagegate import-config: %v\n", err)
		return 2
	}
	_, _ = stdout.Write(out)
	return 0
}

func checkConfig(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := newFlags("check-config", stderr)
	probe := fs.Bool("probe", false, "reach each configured bucket and the ClearML API")
	if code := parseFlags(fs, args, stderr, true); code >= 0 {
		return code
	}
	cfg, ok := loadConfig(ctx, stderr, log)
	if !ok {
		return 2
	}
	if _, err := app.NewPresign(cfg, app.Options{Logger: log}); err != nil {
		fmt.Fprintf(stderr, "storagegate: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, "ok    config")
	if !*probe {
		return 0
	}
	failed := false
	for _, c := range app.Probe(ctx, cfg, app.Options{Logger: log}) {
		status := "ok   "
		if c.Err != nil {
			status, failed = "FAIL ", true
		}
		line := status + " " + c.Name
		if c.Err != nil {
			line += ": " + c.Err.Error()
		}
		fmt.Fprintln(stdout, line)
	}
	if failed {
		return 1
	}
	return 0
}
