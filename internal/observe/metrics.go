package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fdxd/fdxd/internal/keys"
)

// Metrics are fdxd's Prometheus metrics, on a registry the caller owns
// (never the global one). Labels have low cardinality only: route names
// and FDX route templates, methods, status codes, error codes.
type Metrics struct {
	reg         prometheus.Registerer
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	failures    *prometheus.CounterVec
	oauthErrors *prometheus.CounterVec
	fdxErrors   *prometheus.CounterVec

	codesRedeemed prometheus.Counter
	codesReplayed prometheus.Counter
	tokensIssued  *prometheus.CounterVec
	refreshes     prometheus.Counter
	refreshReused prometheus.Counter
	revocations   prometheus.Counter
	logins        *prometheus.CounterVec
}

// LatencyBuckets are the histogram buckets of request durations, in
// seconds: fine below 25 ms, where the token endpoint lives.
var LatencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics registers the request and OAuth metrics, and the Go and
// process collectors, on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fdxd_http_requests_total",
			Help: "Public requests by route (endpoint name or FDX route template), method and status code."},
			[]string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fdxd_http_request_duration_seconds",
			Help: "Time to answer public requests, by route.", Buckets: LatencyBuckets}, []string{"route"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fdxd_http_request_failures_total",
			Help: "Public requests that count as errors under the alert rule (5xx, OAuth errors but access_denied, FDX errors), by route."},
			[]string{"route"}),
		oauthErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fdxd_oauth_errors_total",
			Help: "OAuth and sign-in errors answered, by endpoint and error code (access_denied included: it is the user's Cancel)."},
			[]string{"endpoint", "error"}),
		fdxErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fdxd_fdx_errors_total",
			Help: "FDX errors answered, by route template and FDX error code."}, []string{"route", "code"}),
		codesRedeemed: prometheus.NewCounter(prometheus.CounterOpts{Name: "fdxd_oauth_codes_redeemed_total",
			Help: "Authorization codes exchanged for tokens."}),
		codesReplayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "fdxd_oauth_codes_replayed_total",
			Help: "Authorization codes presented again after their redemption (the grant is revoked)."}),
		tokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fdxd_oauth_tokens_issued_total",
			Help: "Token responses issued, by grant type."}, []string{"grant_type"}),
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{Name: "fdxd_oauth_refreshes_total",
			Help: "Refresh-token grants answered with tokens."}),
		refreshReused: prometheus.NewCounter(prometheus.CounterOpts{Name: "fdxd_oauth_refresh_tokens_reused_total",
			Help: "Rotated-out refresh tokens presented after their grace (the grant is revoked)."}),
		revocations: prometheus.NewCounter(prometheus.CounterOpts{Name: "fdxd_oauth_revocations_total",
			Help: "Tokens revoked at the revocation endpoint."}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fdxd_logins_total",
			Help: "Sign-in attempts on the login page, by result."}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.failures, m.oauthErrors, m.fdxErrors,
		m.codesRedeemed, m.codesReplayed, m.tokensIssued, m.refreshes, m.refreshReused, m.revocations, m.logins} {
		if err := register(reg, c); err != nil {
			return nil, err
		}
	}
	// The caller may have added the Go and process collectors already.
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		err := register(reg, c)
		if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); err != nil && !ok {
			return nil, err
		}
	}
	return m, nil
}

func register(reg prometheus.Registerer, c prometheus.Collector) error {
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("observe: register metrics: %w", err)
	}
	return nil
}

