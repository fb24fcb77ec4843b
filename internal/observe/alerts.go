package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// AlertConfig configures the alert rules; zero fields take the defaults.
type AlertConfig struct {
	Issues store.IssueStore
	Now    func() time.Time
	Logger *slog.Logger
	// Window is the sliding window the error rate is computed over
	// (default 5 minutes; seconds are fine).
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
	// KnownClient reports whether a client id is registered; only those
	// get a window of their own (an unknown client_id at /authorize still
	// counts for its endpoint). Nil tracks every client id, up to
	// MaxClients.
	KnownClient func(id string) bool
	// MaxClients bounds the per-client windows (default 1000).
	MaxClients int
	// EvaluateEvery paces Run (default 1 second, at most Window / 10).
	EvaluateEvery time.Duration
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

// Alerts applies the error-rate rule to every finished request, per
// endpoint and per client, and keeps issues in the store: it opens one
// when the rule fires, counts failures into it while it is open, and
// resolves it after the quiet period. Condition issues (signing keys,
// JWKS) come in through SetCondition. Sink is cheap and never touches the
// store; Evaluate (run by Run) does the writing.
type Alerts struct {
	cfg      AlertConfig
	slotSize time.Duration

	mu      sync.Mutex // guards windows
	windows map[windowKey]*window
	clients int

	evalMu  sync.Mutex // serializes Evaluate and SetCondition; guards tracked
	tracked map[string]*trackedIssue
	open    atomic.Int64
}

type windowKey struct {
	kind string // "route" or "client"
	name string
}

// issueKey is the store key of the error-rate issue of a window.
func (k windowKey) issueKey() string {
	return string(store.IssueErrorRate) + ":" + k.kind + ":" + k.name
}

type window struct {
	slots [windowSlots]alertSlot
	// Cumulative counts since the window was created: an open issue counts
	// the difference from when it opened.
	requests, failures int64
	lastRecord         time.Time
}

type alertSlot struct {
	index                     int64
	requests, failures        int64
	firstFailure, lastFailure time.Time
	codes                     map[string]int64
}

type trackedIssue struct {
	id   string
	kind store.IssueKind
	// What the store has been told: further updates add the difference, so
	// replicas sharing an issue add up.
	reportedFailures, reportedRequests int64
	// baseline counts of the window when the issue was opened or loaded.
	baseFailures, baseRequests int64
	healthySince               time.Time
	peak                       float64
	lastSeen                   time.Time
}

// NewAlerts returns the rule engine. Call Load before Run to adopt the
// issues left open by an earlier run.
func NewAlerts(cfg AlertConfig) (*Alerts, error) {
	if cfg.Issues == nil {
		return nil, errors.New("observe: alerts need an issue store")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultAlertWindow
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
	if cfg.MaxClients == 0 {
		cfg.MaxClients = 1000
	}
	if cfg.EvaluateEvery == 0 {
		cfg.EvaluateEvery = min(time.Second, cfg.Window/10)
	}
	switch {
	case cfg.Window < time.Second:
		return nil, fmt.Errorf("observe: alert window %v is below one second", cfg.Window)
	case cfg.MinVolume < 1:
		return nil, fmt.Errorf("observe: alert minimum volume %d must be at least 1", cfg.MinVolume)
	case cfg.Threshold <= 0 || cfg.Threshold >= 1:
		return nil, fmt.Errorf("observe: alert threshold %v must be between 0 and 1", cfg.Threshold)
	case cfg.QuietPeriod < 0 || cfg.EvaluateEvery <= 0:
		return nil, errors.New("observe: alert quiet period and evaluation interval must be positive")
	}
	return &Alerts{cfg: cfg, slotSize: cfg.Window / windowSlots, windows: map[windowKey]*window{},
		tracked: map[string]*trackedIssue{}}, nil
}

// Config is the configuration in effect, defaults filled in.
func (a *Alerts) Config() AlertConfig { return a.cfg }

// OpenIssues is how many issues this process knows to be open.
func (a *Alerts) OpenIssues() int64 { return a.open.Load() }

// Sink counts a finished request into its endpoint's window and its
// client's.
func (a *Alerts) Sink(r *Record) {
	failed := r.Failed()
	index := r.Time.UnixNano() / int64(a.slotSize)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.count(windowKey{"route", r.Route}, index, r, failed)
	if r.ClientID != "" {
		k := windowKey{"client", r.ClientID}
		if _, ok := a.windows[k]; ok || ((a.cfg.KnownClient == nil || a.cfg.KnownClient(r.ClientID)) && a.clients < a.cfg.MaxClients) {
			a.count(k, index, r, failed)
		}
	}
}

func (a *Alerts) count(k windowKey, index int64, r *Record, failed bool) {
	w, ok := a.windows[k]
	if !ok {
		w = &window{}
		a.windows[k] = w
		if k.kind == "client" {
			a.clients++
		}
	}
	s := &w.slots[index%windowSlots]
	if s.index != index {
		if s.index > index {
			return // older than the window
		}
		*s = alertSlot{index: index}
	}
	s.requests++
	w.requests++
	if r.Time.After(w.lastRecord) {
		w.lastRecord = r.Time
	}
	if !failed {
		return
	}
	s.failures++
	w.failures++
	if s.firstFailure.IsZero() || r.Time.Before(s.firstFailure) {
		s.firstFailure = r.Time
	}
	if r.Time.After(s.lastFailure) {
		s.lastFailure = r.Time
	}
	if s.codes == nil {
		s.codes = map[string]int64{}
	}
	code := r.Error
	if code == "" {
		code = fmt.Sprintf("http_%d", r.Status)
	}
	if len(s.codes) < 32 {
		s.codes[code]++
	}
}

// windowStats is a window summed at one instant.
type windowStats struct {
	key                       windowKey
	requests, failures        int64
	totalRequests, totalFails int64
	firstFailure, lastFailure time.Time
	topError                  string
}

func (s windowStats) rate() float64 {
	if s.requests == 0 {
		return 0
	}
	return float64(s.failures) / float64(s.requests)
}

// snapshot sums every window over (now - Window, now] and forgets windows
// idle for longer than the window and the quiet period together.
func (a *Alerts) snapshot(now time.Time) []windowStats {
	current := now.UnixNano() / int64(a.slotSize)
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]windowStats, 0, len(a.windows))
	for k, w := range a.windows {
		st := windowStats{key: k, totalRequests: w.requests, totalFails: w.failures}
		codes := map[string]int64{}
		for i := range w.slots {
			s := &w.slots[i]
			if s.index <= current-windowSlots || s.index > current || s.requests == 0 {
				continue
			}
			st.requests += s.requests
			st.failures += s.failures
			if s.failures > 0 {
				if st.firstFailure.IsZero() || s.firstFailure.Before(st.firstFailure) {
					st.firstFailure = s.firstFailure
				}
				if s.lastFailure.After(st.lastFailure) {
					st.lastFailure = s.lastFailure
				}
				for c, n := range s.codes {
					codes[c] += n
				}
			}
		}
		for c, n := range codes {
			if n > codes[st.topError] || (n == codes[st.topError] && c < st.topError) {
				st.topError = c
			}
		}
		if st.requests == 0 && now.Sub(w.lastRecord) > a.cfg.Window+a.cfg.QuietPeriod {
			if _, open := a.tracked[k.issueKey()]; !open {
				delete(a.windows, k)
				if k.kind == "client" {
					a.clients--
				}
				continue
			}
		}
		out = append(out, st)
	}
	return out
}

