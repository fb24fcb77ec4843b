// Package observe gives every request an id and a Record that handlers fill
// as they learn who is asking (client, user, state, oauth_session_id, the
// error they answered), writes one structured log line per request, and
// hands each finished Record to the sinks (metrics, request records,
// alerts).
//
// Log lines written with a request's context carry the request id and the
// correlation fields known so far, so a provider can follow one attempt from
// /authorize to the token exchange.
package observe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/fdxd/fdxd/internal/secret"
)

// Record is what is known about one request. Handlers fill it through the
// setters; the middleware fills the rest.
type Record struct {
	RequestID string
	Time      time.Time
	// Route is the endpoint's name (authorize, login, token, userinfo, jwks,
	// discovery, revoke, introspect) or the FDX route template.
	Route      string
	Method     string
	Path       string
	Status     int
	Duration   time.Duration
	RemoteAddr string
	UserAgent  string
	// Headers are the request headers, masked (see MaskHeaders).
	Headers map[string]string

	ClientID       string
	Subject        string
	State          string
	OAuthSessionID string
	// Error is the OAuth error code or the FDX error code answered;
	// ErrorDescription says why. Empty on success.
	Error            string
	ErrorDescription string
	// UserDecision marks an outcome the user chose (access_denied on
	// Cancel): logged, never counted as a failure.
	UserDecision bool

	mu sync.Mutex
}

type recordKey struct{}

// From returns the request's Record, or nil outside a request; the setters
// accept a nil Record, so handlers need not check.
func From(ctx context.Context) *Record {
	r, _ := ctx.Value(recordKey{}).(*Record)
	return r
}

// WithRecord returns ctx carrying r (for work done outside the middleware,
// such as tests and the CLI).
func WithRecord(ctx context.Context, r *Record) context.Context {
	return context.WithValue(ctx, recordKey{}, r)
}

// SetClient records the client id.
func (r *Record) SetClient(id string) {
	if r != nil {
		r.mu.Lock()
		r.ClientID = id
		r.mu.Unlock()
	}
}

// SetSubject records the user's sub.
func (r *Record) SetSubject(sub string) {
	if r != nil {
		r.mu.Lock()
		r.Subject = sub
		r.mu.Unlock()
	}
}

// SetState records the OAuth state parameter.
func (r *Record) SetState(state string) {
	if r != nil {
		r.mu.Lock()
		r.State = state
		r.mu.Unlock()
	}
}

// SetOAuthSession records the oauth_session_id of the attempt.
func (r *Record) SetOAuthSession(id string) {
	if r != nil {
		r.mu.Lock()
		r.OAuthSessionID = id
		r.mu.Unlock()
	}
}

// SetError records the error code answered and why.
func (r *Record) SetError(code, description string) {
	if r != nil {
		r.mu.Lock()
		r.Error, r.ErrorDescription = code, description
		r.mu.Unlock()
	}
}

// SetUserDecision marks the outcome as the user's own choice.
func (r *Record) SetUserDecision() {
	if r != nil {
		r.mu.Lock()
		r.UserDecision = true
		r.mu.Unlock()
	}
}

// correlation returns the fields that tie log lines together.
func (r *Record) correlation() []slog.Attr {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	attrs := []slog.Attr{slog.String("request_id", r.RequestID)}
	for _, f := range []struct{ k, v string }{
		{"client_id", r.ClientID}, {"sub", r.Subject}, {"state", r.State}, {"oauth_session_id", r.OAuthSessionID},
	} {
		if f.v != "" {
			attrs = append(attrs, slog.String(f.k, f.v))
		}
	}
	return attrs
}

// Sink receives every finished Record. It runs on the request's goroutine
// after the response was written, so it must not block.
type Sink func(*Record)

// Observer wraps handlers.
type Observer struct {
	Logger *slog.Logger
	Now    func() time.Time
	// TrustedProxies are the load balancers whose X-Forwarded-For is
	// believed; without them every request behind a balancer would carry
	// the balancer's address, and the per-address sign-in limit would lock
	// everyone out together.
	TrustedProxies []netip.Prefix
	sinks          []Sink
}

