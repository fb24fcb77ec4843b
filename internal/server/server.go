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
	"net/url"
	"os"
	"sync"
	"time"

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

	// KeyCheckInterval and KeyReloadInterval pace the rotation schedule and
	// how soon a replica publishes keys another one made.
	KeyCheckInterval  time.Duration
	KeyReloadInterval time.Duration
	// GCInterval paces the deletion of expired rows.
	GCInterval time.Duration
}

// Server is a configured fdxd.
type Server struct {
	cfg       Config
	handler   http.Handler
	tlsConfig *tls.Config
	keys      *keys.Manager
	oauth     *oauth.Server
	tokens    *oauth.AccessTokens
	maint     *maintenance.Switch
	observer  *observe.Observer
}

// secretAccessTokenMAC names the server secret that MACs access tokens.
const secretAccessTokenMAC = "access-token-mac"

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

	mux := http.NewServeMux()
	s.oauth.Mount(mux)
	mux.Handle("/", s.observer.Handler("not_found", http.HandlerFunc(notFound)))
	var h http.Handler = mux
	if cfg.ClientCAFile != "" {
		h = requireClientCert(h, issuerPath, s.observer)
	}
	s.handler = h
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

// Keys is the signing-key manager.
func (s *Server) Keys() *keys.Manager { return s.keys }

// AccessTokens issues and verifies access tokens.
func (s *Server) AccessTokens() *oauth.AccessTokens { return s.tokens }

// Maintenance is the maintenance switch.
func (s *Server) Maintenance() *maintenance.Switch { return s.maint }

// Observer wraps handlers with request records and logging.
func (s *Server) Observer() *observe.Observer { return s.observer }

// Serve serves on l until ctx ends, then drains in-flight requests for up
// to drain. Background work (key rotation, garbage collection) runs
// alongside.
func (s *Server) Serve(ctx context.Context, l net.Listener, drain time.Duration) error {
	if s.tlsConfig != nil {
		l = tls.NewListener(l, s.tlsConfig)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.keys.Run(bg, s.cfg.KeyCheckInterval, s.cfg.KeyReloadInterval) })
	wg.Go(func() { s.collectGarbage(bg) })
	defer func() { stopBG(); wg.Wait() }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	s.cfg.Logger.Info("serving", "event", "server.started", "addr", l.Addr().String(), "issuer", s.cfg.Issuer,
		"tls", s.tlsConfig != nil, "mutual_tls", s.cfg.ClientCAFile != "")
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.cfg.Logger.Info("shutting down: draining in-flight requests", "event", "server.draining")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("server: drain: %w", err)
	}
	s.cfg.Logger.Info("stopped", "event", "server.stopped")
	return nil
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
// mutual TLS on, they require a verified client certificate.
var backChannel = []string{"/token", "/revoke", "/introspect", "/userinfo"}

func requireClientCert(next http.Handler, base string, o *observe.Observer) http.Handler {
	refuse := o.Handler("mtls", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		observe.From(r.Context()).SetError("invalid_client", "mutual TLS client certificate required")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"invalid_client","error_description":"a client certificate (mutual TLS) is required"}` + "\n"))
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range backChannel {
			if r.URL.Path == base+p && (r.TLS == nil || len(r.TLS.PeerCertificates) == 0) {
				refuse.ServeHTTP(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
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
