// Package server wires fdxd together: it builds the components from one
// Config, mounts their handlers, and runs the listeners, the key-rotation
// schedule and garbage collection until its context ends, then drains
// in-flight requests.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fdxd/fdxd/internal/fdx"
	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/maintenance"
	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/web"
)

// Config is everything the server needs. The store and the sealer are
// opened by the caller.
type Config struct {
	Issuer string
	Store  store.Store
	Sealer *secret.Sealer
	Logger *slog.Logger
	Now    func() time.Time

	// Institution names the provider on the sign-in pages.
	Institution string

	// TLS: a certificate and key turn on HTTPS (TLS 1.2+); ClientCA turns on
	// mutual TLS for the back-channel endpoints (token, revoke, introspect,
	// userinfo).
	TLSCertFile, TLSKeyFile, ClientCAFile string

	AccessTokenTTL    time.Duration
	CodeTTL           time.Duration
	IDTokenTTL        time.Duration
	RefreshTokenTTL   time.Duration
	RefreshGrace      time.Duration
	LoginSessionTTL   time.Duration
	SigningAlgorithm  string
	KeyRotationPeriod time.Duration
	ClientRateLimit   float64
	PasswordParams    password.Params

	// SeparateAPI serves the FDX API only on its own listener (--api-addr),
	// as Plaid advises, instead of beside the authorization server.
	SeparateAPI bool
	// APIPublicURL, when set, makes statement links absolute.
	APIPublicURL string
	// HistoryMonths is how far back the FDX API serves data (default 24);
	// MaxPageSize caps its pages (default 500).
	HistoryMonths int
	MaxPageSize   int

	// KeyCheckInterval and KeyReloadInterval pace the rotation schedule and
	// how soon a replica publishes keys another one made.
	KeyCheckInterval  time.Duration
	KeyReloadInterval time.Duration
	// GCInterval paces the deletion of expired rows.
	GCInterval time.Duration
	// RequestTimeout bounds the work of one request: a database that hangs
	// instead of refusing becomes a 503 when it passes (default 10 s).
	RequestTimeout time.Duration
	// TrustedProxies are load balancers whose X-Forwarded-For names the
	// client's address (for logs, records and the per-address sign-in limit).
	TrustedProxies []netip.Prefix
	// Observability configures metrics, request records, alerts, notifications and the admin listener.
	Observability ObservabilityConfig
}

// Server is a configured fdxd.
type Server struct {
	cfg        Config
	handler    http.Handler
	apiHandler http.Handler
	tlsConfig  *tls.Config
	keys       *keys.Manager
	oauth      *oauth.Server
	tokens     *oauth.AccessTokens
	maint      *maintenance.Switch
	observer   *observe.Observer
	api        *fdx.API
	obs        *observability
}

// Server secrets: the access-token MAC key and the FDX cursor MAC key.
const (
	secretAccessTokenMAC = "access-token-mac"
	secretCursorMAC      = "fdx-cursor-mac"
)

