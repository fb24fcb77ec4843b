package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/cli"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

// result is what one run of fdxd left behind.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// harness runs cli.Main in-process against a database in t.TempDir(), with
// an environment of its own: FDXD_DB names that database, so commands need
// no --db (a test of its own checks that the flag wins over the variable).
type harness struct {
	t   *testing.T
	dir string
	db  string
	env map[string]string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "fdxd.db")
	return &harness{t: t, dir: dir, db: db, env: map[string]string{"FDXD_DB": db, "FDXD_ADMIN_ADDR": "127.0.0.1:0"}}
}

// withKEK sets FDXD_KEY_ENCRYPTION_KEY to a fresh key.
func (h *harness) withKEK() *harness {
	h.env["FDXD_KEY_ENCRYPTION_KEY"] = secret.Hex(32)
	return h
}

func (h *harness) getenv(k string) string { return h.env[k] }

// run runs fdxd args with stdin.
func (h *harness) run(stdin string, args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(h.t.Context(), args, cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: h.getenv})
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// ok runs fdxd and fails the test unless it exits 0.
func (h *harness) ok(stdin string, args ...string) result {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != 0 {
		h.t.Fatalf("fdxd %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// fails runs fdxd and checks the exit code and that stderr says want.
func (h *harness) fails(code int, want, stdin string, args ...string) result {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		h.t.Fatalf("fdxd %s: got %v\nwant exit %d with %q on stderr", strings.Join(args, " "), r, code, want)
	}
	return r
}

// store opens the harness database directly, to check what a command wrote.
func (h *harness) store() store.Store {
	h.t.Helper()
	st, err := sqlite.Open(context.Background(), h.db)
	if err != nil {
		h.t.Fatalf("open %s: %v", h.db, err)
	}
	h.t.Cleanup(func() { st.Close() })
	return st
}

// server starts a real fdxd test server on the harness database. Its clock
// starts at the wall clock's time, as the commands stamp rows with
// time.Now, and moves only when the test advances it.
func (h *harness) server() (*servertest.Server, *servertest.Clock) {
	h.t.Helper()
	clock := servertest.NewClock(time.Now())
	srv := servertest.StartWithStore(h.t, h.store(), h.db, servertest.Options{
		Configure: func(c *server.Config) { c.Now = clock.Now },
	})
	return srv, clock
}

// field returns the value printed after label ("client_secret  abc").
func field(t *testing.T, out, label string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + ` {2,}(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in:\n%s", label, out)
	}
	return m[1]
}

func TestUsageAndUnknownInput(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "usage: fdxd <command>"},
		{"help", []string{"help"}, 0, "usage: fdxd <command>"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"missing subcommand", []string{"clients"}, 2, "missing subcommand: fdxd clients add|list|remove|rotate-secret|show"},
		{"unknown clients subcommand", []string{"clients", "delete"}, 2, `unknown subcommand "delete"`},
		{"unknown users subcommand", []string{"users", "remove"}, 2, `unknown subcommand "remove"`},
		{"unknown keys subcommand", []string{"keys", "delete"}, 2, `unknown subcommand "delete"`},
		{"unknown flag", []string{"clients", "list", "--colour"}, 2, "flag provided but not defined: -colour"},
		{"unknown serve flag", []string{"serve", "--port", "8080"}, 2, "flag provided but not defined: -port"},
		{"unknown migrate flag", []string{"migrate", "--force"}, 2, "flag provided but not defined: -force"},
		{"unknown version flag", []string{"version", "--short"}, 2, "flag provided but not defined: -short"},
		{"bad flag value", []string{"clients", "add", "--rate-limit", "fast"}, 2, `invalid value "fast" for flag -rate-limit`},
		{"bad env value", []string{"serve"}, 2, `FDXD_CODE_TTL="banana"`},
		{"migrate argument", []string{"migrate", "now"}, 2, "unexpected arguments"},
		// A positional argument ends flag parsing: without the check the
		// --json after it would be dropped and a table printed instead.
		{"clients list argument", []string{"clients", "list", "agg", "--json"}, 2, "unexpected arguments"},
		{"users list argument", []string{"users", "list", "bob", "--json"}, 2, "unexpected arguments"},
		{"maintenance mode", []string{"maintenance", "maybe"}, 2, `maintenance takes on, off or status, not "maybe"`},
		{"maintenance without mode", []string{"maintenance"}, 2, "give exactly one of on, off or status"},
		{"show without id", []string{"clients", "show"}, 2, "give exactly one client id"},
		{"disable two users", []string{"users", "disable", "a", "b"}, 2, "give exactly one username"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := *h
			h.t = t
			h.env = map[string]string{"FDXD_DB": h.db}
			if c.name == "bad env value" {
				h.env["FDXD_CODE_TTL"] = "banana"
			}
			r := h.run("", c.args...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("fdxd %s: got %v\nwant exit %d and %q on stderr", strings.Join(c.args, " "), r, c.code, c.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q; want nothing on bad input", r.stdout)
			}
		})
	}
	if _, err := os.Stat(h.db); err == nil {
		t.Errorf("bad input created the database %s", h.db)
	}
}

func TestVersion(t *testing.T) {
	h := newHarness(t)
	r := h.ok("", "version")
	if !regexp.MustCompile(`^fdxd \S+\n$`).MatchString(r.stdout) {
		t.Fatalf("version printed %q; want \"fdxd <version>\"", r.stdout)
	}
}

func TestMigrate(t *testing.T) {
	h := newHarness(t)
	r := h.ok("", "migrate")
	if !strings.Contains(r.stdout, "applied 0001_auth") {
		t.Fatalf("first migrate printed %q; want 0001_auth applied", r.stdout)
	}
	r = h.ok("", "migrate")
	if want := "the database is up to date: no migration to apply\n"; r.stdout != want {
		t.Fatalf("second migrate printed %q; want %q", r.stdout, want)
	}
}

// TestDBFlagBeatsEnvironment: a flag given on the command line wins over
// its FDXD_ variable.
func TestDBFlagBeatsEnvironment(t *testing.T) {
	h := newHarness(t)
	other := filepath.Join(h.dir, "other.db")
	h.ok("", "clients", "add", "--db", other, "--id", "only-in-other", "--redirect-uri", "https://agg.example/cb")
	r := h.ok("", "clients", "list", "--db", other)
	if !strings.Contains(r.stdout, "only-in-other") {
		t.Fatalf("clients list --db %s:\n%s", other, r.stdout)
	}
	r = h.ok("", "clients", "list")
	if strings.Contains(r.stdout, "only-in-other") {
		t.Fatalf("clients list with FDXD_DB=%s shows the client of --db %s:\n%s", h.db, other, r.stdout)
	}
}

func TestMaintenance(t *testing.T) {
	h := newHarness(t)
	steps := []struct{ mode, want string }{
		{"status", "maintenance mode is off"},
		{"on", "maintenance mode is on: every replica answers 503 temporarily_unavailable"},
		{"status", "maintenance mode is on"},
		{"off", "maintenance mode is off"},
		{"status", "maintenance mode is off"},
		{"on", "maintenance mode is on"},
	}
	for _, s := range steps {
		if r := h.ok("", "maintenance", s.mode); !strings.HasPrefix(r.stdout, s.want) {
			t.Fatalf("maintenance %s printed %q; want %q", s.mode, r.stdout, s.want)
		}
	}
	// A server on that database refuses token requests until it is off.
	srv, _ := h.server()
	resp, body := srv.PostForm("/token", exchangeForm("any-code"), servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "temporarily_unavailable") {
		t.Fatalf("token endpoint in maintenance: %d %s (Retry-After %q); want 503 temporarily_unavailable",
			resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
}

// flagLine is a flag in the output of -h: "  -name type" and its usage,
// on the same line after a tab or on the next.
var flagLine = regexp.MustCompile(`(?m)^  -([a-z0-9-]+)(?: ([a-z0-9.]+))?(?:\t|\n    \t)(.*)$`)

// secretish are flag names that could carry a secret as their value.
var secretish = regexp.MustCompile(`secret|password|passwd|passphrase|credential|encryption|kek|(^|-)(key|token|pin)$`)

// TestNoSecretFlags walks every command and subcommand through -h and checks
// that no flag takes a secret as its value: a flag that names a secret is a
// switch (--secret-stdin), a duration, or the path of a file.
func TestNoSecretFlags(t *testing.T) {
	h := newHarness(t)
	top := h.run("", "help").stderr
	commands := regexp.MustCompile(`(?m)^  ([a-z][a-z-]*) `).FindAllStringSubmatch(top, -1)
	if len(commands) < 7 {
		t.Fatalf("help lists %d commands:\n%s", len(commands), top)
	}
	checked := 0
	var check func(path []string)
	check = func(path []string) {
		r := h.run("", append(slices.Clone(path), "-h")...)
		if m := regexp.MustCompile(`unknown subcommand "-h": fdxd [a-z-]+ ([a-z|-]+)`).FindStringSubmatch(r.stderr); m != nil {
			for _, sub := range strings.Split(m[1], "|") {
				check(append(slices.Clone(path), sub))
			}
			return
		}
		for _, f := range flagLine.FindAllStringSubmatch(r.stderr, -1) {
			name, kind, usage := f[1], f[2], f[3]
			checked++
			if !secretish.MatchString(name) {
				continue
			}
			t.Logf("fdxd %s --%s %s: %s", strings.Join(path, " "), name, kind, usage)
			if kind != "" && kind != "duration" && !(kind == "string" && strings.Contains(usage, "file")) {
				t.Errorf("fdxd %s --%s takes a %s value: secrets and passwords must come from stdin or a file, never a flag",
					strings.Join(path, " "), name, kind)
			}
		}
	}
	for _, c := range commands {
		check([]string{c[1]})
	}
	if checked < 40 {
		t.Fatalf("only %d flags found across all commands; the -h output format changed?", checked)
	}
	// And the obvious spellings are refused outright.
	for _, args := range [][]string{
		{"clients", "add", "--secret", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"},
		{"clients", "rotate-secret", "--client-secret", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t", "some-client"},
		{"users", "add", "--password", "hunter2-hunter2", "bob"},
		{"users", "set-password", "--password", "hunter2-hunter2", "bob"},
		{"serve", "--key-encryption-key", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
	} {
		r := h.run("", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "flag provided but not defined") {
			t.Errorf("fdxd %s: %v\nwant exit 2, flag not defined", strings.Join(args, " "), r)
		}
	}
}

// lines returns the JSON log lines in s that have event.
func logEvents(s, event string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["event"] == event {
			out = append(out, m)
		}
	}
	return out
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
