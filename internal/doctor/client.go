package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// ErrInsecureURL is returned for a plain-http URL that the policy does not
// allow: aggregators speak HTTPS only; --insecure-loopback allows http to
// loopback hosts for local testing.
var ErrInsecureURL = errors.New("not https")

// maxBody bounds what doctor reads of one response (statement PDFs included).
const maxBody = 16 << 20

const userAgent = "fdxd-doctor/1 (+https://github.com/fdxd/fdxd)"

// transportPolicy is how doctor reaches a provider: TLS settings and whether
// http is allowed for loopback hosts.
type transportPolicy struct {
	insecureLoopback bool
	rootCAs          *x509.CertPool   // nil: the system roots
	now              func() time.Time // certificate validity is judged at now()
}

func (p transportPolicy) checkURL(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if p.insecureLoopback && isLoopbackHost(u.Hostname()) {
			return nil
		}
		if isLoopbackHost(u.Hostname()) {
			return fmt.Errorf("%s: %w (use --insecure-loopback to allow http to a loopback host)", shortURL(u), ErrInsecureURL)
		}
		return fmt.Errorf("%s: %w", shortURL(u), ErrInsecureURL)
	default:
		return fmt.Errorf("%s: unsupported scheme %q", shortURL(u), u.Scheme)
	}
}

// isHTTPAllowed reports whether u is plain http that the policy lets through.
func (p transportPolicy) isHTTPAllowed(u *url.URL) bool {
	return u.Scheme == "http" && p.checkURL(u) == nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (p transportPolicy) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.rootCAs, Time: p.now}
}

func (p transportPolicy) newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSClientConfig:       p.tlsConfig(),
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
}

// response is a fully read HTTP response.
type response struct {
	method   string
	url      *url.URL
	status   int
	header   http.Header
	body     []byte
	elapsed  time.Duration
	cookies  []*http.Cookie // Set-Cookie of this response
	tls      *tls.ConnectionState
	location *url.URL // resolved Location of a redirect, if any
}

func (r *response) isRedirect() bool {
	return r.status >= 300 && r.status < 400 && r.location != nil
}

// summary is "GET https://host/path → 200 (12 ms)": never the query, which
// can carry a code.
func (r *response) summary() string {
	return fmt.Sprintf("%s %s → %d (%dms)", r.method, shortURL(r.url), r.status, r.elapsed.Milliseconds())
}

func (r *response) contentType() string {
	ct := r.header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// shortURL is scheme://host/path: no query or fragment.
func shortURL(u *url.URL) string {
	if u == nil {
		return "(no URL)"
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.String()
}

// httpClient sends requests without following redirects: redirects are
// steps doctor inspects (the last one, to the redirect URI, is never
// fetched).
type httpClient struct {
	policy transportPolicy
	client *http.Client
}

func newHTTPClient(policy transportPolicy, transport http.RoundTripper, jar http.CookieJar) *httpClient {
	return &httpClient{policy: policy, client: &http.Client{
		Transport:     transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// newBrowser returns a client with its own cookie jar, like a fresh browser
// session.
func (c *httpClient) newBrowser() *httpClient {
	jar, _ := cookiejar.New(nil) // cookiejar.New never fails without options
	return newHTTPClient(c.policy, c.client.Transport, loopbackJar{jar: jar, policy: c.policy})
}

// do sends req and reads the whole response.
func (c *httpClient) do(req *http.Request) (*response, error) {
	if err := c.policy.checkURL(req.URL); err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	if req.Header.Get("X-Request-ID") == "" {
		// As Plaid does, so the provider's logs can be matched with doctor's run.
		req.Header.Set("X-Request-ID", "doctor-"+randomValue()[:16])
	}
	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, shortURL(req.URL), unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the body: %w", req.Method, shortURL(req.URL), err)
	}
	r := &response{
		method:  req.Method,
		url:     req.URL,
		status:  resp.StatusCode,
		header:  resp.Header,
		body:    body,
		elapsed: time.Since(start),
		cookies: resp.Cookies(),
		tls:     resp.TLS,
	}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if u, err := req.URL.Parse(loc); err == nil {
			r.location = u
		}
	}
	return r, nil
}

// unwrapURLError drops *url.Error's "Get "<url with query>":" prefix, which
// could print a code or state.
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

func (c *httpClient) get(ctx context.Context, rawURL string, header http.Header) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("GET: %w", unwrapURLError(err))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	return c.do(req)
}

func (c *httpClient) postForm(ctx context.Context, rawURL string, form url.Values, header http.Header) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("POST: %w", unwrapURLError(err))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// loopbackJar keeps Secure cookies working for http loopback hosts when
// --insecure-loopback allows them, as browsers do for localhost: the jar
// files such URLs as https.
type loopbackJar struct {
	jar    *cookiejar.Jar
	policy transportPolicy
}

func (j loopbackJar) asSecure(u *url.URL) *url.URL {
	if j.policy.isHTTPAllowed(u) {
		c := *u
		c.Scheme = "https"
		return &c
	}
	return u
}

func (j loopbackJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.jar.SetCookies(j.asSecure(u), cookies)
}

func (j loopbackJar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(j.asSecure(u)) }

// sameEndpoint reports whether a and b name the same endpoint: scheme, host
// and path, compared exactly as an aggregator registers a redirect URI.
func sameEndpoint(a, b *url.URL) bool {
	return a != nil && b != nil && strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) && a.EscapedPath() == b.EscapedPath()
}

// snippet shortens a body for evidence.
func snippet(b []byte, n int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if s == "" {
		return "(empty body)"
	}
	return truncate(s, n)
}
