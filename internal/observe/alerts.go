package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

// Alert defaults.
const (
	DefaultAlertWindow      = 5 * time.Minute
	DefaultAlertMinVolume   = 20
	DefaultAlertThreshold   = 0.02
	DefaultAlertQuietPeriod = 10 * time.Minute
)

// AlertStore is what the alert rule keeps and reads: the issues, and the
// traffic counts every replica adds to.
type AlertStore interface {
	store.IssueStore
	store.TrafficStore
}

// AlertConfig configures the alert rules; zero fields take the defaults.
type AlertConfig struct {
	Store AlertStore
	// Traffic counts the requests; Evaluate flushes it and reads the
	// windows it keeps in Store.
	Traffic *Traffic
	Now     func() time.Time
	Logger  *slog.Logger
	// Window is the sliding window the error rate is computed over
	// (default: the Traffic's alert window, which it must equal).
	Window time.Duration
	// MinVolume is the fewest requests in the window that can open an
	// issue (default 20).
	MinVolume int
	// Threshold is the error rate above which an issue opens (default
	// 0.02: strictly more than 2 % of the requests in the window failed).
	Threshold float64
	// QuietPeriod is how long the rate must stay at or below the threshold
	// before an open issue resolves itself (default 10 minutes).
	QuietPeriod time.Duration
	// EvaluateEvery paces Run (default 1 second, at most Window / 10).
	EvaluateEvery time.Duration
	// ReplicaStaleAfter is how long a replica's own condition issue (its
	// JWKS self-check) stays open without that replica confirming it;
	// after that any replica resolves it, the replica having stopped
	// (default 10 minutes).
	ReplicaStaleAfter time.Duration
	// Notify is told of every issue this process opens or resolves. It
	// must not block (notify.Notifier queues).
	Notify func(IssueEvent)
}

// IssueEvent is an issue opening or resolving.
type IssueEvent struct {
	// Event is "issue.opened" or "issue.resolved".
	Event string
	Issue store.Issue
}

// Issue event names.
const (
	EventIssueOpened   = "issue.opened"
	EventIssueResolved = "issue.resolved"
)

// windowSlots is how many slots a sliding window is cut into.
const windowSlots = 60

// maxOpenIssues bounds the open issues one evaluation reads.
const maxOpenIssues = 10000

// Alerts applies the error-rate rule, per endpoint and per client, to the
// windows every replica's Traffic adds to, and keeps the issues in the
// store: it opens one when the rule fires, follows its rate while it is
// open, and resolves it after the quiet period. Condition issues (signing
// keys, JWKS) come in through SetCondition. Everything the rule decides
// from is in the store (the summed windows, the open issues and the start
// of their quiet period), so every replica evaluating at the same moment
// comes to the same decision, and the store lets only one of them act on
// it: the unique open issue per key, OpenCountedIssue, and UpdateIssue's
// read-modify-write.
type Alerts struct {
	cfg      AlertConfig
	slotSize time.Duration

	evalMu sync.Mutex // serializes Evaluate and SetCondition
	open   atomic.Int64
	// lastErrorLog throttles Run's "evaluation failed" lines (a database
	// outage fails every evaluation) to one a minute.
	lastErrorLog atomic.Int64
}