// New returns an Observer logging to logger.
func New(logger *slog.Logger, now func() time.Time) *Observer {
	if now == nil {
		now = time.Now
	}
	return &Observer{Logger: logger, Now: now}
}

// AddSink registers s; call before serving.
func (o *Observer) AddSink(s Sink) { o.sinks = append(o.sinks, s) }

// wellFormedID accepts inbound request ids that are safe to echo and log.
var wellFormedID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$`)

// NewRequestID returns a fresh id such as req_4h8j2k9m3n7p5q1r.
func NewRequestID() string { return secret.ID("req_", 10) }

// Handler wraps h for the named route: request id, Record, panic recovery,
// one log line, sinks.
func (o *Observer) Handler(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := o.Now()
		rec := &Record{
			Time:       start.UTC(),
			Route:      route,
			Method:     req.Method,
			Path:       req.URL.Path,
			RemoteAddr: o.clientAddr(req),
			UserAgent:  truncate(req.UserAgent(), 256),
			Headers:    MaskHeaders(req.Header),
		}
		rec.RequestID = req.Header.Get("X-Request-ID")
		fapi := req.Header.Get("X-Fapi-Interaction-Id")
		if !wellFormedID.MatchString(rec.RequestID) {
			rec.RequestID = fapi
			if !wellFormedID.MatchString(rec.RequestID) {
				rec.RequestID = NewRequestID()
			}
		}
		w.Header().Set("X-Request-ID", rec.RequestID)
		if wellFormedID.MatchString(fapi) {
			w.Header().Set("X-Fapi-Interaction-Id", fapi)
		}
		sw := &statusWriter{ResponseWriter: w}
		ctx := WithRecord(req.Context(), rec)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				o.Logger.ErrorContext(ctx, "handler panicked", "event", "http.panic", "route", route,
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !sw.wrote {
					sw.Header().Set("Content-Type", "application/json")
					sw.Header().Set("Cache-Control", "no-store")
					sw.WriteHeader(http.StatusInternalServerError)
					sw.Write([]byte(`{"error":"server_error","error_description":"internal error"}` + "\n"))
				}
				rec.SetError("server_error", "internal error")
			}
			o.finish(ctx, rec, sw, start)
		}()
		h.ServeHTTP(sw, req.WithContext(ctx))
	})
}

func (o *Observer) finish(ctx context.Context, rec *Record, sw *statusWriter, start time.Time) {
	rec.Duration = o.Now().Sub(start)
	rec.Status = sw.status
	if rec.Status == 0 {
		rec.Status = http.StatusOK
	}
	attrs := []any{
		"event", "http.request",
		"route", rec.Route,
		"method", rec.Method,
		"path", rec.Path,
		"status", rec.Status,
		"duration_ms", float64(rec.Duration.Microseconds()) / 1000,
		"remote_addr", rec.RemoteAddr,
	}
	if rec.Error != "" {
		attrs = append(attrs, "error", rec.Error)
		if rec.ErrorDescription != "" {
			attrs = append(attrs, "error_description", rec.ErrorDescription)
		}
	}
	if rec.UserDecision {
		attrs = append(attrs, "user_decision", true)
	}
	level := slog.LevelInfo
	switch {
	case rec.Status >= 500:
		level = slog.LevelError
	case rec.Error != "" && !rec.UserDecision:
		level = slog.LevelWarn
	}
	o.Logger.Log(ctx, level, "request", attrs...)
	for _, s := range o.sinks {
		s(rec)
	}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("observe: hijack not supported")
}

// clientAddr is the address of the client: the peer, or, when the peer is
// a trusted proxy, the right-most X-Forwarded-For entry that is not one
// (entries further left are whatever the client chose to send).
func (o *Observer) clientAddr(req *http.Request) string {
	peer := remoteHost(req.RemoteAddr)
	if len(o.TrustedProxies) == 0 || !o.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(req.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		addr, err := netip.ParseAddr(hop)
		if err != nil {
			return peer // a malformed chain: trust nothing in it
		}
		if !o.trusted(hop) {
			return addr.Unmap().String()
		}
	}
	return peer
}

func (o *Observer) trusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range o.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// secretHeaderWords mark headers whose values are masked whole.
var secretHeaderWords = []string{"secret", "token", "password", "passwd", "key", "session", "signature", "credential"}

// MaskHeaders returns the headers with secrets masked: Authorization keeps
// its scheme and at most the last 4 characters; Cookie and Set-Cookie keep
// only cookie names; any header whose name looks secret is masked whole;
// in other values, secret-looking query parameters (code=, *token=,
// *secret=, password=) lose their values, and a value holding a long
// token-like run (40 or more base64url or JWT characters, the shape of
// every code, token and secret fdxd issues) is masked whole.
func MaskHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for name, values := range h {
		out[name] = MaskHeader(name, strings.Join(values, ", "))
	}
	return out
}

// MaskHeaderMap applies MaskHeader to headers kept earlier; masking is
// idempotent, so masked values stay as they are.
func MaskHeaderMap(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for name, v := range h {
		out[name] = MaskHeader(name, v)
	}
	return out
}

// MaskHeader masks one header value as MaskHeaders does.
func MaskHeader(name, v string) string {
	lower := strings.ToLower(name)
	switch {
	case lower == "authorization" || lower == "proxy-authorization":
		v = maskAuthorization(v)
	case lower == "cookie" || lower == "set-cookie":
		v = maskCookies(v)
	case lower == "x-request-id" || lower == "x-fapi-interaction-id":
		if !wellFormedID.MatchString(v) {
			v = "[masked]"
		}
	case lower == "traceparent":
		// W3C trace context: ids, no secret, and useful to correlate.
		if !traceparent.MatchString(v) {
			v = "[masked]"
		}
	default:
		if looksSecretName(lower) {
			v = "[masked]"
		} else {
			v = MaskText(v)
		}
	}
	return truncate(v, 512)
}

func looksSecretName(lower string) bool {
	for _, w := range secretHeaderWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

var (
	traceparent = regexp.MustCompile(`^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)
	// secretParam matches a query or form parameter whose value is secret.
	secretParam = regexp.MustCompile(`(?i)((?:^|[?&;\s])(?:code|code_verifier|[a-z_]*(?:token|secret|password|passwd|assertion)[a-z_]*)=)[^&;\s]*`)
)

