package doctor

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// discoveryDoc holds the fields of an OpenID Provider configuration doctor
// uses.
type discoveryDoc struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	AuthorizationResponseIssParameter bool     `json:"authorization_response_iss_parameter_supported"`
	present                           map[string]bool
}

// endpoints are the provider's URLs, from discovery or the command line.
type endpoints struct {
	authorization, token, userinfo, jwks, introspection string
}

const wellKnown = "/.well-known/openid-configuration"

func (r *run) checkDiscovery(ctx context.Context) {
	cfg := r.cfg
	explicit := endpoints{cfg.AuthorizationEndpoint, cfg.TokenEndpoint, cfg.UserinfoEndpoint, cfg.JWKSURI, cfg.IntrospectionEndpoint}
	r.ep = explicit
	// TLS is checked on the endpoints known at the end, however discovery went.
	defer r.checkTLS(ctx)
	ids := []string{"discovery.reachable", "discovery.https", "discovery.issuer", "discovery.endpoints", "discovery.scopes", "discovery.response_types", "discovery.token_auth_methods"}
	if cfg.Issuer == "" {
		for _, id := range ids {
			r.rec.skip(id, "no --issuer: the endpoints were given on the command line")
		}
		return
	}
	issuer, err := url.Parse(cfg.Issuer)
	if err != nil || issuer.Host == "" {
		r.rec.fail("discovery.reachable", "--issuer %q is not an absolute URL", cfg.Issuer)
		for _, id := range ids[1:] {
			r.rec.skip(id, "no usable issuer URL")
		}
		return
	}
	r.issuerURL = issuer
	discoveryURL := strings.TrimSuffix(cfg.Issuer, "/") + wellKnown

	switch {
	case issuer.Scheme == "https":
		r.rec.pass("discovery.https", "issuer %s is https", cfg.Issuer)
	case r.client.policy.isHTTPAllowed(issuer):
		r.rec.warn("discovery.https", "issuer %s is http, allowed for a loopback host by --insecure-loopback; production needs https", cfg.Issuer)
	default:
		r.rec.fail("discovery.https", "issuer %s is not https", cfg.Issuer)
	}

	doc, err := r.fetchDiscovery(ctx, discoveryURL)
	if err != nil {
		if errors.Is(err, ErrInsecureURL) {
			r.rec.skip("discovery.reachable", "not fetched: the issuer is not https (see discovery.https)")
		} else {
			r.rec.fail("discovery.reachable", "%v", err)
		}
		for _, id := range ids[2:] {
			r.rec.skip(id, "no discovery document")
		}
		return
	}
	r.disc = doc

	if doc.Issuer == cfg.Issuer {
		r.rec.pass("discovery.issuer", "issuer %q equals the URL asked", doc.Issuer)
	} else {
		r.rec.fail("discovery.issuer", "issuer is %q, but doctor asked %q: aggregators compare them exactly", doc.Issuer, cfg.Issuer)
	}

	r.ep = endpoints{
		authorization: firstNonEmpty(explicit.authorization, doc.AuthorizationEndpoint),
		token:         firstNonEmpty(explicit.token, doc.TokenEndpoint),
		userinfo:      firstNonEmpty(explicit.userinfo, doc.UserinfoEndpoint),
		jwks:          firstNonEmpty(explicit.jwks, doc.JWKSURI),
		introspection: firstNonEmpty(explicit.introspection, doc.IntrospectionEndpoint),
	}
	var missing, bad []string
	for _, e := range []struct{ name, value string }{
		{"authorization_endpoint", doc.AuthorizationEndpoint},
		{"token_endpoint", doc.TokenEndpoint},
		{"userinfo_endpoint", doc.UserinfoEndpoint},
		{"jwks_uri", doc.JWKSURI},
	} {
		if e.value == "" {
			missing = append(missing, e.name)
			continue
		}
		if u, err := url.Parse(e.value); err != nil || !u.IsAbs() || u.Host == "" {
			bad = append(bad, fmt.Sprintf("%s %q is not an absolute URL", e.name, e.value))
		}
	}
	switch {
	case len(missing) > 0 || len(bad) > 0:
		msg := strings.Join(bad, "; ")
		if len(missing) > 0 {
			msg = strings.TrimPrefix(msg+"; missing: "+strings.Join(missing, ", "), "; ")
		}
		r.rec.fail("discovery.endpoints", "%s", msg)
	default:
		r.rec.pass("discovery.endpoints", "authorization, token, userinfo endpoints and jwks_uri present")
	}

	switch {
	case !doc.present["scopes_supported"]:
		r.rec.warn("discovery.scopes", "scopes_supported is absent; Plaid requires openid and offline_access")
	default:
		var lack []string
		for _, s := range []string{"openid", "offline_access"} {
			if !slices.Contains(doc.ScopesSupported, s) {
				lack = append(lack, s)
			}
		}
		if len(lack) > 0 {
			r.rec.fail("discovery.scopes", "scopes_supported %v lacks %s", doc.ScopesSupported, strings.Join(lack, " and "))
		} else {
			r.rec.pass("discovery.scopes", "scopes_supported includes openid and offline_access")
		}
	}

	if slices.Contains(doc.ResponseTypesSupported, "code") {
		r.rec.pass("discovery.response_types", "response_types_supported includes code")
	} else {
		r.rec.fail("discovery.response_types", "response_types_supported %v lacks code", doc.ResponseTypesSupported)
	}

	methods := doc.TokenEndpointAuthMethodsSupported
	switch {
	case !doc.present["token_endpoint_auth_methods_supported"]:
		r.rec.pass("discovery.token_auth_methods", "token_endpoint_auth_methods_supported absent: client_secret_basic, Plaid's default")
	case slices.Contains(methods, "client_secret_basic"):
		r.rec.pass("discovery.token_auth_methods", "token_endpoint_auth_methods_supported: %s", strings.Join(methods, ", "))
	case slices.Contains(methods, "client_secret_post"):
		r.rec.warn("discovery.token_auth_methods", "token_endpoint_auth_methods_supported %v has client_secret_post but not client_secret_basic, the method Plaid uses by default", methods)
	default:
		r.rec.fail("discovery.token_auth_methods", "token_endpoint_auth_methods_supported %v has neither client_secret_basic nor client_secret_post", methods)
	}
}

