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
			return nil, "", nil, err
		}
		r.disc = doc
		r.ep = endpoints{
			authorization: firstNonEmpty(cfg.AuthorizationEndpoint, doc.AuthorizationEndpoint),
			token:         firstNonEmpty(cfg.TokenEndpoint, doc.TokenEndpoint),
			userinfo:      firstNonEmpty(cfg.UserinfoEndpoint, doc.UserinfoEndpoint),
			jwks:          firstNonEmpty(cfg.JWKSURI, doc.JWKSURI),
		}
	}
	if cfg.ClientID == "" {
		// Without a client the watcher only polls the JWKS.
		return nil, r.ep.jwks, transport.CloseIdleConnections, nil
	}
	if a, err := url.Parse(r.ep.authorization); err != nil || !a.IsAbs() || r.ep.token == "" {
		transport.CloseIdleConnections()
		return nil, "", nil, fmt.Errorf("%w: no authorization or token endpoint", ErrConfig)
	}
	u, err := url.Parse(cfg.RedirectURI)
	if err != nil || u.Host == "" {
		transport.CloseIdleConnections()
		return nil, "", nil, fmt.Errorf("%w: --redirect-uri is required with --client-id", ErrConfig)
	}
	r.redirectURI = u
	var refreshToken string
	source = func(ctx context.Context) (string, error) {
		if refreshToken != "" {
			t, err := r.refresh(ctx, refreshToken)
			if err == nil && t.ok() {
				if t.refreshToken != "" {
					refreshToken = t.refreshToken
				}
				if t.idToken != "" {
					return t.idToken, nil
				}
			} else {
				refreshToken = ""
			}
		}
		s, why := r.loginAndExchange(ctx, r.newAuthRequest("watch login"))
		if s == nil {
			return "", errors.New(r.rec.redact(why))
		}
		refreshToken = s.tokens.refreshToken
		if s.tokens.idToken == "" {
			return "", errors.New("the token response has no id_token")
		}
		return s.tokens.idToken, nil
	}
	return source, r.ep.jwks, transport.CloseIdleConnections, nil
}
