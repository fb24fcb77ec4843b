package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/maintenance"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/ratelimit"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/web"
)

// Lifetimes and limits.
const (
	// MaxCodeTTL is the troubleshooting guide's ceiling: "expire codes in 10 min".
	MaxCodeTTL             = 10 * time.Minute
	DefaultCodeTTL         = 5 * time.Minute
	DefaultIDTokenTTL      = time.Hour
	DefaultAccessTokenTTL  = 900 * time.Second
	DefaultRefreshTokenTTL = 395 * 24 * time.Hour // 13 months
	DefaultRefreshGrace    = 2 * time.Minute
	DefaultAuthRequestTTL  = 30 * time.Minute
	DefaultLoginSessionTTL = time.Hour
	// DefaultClientRateLimit is requests per second per client at the token
	// and authorize endpoints, with twice that as burst.
	DefaultClientRateLimit = 1000
)

// Grant types and scopes this server supports.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"

	ScopeOpenID        = "openid"
	ScopeOfflineAccess = "offline_access"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
)

// SupportedScopes are the scopes a client may request.
var SupportedScopes = []string{ScopeOpenID, ScopeOfflineAccess, ScopeProfile, ScopeEmail}

// SupportedGrantTypes are the grant types a client may be allowed.
var SupportedGrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}

// Config configures the authorization server.
type Config struct {
	// Issuer is the server's identifier and base URL (https, or http on a
	// loopback host).
	Issuer       string
	Store        store.Store
	Keys         *keys.Manager
	AccessTokens *AccessTokens
	Maintenance  *maintenance.Switch
	Pages        *web.Pages
	Observer     *observe.Observer
	Logger       *slog.Logger
	Now          func() time.Time

	CodeTTL         time.Duration
	IDTokenTTL      time.Duration
	RefreshTokenTTL time.Duration
	RefreshGrace    time.Duration
	AuthRequestTTL  time.Duration
	LoginSessionTTL time.Duration
	// ClientRateLimit is the default requests per second per client (a
	// client's own RateLimit overrides it); negative disables it.
	ClientRateLimit float64
	// LoginFailuresPerUser and LoginFailuresPerAddress are how many failed
	// logins are allowed in a burst; they refill over LoginFailureWindow.
	LoginFailuresPerUser    int
	LoginFailuresPerAddress int
	LoginFailureWindow      time.Duration
	// PasswordParams are the argon2id costs of stored passwords, spent on
	// unknown usernames too so timing does not tell them apart.
	PasswordParams password.Params
}

// Validate fills defaults and reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.Issuer)
	switch {
	case c.Issuer == "" || err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("oauth: issuer %q must be an absolute URL without query or fragment", c.Issuer))
	case u.Scheme != "https" && !(u.Scheme == "http" && IsLoopbackHost(u.Hostname())):
		errs = append(errs, fmt.Errorf("oauth: issuer %q must use https (http is allowed only for loopback hosts)", c.Issuer))
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	if c.Store == nil || c.Keys == nil || c.AccessTokens == nil || c.Maintenance == nil || c.Pages == nil || c.Observer == nil {
		errs = append(errs, errors.New("oauth: store, keys, access tokens, maintenance, pages and observer are required"))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.CodeTTL, DefaultCodeTTL)
	def(&c.IDTokenTTL, DefaultIDTokenTTL)
	def(&c.RefreshTokenTTL, DefaultRefreshTokenTTL)
	def(&c.RefreshGrace, DefaultRefreshGrace)
	def(&c.AuthRequestTTL, DefaultAuthRequestTTL)
	def(&c.LoginSessionTTL, DefaultLoginSessionTTL)
	def(&c.LoginFailureWindow, 15*time.Minute)
	if c.CodeTTL < 0 || c.CodeTTL > MaxCodeTTL {
		errs = append(errs, fmt.Errorf("oauth: code lifetime %v is outside (0, %v]: Plaid requires codes to expire within 10 minutes", c.CodeTTL, MaxCodeTTL))
	}
	for name, d := range map[string]time.Duration{"ID token": c.IDTokenTTL, "refresh token": c.RefreshTokenTTL,
		"refresh grace": c.RefreshGrace, "authorization request": c.AuthRequestTTL, "login session": c.LoginSessionTTL} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("oauth: %s lifetime %v is negative", name, d))
		}
	}
	if c.ClientRateLimit == 0 {
		c.ClientRateLimit = DefaultClientRateLimit
	}
	if c.PasswordParams == (password.Params{}) {
		c.PasswordParams = password.Default
	}
	if c.LoginFailuresPerUser == 0 {
		c.LoginFailuresPerUser = 5
	}
	if c.LoginFailuresPerAddress == 0 {
		c.LoginFailuresPerAddress = 20
	}
	return errors.Join(errs...)
}