// NewAlerts returns the rule engine.
func NewAlerts(cfg AlertConfig) (*Alerts, error) {
	if cfg.Store == nil || cfg.Traffic == nil {
		return nil, errors.New("observe: alerts need a store and the traffic counts")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Window == 0 {
		cfg.Window = cfg.Traffic.AlertWindow()
	}
	if cfg.MinVolume == 0 {
		cfg.MinVolume = DefaultAlertMinVolume
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = DefaultAlertThreshold
	}
	if cfg.QuietPeriod == 0 {
		cfg.QuietPeriod = DefaultAlertQuietPeriod
	}
	if cfg.EvaluateEvery == 0 {
		cfg.EvaluateEvery = min(time.Second, cfg.Window/10)
	}
	if cfg.ReplicaStaleAfter == 0 {
		cfg.ReplicaStaleAfter = 10 * time.Minute
	}
	switch {
	case cfg.Window < time.Second:
		return nil, fmt.Errorf("observe: alert window %v is below one second", cfg.Window)
	case cfg.Window != cfg.Traffic.AlertWindow():
		return nil, fmt.Errorf("observe: alert window %v differs from the window %v the traffic is counted for",
			cfg.Window, cfg.Traffic.AlertWindow())
	case cfg.MinVolume < 1:
		return nil, fmt.Errorf("observe: alert minimum volume %d must be at least 1", cfg.MinVolume)
	case cfg.Threshold <= 0 || cfg.Threshold >= 1:
		return nil, fmt.Errorf("observe: alert threshold %v must be between 0 and 1", cfg.Threshold)
	case cfg.QuietPeriod < 0 || cfg.EvaluateEvery <= 0 || cfg.ReplicaStaleAfter <= 0:
		return nil, errors.New("observe: alert quiet period, evaluation interval and replica staleness must be positive")
	}
	return &Alerts{cfg: cfg, slotSize: cfg.Window / windowSlots}, nil
}

// Config is the configuration in effect, defaults filled in.
func (a *Alerts) Config() AlertConfig { return a.cfg }

// OpenIssues is how many issues were open at the last evaluation (and
// since, as this process changed them).
func (a *Alerts) OpenIssues() int64 { return a.open.Load() }

type windowKey struct {
	kind string // "route" or "client"
	name string
}

// issueKey is the store key of the error-rate issue of a window.
func (k windowKey) issueKey() string {
	if k.kind == "client" {
		return clientIssueKey(k.name)
	}
	return routeIssueKey(k.name)
}

// query selects the window's buckets.
func (k windowKey) query(q store.AlertCountQuery) store.AlertCountQuery {
	if k.kind == "client" {
		q.ClientID = k.name
	} else {
		q.Route = k.name
	}
	return q
}

// windowStats is a window summed at one instant.
type windowStats struct {
	key                       windowKey
	requests, failures        int64
	firstFailure, lastFailure time.Time
	codes                     map[string]int64
	topError                  string
}

func (s *windowStats) rate() float64 {
	if s.requests == 0 {
		return 0
	}
	return float64(s.failures) / float64(s.requests)
}

func (s *windowStats) add(c store.AlertCount) {
	s.requests += c.Requests
	s.failures += c.Failures
	if c.Failures == 0 {
		return
	}
	if s.firstFailure.IsZero() || (!c.FirstFailure.IsZero() && c.FirstFailure.Before(s.firstFailure)) {
		s.firstFailure = c.FirstFailure
	}
	if c.LastFailure.After(s.lastFailure) {
		s.lastFailure = c.LastFailure
	}
	if s.codes == nil {
		s.codes = map[string]int64{}
	}
	s.codes[c.Error] += c.Failures
}

// windows sums the buckets of the window into one window per endpoint and
// one per counted client.
func windows(counts []store.AlertCount) map[windowKey]*windowStats {
	out := map[windowKey]*windowStats{}
	add := func(k windowKey, c store.AlertCount) {
		st := out[k]
		if st == nil {
			st = &windowStats{key: k}
			out[k] = st
		}
		st.add(c)
	}
	for _, c := range counts {
		add(windowKey{"route", c.Route}, c)
		if c.ClientID != "" {
			add(windowKey{"client", c.ClientID}, c)
		}
	}
	for _, st := range out {
		for c, n := range st.codes {
			if n > st.codes[st.topError] || (n == st.codes[st.topError] && c < st.topError) {
				st.topError = c
			}
		}
	}
	return out
}

// window is the range of alert buckets that make up the window at now:
// the slot now falls in and the 59 before it.
func (a *Alerts) window(now time.Time) store.AlertCountQuery {
	current := now.UnixNano() / int64(a.slotSize)
	return store.AlertCountQuery{Width: a.slotSize, Since: slotStart(current-windowSlots+1, a.slotSize),
		Until: slotStart(current+1, a.slotSize)}
}

// Run evaluates the rules every EvaluateEvery until ctx ends, logging
// failures at most once a minute.
func (a *Alerts) Run(ctx context.Context) {
	t := time.NewTicker(a.cfg.EvaluateEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := a.Evaluate(ctx)
			if err == nil || ctx.Err() != nil {
				continue
			}
			now := a.cfg.Now().Unix()
			if last := a.lastErrorLog.Load(); now-last >= 60 && a.lastErrorLog.CompareAndSwap(last, now) {
				a.cfg.Logger.Error("alert evaluation failed", "event", "alerts.failed", "error", err.Error())
			}
		}
	}
}