// AddCounterFunc registers a counter whose value fn reports.
func (m *Metrics) AddCounterFunc(name, help string, fn func() float64) error {
	return register(m.reg, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// AddGaugeFunc registers a gauge whose value fn reports.
func (m *Metrics) AddGaugeFunc(name, help string, fn func() float64) error {
	return register(m.reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// AddSigningKeys registers the signing-key gauges: each published key's
// age and, for the active key, the time left before it rotates.
func (m *Metrics) AddSigningKeys(list func() []keys.KeyInfo, now func() time.Time) error {
	return register(m.reg, &keyCollector{list: list, now: now,
		age: prometheus.NewDesc("fdxd_signing_key_age_seconds",
			"Seconds since each published signing key entered the JWKS, by kid and state.", []string{"kid", "state"}, nil),
		rotatesIn: prometheus.NewDesc("fdxd_signing_key_rotates_in_seconds",
			"Seconds until the active signing key is due to rotate (negative: overdue).", []string{"kid"}, nil),
	})
}

type keyCollector struct {
	list           func() []keys.KeyInfo
	now            func() time.Time
	age, rotatesIn *prometheus.Desc
}

func (k *keyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- k.age; ch <- k.rotatesIn }

func (k *keyCollector) Collect(ch chan<- prometheus.Metric) {
	now := k.now()
	for _, key := range k.list() {
		ch <- prometheus.MustNewConstMetric(k.age, prometheus.GaugeValue, now.Sub(key.PublishedAt).Seconds(), key.ID, key.State)
		if !key.RotatesAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(k.rotatesIn, prometheus.GaugeValue, key.RotatesAt.Sub(now).Seconds(), key.ID)
		}
	}
}

// Sink counts a finished request.
func (m *Metrics) Sink(r *Record) {
	m.requests.WithLabelValues(r.Route, methodLabel(r.Method), statusLabel(r.Status)).Inc()
	m.duration.WithLabelValues(r.Route).Observe(r.Duration.Seconds())
	if r.Failed() {
		m.failures.WithLabelValues(r.Route).Inc()
	}
	if r.Error == "" {
		return
	}
	code := errorLabel(r.Error)
	if IsFDXRoute(r.Route) {
		m.fdxErrors.WithLabelValues(r.Route, code).Inc()
	} else {
		m.oauthErrors.WithLabelValues(r.Route, code).Inc()
	}
}

// methodLabel keeps the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS":
		return m
	}
	return "other"
}

var statusLabels = func() map[int]string {
	out := make(map[int]string)
	for code := 100; code < 600; code++ {
		out[code] = strconv.Itoa(code)
	}
	return out
}()

func statusLabel(code int) string {
	if s, ok := statusLabels[code]; ok {
		return s
	}
	return "other"
}

// errorLabel keeps error labels to the codes handlers set (lower-case
// words, FDX numbers): anything else is "other".
func errorLabel(code string) string {
	if len(code) > 48 {
		return "other"
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return "other"
		}
	}
	return code
}

// CountEvents returns a log handler that counts the OAuth events the
// authorization server logs (token.issued, token.code_replayed, …) into the
// metrics, then passes every record on to next as next would have taken
// it: the log level still decides what is written.
func (m *Metrics) CountEvents(next slog.Handler) slog.Handler { return eventCounter{next: next, m: m} }

type eventCounter struct {
	next slog.Handler
	m    *Metrics
}

func (h eventCounter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h eventCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		h.m.countEvent(r)
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h eventCounter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return eventCounter{next: h.next.WithAttrs(attrs), m: h.m}
}

func (h eventCounter) WithGroup(name string) slog.Handler {
	return eventCounter{next: h.next.WithGroup(name), m: h.m}
}

func (m *Metrics) countEvent(r slog.Record) {
	var event, grantType string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "event":
			event = a.Value.String()
		case "grant_type":
			grantType = a.Value.String()
		}
		return event == "" || grantType == ""
	})
	switch event {
	case "token.issued":
		switch grantType {
		case "authorization_code":
			m.codesRedeemed.Inc()
		case "refresh_token":
			m.refreshes.Inc()
		default:
			grantType = "other"
		}
		m.tokensIssued.WithLabelValues(grantType).Inc()
	case "token.code_replayed":
		m.codesReplayed.Inc()
	case "token.refresh_reused":
		m.refreshReused.Inc()
	case "token.revoked":
		m.revocations.Inc()
	case "login.succeeded":
		m.logins.WithLabelValues("succeeded").Inc()
	case "login.failed":
		m.logins.WithLabelValues("failed").Inc()
	case "login.rate_limited":
		m.logins.WithLabelValues("rate_limited").Inc()
	}
}
