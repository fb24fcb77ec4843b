package observe_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
)

func TestMaskHeadersLeavesNoSecret(t *testing.T) {
	code := "Xq3vC5lq1Xv9eD0bJm8pZ7wKc2rT6yN4hG1sA0uF3iE"
	h := http.Header{}
	h.Set("Authorization", "Bearer fdxat1.eyJncmFudCI6ImdfMTIzIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU")
	h.Set("Referer", "https://bank.example/callback?code="+code+"&state=st-1")
	h.Set("X-Forwarded-Access", "token "+code)
	h.Set("X-Request-ID", "req_4h8j2k9m3n7p5q1r")
	h.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.Set("User-Agent", "Plaid/1.0 (+https://plaid.com)")
	got := observe.MaskHeaders(h)
	want := map[string]string{
		"Authorization":      "Bearer …lcmU",
		"Referer":            "https://bank.example/callback?code=[masked]&state=st-1",
		"X-Forwarded-Access": "[masked]",
		"X-Request-Id":       "req_4h8j2k9m3n7p5q1r",
		"Traceparent":        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"User-Agent":         "Plaid/1.0 (+https://plaid.com)",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("MaskHeaders[%s] = %q; want %q", k, got[k], v)
		}
	}
	// Masking is idempotent: a stored record masked again stays the same.
	again := observe.MaskHeaderMap(got)
	for k, v := range got {
		if again[k] != v {
			t.Errorf("masking %s twice: %q then %q", k, v, again[k])
		}
	}
	if s := fmt.Sprint(got); strings.Contains(s, code) || strings.Contains(s, "c2lnbmF0dXJl") {
		t.Fatalf("a secret survived masking: %s", s)
	}
}

func TestIsFailure(t *testing.T) {
	cases := []struct {
		status       int
		route, code  string
		userDecision bool
		want         bool
	}{
		{500, "jwks", "", false, true},
		{503, "token", "temporarily_unavailable", false, true},
		{400, "token", "invalid_grant", false, true},
		{401, "userinfo", "invalid_token", false, true},
		{400, "authorize", "redirect_uri_mismatch", false, true},
		{302, "authorize", "access_denied", true, false},
		{302, "authorize", "access_denied", false, false},
		{200, "login", "login_failed", false, false},
		{429, "login", "login_rate_limited", false, false},
		{404, "not_found", "not_found", false, false},
		{404, "/fdx/v6/accounts/{accountId}", "701", false, true},
		{200, "token", "", false, false},
	}
	for _, c := range cases {
		if got := observe.IsFailure(c.status, c.route, c.code, c.userDecision); got != c.want {
			t.Errorf("IsFailure(%d, %q, %q, %v) = %v; want %v", c.status, c.route, c.code, c.userDecision, got, c.want)
		}
	}
}

func TestTrafficSeriesAndPercentiles(t *testing.T) {
	tr := observe.NewTraffic(time.Minute, time.Hour)
	start := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	// Minute 0: 100 requests of 1..100 ms, 10 failing. Minute 2: 10 of 50 ms.
	for i := 1; i <= 100; i++ {
		r := &observe.Record{Time: start.Add(time.Duration(i) * 100 * time.Millisecond), Route: "token",
			Duration: time.Duration(i) * time.Millisecond, Status: 200}
		if i%10 == 0 {
			r.Status, r.Error = 400, "invalid_grant"
		}
		tr.Sink(r)
	}
	for range 10 {
		tr.Sink(&observe.Record{Time: start.Add(2*time.Minute + time.Second), Route: "jwks", Duration: 50 * time.Millisecond, Status: 200})
	}
	series := tr.Series(start, start.Add(3*time.Minute), time.Minute)
	if len(series) != 2 || series[0].Route != "jwks" || series[1].Route != "token" {
		t.Fatalf("routes = %+v; want jwks and token", series)
	}
	tok := series[1]
	if len(tok.Points) != 3 || tok.Points[0].Requests != 100 || tok.Points[0].Failures != 10 || tok.Points[1].Requests != 0 {
		t.Fatalf("token points = %+v", tok.Points)
	}
	if r := tok.Total.ErrorRate(); r != 0.1 {
		t.Fatalf("token error rate = %v; want 0.1", r)
	}
	// Estimated from bins: within the bin holding the true value.
	near := func(what string, got, want, tolerance time.Duration) {
		if got < want-tolerance || got > want+tolerance {
			t.Errorf("%s = %v; want %v ± %v", what, got, want, tolerance)
		}
	}
	near("p50", tok.Total.P50, 50*time.Millisecond, 10*time.Millisecond)
	near("p95", tok.Total.P95, 95*time.Millisecond, 10*time.Millisecond)
	near("p99", tok.Total.P99, 99*time.Millisecond, 10*time.Millisecond)
	near("jwks p50", series[0].Points[2].P50, 50*time.Millisecond, 10*time.Millisecond)

	// An hour later the ring has come round: minute 0's slot now holds
	// minute 60, and a late record for minute 0 is not counted.
	tr.Sink(&observe.Record{Time: start.Add(time.Hour), Route: "token", Duration: time.Millisecond, Status: 200})
	tr.Sink(&observe.Record{Time: start.Add(time.Second), Route: "token", Duration: time.Millisecond, Status: 200})
	for _, s := range tr.Series(start, start.Add(time.Minute), time.Minute) {
		if s.Route == "token" {
			t.Fatalf("minute 0 after the ring came round: %+v; want no token traffic", s.Total)
		}
	}
	if s := tr.Series(start.Add(time.Hour), start.Add(61*time.Minute), time.Minute); len(s) != 1 || s[0].Total.Requests != 1 {
		t.Fatalf("minute 60: %+v; want one token request", s)
	}
}

