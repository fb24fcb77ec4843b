package replicatest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/gen"
	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/postgres"
	"github.com/fdxd/fdxd/internal/store/postgres/pgtest"
)

// fdxdBinary is the fdxd built once for the whole run by TestMain.
var fdxdBinary string

// serveFlags are the flags `fdxd serve` of this build knows (the admin
// listener, for one, is optional).
var serveFlags map[string]bool

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fdxd-replicatest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "replicatest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// go test puts its own GOROOT/bin first on the PATH of the test binary.
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "replicatest: the go command is needed to build fdxd:", err)
		return 1
	}
	fdxdBinary = filepath.Join(dir, "fdxd")
	build := exec.Command(goTool, "build", "-o", fdxdBinary, "github.com/fdxd/fdxd/cmd/fdxd")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "replicatest: go build fdxd: %v\n%s", err, out)
		return 1
	}
	help, _ := exec.Command(fdxdBinary, "serve", "-h").CombinedOutput()
	serveFlags = map[string]bool{}
	for _, line := range strings.Split(string(help), "\n") {
		if f, ok := strings.CutPrefix(strings.TrimSpace(line), "-"); ok {
			name, _, _ := strings.Cut(f, " ")
			serveFlags[name] = true
		}
	}
	return m.Run()
}

// Test credentials: distinctive, so a log search would find them.
const (
	clientID     = "replica-aggregator-01"
	clientSecret = "rcs-3f9d2a71c0b84e5d9a6e1f7b2c8d4e06-secret"
	redirectURI  = "http://127.0.0.1:8787/callback"
	username     = "rita"
	userPassword = "pw-Rk4!vQ9#zL2-rita"
	subject      = "usr_rita_000001"
)

// replica is one `fdxd serve` process.
type replica struct {
	name     string
	url      string // http://127.0.0.1:PORT
	adminURL string // the admin listener, when this build has one
	cmd      *exec.Cmd
	logs     *servertest.SyncBuffer
	done     chan struct{} // closed when the process has exited
	exitErr  error         // set before done closes
}

// alive reports whether the process is still running.
func (r *replica) alive() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// clusterOptions shape a cluster.
type clusterOptions struct {
	// dbURL is the database the replicas use (perhaps through a proxy);
	// directURL is the database itself, for the test's own store. Both
	// default to a fresh database.
	dbURL, directURL string
	replicas         int
	// args are extra `fdxd serve` flags for every replica, env extra
	// environment variables (NAME=value).
	args []string
	env  []string
}

// cluster is several replicas on one database behind one load balancer,
// whose URL is the issuer.
type cluster struct {
	t        *testing.T
	kek      string
	extraEnv []string
	dbURL    string
	lb       *loadBalancer
	replicas []*replica
	// store is the test's own connection to the database: it seeds data
	// and checks what the replicas wrote.
	store store.Store
	user  store.User
}