// Evaluate adds this process's counts to the store (Traffic.Flush), then
// applies the error-rate rule at the clock's now to the window of every
// endpoint and client, as summed over every replica:
//   - an issue opens for a window with at least MinVolume requests of which
//     more than Threshold failed;
//   - an open issue follows the window's rate (its failures and requests
//     are counted in by every replica's flushes);
//   - an open issue resolves once the window's rate has stayed at or
//     below Threshold (an empty window counts as below) for QuietPeriod.
//
// It also resolves the replica condition issues whose replica stopped
// confirming them.
func (a *Alerts) Evaluate(ctx context.Context) error {
	a.evalMu.Lock()
	defer a.evalMu.Unlock()
	var errs []error
	// A failed flush keeps its counts; the others' are evaluated anyway.
	if err := a.cfg.Traffic.Flush(ctx); err != nil {
		errs = append(errs, err)
	}
	now := a.cfg.Now().UTC()
	q := a.window(now)
	counts, err := a.cfg.Store.SumAlertCounts(ctx, q)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("observe: read the alert windows: %w", err))...)
	}
	open, err := a.cfg.Store.ListIssues(ctx, store.IssueQuery{Status: "open", Limit: maxOpenIssues})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("observe: list open issues: %w", err))...)
	}
	stats := windows(counts)
	openByKey := make(map[string]store.Issue, len(open))
	for _, iss := range open {
		openByKey[iss.Key] = iss
		// An open issue without traffic in the window evaluates as an
		// empty window, so that it resolves after the quiet period.
		if iss.Kind != store.IssueErrorRate {
			continue
		}
		if k, ok := parseIssueKey(iss.Key); ok && stats[k] == nil {
			stats[k] = &windowStats{key: k}
		}
	}
	keys := make([]windowKey, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y windowKey) int { return strings.Compare(x.issueKey(), y.issueKey()) })
	nOpen := int64(len(open))
	for _, k := range keys {
		iss, isOpen := openByKey[k.issueKey()]
		change, err := a.evaluate(ctx, now, q, stats[k], iss, isOpen)
		if err != nil {
			errs = append(errs, err)
		}
		nOpen += change
	}
	for _, iss := range open {
		if iss.Kind != store.IssueJWKS || now.Sub(iss.LastSeen) < a.cfg.ReplicaStaleAfter {
			continue
		}
		resolved, err := a.resolveStale(ctx, now, iss)
		if err != nil {
			errs = append(errs, err)
		}
		if resolved {
			nOpen--
		}
	}
	a.open.Store(nOpen)
	return errors.Join(errs...)
}

// parseIssueKey reverses windowKey.issueKey.
func parseIssueKey(key string) (windowKey, bool) {
	parts := strings.SplitN(key, ":", 3)
	if len(parts) != 3 || parts[0] != string(store.IssueErrorRate) || (parts[1] != "route" && parts[1] != "client") {
		return windowKey{}, false
	}
	return windowKey{parts[1], parts[2]}, true
}