// tokenRun is the shortest run of token characters that MaskText masks:
// below the 43 base64url characters of the shortest code or token fdxd
// issues, above a UUID (36) or a traceparent's trace id (32).
const tokenRun = 40

// hasTokenRun reports whether v holds tokenRun consecutive base64url, JWT
// or base64 characters. A plain loop: it runs on every request header.
func hasTokenRun(v string) bool {
	run := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '=' {
			run++
			if run >= tokenRun {
				return true
			}
			continue
		}
		run = 0
	}
	return false
}

// MaskText masks secret-looking parts of free text: the values of
// secret-looking parameters, and any long token-like run as a whole.
func MaskText(v string) string {
	if v == "" {
		return v
	}
	if strings.Contains(v, "=") {
		v = secretParam.ReplaceAllString(v, "${1}[masked]")
	}
	if hasTokenRun(v) {
		return "[masked]"
	}
	return v
}

func maskAuthorization(v string) string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return "[masked]"
	}
	cred = strings.TrimSpace(cred)
	// Already masked (a stored record masked again).
	if cred == "[masked]" || (strings.HasPrefix(cred, "…") && len(cred) <= len("…")+4) {
		return scheme + " " + cred
	}
	// Basic credentials end with the client secret: show none of it.
	if !strings.EqualFold(scheme, "bearer") || len(cred) <= 12 {
		return scheme + " [masked]"
	}
	return scheme + " …" + cred[len(cred)-4:]
}

func maskCookies(v string) string {
	var names []string
	for part := range strings.SplitSeq(v, ";") {
		name, _, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && name != "" {
			names = append(names, name+"=[masked]")
		}
	}
	return strings.Join(names, "; ")
}