// IsLoopbackHost reports whether host names the loopback interface:
// "localhost", or a literal loopback address. A DNS name such as
// 127.example.net is not one, whatever it starts with.
func IsLoopbackHost(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// Server is the authorization server.
type Server struct {
	cfg      Config
	basePath string // the issuer's path, "" for the root

	clientLimits *ratelimit.Keyed
	userFails    *ratelimit.Keyed
	addrFails    *ratelimit.Keyed
	crossOrigin  *http.CrossOriginProtection
	discovery    []byte
	secure       bool
}

// New returns a Server; cfg is validated.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.Issuer)
	s := &Server{
		cfg:          cfg,
		basePath:     strings.TrimSuffix(u.Path, "/"),
		clientLimits: ratelimit.New(rate.Limit(max(cfg.ClientRateLimit, 0)), burstFor(cfg.ClientRateLimit), 100_000, cfg.Now),
		userFails: ratelimit.New(rate.Every(cfg.LoginFailureWindow/time.Duration(cfg.LoginFailuresPerUser)),
			cfg.LoginFailuresPerUser, 100_000, cfg.Now),
		addrFails: ratelimit.New(rate.Every(cfg.LoginFailureWindow/time.Duration(cfg.LoginFailuresPerAddress)),
			cfg.LoginFailuresPerAddress, 100_000, cfg.Now),
		crossOrigin: http.NewCrossOriginProtection(),
		secure:      u.Scheme == "https",
	}
	disc, err := s.discoveryDocument()
	if err != nil {
		return nil, err
	}
	s.discovery = disc
	return s, nil
}

func burstFor(perSecond float64) int { return max(int(2*perSecond), 1) }

// Issuer is the configured issuer, without a trailing slash.
func (s *Server) Issuer() string { return s.cfg.Issuer }

// endpoint is the absolute URL of the endpoint at path.
func (s *Server) endpoint(path string) string { return s.cfg.Issuer + path }

