// Package doctor checks a data provider the way an aggregator meets it:
// discovery, JWKS, the authorization redirect, the token endpoint, refresh,
// userinfo and the FDX API, over HTTP only. It shares nothing with fdxd's
// server packages, so it diagnoses any provider, whatever it is built with.
//
// Each check returns a [Result] with a stable id, a status, the evidence seen
// and, when something is wrong, the fix in the words of Plaid's Core Exchange
// troubleshooting guide. No secret, token, code or password is ever part of a
// result.
package doctor

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// DefaultScope is what Plaid requests: no more, and without prompt.
const DefaultScope = "openid offline_access"

// DefaultTimeout is the deadline of a whole run.
const DefaultTimeout = 3 * time.Minute

// Config says which provider to check and how to log in.
type Config struct {
	// Issuer is the URL whose /.well-known/openid-configuration is read.
	Issuer string
	// Explicit endpoints override discovery, or replace it when Issuer is empty.
	AuthorizationEndpoint string
	TokenEndpoint         string
	UserinfoEndpoint      string
	JWKSURI               string
	IntrospectionEndpoint string

	ClientID     string
	ClientSecret string
	RedirectURI  string
	// Scope defaults to DefaultScope.
	Scope string
	// APIBase is the FDX base URL, such as https://api.bank.example/fdx/v6;
	// empty skips the api stage.
	APIBase string
	// Spec validates FDX bodies; nil reports schema checks as skipped.
	Spec *Spec

	// Username and Password log in automatically. With Manual set, a person
	// logs in instead and Password is not needed.
	Username string
	Password string
	Manual   *Manual

	// InsecureLoopback allows plain http to loopback hosts.
	InsecureLoopback bool
	// RootCAs replaces the system roots (a private CA for staging); nil uses
	// the system roots.
	RootCAs *x509.CertPool
	// Timeout is the deadline of the whole run; DefaultTimeout when zero.
	Timeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// ErrConfig marks a configuration doctor cannot run with.
var ErrConfig = errors.New("doctor configuration")

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Issuer == "" && (c.AuthorizationEndpoint == "" || c.TokenEndpoint == "") {
		errs = append(errs, errors.New("--issuer is required (or --authorization-endpoint and --token-endpoint)"))
	}
	for name, v := range map[string]string{
		"issuer": c.Issuer, "authorization-endpoint": c.AuthorizationEndpoint, "token-endpoint": c.TokenEndpoint,
		"userinfo-endpoint": c.UserinfoEndpoint, "jwks-uri": c.JWKSURI, "introspection-endpoint": c.IntrospectionEndpoint,
		"redirect-uri": c.RedirectURI, "api-base": c.APIBase,
	} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			errs = append(errs, fmt.Errorf("--%s %q is not an absolute http(s) URL", name, v))
		}
	}
	if c.ClientID != "" && c.RedirectURI == "" {
		errs = append(errs, errors.New("--redirect-uri is required with --client-id"))
	}
	if c.Username != "" && c.Password == "" && c.Manual == nil {
		errs = append(errs, errors.New("a password is required for automatic login (--password-file, stdin or FDXD_DOCTOR_PASSWORD), or use --manual"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return nil
}

// run is the state of one doctor run: what earlier stages learnt that later
// ones need.
type run struct {
	cfg    Config
	now    func() time.Time
	rec    *recorder
	client *httpClient

	issuerURL   *url.URL
	disc        *discoveryDoc // nil without discovery
	ep          endpoints
	jwks        *keySet
	redirectURI *url.URL

	// observations gathered across logins
	states  []stateSeen
	cookies []cookieSeen

	main         *session // the first login and its tokens
	userinfoOK   bool     // userinfo accepted the main access token
	accessTokens []string // every access token issued, for the api stage's probes
}

// newRun starts the state of a run, or of the watcher's token source. The
// configured credentials are registered with the redactor before anything
// is sent, so a provider that echoes them back cannot put them in a report.
func newRun(cfg Config, now func() time.Time, client *httpClient) *run {
	r := &run{cfg: cfg, now: now, rec: &recorder{}, client: client}
	r.rec.secret(cfg.ClientSecret, cfg.Password)
	return r
}

type stateSeen struct {
	flow      string
	sent, got string
	present   bool
}

// Run checks the provider described by cfg and returns the report. It never
// fails: what cannot be checked is reported as SKIP with the reason.
func Run(ctx context.Context, cfg Config) *Report {
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	policy := transportPolicy{insecureLoopback: cfg.InsecureLoopback, rootCAs: cfg.RootCAs, now: now}
	transport := policy.newTransport()
	defer transport.CloseIdleConnections()
	r := newRun(cfg, now, newHTTPClient(policy, transport, nil))
	started := now()
	elapsed := time.Now() // the run's duration is measured, not read from the injected clock
	target := cfg.Issuer
	if target == "" {
		target = cfg.AuthorizationEndpoint
	}

	r.checkDiscovery(ctx)
	r.checkJWKS(ctx)
	r.checkFlows(ctx)

	return &Report{Target: target, Started: started, Duration: time.Since(elapsed), Results: r.rec.sorted()}
}

// deadlineNote explains a skipped check when the run's deadline passed.
func deadlineNote(ctx context.Context) string {
	if ctx.Err() != nil {
		return "; the run's deadline passed (--timeout)"
	}
	return ""
}

// joinLines joins evidence lines, keeping at most n and saying how many more.
func joinLines(lines []string, n int) string {
	if len(lines) <= n {
		return strings.Join(lines, "\n")
	}
	return strings.Join(lines[:n], "\n") + fmt.Sprintf("\n… and %d more", len(lines)-n)
}
