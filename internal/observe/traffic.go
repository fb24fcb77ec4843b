package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

// TrafficConfig configures a Traffic; zero fields take the defaults.
type TrafficConfig struct {
	Store  store.TrafficStore
	Now    func() time.Time
	Logger *slog.Logger
	// Resolution is the width of a chart bucket (default 1 minute), Span
	// how long chart buckets are kept (default 24 hours).
	Resolution time.Duration
	Span       time.Duration
	// AlertWindow is the alert rule's window (default 5 minutes); its
	// buckets are a sixtieth of it. Replicas that share a database must
	// share the window, or each sees only the buckets of its own width.
	AlertWindow time.Duration
	// KnownClient reports whether a client id is registered: only those
	// are counted under their id (for the per-client windows); an unknown
	// client_id made up at /authorize still counts for its endpoint. Nil
	// counts every client id, up to MaxClients between two flushes.
	KnownClient func(id string) bool
	MaxClients  int
	// MaxPending bounds the counters kept between two flushes (default
	// 16384). A request that would need more is left out of the counts
	// and counted in Dropped: the bound only matters while the database
	// cannot be written.
	MaxPending int
	// FlushInterval paces Run's flushes (default 1 second).
	FlushInterval time.Duration
}

// Traffic counts every finished request, per route, client, error and
// time bucket, and adds the counts to the store in one batch per flush, so
// that the error-rate rule and the overview charts of every replica see
// the traffic of all of them. Sink costs one short lock and never touches
// the store; counts wait in memory, bounded, until the next flush (the
// alert rule flushes before every evaluation, Run at least every
// FlushInterval). A flush that fails keeps its counts for the next one.
type Traffic struct {
	cfg       TrafficConfig
	alertSlot time.Duration

	mu      sync.Mutex // guards pending
	pending *pendingCounts

	flushMu       sync.Mutex // one flush at a time, so batches never overtake each other
	dropped       atomic.Uint64
	flushFailures atomic.Uint64
	// lastErrorLog throttles "could not flush" lines to one a minute.
	lastErrorLog atomic.Int64
}

// pendingCounts are the counts since the last flush.
type pendingCounts struct {
	alerts  map[alertKey]*alertCounter
	charts  map[chartKey]*chartCounter
	clients map[string]bool // the client ids counted under their own id
}

type alertKey struct {
	slot                int64 // time / alert slot width
	route, client, code string
}

type alertCounter struct {
	requests, failures int64
	first, last        time.Time
}

type chartKey struct {
	slot  int64 // time / resolution
	route string
	bin   int // index into trafficBounds; len(trafficBounds) is the open last bin
}

type chartCounter struct{ requests, failures int64 }

func newPendingCounts() *pendingCounts {
	return &pendingCounts{alerts: map[alertKey]*alertCounter{}, charts: map[chartKey]*chartCounter{}, clients: map[string]bool{}}
}

func (p *pendingCounts) size() int { return len(p.alerts) + len(p.charts) }

// trafficBounds are the upper bounds of the latency bins, finer than the
// Prometheus buckets so that percentiles read well on a chart. The bins
// under 250 µs are there for discovery, the JWKS and cached reads: with
// 250 µs as the first bound every such endpoint read 125/237/247 µs.
var trafficBounds = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 150 * time.Microsecond, 200 * time.Microsecond,
	250 * time.Microsecond, 500 * time.Microsecond, 750 * time.Microsecond, time.Millisecond,
	1500 * time.Microsecond, 2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond, 5 * time.Millisecond,
	7500 * time.Microsecond, 10 * time.Millisecond, 15 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond,
	50 * time.Millisecond, 75 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond,
	300 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second, 1500 * time.Millisecond,
	2 * time.Second, 3 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// openBin is the index of the latency bin above the highest bound.
const openBin = len(trafficBounds)

// binBound is the upper bound of a latency bin as the store keeps it (0 for
// the open last bin).
func binBound(bin int) time.Duration {
	if bin >= openBin {
		return 0
	}
	return trafficBounds[bin]
}

// boundBin is the bin of a stored upper bound: the bin it bounds, or, for
// a bound this build does not know, the bin that holds it.
func boundBin(le time.Duration) int {
	if le <= 0 {
		return openBin
	}
	bin, _ := slices.BinarySearch(trafficBounds[:], le)
	return bin
}