func TestMetricsSinkAndEvents(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := observe.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := observe.NewMetrics(reg); err == nil {
		t.Fatal("registering the request metrics twice on one registry: want an error")
	}
	m.Sink(&observe.Record{Route: "token", Method: "POST", Status: 400, Error: "invalid_grant", Duration: 3 * time.Millisecond})
	m.Sink(&observe.Record{Route: "authorize", Method: "GET", Status: 302, Error: "access_denied", UserDecision: true})
	m.Sink(&observe.Record{Route: "/fdx/v6/accounts", Method: "GET", Status: 401, Error: "602"})
	m.Sink(&observe.Record{Route: "jwks", Method: "BREW", Status: 200})
	m.Sink(&observe.Record{Route: "token", Method: "POST", Status: 400, Error: "Weird Code!"})

	var logs bytes.Buffer
	logger := slog.New(m.CountEvents(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	logger.Info("tokens issued", "event", "token.issued", "grant_type", "authorization_code")
	logger.Info("tokens issued", "event", "token.issued", "grant_type", "refresh_token")
	logger.Info("tokens issued", "event", "token.issued", "grant_type", "refresh_token")
	logger.Warn("replayed", "event", "token.code_replayed")
	logger.Debug("not counted", "event", "token.issued", "grant_type", "refresh_token")

	series := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"fdxd_http_requests_total", map[string]string{"route": "token", "method": "POST", "code": "400"}, 2},
		{"fdxd_http_requests_total", map[string]string{"route": "jwks", "method": "other", "code": "200"}, 1},
		{"fdxd_http_requests_total", map[string]string{"route": "/fdx/v6/accounts", "method": "GET", "code": "401"}, 1},
		{"fdxd_http_request_failures_total", map[string]string{"route": "token"}, 1},
		{"fdxd_http_request_failures_total", map[string]string{"route": "/fdx/v6/accounts"}, 1},
		{"fdxd_oauth_errors_total", map[string]string{"endpoint": "token", "error": "invalid_grant"}, 1},
		{"fdxd_oauth_errors_total", map[string]string{"endpoint": "token", "error": "other"}, 1},
		{"fdxd_oauth_errors_total", map[string]string{"endpoint": "authorize", "error": "access_denied"}, 1},
		{"fdxd_fdx_errors_total", map[string]string{"route": "/fdx/v6/accounts", "code": "602"}, 1},
		{"fdxd_oauth_codes_redeemed_total", nil, 1},
		{"fdxd_oauth_codes_replayed_total", nil, 1},
		{"fdxd_oauth_refreshes_total", nil, 2},
		{"fdxd_oauth_tokens_issued_total", map[string]string{"grant_type": "refresh_token"}, 2},
	}
	got := gather(t, reg)
	for _, c := range series {
		if v, ok := got.value(c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v); want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if n := got.count("fdxd_http_request_failures_total"); n != 2 {
		t.Errorf("failure series = %d; want 2 (access_denied is not a failure)", n)
	}
	// The log level still decides what is written.
	if strings.Contains(logs.String(), "tokens issued") || !strings.Contains(logs.String(), "replayed") {
		t.Fatalf("log output %q; want only the warning", logs.String())
	}

	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	list := []keys.KeyInfo{{ID: "kid-a", State: "active", PublishedAt: now.Add(-10 * 24 * time.Hour), RotatesAt: now.Add(80 * 24 * time.Hour)},
		{ID: "kid-n", State: "next", PublishedAt: now.Add(-time.Hour)}}
	if err := m.AddSigningKeys(func() []keys.KeyInfo { return list }, func() time.Time { return now }); err != nil {
		t.Fatal(err)
	}
	got = gather(t, reg)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"fdxd_signing_key_age_seconds", map[string]string{"kid": "kid-a", "state": "active"}, 10 * 24 * 3600},
		{"fdxd_signing_key_age_seconds", map[string]string{"kid": "kid-n", "state": "next"}, 3600},
		{"fdxd_signing_key_rotates_in_seconds", map[string]string{"kid": "kid-a"}, 80 * 24 * 3600},
	} {
		if v, ok := got.value(c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v); want %v", c.name, c.labels, v, ok, c.want)
		}
	}
}

