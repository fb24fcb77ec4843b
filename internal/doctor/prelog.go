package doctor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The pre-log checks cover what fails before the token exchange, where the
// provider's token logs (and the Data Partner Dashboard) never look: an
// unknown client_id, a redirect URI that does not match, plain http.

// unregisteredRedirect is a redirect URI no provider has registered.
const unregisteredRedirect = "https://doctor.invalid/oauth/callback"

func (r *run) checkPrelog(ctx context.Context) {
	r.checkHTTPSEndpoints()
	r.checkPlainHTTP(ctx)

	registered := r.cfg.RedirectURI
	// Unknown client: the registered redirect URI must not receive a redirect.
	unknown := r.newAuthRequest("unknown client_id")
	unknown.clientID = "doctor-unknown-" + randomValue()[:12]
	r.probeRejected(ctx, "prelog.unknown_client", "unknown client_id", unknown, nil)

	unreg := r.newAuthRequest("unregistered redirect_uri")
	unreg.redirectURI = unregisteredRedirect
	r.probeRejected(ctx, "prelog.redirect_uri_unregistered", "unregistered redirect_uri "+unregisteredRedirect, unreg, []string{unregisteredRedirect})

	prefixed := r.newAuthRequest("prefix-extended redirect_uri")
	prefixed.redirectURI = extendURI(registered, "doctor-probe")
	prefixAccepted := r.probeRejected(ctx, "prelog.redirect_uri_prefix", "prefix-extended redirect_uri "+prefixed.redirectURI, prefixed, []string{prefixed.redirectURI})

	slash := r.newAuthRequest("trailing-slash redirect_uri")
	if strings.HasSuffix(registered, "/") {
		slash.redirectURI = strings.TrimSuffix(registered, "/")
	} else {
		slash.redirectURI = registered + "/"
	}
	if prefixAccepted && strings.HasPrefix(slash.redirectURI, registered) {
		// Adding a slash is one more prefix extension: its verdict is the
		// prefix check's, not a second failure.
		r.rec.skip("prelog.redirect_uri_trailing_slash", "%s is a prefix extension too: covered by prelog.redirect_uri_prefix", slash.redirectURI)
		return
	}
	r.probeRejected(ctx, "prelog.redirect_uri_trailing_slash", "redirect_uri with the trailing slash toggled "+slash.redirectURI, slash, []string{slash.redirectURI})
}

// probeRejected sends an authorization request that must end on the
// provider's error page and reports whether the provider redirected to a
// URI it should not have.
func (r *run) probeRejected(ctx context.Context, id, what string, ar authRequest, bad []string) (accepted bool) {
	targets := []*url.URL{r.redirectURI}
	for _, b := range bad {
		u, _ := url.Parse(b)
		targets = append(targets, u)
	}
	mode := walkLogin
	w, err := r.walk(ctx, r.authorizeURL(ar), mode, targets)
	r.cookies = append(r.cookies, w.cookies...)
	steps := joinLines(w.steps, 8)
	if err != nil {
		r.rec.warn(id, "%s: could not finish the probe: %v\n%s", what, err, steps)
		return false
	}
	if w.reached != nil {
		q := w.reached.Query()
		r.rec.secret(q.Get("code"))
		carried := "error=" + q.Get("error")
		if q.Get("code") != "" {
			carried = "a code"
		}
		if w.targetIndex == 0 && len(bad) > 0 {
			r.rec.warn(id, "%s: redirected to the registered redirect URI with %s; show an error page instead of redirecting\n%s", what, carried, steps)
			return false
		}
		after := ""
		if w.submitted {
			after = " after login"
		}
		r.rec.fail(id, "%s: redirected%s to %s with %s: the redirect URI was not matched exactly\n%s", what, after, shortURL(w.reached), carried, steps)
		return true
	}
	switch {
	case w.noPassword:
		r.rec.warn(id, "%s: a login page is shown instead of an error page, so the redirect URI is checked only after login, if at all (no password to find out)\n%s", what, steps)
	case w.submitted:
		r.rec.pass(id, "%s: error page after login (%s); an error page before the login form is better\n%s", what, w.endPage, steps)
	default:
		r.rec.pass(id, "%s: no redirect, error page %s", what, w.endPage)
	}
	return false
}

// checkHTTPSEndpoints checks the scheme of every endpoint except the issuer
// and jwks_uri, which discovery.https and jwks.reachable cover.
func (r *run) checkHTTPSEndpoints() {
	const id = "prelog.https_endpoints"
	var insecure, allowed, ok []string
	for _, e := range []struct{ name, value string }{
		{"authorization_endpoint", r.ep.authorization},
		{"token_endpoint", r.ep.token},
		{"userinfo_endpoint", r.ep.userinfo},
		{"introspection_endpoint", r.ep.introspection},
		{"--api-base", r.cfg.APIBase},
		{"--redirect-uri", r.cfg.RedirectURI},
	} {
		if e.value == "" {
			continue
		}
		u, err := url.Parse(e.value)
		switch {
		case err != nil:
			insecure = append(insecure, fmt.Sprintf("%s %q does not parse", e.name, e.value))
		case u.Scheme == "https":
			ok = append(ok, e.name)
		case r.client.policy.isHTTPAllowed(u):
			allowed = append(allowed, e.name+" "+shortURL(u))
		default:
			insecure = append(insecure, e.name+" "+shortURL(u))
		}
	}
	switch {
	case len(insecure) > 0:
		r.rec.fail(id, "not https: %s", strings.Join(insecure, ", "))
	case len(allowed) > 0:
		r.rec.warn(id, "http, allowed for loopback hosts by --insecure-loopback: %s; production needs https", strings.Join(allowed, ", "))
	default:
		r.rec.pass(id, "https: %s", strings.Join(ok, ", "))
	}
}

// checkPlainHTTP asks for the authorization page over plain http: it must
// be refused or redirected to https, never served.
func (r *run) checkPlainHTTP(ctx context.Context) {
	const id = "prelog.plain_http"
	u, err := url.Parse(r.authorizeURL(r.newAuthRequest("plain http")))
	if err != nil || u.Scheme != "https" {
		r.rec.skip(id, "the authorization endpoint is not https (see prelog.https_endpoints)")
		return
	}
	u.Scheme = "http"
	// This one probe speaks plain http on purpose; its own short deadline
	// keeps a filtered port from eating the run's time.
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	plain := &http.Client{
		Transport:     r.client.client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, _ := http.NewRequestWithContext(pctx, http.MethodGet, u.String(), nil)
	req.Header.Set("User-Agent", userAgent)
	resp, err := plain.Do(req)
	if err != nil {
		r.rec.pass(id, "http://%s refused: %v", u.Host, unwrapURLError(err))
		return
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != nil && loc.Scheme == "https":
		r.rec.pass(id, "GET http://%s%s → %d to https", u.Host, u.Path, resp.StatusCode)
	case resp.StatusCode >= 200 && resp.StatusCode < 400:
		r.rec.fail(id, "GET http://%s%s → %d: the authorization endpoint answers over plain http", u.Host, u.Path, resp.StatusCode)
	default:
		r.rec.pass(id, "GET http://%s%s → %d: not served over http", u.Host, u.Path, resp.StatusCode)
	}
}