// startCluster starts the replicas at the same moment (so that they migrate
// the fresh database together, under the advisory lock), waits until each
// serves, then seeds a client, a user and the user's FDX data.
func startCluster(t *testing.T, opts clusterOptions) *cluster {
	t.Helper()
	if opts.replicas == 0 {
		opts.replicas = 3
	}
	if opts.directURL == "" {
		opts.directURL = pgtest.NewDatabase(t)
	}
	if opts.dbURL == "" {
		opts.dbURL = opts.directURL
	}
	c := &cluster{t: t, kek: hex.EncodeToString(secret.NewKey()), dbURL: opts.dbURL, extraEnv: opts.env}
	c.lb = startLoadBalancer(t)
	c.replicas = make([]*replica, opts.replicas)
	var wg sync.WaitGroup
	errs := make([]error, opts.replicas)
	for i := range opts.replicas {
		wg.Go(func() {
			c.replicas[i], errs[i] = c.startReplica(string(rune('A'+i)), opts.args)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, r := range c.replicas {
		c.lb.add(r.url)
	}
	// Cleanups run last-in first-out: this one, before the replicas stop,
	// closes the balancer's idle connections to them, which a draining
	// server would otherwise wait on (for 5 s when never used).
	t.Cleanup(c.lb.transport.CloseIdleConnections)

	st, err := postgres.Open(t.Context(), opts.directURL, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("open the test's store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	c.store = st
	c.seed()
	return c
}

// startReplica starts one `fdxd serve` on a free loopback port and waits
// until it answers discovery. A port taken between choosing and binding it
// is retried on another.
func (c *cluster) startReplica(name string, extra []string) (*replica, error) {
	var lastErr error
	for range 3 {
		r, err := c.tryStartReplica(name, extra)
		if err == nil {
			return r, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func (c *cluster) tryStartReplica(name string, extra []string) (*replica, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	r := &replica{name: name, url: "http://" + addr, logs: &servertest.SyncBuffer{}, done: make(chan struct{})}
	args := []string{"serve", "--addr", addr, "--issuer", c.lb.url, "--db", c.dbURL}
	if serveFlags["admin-addr"] {
		admin, err := freeAddr()
		if err != nil {
			return nil, err
		}
		r.adminURL = "http://" + admin
		args = append(args, "--admin-addr", admin)
	}
	args = append(args, extra...)
	r.cmd = exec.Command(fdxdBinary, args...)
	r.cmd.Env = c.env()
	r.cmd.Stdout = r.logs
	r.cmd.Stderr = r.logs
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("replica %s: start: %w", name, err)
	}
	go func() {
		r.exitErr = r.cmd.Wait()
		close(r.done)
	}()
	c.t.Cleanup(func() { c.stopReplica(r) })

	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(r.url + "/.well-known/openid-configuration")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
		select {
		case <-r.done:
			return nil, fmt.Errorf("replica %s exited while starting (%v):\n%s", name, r.exitErr, tail(r.logs.String(), 20))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("replica %s did not serve discovery within 30 s:\n%s", name, tail(r.logs.String(), 20))
		}
	}
}

// stopReplica ends the process with SIGTERM (a clean drain), or SIGKILL
// when it does not exit in time, and reports a panic in its output.
func (c *cluster) stopReplica(r *replica) {
	if r.alive() {
		r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
			if r.exitErr != nil {
				c.t.Errorf("replica %s did not exit cleanly on SIGTERM: %v\n%s", r.name, r.exitErr, tail(r.logs.String(), 20))
			}
		case <-time.After(15 * time.Second):
			r.cmd.Process.Kill()
			<-r.done
			c.t.Errorf("replica %s did not exit within 15 s of SIGTERM; killed", r.name)
		}
	}
	logs := r.logs.String()
	if dir := os.Getenv("FDXD_REPLICATEST_LOGS"); dir != "" {
		// Keep every replica's whole log for a post-mortem.
		name := filepath.Join(dir, strings.ReplaceAll(c.t.Name(), "/", "_")+"-"+r.name+".log")
		if err := os.WriteFile(name, []byte(logs), 0o600); err != nil {
			c.t.Errorf("keep the log of replica %s: %v", r.name, err)
		}
	}
	if i := strings.Index(logs, "panic"); i >= 0 {
		c.t.Errorf("replica %s panicked:\n%s", r.name, logs[max(0, i-200):min(len(logs), i+2000)])
	}
	if c.t.Failed() {
		c.t.Logf("replica %s (%s) last log lines:\n%s", r.name, r.url, tail(logs, 15))
	}
}

// env is the replicas' environment: the test's own without any FDXD_
// variable (a developer's settings must not leak in), plus the shared
// key-encryption key and the cluster's extra variables.
func (c *cluster) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FDXD_") {
			env = append(env, kv)
		}
	}
	env = append(env, c.extraEnv...)
	return append(env, "FDXD_KEY_ENCRYPTION_KEY="+c.kek)
}

// fdxd runs an fdxd command against the cluster's database and returns its
// standard output.
func (c *cluster) fdxd(args ...string) string {
	c.t.Helper()
	cmd := exec.Command(fdxdBinary, args...)
	cmd.Env = c.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("fdxd %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// seed creates the client, the user and the user's FDX data.
func (c *cluster) seed() {
	c.t.Helper()
	ctx := c.t.Context()
	now := time.Now().UTC()
	client := store.Client{ID: clientID, Name: "Replica Aggregator", SecretHash: secret.Hash(clientSecret),
		RedirectURIs: []string{redirectURI}, GrantTypes: oauth.SupportedGrantTypes, CreatedAt: now, UpdatedAt: now}
	if err := c.store.CreateClient(ctx, client); err != nil {
		c.t.Fatalf("create client: %v", err)
	}
	// Cheap argon2id parameters: the hash carries them, so the replicas
	// verify with them too.
	c.user = store.User{ID: "u_rita", Subject: subject, Username: username, Name: "Rita Example",
		Email: "rita@example.com", EmailVerified: true, CreatedAt: now, UpdatedAt: now,
		PasswordHash: password.Hash(userPassword, servertest.TestPasswordParams)}
	if err := c.store.CreateUser(ctx, c.user); err != nil {
		c.t.Fatalf("create user: %v", err)
	}
	if err := gen.Demo(ctx, c.store, c.user.ID, now); err != nil {
		c.t.Fatalf("FDX data: %v", err)
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// backendHeader chooses the replica of one request at the load balancer;
// the balancer strips it on the way in and sets it on the way out to say
// which replica answered.
const backendHeader = "X-Replicatest-Backend"

// loadBalancer is a reverse proxy in front of the replicas, as a provider's
// load balancer is: it keeps the Host the client used (the issuer's), adds
// X-Forwarded-*, and lets the test choose the replica of each request
// (backendHeader, else the pinned replica, else round robin).
type loadBalancer struct {
	url      string
	mu       sync.Mutex // guards backends, served
	backends []*url.URL
	served   map[string]int // "replica METHOD /path" → requests
	pinned   atomic.Int32   // -1: none
	next     atomic.Uint64

	transport *http.Transport
}

func startLoadBalancer(t *testing.T) *loadBalancer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("load balancer: listen: %v", err)
	}
	lb := &loadBalancer{url: "http://" + l.Addr().String(), served: map[string]int{}}
	lb.pinned.Store(-1)
	transport := &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	lb.transport = transport
	proxy := &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			i := lb.choose(pr.In)
			lb.mu.Lock()
			target := lb.backends[i]
			lb.served[fmt.Sprintf("%c %s %s", 'A'+i, pr.In.Method, pr.In.URL.Path)]++
			lb.mu.Unlock()
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			pr.Out.Header.Set(backendHeader, strconv.Itoa(i))
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(backendHeader, resp.Request.Header.Get(backendHeader))
			return nil
		},
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Close()
		transport.CloseIdleConnections()
	})
	return lb
}

func (lb *loadBalancer) add(backend string) {
	u, err := url.Parse(backend)
	if err != nil {
		panic(err) // our own URL
	}
	lb.mu.Lock()
	lb.backends = append(lb.backends, u)
	lb.mu.Unlock()
}

func (lb *loadBalancer) choose(r *http.Request) int {
	lb.mu.Lock()
	n := len(lb.backends)
	lb.mu.Unlock()
	if v := r.Header.Get(backendHeader); v != "" {
		if i, err := strconv.Atoi(v); err == nil && i >= 0 && i < n {
			return i
		}
	}
	if p := int(lb.pinned.Load()); p >= 0 && p < n {
		return p
	}
	return int(lb.next.Add(1) % uint64(n))
}

// servedBy returns how many requests replica i (0 = A) answered for
// "METHOD /path".
func (lb *loadBalancer) servedBy(i int, route string) int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.served[fmt.Sprintf("%c %s", 'A'+i, route)]
}

// routeTransport sends each request through the load balancer to the
// replica route chooses.
type routeTransport struct {
	base  http.RoundTripper
	route func(*http.Request) int
}

func (rt routeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(backendHeader, strconv.Itoa(rt.route(r)))
	return rt.base.RoundTrip(r)
}

// clientTo is an HTTP client whose requests to the load balancer all go to
// replica i.
func clientTo(i int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second,
		Transport: routeTransport{base: http.DefaultTransport, route: func(*http.Request) int { return i }}}
}