// families are gathered metrics, by name.
type families map[string]*dto.MetricFamily

func gather(t *testing.T, g prometheus.Gatherer) families {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := families{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// value is the counter or gauge of name whose labels include labels.
func (f families) value(name string, labels map[string]string) (float64, bool) {
	mf, ok := f[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func (f families) count(name string) int {
	if mf, ok := f[name]; ok {
		return len(mf.GetMetric())
	}
	return 0
}

// slowStore blocks inserts until released, to fill the queue.
type slowStore struct {
	store.RecordStore
	release chan struct{}
}

func (s slowStore) InsertRequestRecords(ctx context.Context, rs []store.RequestRecord) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.RecordStore.InsertRequestRecords(ctx, rs)
}

func TestRecordWriterDropsWhenFullAndNeverBlocks(t *testing.T) {
	st := openStore(t)
	release := make(chan struct{})
	w := observe.NewRecordWriter(observe.RecordWriterConfig{Store: slowStore{st, release}, QueueSize: 10, BatchSize: 4,
		FlushInterval: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()

	start := time.Now()
	for i := range 100 {
		w.Sink(&observe.Record{RequestID: fmt.Sprintf("req_%03d", i), Time: time.Unix(1800000000, 0), Route: "token", Status: 200})
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("100 sinks with a stuck database took %v; a sink must never wait", d)
	}
	// The writer holds one batch of 4 waiting on the database; 10 queue;
	// the rest are dropped.
	if w.Dropped() < 100-10-4 || w.Dropped() > 100-10 {
		t.Fatalf("dropped %d of 100; want between 86 and 90", w.Dropped())
	}
	close(release)
	cancel() // stop: the writer writes what is queued before returning
	<-done
	rs, err := st.ListRequestRecords(t.Context(), store.RecordQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(rs)) != 100-w.Dropped() || w.Written() != uint64(len(rs)) {
		t.Fatalf("stored %d, written %d, dropped %d; want stored + dropped = 100", len(rs), w.Written(), w.Dropped())
	}
}

func TestRecordWriterBatchesAndRetention(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)}
	w := observe.NewRecordWriter(observe.RecordWriterConfig{Store: st, Now: clk.Now, MaxAge: time.Hour, MaxCount: 50})
	for i := range 120 {
		w.Sink(&observe.Record{RequestID: fmt.Sprintf("req_%03d", i), Time: clk.Now().Add(time.Duration(i-100) * time.Minute),
			Route: "token", Status: 200, Headers: map[string]string{"Authorization": "Basic [masked]"}})
	}
	w.Flush(t.Context())
	if w.Written() != 120 {
		t.Fatalf("written %d; want 120", w.Written())
	}
	if err := w.EnforceRetention(t.Context()); err != nil {
		t.Fatal(err)
	}
	rs, err := st.ListRequestRecords(t.Context(), store.RecordQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// Age keeps minutes -60..+19 (80 records); count keeps the newest 50.
	if len(rs) != 50 || rs[len(rs)-1].RequestID != "req_070" || w.Pruned() != 70 {
		t.Fatalf("kept %d records, oldest %s, pruned %d; want 50 from req_070, 70 pruned", len(rs), rs[len(rs)-1].RequestID, w.Pruned())
	}
	clk.Advance(time.Hour)
	if err := w.EnforceRetention(t.Context()); err != nil {
		t.Fatal(err)
	}
	rs, _ = st.ListRequestRecords(t.Context(), store.RecordQuery{Limit: 1000})
	if len(rs) != 20 || rs[len(rs)-1].RequestID != "req_100" {
		t.Fatalf("after an hour kept %d records; want the 20 newer than an hour", len(rs))
	}
}