// NewTraffic returns a counter over cfg.Store.
func NewTraffic(cfg TrafficConfig) (*Traffic, error) {
	if cfg.Store == nil {
		return nil, errors.New("observe: traffic needs a store")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Resolution <= 0 {
		cfg.Resolution = time.Minute
	}
	if cfg.Span <= 0 {
		cfg.Span = 24 * time.Hour
	}
	if cfg.AlertWindow == 0 {
		cfg.AlertWindow = DefaultAlertWindow
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 1000
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 16384
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	switch {
	case cfg.AlertWindow < time.Second:
		return nil, fmt.Errorf("observe: alert window %v is below one second", cfg.AlertWindow)
	case cfg.Resolution%time.Microsecond != 0 || cfg.Span < cfg.Resolution:
		return nil, fmt.Errorf("observe: chart resolution %v must be whole microseconds and at most the span %v", cfg.Resolution, cfg.Span)
	}
	return &Traffic{cfg: cfg, alertSlot: cfg.AlertWindow / windowSlots, pending: newPendingCounts()}, nil
}

// Resolution is the width of one chart bucket.
func (t *Traffic) Resolution() time.Duration { return t.cfg.Resolution }

// AlertWindow is the alert window the counts are kept for.
func (t *Traffic) AlertWindow() time.Duration { return t.cfg.AlertWindow }

// Dropped is how many requests were left out of the counts because too
// many counters waited for a flush.
func (t *Traffic) Dropped() uint64 { return t.dropped.Load() }

// FlushFailures is how many flushes the store refused (their counts were
// kept for the next).
func (t *Traffic) FlushFailures() uint64 { return t.flushFailures.Load() }

// failureCode is the error a failed request counts under: the code it
// answered, kept to the shapes handlers set (lower-case words, FDX
// numbers), or its status when it answered none.
func failureCode(r *Record) string {
	if r.Error == "" {
		return "http_" + strconv.Itoa(r.Status)
	}
	return errorLabel(r.Error)
}

// Sink counts a finished request into its alert bucket and its chart
// bucket.
func (t *Traffic) Sink(r *Record) {
	failed := r.Failed()
	code := ""
	if failed {
		code = failureCode(r)
	}
	client := r.ClientID
	if client != "" && t.cfg.KnownClient != nil && !t.cfg.KnownClient(client) {
		client = ""
	}
	at := r.Time.UnixNano()
	ak := alertKey{slot: at / int64(t.alertSlot), route: r.Route, client: client, code: code}
	bin, _ := slices.BinarySearch(trafficBounds[:], r.Duration)
	ck := chartKey{slot: at / int64(t.cfg.Resolution), route: r.Route, bin: bin}

	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pending
	if client != "" && !p.clients[client] {
		if len(p.clients) >= t.cfg.MaxClients {
			ak.client = ""
		} else {
			p.clients[client] = true
		}
	}
	a, c := p.alerts[ak], p.charts[ck]
	if a == nil || c == nil {
		need := 0
		if a == nil {
			need++
		}
		if c == nil {
			need++
		}
		if p.size()+need > t.cfg.MaxPending {
			t.dropped.Add(1)
			return
		}
		if a == nil {
			a = &alertCounter{}
			p.alerts[ak] = a
		}
		if c == nil {
			c = &chartCounter{}
			p.charts[ck] = c
		}
	}
	a.requests++
	c.requests++
	if !failed {
		return
	}
	a.failures++
	c.failures++
	if a.first.IsZero() || r.Time.Before(a.first) {
		a.first = r.Time
	}
	if r.Time.After(a.last) {
		a.last = r.Time
	}
}

// routeIssueKey and clientIssueKey are the store keys of the error-rate
// issues of an endpoint and of a client.
func routeIssueKey(route string) string   { return string(store.IssueErrorRate) + ":route:" + route }
func clientIssueKey(client string) string { return string(store.IssueErrorRate) + ":client:" + client }

// slotStart is the start of bucket index of width.
func slotStart(index int64, width time.Duration) time.Time {
	return time.Unix(0, index*int64(width)).UTC()
}

// batch is p as the store takes it: the buckets, and what they add to the
// open error-rate issues of their endpoints and clients.
func (t *Traffic) batch(p *pendingCounts) store.TrafficBatch {
	b := store.TrafficBatch{
		Alerts:  make([]store.AlertCount, 0, len(p.alerts)),
		Traffic: make([]store.TrafficCount, 0, len(p.charts)),
	}
	issues := map[string]*store.IssueCount{}
	addIssue := func(key string, a *alertCounter) {
		c := issues[key]
		if c == nil {
			c = &store.IssueCount{Key: key}
			issues[key] = c
		}
		c.Requests += a.requests
		c.Failures += a.failures
	}
	for k, a := range p.alerts {
		b.Alerts = append(b.Alerts, store.AlertCount{Start: slotStart(k.slot, t.alertSlot), Width: t.alertSlot,
			Route: k.route, ClientID: k.client, Error: k.code, Requests: a.requests, Failures: a.failures,
			FirstFailure: a.first, LastFailure: a.last})
		addIssue(routeIssueKey(k.route), a)
		if k.client != "" {
			addIssue(clientIssueKey(k.client), a)
		}
	}
	for k, c := range p.charts {
		b.Traffic = append(b.Traffic, store.TrafficCount{Start: slotStart(k.slot, t.cfg.Resolution), Width: t.cfg.Resolution,
			Route: k.route, LatencyLE: binBound(k.bin), Requests: c.requests, Failures: c.failures})
	}
	for _, c := range issues {
		b.Issues = append(b.Issues, *c)
	}
	return b
}

// Flush adds the counts since the last flush to the store in one batch.
// When the store refuses it, the counts are kept for the next flush
// (within MaxPending), so a database outage costs the charts and the alert
// rule nothing but delay.
func (t *Traffic) Flush(ctx context.Context) error {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	t.mu.Lock()
	p := t.pending
	if p.size() == 0 {
		t.mu.Unlock()
		return nil
	}
	t.pending = newPendingCounts()
	t.mu.Unlock()

	if err := t.cfg.Store.AddTraffic(ctx, t.batch(p)); err != nil {
		t.flushFailures.Add(1)
		t.keep(p)
		return fmt.Errorf("observe: add traffic counts: %w", err)
	}
	return nil
}

// keep merges the counts of a failed flush back, leaving out buckets that
// retention would delete anyway and whatever exceeds MaxPending.
func (t *Traffic) keep(old *pendingCounts) {
	now := t.cfg.Now().UnixNano()
	oldestAlert := (now - 2*int64(t.cfg.AlertWindow)) / int64(t.alertSlot)
	oldestChart := (now - int64(t.cfg.Span)) / int64(t.cfg.Resolution)
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pending
	for k, a := range old.alerts {
		cur := p.alerts[k]
		switch {
		case cur != nil:
			cur.requests += a.requests
			cur.failures += a.failures
			if !a.first.IsZero() && (cur.first.IsZero() || a.first.Before(cur.first)) {
				cur.first = a.first
			}
			if a.last.After(cur.last) {
				cur.last = a.last
			}
		case k.slot >= oldestAlert && p.size() < t.cfg.MaxPending:
			p.alerts[k] = a
			if k.client != "" {
				p.clients[k.client] = true
			}
		default:
			t.dropped.Add(uint64(a.requests))
		}
	}
	for k, c := range old.charts {
		cur := p.charts[k]
		switch {
		case cur != nil:
			cur.requests += c.requests
			cur.failures += c.failures
		case k.slot >= oldestChart && p.size() < t.cfg.MaxPending:
			p.charts[k] = c
		}
	}
}

// Prune deletes the alert buckets older than two alert windows and the
// chart buckets older than the span.
func (t *Traffic) Prune(ctx context.Context) error {
	now := t.cfg.Now()
	_, err := t.cfg.Store.DeleteTraffic(ctx, store.TrafficRetention{
		AlertsBefore:  now.Add(-2 * t.cfg.AlertWindow),
		TrafficBefore: now.Add(-t.cfg.Span - t.cfg.Resolution),
	})
	if err != nil {
		return fmt.Errorf("observe: delete old traffic counts: %w", err)
	}
	return nil
}

// Run flushes every FlushInterval and prunes every minute until ctx ends,
// then flushes what is left (within 5 seconds): on shutdown, after the
// last requests drained, their counts are kept.
func (t *Traffic) Run(ctx context.Context) {
	flush := time.NewTicker(t.cfg.FlushInterval)
	defer flush.Stop()
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for {
		select {
		case <-flush.C:
			t.logFailure(ctx, t.Flush(ctx))
		case <-prune.C:
			if err := t.Prune(ctx); err != nil && ctx.Err() == nil {
				t.cfg.Logger.Warn("could not delete old traffic counts", "event", "traffic.prune_failed", "error", err.Error())
			}
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			t.logFailure(final, t.Flush(final))
			return
		}
	}
}

func (t *Traffic) logFailure(ctx context.Context, err error) {
	if err == nil || ctx.Err() != nil {
		return
	}
	now := t.cfg.Now().Unix()
	if last := t.lastErrorLog.Load(); now-last >= 60 && t.lastErrorLog.CompareAndSwap(last, now) {
		t.cfg.Logger.Error("could not add traffic counts to the database; kept for the next try", "event", "traffic.flush_failed",
			"error", err.Error())
	}
}

// TrafficPoint is a route's traffic over one step of a series.
type TrafficPoint struct {
	Start         time.Time
	Requests      int64
	Failures      int64
	P50, P95, P99 time.Duration
}

// ErrorRate is Failures / Requests (0 without requests).
func (p TrafficPoint) ErrorRate() float64 {
	if p.Requests == 0 {
		return 0
	}
	return float64(p.Failures) / float64(p.Requests)
}

// RouteTraffic is one route's series and its totals over the range.
type RouteTraffic struct {
	Route  string
	Points []TrafficPoint
	Total  TrafficPoint
}

// maxPoints bounds the points of one series.
const maxPoints = 1440

// Series returns, for each route with traffic in [since, until), one point
// per step (rounded up to a whole number of buckets; since rounded down to
// a bucket), routes sorted by name: the traffic of every replica that
// shares the store, as flushed so far.
func (t *Traffic) Series(ctx context.Context, since, until time.Time, step time.Duration) ([]RouteTraffic, error) {
	res := t.cfg.Resolution
	first := since.UnixNano() / int64(res)
	last := (until.UnixNano() - 1) / int64(res)
	if last < first {
		return nil, nil
	}
	perStep := max(1, int64((step+res-1)/res))
	// A bounded number of points, however small the step asked for.
	perStep = max(perStep, (last-first+1+maxPoints-1)/maxPoints)
	steps := int((last-first)/perStep) + 1
	start := slotStart(first, res)
	stepWidth := time.Duration(perStep) * res
	counts, err := t.cfg.Store.SumTrafficCounts(ctx, store.TrafficQuery{Width: res, Since: start,
		Until: slotStart(last+1, res), Step: stepWidth})
	if err != nil {
		return nil, fmt.Errorf("observe: traffic series: %w", err)
	}
	type series struct {
		rt        RouteTraffic
		hist      [][openBin + 1]int64
		totalHist [openBin + 1]int64
	}
	var (
		out     []*series
		byRoute = map[string]*series{}
	)
	for _, c := range counts {
		s := byRoute[c.Route]
		if s == nil {
			s = &series{rt: RouteTraffic{Route: c.Route, Points: make([]TrafficPoint, steps)},
				hist: make([][openBin + 1]int64, steps)}
			for i := range s.rt.Points {
				s.rt.Points[i].Start = start.Add(time.Duration(i) * stepWidth)
			}
			s.rt.Total.Start = start
			byRoute[c.Route] = s
			out = append(out, s)
		}
		i := int(c.Start.Sub(start) / stepWidth)
		if i < 0 || i >= steps {
			continue
		}
		bin := boundBin(c.LatencyLE)
		p := &s.rt.Points[i]
		p.Requests += c.Requests
		p.Failures += c.Failures
		s.rt.Total.Requests += c.Requests
		s.rt.Total.Failures += c.Failures
		s.hist[i][bin] += c.Requests
		s.totalHist[bin] += c.Requests
	}
	result := make([]RouteTraffic, 0, len(out))
	for _, s := range out {
		for i := range s.rt.Points {
			s.rt.Points[i].P50, s.rt.Points[i].P95, s.rt.Points[i].P99 = quantile(s.hist[i], .5), quantile(s.hist[i], .95), quantile(s.hist[i], .99)
		}
		s.rt.Total.P50, s.rt.Total.P95, s.rt.Total.P99 = quantile(s.totalHist, .5), quantile(s.totalHist, .95), quantile(s.totalHist, .99)
		result = append(result, s.rt)
	}
	slices.SortFunc(result, func(a, b RouteTraffic) int {
		switch {
		case a.Route < b.Route:
			return -1
		case a.Route > b.Route:
			return 1
		}
		return 0
	})
	return result, nil
}

// quantile estimates the q-quantile of a latency histogram by linear
// interpolation inside the bin that holds it, as Prometheus's
// histogram_quantile does; the open last bin answers its lower bound.
func quantile(hist [openBin + 1]int64, q float64) time.Duration {
	var total int64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen int64
	for b, n := range hist {
		if n == 0 || float64(seen+n) < rank {
			seen += n
			continue
		}
		if b == openBin {
			return trafficBounds[b-1]
		}
		lower := time.Duration(0)
		if b > 0 {
			lower = trafficBounds[b-1]
		}
		frac := (rank - float64(seen)) / float64(n)
		return lower + time.Duration(frac*float64(trafficBounds[b]-lower))
	}
	return trafficBounds[len(trafficBounds)-1]
}
