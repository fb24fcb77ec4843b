// Package admin is the admin listener: Prometheus metrics, liveness and
// readiness, the issue center (server-rendered pages with SVG charts drawn
// here), the JSON admin API under /api/v1, and Go's profiler under
// /debug/pprof.
//
// Nothing of it is mounted on the public listener. The API takes
// "Authorization: Bearer <FDXD_ADMIN_TOKEN>"; the pages take a sign-in of
// an admin made with `fdxd admins add`. Forms are CSRF-protected (a token
// bound to the session or, for sign-in, to a cookie; and the browser's
// cross-origin signals through http.CrossOriginProtection).
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/ratelimit"
	"github.com/fdxd/fdxd/internal/store"
)

// Store is what the admin listener reads and writes.
type Store interface {
	store.ObserveStore
}

// Check is one readiness check.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Config is the admin listener's dependencies.
type Config struct {
	Store Store
	// Ready runs the readiness checks (database, signing key, migrations).
	Ready func(ctx context.Context) []Check
	// Keys lists the signing keys.
	Keys func() []keys.KeyInfo
	// Traffic feeds the overview charts (the counts of every replica on
	// the database).
	Traffic *observe.Traffic
	// Alerts is the rule engine (its settings are shown on the pages).
	Alerts *observe.Alerts
	// Gatherer is served at /metrics.
	Gatherer prometheus.Gatherer
	// APIToken is FDXD_ADMIN_TOKEN; without one the API refuses every call.
	APIToken string
	// SessionTTL is how long a sign-in lasts (default 12 hours).
	SessionTTL time.Duration
	// RefreshSeconds is how often the pages' live parts refresh (default 15).
	RefreshSeconds int
	Logger         *slog.Logger
	Now            func() time.Time
}

// Admin serves the admin listener.
type Admin struct {
	cfg      Config
	pages    *pages
	handler  http.Handler
	failures *ratelimit.Keyed
}

// New builds the admin handler.
func New(cfg Config) (*Admin, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("admin: no store"))
	}
	if cfg.Ready == nil || cfg.Keys == nil || cfg.Traffic == nil || cfg.Alerts == nil || cfg.Gatherer == nil {
		errs = append(errs, errors.New("admin: readiness checks, keys, traffic, alerts and a metrics gatherer are required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.RefreshSeconds <= 0 {
		cfg.RefreshSeconds = 15
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	// Five failed sign-ins per username or address, then one a minute.
	a := &Admin{cfg: cfg, pages: p, failures: ratelimit.New(1.0/60, 5, 10000, cfg.Now)}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelError)}))
	mux.Handle("GET /assets/", http.StripPrefix("/assets", assets()))

	mux.HandleFunc("GET /login", a.loginPage)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.signedIn(a.logout))
	mux.HandleFunc("GET /{$}", a.signedIn(a.overview))
	mux.HandleFunc("GET /issues", a.signedIn(a.issuesPage))
	mux.HandleFunc("GET /issues/{id}", a.signedIn(a.issuePage))
	mux.HandleFunc("GET /requests", a.signedIn(a.requestsPage))
	mux.HandleFunc("GET /requests/{id}", a.signedIn(a.requestPage))
	mux.HandleFunc("GET /keys", a.signedIn(a.keysPage))
	mux.HandleFunc("GET /bundle", a.signedIn(a.bundleDownload))

	mux.HandleFunc("GET /api/v1/issues", a.api(a.apiIssues))
	mux.HandleFunc("GET /api/v1/issues/{id}", a.api(a.apiIssue))
	mux.HandleFunc("GET /api/v1/requests", a.api(a.apiRequests))
	mux.HandleFunc("GET /api/v1/requests/{id}", a.api(a.apiRequest))
	mux.HandleFunc("GET /api/v1/bundle", a.api(a.apiBundle))
	mux.HandleFunc("GET /api/v1/keys", a.api(a.apiKeys))
	// Go's profiler, for the engineer chasing a slow or busy server; like
	// the API it takes the admin token (profiles show code paths and
	// timings, not request data). Not cmdline: --db may hold a password.
	mux.HandleFunc("GET /debug/pprof/cmdline", a.api(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "not_found", "the command line is not served: it may hold the database password")
	}))
	mux.HandleFunc("GET /debug/pprof/", a.api(pprof.Index))
	mux.HandleFunc("GET /debug/pprof/profile", a.api(pprof.Profile))
	mux.HandleFunc("GET /debug/pprof/symbol", a.api(pprof.Symbol))
	mux.HandleFunc("GET /debug/pprof/trace", a.api(pprof.Trace))
	mux.HandleFunc("/api/", a.api(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "not_found", "no such admin API endpoint or method")
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.pages.error(w, http.StatusNotFound, "Not found", "There is no such page.")
	})

	a.handler = securityHeaders(http.NewCrossOriginProtection().Handler(mux))
	return a, nil
}

// Handler is the admin listener's handler.
func (a *Admin) Handler() http.Handler { return a.handler }

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

func (a *Admin) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 when every check passes (the database answers, a
// signing key is active, migrations are current), 503 otherwise.
func (a *Admin) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := a.cfg.Ready(ctx)
	ready := true
	for _, c := range checks {
		ready = ready && c.OK
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, struct {
		Ready  bool    `json:"ready"`
		Checks []Check `json:"checks"`
	}{ready, checks})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, "internal error encoding the answer", http.StatusInternalServerError)
		return
	}
	writeBuffered(w, status, "application/json", &buf)
}

// writeBuffered sends a body rendered in full beforehand (so that a
// rendering failure can still be a clean 500), never to be cached.
func writeBuffered(w http.ResponseWriter, status int, contentType string, buf *bytes.Buffer) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func writeJSONError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}{code, description})
}

// storeStatus maps a store error to an HTTP status and error code.
func storeStatus(err error) (int, string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, store.ErrUnavailable):
		return http.StatusServiceUnavailable, "temporarily_unavailable"
	case errors.Is(err, observe.ErrBadBundleQuery), errors.Is(err, errBadFilter):
		return http.StatusBadRequest, "invalid_request"
	}
	return http.StatusInternalServerError, "server_error"
}

// errMessage is what a client may see of err: the reason for a 4xx, a
// generic sentence for anything else (the cause goes to the log).
func (a *Admin) errMessage(r *http.Request, status int, err error) string {
	if status < 500 {
		return err.Error()
	}
	a.cfg.Logger.ErrorContext(r.Context(), "admin request failed", "event", "admin.error", "path", r.URL.Path, "error", err.Error())
	if status == http.StatusServiceUnavailable {
		return "the database is unavailable; try again shortly"
	}
	return fmt.Sprintf("internal error (%s)", http.StatusText(status))
}