// evaluate applies the rule to one window; iss is its open issue when
// isOpen. It returns the change in open issues (+1 opened, -1 resolved).
func (a *Alerts) evaluate(ctx context.Context, now time.Time, window store.AlertCountQuery, st *windowStats,
	iss store.Issue, isOpen bool) (int64, error) {
	key := st.key.issueKey()
	rate := st.rate()
	if !isOpen {
		if st.requests < int64(a.cfg.MinVolume) || rate <= a.cfg.Threshold {
			return 0, nil
		}
		opened := store.Issue{
			ID: secret.ID("iss_", 8), Key: key, Kind: store.IssueErrorRate, Error: st.topError,
			Summary:   a.summary(st),
			FirstSeen: st.firstFailure, LastSeen: st.lastFailure,
			Rate: rate, PeakRate: rate, UpdatedAt: now,
		}
		if st.key.kind == "route" {
			opened.Route = st.key.name
		} else {
			opened.ClientID = st.key.name
		}
		// The store counts the window's failures and requests into it, in
		// step with every replica's flushes: each counted once.
		got, created, err := a.cfg.Store.OpenCountedIssue(ctx, opened, st.key.query(window))
		if err != nil {
			return 0, fmt.Errorf("open issue %s: %w", key, err)
		}
		if !created {
			return 0, nil // another replica opened it a moment ago
		}
		a.cfg.Logger.Warn("issue opened: "+got.Summary, "event", "issue.opened", "issue_id", got.ID, "issue_key", key,
			"error_rate", rate, "requests", st.requests, "failures", st.failures)
		a.notify(EventIssueOpened, got)
		return 1, nil
	}

	healthy := st.requests == 0 || rate <= a.cfg.Threshold
	// Nothing to write when the issue already says all this.
	if rate == iss.Rate && rate <= iss.PeakRate && !st.lastFailure.After(iss.LastSeen) &&
		(st.topError == "" || st.topError == iss.Error) && healthy == !iss.HealthySince.IsZero() &&
		(!healthy || now.Sub(iss.HealthySince) < a.cfg.QuietPeriod) {
		return 0, nil
	}
	var resolvedNow bool
	got, err := a.cfg.Store.UpdateIssue(ctx, iss.ID, func(cur store.Issue) (store.Issue, error) {
		resolvedNow = false
		if !cur.Open() {
			return cur, nil
		}
		cur.Rate = rate
		cur.PeakRate = max(cur.PeakRate, rate)
		if st.lastFailure.After(cur.LastSeen) {
			cur.LastSeen = st.lastFailure
		}
		if st.topError != "" {
			cur.Error = st.topError
		}
		// The quiet period is judged from the issue as stored, which
		// every replica reads and writes under the same lock.
		switch {
		case !healthy:
			cur.HealthySince = time.Time{}
		case cur.HealthySince.IsZero():
			cur.HealthySince = now
		}
		if healthy && now.Sub(cur.HealthySince) >= a.cfg.QuietPeriod {
			cur.ResolvedAt = now
			resolvedNow = true
		}
		cur.UpdatedAt = now
		return cur, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("update issue %s: %w", iss.ID, err)
	case !resolvedNow:
		if !got.Open() {
			return -1, nil // resolved by another replica (which notified)
		}
		return 0, nil
	}
	a.cfg.Logger.Info("issue resolved: "+got.Summary, "event", "issue.resolved", "issue_id", got.ID, "issue_key", key)
	a.notify(EventIssueResolved, got)
	return -1, nil
}

func (a *Alerts) summary(st *windowStats) string {
	who := st.key.name
	if st.key.kind == "client" {
		who = "client " + who
	}
	s := fmt.Sprintf("%s: %.1f%% of %d requests failed within %s", who, 100*st.rate(), st.requests, a.cfg.Window)
	if st.topError != "" {
		s += " (mostly " + st.topError + ")"
	}
	return s
}

func (a *Alerts) notify(event string, iss store.Issue) {
	if a.cfg.Notify != nil {
		a.cfg.Notify(IssueEvent{Event: event, Issue: iss})
	}
}

// Condition is the result of a health check that opens an issue while it
// fails (a signing key without successor, the JWKS self-check).
type Condition struct {
	// Key identifies the check (and, for a check of one replica's own
	// view, the replica); Kind names its issue kind.
	Key     string
	Kind    store.IssueKind
	Failing bool
	// Error is a short code (kid_not_found), Summary says what is wrong.
	Error   string
	Summary string
}

// SetCondition records a check's result: a failing check opens its issue
// (or counts one more failed check into it), a passing one resolves it at
// once.
func (a *Alerts) SetCondition(ctx context.Context, c Condition) error {
	if c.Key == "" || strings.HasPrefix(c.Key, string(store.IssueErrorRate)+":") {
		return fmt.Errorf("observe: condition key %q is empty or reserved", c.Key)
	}
	now := a.cfg.Now().UTC()
	a.evalMu.Lock()
	defer a.evalMu.Unlock()
	if c.Failing {
		iss := store.Issue{ID: secret.ID("iss_", 8), Key: c.Key, Kind: c.Kind, Error: c.Error, Summary: c.Summary,
			FirstSeen: now, LastSeen: now, Failures: 1, Requests: 1, Rate: 1, PeakRate: 1, UpdatedAt: now}
		got, created, err := a.cfg.Store.OpenIssue(ctx, iss)
		if err != nil {
			return fmt.Errorf("observe: open issue %s: %w", c.Key, err)
		}
		if created {
			a.open.Add(1)
			a.cfg.Logger.Error("issue opened: "+c.Summary, "event", "issue.opened", "issue_id", got.ID, "issue_key", c.Key)
			a.notify(EventIssueOpened, got)
			return nil
		}
		// Open already: one more failed check. (Resolved in between: the
		// next failing check opens a new one.)
		_, err = a.cfg.Store.UpdateIssue(ctx, got.ID, func(iss store.Issue) (store.Issue, error) {
			if !iss.Open() {
				return iss, nil
			}
			iss.Requests++
			iss.Failures++
			iss.LastSeen = now
			iss.Summary, iss.Error = c.Summary, c.Error
			iss.Rate = float64(iss.Failures) / float64(iss.Requests)
			iss.UpdatedAt = now
			return iss, nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("observe: update issue %s: %w", got.ID, err)
		}
		return nil
	}
	open, err := a.cfg.Store.ListIssues(ctx, store.IssueQuery{Status: "open", Kind: c.Kind, Limit: maxOpenIssues})
	if err != nil {
		return fmt.Errorf("observe: list open %s issues: %w", c.Kind, err)
	}
	for _, iss := range open {
		if iss.Key != c.Key {
			continue
		}
		var resolvedNow bool
		got, err := a.cfg.Store.UpdateIssue(ctx, iss.ID, func(iss store.Issue) (store.Issue, error) {
			resolvedNow = false
			if !iss.Open() {
				return iss, nil
			}
			iss.Requests++
			iss.Rate = float64(iss.Failures) / float64(iss.Requests)
			iss.ResolvedAt, iss.UpdatedAt = now, now
			resolvedNow = true
			return iss, nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("observe: update issue %s: %w", iss.ID, err)
		}
		if resolvedNow {
			a.open.Add(-1)
			a.cfg.Logger.Info("issue resolved: "+got.Summary, "event", "issue.resolved", "issue_id", got.ID, "issue_key", c.Key)
			a.notify(EventIssueResolved, got)
		}
	}
	return nil
}

// resolveStale resolves a replica's condition issue that its replica has
// not confirmed for ReplicaStaleAfter: the replica stopped (or cannot
// reach the database), and nobody else can judge its own view.
func (a *Alerts) resolveStale(ctx context.Context, now time.Time, iss store.Issue) (bool, error) {
	var resolvedNow bool
	got, err := a.cfg.Store.UpdateIssue(ctx, iss.ID, func(cur store.Issue) (store.Issue, error) {
		resolvedNow = false
		if !cur.Open() || now.Sub(cur.LastSeen) < a.cfg.ReplicaStaleAfter {
			return cur, nil
		}
		cur.ResolvedAt, cur.UpdatedAt = now, now
		resolvedNow = true
		return cur, nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("update issue %s: %w", iss.ID, err)
	}
	if resolvedNow {
		a.cfg.Logger.Info("issue resolved: its replica stopped confirming it: "+got.Summary, "event", "issue.resolved",
			"issue_id", got.ID, "issue_key", got.Key, "stale_since", got.LastSeen)
		a.notify(EventIssueResolved, got)
	}
	return resolvedNow, nil
}