// New builds the server: it loads (creating when absent) the access-token
// MAC key and the signing keys, so that it can sign from the first request.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Sealer == nil {
		return nil, errors.New("server: a store and a sealer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Institution == "" {
		cfg.Institution = "fdxd Demo Bank"
	}
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = oauth.DefaultAccessTokenTTL
	}
	if cfg.IDTokenTTL == 0 {
		cfg.IDTokenTTL = oauth.DefaultIDTokenTTL
	}
	if cfg.KeyCheckInterval == 0 {
		cfg.KeyCheckInterval = time.Minute
	}
	if cfg.KeyReloadInterval == 0 {
		cfg.KeyReloadInterval = 15 * time.Second
	}
	if cfg.GCInterval == 0 {
		cfg.GCInterval = 10 * time.Minute
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	s := &Server{cfg: cfg}

	macKey, err := s.serverSecret(ctx, secretAccessTokenMAC)
	if err != nil {
		return nil, err
	}
	s.tokens, err = oauth.NewAccessTokens(macKey, cfg.Store, cfg.AccessTokenTTL, cfg.Now)
	if err != nil {
		return nil, err
	}
	s.keys, err = keys.New(keys.Config{Keys: cfg.Store, Settings: cfg.Store, Sealer: cfg.Sealer, Algorithm: cfg.SigningAlgorithm,
		RotationPeriod: cfg.KeyRotationPeriod, SignedTokenLifetime: cfg.IDTokenTTL, Now: cfg.Now, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	if err := s.keys.Step(ctx); err != nil {
		return nil, err
	}
	s.maint = maintenance.New(cfg.Store, cfg.Now)
	s.observer = observe.New(cfg.Logger, cfg.Now)
	s.observer.TrustedProxies = cfg.TrustedProxies
	if cfg.Logger, err = s.setupObservability(ctx); err != nil {
		return nil, err
	}

	issuerPath, err := issuerPath(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	pages, err := web.New(cfg.Institution, issuerPath)
	if err != nil {
		return nil, err
	}
	s.oauth, err = oauth.New(oauth.Config{
		Issuer:          cfg.Issuer,
		Store:           cfg.Store,
		Keys:            s.keys,
		AccessTokens:    s.tokens,
		Maintenance:     s.maint,
		Pages:           pages,
		Observer:        s.observer,
		Logger:          cfg.Logger,
		Now:             cfg.Now,
		CodeTTL:         cfg.CodeTTL,
		IDTokenTTL:      cfg.IDTokenTTL,
		RefreshTokenTTL: cfg.RefreshTokenTTL,
		RefreshGrace:    cfg.RefreshGrace,
		LoginSessionTTL: cfg.LoginSessionTTL,
		ClientRateLimit: cfg.ClientRateLimit,
		PasswordParams:  cfg.PasswordParams,
	})
	if err != nil {
		return nil, err
	}

	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		if s.tlsConfig, err = tlsConfig(cfg.TLSCertFile, cfg.TLSKeyFile, cfg.ClientCAFile); err != nil {
			return nil, err
		}
	} else if cfg.ClientCAFile != "" {
		return nil, errors.New("server: --client-ca needs --tls-cert and --tls-key")
	}

	cursorKey, err := s.serverSecret(ctx, secretCursorMAC)
	if err != nil {
		return nil, err
	}
	s.api, err = fdx.New(fdx.Config{Store: cfg.Store, Tokens: s.tokens, Observer: s.observer, Logger: cfg.Logger,
		Maintenance: s.maint, CursorKey: cursorKey, Now: cfg.Now, PublicURL: cfg.APIPublicURL,
		HistoryMonths: cfg.HistoryMonths, MaxLimit: cfg.MaxPageSize})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	s.oauth.Mount(mux)
	if !cfg.SeparateAPI {
		s.api.Mount(mux)
	}
	mux.Handle("/", s.observer.Handler("not_found", http.HandlerFunc(notFound)))
	var h http.Handler = mux
	if cfg.ClientCAFile != "" {
		h = requireClientCert(h, issuerPath, s.observer)
	}
	s.handler = withDeadline(h, cfg.RequestTimeout)
	s.apiHandler = s.api.Handler()
	if cfg.ClientCAFile != "" {
		s.apiHandler = requireClientCert(s.apiHandler, "", s.observer)
	}
	s.apiHandler = withDeadline(s.apiHandler, cfg.RequestTimeout)
	return s, nil
}

// serverSecret returns a 32-byte secret shared by every replica, sealed at
// rest under the key-encryption key.
func (s *Server) serverSecret(ctx context.Context, name string) ([]byte, error) {
	purpose := "fdxd server secret " + name
	sealed, err := s.cfg.Store.ServerSecret(ctx, name, func() ([]byte, error) {
		return s.cfg.Sealer.Seal(secret.NewKey(), purpose), nil
	})
	if err != nil {
		return nil, fmt.Errorf("server: load %s: %w", name, err)
	}
	key, err := s.cfg.Sealer.Open(sealed, purpose)
	if err != nil {
		return nil, fmt.Errorf("server: %s: %w", name, err)
	}
	return key, nil
}

// Handler is the public handler (for tests and for embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// APIHandler is the FDX API alone, for a listener of its own.
func (s *Server) APIHandler() http.Handler { return s.apiHandler }

// Keys is the signing-key manager.
func (s *Server) Keys() *keys.Manager { return s.keys }

// AccessTokens issues and verifies access tokens.
func (s *Server) AccessTokens() *oauth.AccessTokens { return s.tokens }

// Maintenance is the maintenance switch.
func (s *Server) Maintenance() *maintenance.Switch { return s.maint }

// Observer wraps handlers with request records and logging.
func (s *Server) Observer() *observe.Observer { return s.observer }

// Listeners are where the server listens: the public listener (the
// authorization server, and the FDX API unless SeparateAPI), and the FDX
// API's own when SeparateAPI.
type Listeners struct {
	Public net.Listener
	API    net.Listener
	// Admin, when set, serves the admin listener (metrics, health, issue center, admin API).
	Admin net.Listener
}

// Serve serves on the listeners until ctx ends, then drains in-flight
// requests for up to drain. Background work (key rotation, garbage
// collection) runs alongside.
func (s *Server) Serve(ctx context.Context, ls Listeners, drain time.Duration) error {
	type served struct {
		name string
		srv  *http.Server
		l    net.Listener
	}
	var all []served
	add := func(name string, l net.Listener, h http.Handler) {
		if s.tlsConfig != nil {
			l = tls.NewListener(l, s.tlsConfig)
		}
		all = append(all, served{name, s.httpServer(ctx, h), l})
	}
	add("public", ls.Public, s.handler)
	switch {
	case s.cfg.SeparateAPI && ls.API == nil:
		return errors.New("server: the FDX API is separate but has no listener")
	case ls.API != nil:
		add("api", ls.API, s.apiHandler)
	}
	if ls.Admin != nil {
		add("admin", ls.Admin, s.AdminHandler())
	}
	// Registered first, so it stops last: after the drain, keeping the last requests' records.
	defer s.StartObservability(ctx)()

	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.keys.Run(bg, s.cfg.KeyCheckInterval, s.cfg.KeyReloadInterval) })
	wg.Go(func() { s.collectGarbage(bg) })
	defer func() { stopBG(); wg.Wait() }()

	errc := make(chan error, len(all))
	for _, a := range all {
		// Logged before serving starts, so that it precedes every request's line.
		s.cfg.Logger.Info("serving", "event", "server.started", "listener", a.name, "addr", a.l.Addr().String(),
			"issuer", s.cfg.Issuer, "tls", s.tlsConfig != nil, "mutual_tls", s.cfg.ClientCAFile != "", "replica", s.ReplicaID())
		go func() { errc <- fmt.Errorf("server: %s listener: %w", a.name, a.srv.Serve(a.l)) }()
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	s.cfg.Logger.Info("shutting down: draining in-flight requests", "event", "server.draining")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	var errs []error
	for _, a := range all {
		if err := a.srv.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("server: drain %s: %w", a.name, err))
		}
	}
	if serveErr != nil {
		return errors.Join(append([]error{serveErr}, errs...)...)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.cfg.Logger.Info("stopped", "event", "server.stopped")
	return nil
}