// Load adopts the issues an earlier run left open, so that they keep
// counting and resolve after the quiet period.
func (a *Alerts) Load(ctx context.Context) error {
	issues, err := a.cfg.Issues.ListIssues(ctx, store.IssueQuery{Status: "open", Limit: 10000})
	if err != nil {
		return fmt.Errorf("observe: load open issues: %w", err)
	}
	a.evalMu.Lock()
	defer a.evalMu.Unlock()
	for _, iss := range issues {
		if _, ok := a.tracked[iss.Key]; !ok {
			a.tracked[iss.Key] = &trackedIssue{id: iss.ID, kind: iss.Kind, peak: iss.PeakRate, lastSeen: iss.LastSeen}
		}
	}
	a.open.Store(int64(len(a.tracked)))
	return nil
}

// Run evaluates the rules every EvaluateEvery until ctx ends.
func (a *Alerts) Run(ctx context.Context) {
	t := time.NewTicker(a.cfg.EvaluateEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.Evaluate(ctx); err != nil && ctx.Err() == nil {
				a.cfg.Logger.Error("alert evaluation failed", "event", "alerts.failed", "error", err.Error())
			}
		}
	}
}

// Evaluate applies the error-rate rule at the clock's now to every window:
//   - an issue opens for a window with at least MinVolume requests of which
//     more than Threshold failed;
//   - an open issue counts the failures and requests seen since it opened;
//   - an open issue resolves once the window's rate has stayed at or
//     below Threshold (an empty window counts as below) for QuietPeriod.
func (a *Alerts) Evaluate(ctx context.Context) error {
	now := a.cfg.Now().UTC()
	a.evalMu.Lock()
	defer a.evalMu.Unlock()
	stats := a.snapshot(now)
	seen := make(map[string]bool, len(stats))
	for _, st := range stats {
		seen[st.key.issueKey()] = true
	}
	// Open issues without a window (adopted by Load, no traffic since)
	// evaluate as an empty window, so they resolve after the quiet period.
	for key, tr := range a.tracked {
		if tr.kind != store.IssueErrorRate || seen[key] {
			continue
		}
		parts := strings.SplitN(key, ":", 3)
		if len(parts) == 3 {
			stats = append(stats, windowStats{key: windowKey{parts[1], parts[2]},
				totalRequests: tr.baseRequests + tr.reportedRequests, totalFails: tr.baseFailures + tr.reportedFailures})
		}
	}
	var errs []error
	for _, st := range stats {
		if err := a.evaluate(ctx, now, st); err != nil {
			errs = append(errs, err)
		}
	}
	a.open.Store(int64(len(a.tracked)))
	return errors.Join(errs...)
}

