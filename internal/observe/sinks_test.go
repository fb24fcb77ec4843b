package observe_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
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

func newTraffic(t *testing.T, st store.TrafficStore, clk *clock, cfg observe.TrafficConfig) *observe.Traffic {
	t.Helper()
	cfg.Store, cfg.Now = st, clk.Now
	tr, err := observe.NewTraffic(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestTrafficPercentilesOfFastRoutes: discovery and the JWKS answer in well
// under 250 µs, and their percentiles must say so rather than read the
// midpoint of one coarse first bin.
func TestTrafficPercentilesOfFastRoutes(t *testing.T) {
	st := openStore(t)
	start := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	tr := newTraffic(t, st, clk, observe.TrafficConfig{Resolution: time.Minute, Span: time.Hour})
	for i := range 100 {
		d := 60 * time.Microsecond // 99 fast answers and one slower
		if i == 99 {
			d = 180 * time.Microsecond
		}
		tr.Sink(&observe.Record{Time: start.Add(time.Duration(i) * time.Second / 2), Route: "jwks", Duration: d, Status: 200})
	}
	if err := tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := tr.Series(t.Context(), start, start.Add(time.Minute), time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("series = %+v, %v", got, err)
	}
	total := got[0].Total
	if total.P50 < 50*time.Microsecond || total.P50 > 100*time.Microsecond || total.P95 > 100*time.Microsecond {
		t.Errorf("p50 %v, p95 %v; want both in the 50-100 µs bin", total.P50, total.P95)
	}
	if total.P99 > 200*time.Microsecond {
		t.Errorf("p99 %v; want at most 200 µs", total.P99)
	}
}

// TestTrafficSeriesAndPercentiles: two replicas count into one store; the
// series either of them reads holds the traffic of both.
func TestTrafficSeriesAndPercentiles(t *testing.T) {
	st := openStore(t)
	start := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	a := newTraffic(t, st, clk, observe.TrafficConfig{Resolution: time.Minute, Span: time.Hour})
	b := newTraffic(t, st, clk, observe.TrafficConfig{Resolution: time.Minute, Span: time.Hour})
	// Minute 0: 100 requests of 1..100 ms, 10 failing, half on each
	// replica. Minute 2: 10 of 50 ms.
	for i := 1; i <= 100; i++ {
		r := &observe.Record{Time: start.Add(time.Duration(i) * 100 * time.Millisecond), Route: "token",
			Duration: time.Duration(i) * time.Millisecond, Status: 200}
		if i%10 == 0 {
			r.Status, r.Error = 400, "invalid_grant"
		}
		[]*observe.Traffic{a, b}[i%2].Sink(r)
	}
	for range 10 {
		b.Sink(&observe.Record{Time: start.Add(2*time.Minute + time.Second), Route: "jwks", Duration: 50 * time.Millisecond, Status: 200})
	}
	series := func(tr *observe.Traffic, since, until time.Time) []observe.RouteTraffic {
		t.Helper()
		s, err := tr.Series(t.Context(), since, until, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := series(a, start, start.Add(3*time.Minute)); len(got) != 0 {
		t.Fatalf("series before any flush = %+v; want none (counts wait in memory until a flush)", got)
	}
	for _, tr := range []*observe.Traffic{a, b} {
		if err := tr.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	got := series(a, start, start.Add(3*time.Minute))
	if len(got) != 2 || got[0].Route != "jwks" || got[1].Route != "token" {
		t.Fatalf("routes = %+v; want jwks and token", got)
	}
	tok := got[1]
	if len(tok.Points) != 3 || tok.Points[0].Requests != 100 || tok.Points[0].Failures != 10 || tok.Points[1].Requests != 0 ||
		!tok.Points[2].Start.Equal(start.Add(2*time.Minute)) {
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
	near("jwks p50", got[0].Points[2].P50, 50*time.Millisecond, 10*time.Millisecond)

	// Wider steps add buckets up; b reads what a flushed.
	wide, err := b.Series(t.Context(), start, start.Add(4*time.Minute), 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(wide) != 2 || len(wide[1].Points) != 2 || wide[1].Points[0].Requests != 100 || wide[0].Points[1].Requests != 10 {
		t.Fatalf("two-minute steps = %+v", wide)
	}

	// Retention: an hour and a minute later, minute 0 is gone.
	clk.Advance(time.Hour + 2*time.Minute)
	if err := a.Prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, s := range series(a, start, start.Add(3*time.Minute)) {
		if s.Route == "token" {
			t.Fatalf("token traffic after retention: %+v", s.Total)
		}
	}
}

// failingStore refuses AddTraffic while down is set.
type failingStore struct {
	store.TrafficStore
	down atomic.Bool
}

func (s *failingStore) AddTraffic(ctx context.Context, b store.TrafficBatch) error {
	if s.down.Load() {
		return fmt.Errorf("add traffic: %w", store.ErrUnavailable)
	}
	return s.TrafficStore.AddTraffic(ctx, b)
}

// TestTrafficKeepsCountsWhileTheStoreFails: flushes that fail keep their
// counts for the next, within the bound on what waits in memory.
func TestTrafficKeepsCountsWhileTheStoreFails(t *testing.T) {
	st := &failingStore{TrafficStore: openStore(t)}
	start := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	tr := newTraffic(t, st, clk, observe.TrafficConfig{Resolution: time.Minute, MaxPending: 8})
	st.down.Store(true)
	for i := range 3 {
		for range 10 {
			tr.Sink(&observe.Record{Time: clk.Now(), Route: "token", Status: 503, Error: "temporarily_unavailable",
				Duration: time.Millisecond})
		}
		if err := tr.Flush(t.Context()); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("flush %d while the store is down: %v; want ErrUnavailable", i, err)
		}
		clk.Advance(10 * time.Second)
	}
	// Each 10-second slot is one more alert counter: 3 alert and 1 chart
	// counters so far. Requests that need more than 8 are dropped.
	for i := range 6 {
		tr.Sink(&observe.Record{Time: clk.Now().Add(time.Duration(i) * 10 * time.Second), Route: "userinfo", Status: 200,
			Duration: time.Millisecond})
	}
	if tr.Dropped() == 0 || tr.FlushFailures() != 3 {
		t.Fatalf("dropped %d, flush failures %d; want some dropped and 3 failures", tr.Dropped(), tr.FlushFailures())
	}
	st.down.Store(false)
	if err := tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	series, err := tr.Series(t.Context(), start, start.Add(2*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var kept int64
	for _, s := range series {
		kept += s.Total.Requests
	}
	if kept+int64(tr.Dropped()) != 36 || series[0].Route != "token" || series[0].Total.Failures != 30 {
		t.Fatalf("series %+v with %d dropped; want the 30 failed token requests and 6 others, kept or dropped", series, tr.Dropped())
	}
}

// TestTrafficSinksWhileFlushing: requests counted while flushes run are
// all in the store afterwards.
func TestTrafficSinksWhileFlushing(t *testing.T) {
	st := openStore(t)
	start := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	tr := newTraffic(t, st, clk, observe.TrafficConfig{Resolution: time.Minute, AlertWindow: time.Minute})
	const senders, each = 8, 500
	var wg sync.WaitGroup
	done := make(chan struct{})
	flushed := make(chan error, 1)
	go func() {
		var err error
		for {
			select {
			case <-done:
				flushed <- err
				return
			default:
				err = errors.Join(err, tr.Flush(t.Context()))
			}
		}
	}()
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				tr.Sink(&observe.Record{Time: start.Add(time.Duration(i) * 10 * time.Millisecond), Route: "token",
					ClientID: fmt.Sprintf("c%d", g%3), Status: 200, Duration: time.Duration(i) * time.Microsecond})
			}
		})
	}
	wg.Wait()
	close(done)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if err := tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	series, err := tr.Series(t.Context(), start, start.Add(time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || series[0].Total.Requests != senders*each {
		t.Fatalf("series %+v; want %d token requests", series, senders*each)
	}
	counts, err := st.SumAlertCounts(t.Context(), store.AlertCountQuery{Width: time.Second, Since: start, Until: start.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var requests int64
	for _, c := range counts {
		requests += c.Requests
	}
	if requests != senders*each || tr.Dropped() != 0 {
		t.Fatalf("alert buckets hold %d requests (%d dropped); want %d", requests, tr.Dropped(), senders*each)
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