func (s *Server) httpServer(ctx context.Context, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

func (s *Server) collectGarbage(ctx context.Context) {
	t := time.NewTicker(s.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r, err := s.cfg.Store.GarbageCollect(ctx, s.cfg.Now().UTC())
			if err != nil {
				if ctx.Err() == nil {
					s.cfg.Logger.Error("garbage collection failed", "event", "gc.failed", "error", err.Error())
				}
				continue
			}
			s.cfg.Logger.Debug("garbage collected", "event", "gc.done", "auth_requests", r.AuthRequests,
				"login_sessions", r.LoginSessions, "codes", r.AuthCodes, "grants", r.Grants, "refresh_tokens", r.RefreshTokens)
		}
	}
}

func issuerPath(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return "", fmt.Errorf("server: issuer: %w", err)
	}
	p := u.Path
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p, nil
}

// tlsConfig loads the certificate, requires TLS 1.2+, and with a client CA
// asks for client certificates (verified when given; the back-channel
// endpoints then require one).
func tlsConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("server: --tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server: load TLS certificate: %w", err)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("server: read client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("server: %s holds no PEM certificate", clientCAFile)
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return c, nil
}

// backChannel are the endpoints aggregators call server to server; with
// mutual TLS on, they require a verified client certificate. The FDX API
// (every path under fdx.BasePath) does too.
var backChannel = []string{"/token", "/revoke", "/introspect", "/userinfo"}

func requireClientCert(next http.Handler, base string, o *observe.Observer) http.Handler {
	refuseOAuth := o.Handler("mtls", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		observe.From(r.Context()).SetError("invalid_client", "mutual TLS client certificate required")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		// A 401 must carry a challenge (RFC 9110 §15.5.2).
		w.Header().Set("WWW-Authenticate", `Basic realm="fdxd", charset="UTF-8"`)
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"invalid_client","error_description":"a client certificate (mutual TLS) is required"}` + "\n"))
	}))
	refuseFDX := o.Handler("mtls", http.HandlerFunc(fdx.RefuseWithoutClientCertificate))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			switch {
			case strings.HasPrefix(r.URL.Path, fdx.BasePath+"/"):
				refuseFDX.ServeHTTP(w, r)
				return
			case slices.Contains(backChannel, strings.TrimPrefix(r.URL.Path, base)):
				refuseOAuth.ServeHTTP(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// withDeadline gives every request's context a deadline, so store calls
// against a stalled database end (as ErrUnavailable) instead of hanging.
func withDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// notFound answers unknown paths with a small JSON body.
func notFound(w http.ResponseWriter, r *http.Request) {
	observe.From(r.Context()).SetError("not_found", "no such endpoint")
	body, _ := json.Marshal(map[string]string{"error": "not_found", "error_description": "no such endpoint"})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	w.Write(append(body, '\n'))
}