func (a *Alerts) evaluate(ctx context.Context, now time.Time, st windowStats) error {
	key := st.key.issueKey()
	rate := st.rate()
	breached := st.requests >= int64(a.cfg.MinVolume) && rate > a.cfg.Threshold
	tr := a.tracked[key]
	if tr == nil {
		if !breached {
			return nil
		}
		iss := store.Issue{
			ID: secret.ID("iss_", 8), Key: key, Kind: store.IssueErrorRate, Error: st.topError,
			Summary:   a.summary(st),
			FirstSeen: st.firstFailure, LastSeen: st.lastFailure,
			Failures: st.failures, Requests: st.requests, Rate: rate, PeakRate: rate, UpdatedAt: now,
		}
		if st.key.kind == "route" {
			iss.Route = st.key.name
		} else {
			iss.ClientID = st.key.name
		}
		got, created, err := a.cfg.Issues.OpenIssue(ctx, iss)
		if err != nil {
			return fmt.Errorf("open issue %s: %w", key, err)
		}
		tr = &trackedIssue{id: got.ID, kind: store.IssueErrorRate, baseFailures: st.totalFails - st.failures,
			baseRequests: st.totalRequests - st.requests, peak: rate, lastSeen: st.lastFailure}
		a.tracked[key] = tr
		if created {
			tr.reportedFailures, tr.reportedRequests = st.failures, st.requests
			a.cfg.Logger.Warn("issue opened: "+iss.Summary, "event", "issue.opened", "issue_id", iss.ID, "issue_key", key,
				"error_rate", rate, "requests", st.requests, "failures", st.failures)
			a.notify(EventIssueOpened, got)
			return nil
		}
		// Another replica opened it: this one adds what it sees.
	}

	healthy := st.requests == 0 || rate <= a.cfg.Threshold
	switch {
	case !healthy:
		tr.healthySince = time.Time{}
	case tr.healthySince.IsZero():
		tr.healthySince = now
	}
	resolve := !tr.healthySince.IsZero() && now.Sub(tr.healthySince) >= a.cfg.QuietPeriod
	failures := st.totalFails - tr.baseFailures
	requests := st.totalRequests - tr.baseRequests
	if st.lastFailure.After(tr.lastSeen) {
		tr.lastSeen = st.lastFailure
	}
	tr.peak = max(tr.peak, rate)
	if !resolve && failures == tr.reportedFailures && requests == tr.reportedRequests {
		return nil
	}
	dFailures, dRequests := failures-tr.reportedFailures, requests-tr.reportedRequests
	var resolvedNow bool
	got, err := a.cfg.Issues.UpdateIssue(ctx, tr.id, func(iss store.Issue) (store.Issue, error) {
		resolvedNow = false
		if !iss.Open() {
			return iss, nil
		}
		iss.Failures += dFailures
		iss.Requests += dRequests
		iss.Rate = rate
		iss.PeakRate = max(iss.PeakRate, tr.peak)
		if tr.lastSeen.After(iss.LastSeen) {
			iss.LastSeen = tr.lastSeen
		}
		if st.topError != "" {
			iss.Error = st.topError
		}
		if resolve {
			iss.ResolvedAt = now
			resolvedNow = true
		}
		iss.UpdatedAt = now
		return iss, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		delete(a.tracked, key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("update issue %s: %w", tr.id, err)
	}
	tr.reportedFailures, tr.reportedRequests = failures, requests
	if !got.Open() {
		// Resolved here, or by another replica (which notified).
		delete(a.tracked, key)
		if resolvedNow {
			a.cfg.Logger.Info("issue resolved: "+got.Summary, "event", "issue.resolved", "issue_id", got.ID, "issue_key", key)
			a.notify(EventIssueResolved, got)
		}
	}
	return nil
}

func (a *Alerts) summary(st windowStats) string {
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
	a.open.Store(int64(len(a.tracked)))
	if a.cfg.Notify != nil {
		a.cfg.Notify(IssueEvent{Event: event, Issue: iss})
	}
}

// Condition is the result of a health check that opens an issue while it
// fails (a signing key without successor, the JWKS self-check).
type Condition struct {
	// Key identifies the check; Kind names its issue kind.
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
	defer func() { a.open.Store(int64(len(a.tracked))) }()
	tr := a.tracked[c.Key]
	switch {
	case tr == nil && !c.Failing:
		return nil
	case tr == nil:
		iss := store.Issue{ID: secret.ID("iss_", 8), Key: c.Key, Kind: c.Kind, Error: c.Error, Summary: c.Summary,
			FirstSeen: now, LastSeen: now, Failures: 1, Requests: 1, Rate: 1, PeakRate: 1, UpdatedAt: now}
		got, created, err := a.cfg.Issues.OpenIssue(ctx, iss)
		if err != nil {
			return fmt.Errorf("observe: open issue %s: %w", c.Key, err)
		}
		a.tracked[c.Key] = &trackedIssue{id: got.ID, kind: c.Kind, lastSeen: now}
		if created {
			a.cfg.Logger.Error("issue opened: "+c.Summary, "event", "issue.opened", "issue_id", got.ID, "issue_key", c.Key)
			a.notify(EventIssueOpened, got)
		}
		return nil
	}
	var resolvedNow bool
	got, err := a.cfg.Issues.UpdateIssue(ctx, tr.id, func(iss store.Issue) (store.Issue, error) {
		resolvedNow = false
		if !iss.Open() {
			return iss, nil
		}
		iss.Requests++
		if c.Failing {
			iss.Failures++
			iss.LastSeen = now
			iss.Summary, iss.Error = c.Summary, c.Error
		} else {
			iss.ResolvedAt = now
			resolvedNow = true
		}
		iss.Rate = float64(iss.Failures) / float64(iss.Requests)
		iss.UpdatedAt = now
		return iss, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		delete(a.tracked, c.Key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("observe: update issue %s: %w", tr.id, err)
	}
	if !got.Open() {
		delete(a.tracked, c.Key)
		if resolvedNow {
			a.cfg.Logger.Info("issue resolved: "+got.Summary, "event", "issue.resolved", "issue_id", got.ID, "issue_key", c.Key)
			a.notify(EventIssueResolved, got)
		}
	}
	return nil
}
