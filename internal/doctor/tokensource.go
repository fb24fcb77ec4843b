package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// IDTokenSource returns a function that yields a freshly issued ID token on
// each call, for [WatchConfig.IDToken]: it logs in once as cfg describes,
// then refreshes (keeping the refresh token in memory only) and logs in
// again when a refresh brings no ID token. It also returns the jwks_uri from
// discovery (or cfg.JWKSURI). closeFn releases idle connections.
func IDTokenSource(ctx context.Context, cfg Config) (source func(context.Context) (string, error), jwksURI string, closeFn func(), err error) {
	s, err := newIDTokenSource(ctx, cfg)
	if err != nil {
		return nil, "", nil, err
	}
	if cfg.ClientID == "" {
		// Without a client the watcher only polls the JWKS.
		return nil, s.r.ep.jwks, s.close, nil
	}
	return s.next, s.r.ep.jwks, s.close, nil
}

// idTokenSource is the state behind IDTokenSource's function.
type idTokenSource struct {
	r            *run
	refreshToken string
	close        func()
}

func newIDTokenSource(ctx context.Context, cfg Config) (*idTokenSource, error) {
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	policy := transportPolicy{insecureLoopback: cfg.InsecureLoopback, rootCAs: cfg.RootCAs, now: now}
	transport := policy.newTransport()
	r := newRun(cfg, now, newHTTPClient(policy, transport, nil))
	r.ep = endpoints{cfg.AuthorizationEndpoint, cfg.TokenEndpoint, cfg.UserinfoEndpoint, cfg.JWKSURI, cfg.IntrospectionEndpoint}
	if cfg.Issuer != "" {
		doc, err := r.fetchDiscovery(ctx, strings.TrimSuffix(cfg.Issuer, "/")+wellKnown)
		if err != nil {
			transport.CloseIdleConnections()
			return nil, err
		}
		r.disc = doc
		r.ep = endpoints{
			authorization: firstNonEmpty(cfg.AuthorizationEndpoint, doc.AuthorizationEndpoint),
			token:         firstNonEmpty(cfg.TokenEndpoint, doc.TokenEndpoint),
			userinfo:      firstNonEmpty(cfg.UserinfoEndpoint, doc.UserinfoEndpoint),
			jwks:          firstNonEmpty(cfg.JWKSURI, doc.JWKSURI),
		}
	}
	s := &idTokenSource{r: r, close: transport.CloseIdleConnections}
	if cfg.ClientID == "" {
		return s, nil
	}
	if a, err := url.Parse(r.ep.authorization); err != nil || !a.IsAbs() || r.ep.token == "" {
		transport.CloseIdleConnections()
		return nil, fmt.Errorf("%w: no authorization or token endpoint", ErrConfig)
	}
	u, err := url.Parse(cfg.RedirectURI)
	if err != nil || u.Host == "" {
		transport.CloseIdleConnections()
		return nil, fmt.Errorf("%w: --redirect-uri is required with --client-id", ErrConfig)
	}
	r.redirectURI = u
	return s, nil
}

// next refreshes, or logs in, for a fresh ID token.
func (s *idTokenSource) next(ctx context.Context) (string, error) {
	r := s.r
	// Each poll starts clean: what a poll saw (tokens for the redactor,
	// cookies, states) would otherwise pile up for as long as the watcher
	// runs. The refresh token about to be sent stays redacted.
	r.rec = &recorder{}
	r.rec.secret(r.cfg.ClientSecret, r.cfg.Password, s.refreshToken)
	r.accessTokens, r.cookies, r.states = nil, nil, nil
	if s.refreshToken != "" {
		t, err := r.refresh(ctx, s.refreshToken)
		if err == nil && t.ok() {
			if t.refreshToken != "" {
				s.refreshToken = t.refreshToken
			}
			if t.idToken != "" {
				return t.idToken, nil
			}
		} else {
			s.refreshToken = ""
		}
	}
	sess, why := r.loginAndExchange(ctx, r.newAuthRequest("watch login"))
	if sess == nil {
		return "", errors.New(r.rec.redact(why))
	}
	s.refreshToken = sess.tokens.refreshToken
	if sess.tokens.idToken == "" {
		return "", errors.New("the token response has no id_token")
	}
	return sess.tokens.idToken, nil
}