func (r *run) fetchDiscovery(ctx context.Context, discoveryURL string) (*discoveryDoc, error) {
	resp, err := r.client.get(ctx, discoveryURL, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, fmt.Errorf("Error getting OIDC configuration: %w", err)
	}
	if resp.status != http.StatusOK {
		return nil, fmt.Errorf("Error getting OIDC configuration: %s: %s", resp.summary(), snippet(resp.body, 120))
	}
	var doc discoveryDoc
	if err := json.Unmarshal(resp.body, &doc); err != nil {
		return nil, fmt.Errorf("%s: the body is not a JSON discovery document: %v", resp.summary(), err)
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(resp.body, &fields) // succeeded above as a struct
	doc.present = map[string]bool{}
	for k := range fields {
		doc.present[k] = true
	}
	r.rec.pass("discovery.reachable", "%s, %d fields", resp.summary(), len(fields))
	return &doc, nil
}

// checkTLS inspects the TLS of every https host doctor talks to: protocol
// version, chain, host name, expiry, and whether TLS 1.0/1.1 are still
// accepted.
func (r *run) checkTLS(ctx context.Context) {
	var hosts []*url.URL
	seen := map[string]bool{}
	for _, raw := range []string{r.cfg.Issuer, r.ep.authorization, r.ep.token, r.ep.jwks, r.cfg.APIBase} {
		u, err := url.Parse(raw)
		if err != nil || raw == "" || u.Scheme != "https" || seen[u.Host] {
			continue
		}
		seen[u.Host] = true
		hosts = append(hosts, u)
	}
	if len(hosts) == 0 {
		r.rec.skip("discovery.tls", "no https endpoint to inspect")
		return
	}
	worst := Pass
	var lines []string
	for _, u := range hosts {
		st, line := r.probeTLS(ctx, u)
		worst = worse(worst, st)
		lines = append(lines, line)
	}
	r.rec.add("discovery.tls", worst, strings.Join(lines, "\n"), "")
}

func worse(a, b Status) Status {
	rank := map[Status]int{Pass: 0, Info: 1, Skip: 2, Warn: 3, Fail: 4}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func (r *run) probeTLS(ctx context.Context, u *url.URL) (Status, string) {
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = "443"
	}
	addr := net.JoinHostPort(host, port)
	// Inspect the chain ourselves (InsecureSkipVerify only skips Go's own
	// verification, done below with the same roots), so a bad chain is
	// described rather than just refused. Nothing is sent on this connection.
	d := tls.Dialer{Config: &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true, ServerName: host}}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return Fail, fmt.Sprintf("%s: no TLS 1.2+ handshake: %v", u.Host, err)
	}
	state := conn.(*tls.Conn).ConnectionState()
	conn.Close()
	if len(state.PeerCertificates) == 0 {
		return Fail, fmt.Sprintf("%s: no certificate", u.Host)
	}
	leaf := state.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	now := r.now()
	line := fmt.Sprintf("%s: %s", u.Host, tls.VersionName(state.Version))
	status := Pass
	selfSigned := bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignatureFrom(leaf) == nil
	_, verr := leaf.Verify(x509.VerifyOptions{Roots: r.client.policy.rootCAs, Intermediates: inter, DNSName: host, CurrentTime: now})
	switch {
	case verr != nil:
		status = Fail
		reason := verr.Error()
		if selfSigned {
			reason = "self-signed certificate (" + reason + ")"
		}
		line += ", certificate does not verify: " + reason
	case selfSigned:
		status = Fail
		line += ", self-signed certificate (trusted only through --ca-file): blocked in production"
	default:
		line += ", chain verifies"
		if r.client.policy.rootCAs != nil {
			line += " (against --ca-file)"
		}
	}
	if left := leaf.NotAfter.Sub(now); verr == nil && left < 14*24*time.Hour {
		status = worse(status, Warn)
		line += fmt.Sprintf(", certificate expires in %s", left.Round(time.Hour))
	}
	// Does it still accept TLS 1.0/1.1?
	legacy := tls.Dialer{Config: &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true, ServerName: host}}
	lctx, lcancel := context.WithTimeout(ctx, 10*time.Second)
	defer lcancel()
	if lc, err := legacy.DialContext(lctx, "tcp", addr); err == nil {
		v := lc.(*tls.Conn).ConnectionState().Version
		lc.Close()
		status = worse(status, Warn)
		line += ", still accepts " + tls.VersionName(v)
	} else {
		line += ", TLS 1.0/1.1 refused"
	}
	return status, line
}