// Mount registers every endpoint on mux under the issuer's path.
func (s *Server) Mount(mux *http.ServeMux) {
	o := s.cfg.Observer
	handle := func(pattern, route string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+s.basePath+path, o.Handler(route, h))
	}
	handle("GET /.well-known/openid-configuration", "discovery", s.handleDiscovery)
	handle("GET /.well-known/oauth-authorization-server", "discovery", s.handleDiscovery)
	if s.basePath != "" {
		// RFC 8414 §3: for an issuer with a path, the metadata lives at
		// /.well-known/oauth-authorization-server/<path>.
		mux.Handle("GET /.well-known/oauth-authorization-server"+s.basePath, o.Handler("discovery", http.HandlerFunc(s.handleDiscovery)))
	}
	handle("GET /authorize", "authorize", s.handleAuthorize)
	handle("POST /authorize", "authorize", s.handleAuthorize)
	handle("GET /login", "login", s.handleLoginPage)
	handle("POST /login", "login", s.handleLogin)
	handle("GET /select", "consent", s.handleSelectPage)
	handle("POST /select", "consent", s.handleSelect)
	handle("POST /token", "token", s.handleToken)
	handle("GET /userinfo", "userinfo", s.handleUserinfo)
	handle("POST /userinfo", "userinfo", s.handleUserinfo)
	handle("GET /jwks", "jwks", s.handleJWKS)
	handle("POST /revoke", "revoke", s.handleRevoke)
	handle("POST /introspect", "introspect", s.handleIntrospect)
	mux.Handle("GET "+s.basePath+"/assets/", http.StripPrefix(s.basePath+"/assets", web.Assets()))

	// Wrong methods on the JSON endpoints get an OAuth error body, not the
	// mux's plain-text 405.
	for path, route := range map[string]string{"/token": "token", "/revoke": "revoke", "/introspect": "introspect"} {
		mux.Handle(s.basePath+path, o.Handler(route, methodNotAllowed("POST")))
	}
	mux.Handle(s.basePath+"/userinfo", o.Handler("userinfo", methodNotAllowed("GET, POST")))
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		e := invalidRequest("method %s is not allowed; use %s", r.Method, allow)
		e.Status = http.StatusMethodNotAllowed
		writeJSONError(w, r, e)
	}
}

// now is the server's clock in UTC.
func (s *Server) now() time.Time { return s.cfg.Now().UTC() }

// available reports maintenance mode or a database that cannot be read as
// a 503 error.
func (s *Server) available(ctx context.Context) *Error {
	on, err := s.cfg.Maintenance.On(ctx)
	switch {
	case err != nil:
		return s.storeError(err)
	case on:
		return unavailable(int(maintenance.RetryAfter.Seconds()), "the server is in scheduled maintenance")
	}
	return nil
}

// storeError turns a store failure into the error to answer: 503 when the
// database is unreachable, 500 otherwise.
func (s *Server) storeError(err error) *Error {
	if errors.Is(err, store.ErrUnavailable) {
		return unavailable(5, "the database is unavailable")
	}
	return serverError(err)
}

// allowClient applies the client's rate limit.
func (s *Server) allowClient(c store.Client) *Error {
	limit := s.cfg.ClientRateLimit
	if c.RateLimit != 0 {
		limit = c.RateLimit
	}
	if limit < 0 {
		return nil
	}
	ok, wait := s.clientLimits.AllowWith(c.ID, rate.Limit(limit), burstFor(limit))
	if !ok {
		return unavailable(ratelimit.RetryAfter(wait), "rate limit exceeded for this client")
	}
	return nil
}

// logError logs e at the level it deserves: server faults as errors, with
// their cause.
func (s *Server) logError(ctx context.Context, event string, e *Error, attrs ...any) {
	attrs = append(attrs, "event", event, "error", e.Code, "error_description", e.Description)
	if e.err != nil {
		attrs = append(attrs, "cause", e.err.Error())
	}
	level := slog.LevelWarn
	if e.Status >= 500 && e.Code != ErrCodeTemporarilyUnavailable {
		level = slog.LevelError
	}
	s.cfg.Logger.Log(ctx, level, e.Error(), attrs...)
}

// scopesAllowed returns the scopes the client may request.
func scopesAllowed(c store.Client) []string {
	if len(c.Scopes) == 0 {
		return SupportedScopes
	}
	return c.Scopes
}

// hasGrantType reports whether the client may use grant type g.
func hasGrantType(c store.Client, g string) bool { return slices.Contains(c.GrantTypes, g) }

// securityHeaders are set on every HTML page: no framing, no sniffing, no
// referrer (the page URL names the attempt), no caching.
func securityHeaders(w http.ResponseWriter, formTargets ...string) {
	csp := "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
	for _, t := range formTargets {
		if t != "" && !strings.ContainsAny(t, " ;,'\"") {
			csp += " " + t
		}
	}
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}
