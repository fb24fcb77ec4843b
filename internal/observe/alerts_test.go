package observe_test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/keys"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "fdxd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// events collects what the alert engine notifies.
type events struct {
	mu   sync.Mutex
	list []observe.IssueEvent
}

func (e *events) add(ev observe.IssueEvent) { e.mu.Lock(); e.list = append(e.list, ev); e.mu.Unlock() }

func (e *events) names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		out = append(out, ev.Event+" "+ev.Issue.Key)
	}
	return out
}

// engine is one replica's traffic counter and alert rule.
type engine struct {
	traffic *observe.Traffic
	alerts  *observe.Alerts
}

type alertRig struct {
	t      *testing.T
	clock  *clock
	st     *sqlite.Store
	cfg    observe.AlertConfig
	known  func(string) bool
	events *events
	// engine is the first replica; more share its store and clock.
	*engine
}

func newAlertRig(t *testing.T, cfg observe.AlertConfig) *alertRig {
	return newAlertRigKnowing(t, cfg, nil)
}

// newAlertRigKnowing is newAlertRig with only the clients known reports
// counted under their own id.
func newAlertRigKnowing(t *testing.T, cfg observe.AlertConfig, known func(string) bool) *alertRig {
	t.Helper()
	r := &alertRig{t: t, clock: &clock{t: time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)}, st: openStore(t), events: &events{},
		known: known}
	if cfg.Window == 0 {
		cfg.Window = time.Minute
	}
	if cfg.QuietPeriod == 0 {
		cfg.QuietPeriod = 2 * time.Minute
	}
	r.cfg = cfg
	r.engine = r.replica()
	return r
}

// replica starts another replica's engine on the rig's store and clock.
func (r *alertRig) replica() *engine {
	r.t.Helper()
	tr, err := observe.NewTraffic(observe.TrafficConfig{Store: r.st, Now: r.clock.Now, AlertWindow: r.cfg.Window,
		Resolution: time.Second, KnownClient: r.known})
	if err != nil {
		r.t.Fatal(err)
	}
	cfg := r.cfg
	cfg.Store, cfg.Traffic, cfg.Now, cfg.Notify = r.st, tr, r.clock.Now, r.events.add
	a, err := observe.NewAlerts(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return &engine{traffic: tr, alerts: a}
}

// send feeds n requests to route from client, failing as code and status say.
func (r *alertRig) send(n int, route, client string, status int, code string) {
	r.sendTo(r.engine, n, route, client, status, code)
}

func (r *alertRig) sendTo(e *engine, n int, route, client string, status int, code string) {
	for range n {
		rec := &observe.Record{RequestID: observe.NewRequestID(), Time: r.clock.Now(), Route: route, Method: "POST",
			Status: status, ClientID: client, Error: code, Duration: time.Millisecond}
		if code == "access_denied" {
			rec.UserDecision = true
		}
		e.traffic.Sink(rec)
	}
}

func (r *alertRig) evaluate() {
	r.t.Helper()
	r.evaluateOn(r.engine)
}

func (r *alertRig) evaluateOn(e *engine) {
	r.t.Helper()
	if err := e.alerts.Evaluate(r.t.Context()); err != nil {
		r.t.Fatalf("evaluate: %v", err)
	}
}

func (r *alertRig) issues(status string) []store.Issue {
	r.t.Helper()
	is, err := r.st.ListIssues(r.t.Context(), store.IssueQuery{Status: status})
	if err != nil {
		r.t.Fatal(err)
	}
	return is
}

func (r *alertRig) openKeys() []string {
	var keys []string
	for _, i := range r.issues("open") {
		keys = append(keys, i.Key)
	}
	return keys
}

func TestAlertThresholdIsStrictlyAboveTwoPercent(t *testing.T) {
	r := newAlertRig(t, observe.AlertConfig{})
	r.send(98, "token", "", 200, "")
	r.send(2, "token", "", 400, "invalid_grant")
	r.evaluate()
	if got := r.openKeys(); len(got) != 0 {
		t.Fatalf("2 failures in 100 (exactly 2 %%) opened %v; want nothing", got)
	}
	r.send(1, "token", "", 500, "server_error")
	r.evaluate()
	open := r.issues("open")
	if len(open) != 1 || open[0].Key != "error_rate:route:token" {
		t.Fatalf("3 failures in 101 opened %v; want the token endpoint's issue", r.openKeys())
	}
	iss := open[0]
	if iss.Failures != 3 || iss.Requests != 101 || iss.Route != "token" || iss.Error != "invalid_grant" {
		t.Fatalf("issue = %+v; want 3 failures of 101 on token, mostly invalid_grant", iss)
	}
	if !strings.Contains(iss.Summary, "3.0% of 101 requests") {
		t.Fatalf("summary = %q", iss.Summary)
	}
	if got := r.events.names(); len(got) != 1 || got[0] != "issue.opened error_rate:route:token" {
		t.Fatalf("notified %v; want one issue.opened", got)
	}
	if r.alerts.OpenIssues() != 1 {
		t.Fatalf("OpenIssues = %d; want 1", r.alerts.OpenIssues())
	}
}

func TestAlertMinimumVolume(t *testing.T) {
	r := newAlertRig(t, observe.AlertConfig{MinVolume: 20})
	r.send(19, "userinfo", "", 503, "temporarily_unavailable")
	r.evaluate()
	if got := r.openKeys(); len(got) != 0 {
		t.Fatalf("19 failing requests opened %v; want nothing below the minimum volume of 20", got)
	}
	r.send(1, "userinfo", "", 503, "temporarily_unavailable")
	r.evaluate()
	if got := r.openKeys(); len(got) != 1 || got[0] != "error_rate:route:userinfo" {
		t.Fatalf("20 failing requests opened %v; want the userinfo issue", got)
	}
}

func TestAlertCountsOnlyFailures(t *testing.T) {
	r := newAlertRig(t, observe.AlertConfig{MinVolume: 10})
	// The user's Cancel, a mistyped password and an unknown path are not
	// failures however many there are.
	r.send(50, "authorize", "", 302, "access_denied")
	r.send(50, "login", "", 200, "login_failed")
	r.send(50, "not_found", "", 404, "not_found")
	r.send(50, "discovery", "", 200, "")
	r.evaluate()
	if got := r.openKeys(); len(got) != 0 {
		t.Fatalf("access_denied, login_failed and not_found opened %v; want nothing", got)
	}
	// FDX errors and 5xx are.
	r.send(20, "/fdx/v6/accounts/{accountId}", "", 404, "701")
	r.send(20, "jwks", "", 500, "")
	r.evaluate()
	got := strings.Join(r.openKeys(), " ")
	if !strings.Contains(got, "error_rate:route:/fdx/v6/accounts/{accountId}") || !strings.Contains(got, "error_rate:route:jwks") {
		t.Fatalf("open issues %q; want the FDX route's and jwks'", got)
	}
}

func TestAlertPerClientOnlyForKnownClients(t *testing.T) {
	r := newAlertRigKnowing(t, observe.AlertConfig{MinVolume: 10}, func(id string) bool { return id == "plaid" })
	// Plaid fails at the token endpoint while others succeed there: the
	// endpoint's rate stays low, the client's does not.
	r.send(500, "token", "other", 200, "")
	r.send(10, "token", "plaid", 400, "invalid_client")
	// An unknown client id sprayed at /authorize gets no window of its own.
	r.send(30, "authorize", "made-up-client", 400, "unknown_client")
	r.evaluate()
	got := strings.Join(r.openKeys(), " ")
	if !strings.Contains(got, "error_rate:client:plaid") || !strings.Contains(got, "error_rate:route:authorize") {
		t.Fatalf("open issues %q; want plaid's and authorize's", got)
	}
	if strings.Contains(got, "route:token") || strings.Contains(got, "made-up-client") || strings.Contains(got, "other") {
		t.Fatalf("open issues %q; want none for the token endpoint or unknown or healthy clients", got)
	}
}

func TestAlertResolvesAfterQuietPeriod(t *testing.T) {
	r := newAlertRig(t, observe.AlertConfig{Window: time.Minute, QuietPeriod: 5 * time.Minute, MinVolume: 20})
	r.send(20, "token", "", 400, "invalid_grant")
	r.evaluate()
	if len(r.openKeys()) != 1 {
		t.Fatal("spike did not open an issue")
	}
	// Failures keep coming a little: counted into the open issue.
	r.clock.Advance(10 * time.Second)
	r.send(5, "token", "", 400, "invalid_grant")
	r.evaluate()
	iss := r.issues("open")[0]
	if iss.Failures != 25 || iss.Requests != 25 {
		t.Fatalf("open issue counts %d/%d; want 25/25", iss.Failures, iss.Requests)
	}

	// Healthy traffic, once the spike has left the window.
	r.clock.Advance(time.Minute)
	r.send(100, "token", "", 200, "")
	r.evaluate() // healthy from here
	healthyFrom := r.clock.Now()
	r.clock.Advance(4*time.Minute + 59*time.Second)
	r.send(100, "token", "", 200, "")
	r.evaluate()
	if len(r.issues("open")) != 1 {
		t.Fatal("resolved before the quiet period passed")
	}
	// One failure in 101 (below 2 %) does not reset the quiet period.
	r.send(1, "token", "", 400, "invalid_grant")
	r.clock.Advance(time.Second)
	r.evaluate()
	resolved := r.issues("resolved")
	if len(resolved) != 1 {
		t.Fatalf("open after %v of quiet; want resolved", r.clock.Now().Sub(healthyFrom))
	}
	if got := resolved[0]; !got.ResolvedAt.Equal(r.clock.Now()) || got.Failures != 26 || got.Requests != 226 {
		t.Fatalf("resolved issue = %+v; want resolved now with 26 of 226 counted", got)
	}
	if got := r.events.names(); len(got) != 2 || got[1] != "issue.resolved error_rate:route:token" {
		t.Fatalf("notified %v; want opened then resolved", got)
	}
	if r.alerts.OpenIssues() != 0 {
		t.Fatalf("OpenIssues = %d after resolution", r.alerts.OpenIssues())
	}

	// A new spike opens a new issue.
	r.send(30, "token", "", 400, "invalid_grant")
	r.evaluate()
	if open := r.issues("open"); len(open) != 1 || open[0].ID == resolved[0].ID {
		t.Fatalf("a new spike: open issues %+v; want a new one", open)
	}
}

func TestAlertRelapseResetsQuietPeriod(t *testing.T) {
	r := newAlertRig(t, observe.AlertConfig{Window: time.Minute, QuietPeriod: 3 * time.Minute, MinVolume: 20})
	r.send(30, "token", "", 400, "invalid_grant")
	r.evaluate()
	r.clock.Advance(2 * time.Minute) // the window is empty: healthy
	r.evaluate()
	r.clock.Advance(2 * time.Minute)
	r.send(10, "token", "", 400, "invalid_grant") // relapse, under the minimum volume: still counts against quiet
	r.evaluate()
	r.clock.Advance(2 * time.Minute)
	r.evaluate()
	if len(r.issues("open")) != 1 {
		t.Fatal("resolved although the rate rose again inside the quiet period")
	}
	r.clock.Advance(3 * time.Minute)
	r.evaluate()
	if len(r.issues("resolved")) != 1 {
		t.Fatal("not resolved after a full quiet period")
	}
}

func TestAlertIssuesOutliveTheirEngine(t *testing.T) {
	r := newAlertRig(t, observe.AlertConfig{QuietPeriod: time.Minute, MinVolume: 20})
	r.send(30, "revoke", "", 500, "server_error")
	r.evaluate()
	// A restart: a new engine over the same store follows the issue the
	// old one opened, from the store alone.
	again := r.replica()
	r.evaluateOn(again)
	if again.alerts.OpenIssues() != 1 {
		t.Fatalf("the new engine sees %d open issues; want 1", again.alerts.OpenIssues())
	}
	r.clock.Advance(time.Minute) // the spike leaves the window: healthy from here
	r.evaluateOn(again)
	r.clock.Advance(time.Minute)
	r.evaluateOn(again)
	if len(r.issues("resolved")) != 1 {
		t.Fatal("an issue without traffic did not resolve after the quiet period")
	}
	if got := r.events.names(); len(got) != 2 || got[1] != "issue.resolved error_rate:route:revoke" {
		t.Fatalf("notified %v; want opened, then resolved by the new engine", got)
	}
}

// TestAlertWindowsAreSharedByReplicas: three replicas each see failures
// below the minimum volume; together they are above it, and exactly one
// issue opens, counting all of them. A replica whose own traffic is
// healthy does not resolve it while another still fails, and it resolves
// once, after the quiet period of the combined traffic.
func TestAlertWindowsAreSharedByReplicas(t *testing.T) {
	r := newAlertRig(t, observe.AlertConfig{Window: time.Minute, QuietPeriod: 2 * time.Minute, MinVolume: 20})
	replicas := []*engine{r.engine, r.replica(), r.replica()}
	for i, e := range replicas {
		r.sendTo(e, 8, "token", "", 400, "invalid_grant")
		r.evaluateOn(e)
		if open := r.openKeys(); i < 2 && len(open) != 0 {
			t.Fatalf("%d failures opened %v; want nothing below the minimum volume", 8*(i+1), open)
		}
	}
	for _, e := range replicas {
		r.evaluateOn(e)
	}
	open := r.issues("open")
	if len(open) != 1 || open[0].Key != "error_rate:route:token" || open[0].Failures != 24 || open[0].Requests != 24 {
		t.Fatalf("open issues %+v; want one on the token endpoint counting 24 of 24", open)
	}
	// Failures go on on replica A; B and C serve healthy traffic. Each
	// flush counts its replica's share into the issue.
	for range 3 {
		r.clock.Advance(20 * time.Second)
		r.sendTo(replicas[0], 5, "token", "", 400, "invalid_grant")
		r.sendTo(replicas[1], 50, "token", "", 200, "")
		r.sendTo(replicas[2], 50, "token", "", 200, "")
		for _, e := range replicas[1:] {
			r.evaluateOn(e)
		}
		r.evaluateOn(replicas[0])
	}
	r.clock.Advance(3 * time.Minute)
	for _, e := range replicas[1:] {
		r.evaluateOn(e) // B and C alone see nothing failing now, but have seen A's failures until now
	}
	if len(r.issues("resolved")) != 0 {
		t.Fatal("resolved although the combined window failed until a moment ago")
	}
	iss := r.issues("open")[0]
	if iss.Failures != 24+15 || iss.Requests != 24+15+300 {
		t.Fatalf("issue counts %d of %d; want %d of %d", iss.Failures, iss.Requests, 24+15, 24+15+300)
	}
	r.clock.Advance(2 * time.Minute)
	for _, e := range replicas {
		r.evaluateOn(e)
	}
	if len(r.issues("resolved")) != 1 || len(r.issues("open")) != 0 {
		t.Fatal("not resolved after the quiet period")
	}
	if got := r.events.names(); len(got) != 2 || got[0] != "issue.opened error_rate:route:token" ||
		got[1] != "issue.resolved error_rate:route:token" {
		t.Fatalf("notified %v; want one opened and one resolved across the replicas", got)
	}
}

// TestAlertFlappingReplicaCannotResolve: replica B's traffic is healthy
// while replica A's fails; under per-replica windows B would have started
// and finished a quiet period of its own.
func TestAlertFlappingReplicaCannotResolve(t *testing.T) {
	r := newAlertRig(t, observe.AlertConfig{Window: time.Minute, QuietPeriod: 30 * time.Second, MinVolume: 20})
	a, b := r.engine, r.replica()
	r.sendTo(a, 30, "userinfo", "", 503, "temporarily_unavailable")
	r.evaluateOn(a)
	for range 12 {
		r.clock.Advance(5 * time.Second)
		r.sendTo(a, 2, "userinfo", "", 503, "temporarily_unavailable")
		r.sendTo(b, 20, "userinfo", "", 200, "")
		r.evaluateOn(a)
		r.evaluateOn(b)
	}
	if resolved := r.issues("resolved"); len(resolved) != 0 {
		t.Fatalf("resolved %+v while replica A still failed above the threshold", resolved)
	}
}

func TestReplicaConditionsAreTheirReplicasOwn(t *testing.T) {
	r := newAlertRig(t, observe.AlertConfig{ReplicaStaleAfter: 5 * time.Minute})
	a, b := r.engine, r.replica()
	jwks := []byte(`{"keys":[]}`)
	if err := a.alerts.SetCondition(t.Context(), observe.JWKSCondition(jwks, "kid-a", "replica-a")); err != nil {
		t.Fatal(err)
	}
	// B's own JWKS is fine: that resolves nothing of A's.
	good := []byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"kid-a","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","use":"sig","alg":"ES256"}]}`)
	if err := b.alerts.SetCondition(t.Context(), observe.JWKSCondition(good, "kid-a", "replica-b")); err != nil {
		t.Fatal(err)
	}
	open := r.issues("open")
	if len(open) != 1 || open[0].Key != "jwks_self_check:replica-a" || !strings.Contains(open[0].Summary, "replica-a") {
		t.Fatalf("open issues %+v; want replica A's JWKS issue, untouched by B's passing check", open)
	}
	// A keeps confirming it: it stays open however long that lasts.
	for range 3 {
		r.clock.Advance(4 * time.Minute)
		if err := a.alerts.SetCondition(t.Context(), observe.JWKSCondition(jwks, "kid-a", "replica-a")); err != nil {
			t.Fatal(err)
		}
		r.evaluateOn(b)
	}
	if len(r.issues("open")) != 1 {
		t.Fatal("a confirmed replica issue was resolved")
	}
	// A stops: once it has not confirmed the issue for ReplicaStaleAfter,
	// B resolves it.
	r.clock.Advance(4 * time.Minute)
	r.evaluateOn(b)
	if len(r.issues("open")) != 1 {
		t.Fatal("resolved before the replica was stale")
	}
	r.clock.Advance(time.Minute)
	r.evaluateOn(b)
	if len(r.issues("open")) != 0 || len(r.issues("resolved")) != 1 {
		t.Fatal("the issue of a replica that stopped was not resolved")
	}
	if got := r.events.names(); len(got) != 2 || got[1] != "issue.resolved jwks_self_check:replica-a" {
		t.Fatalf("notified %v; want opened then resolved", got)
	}
}

func TestConditionsOpenAndResolve(t *testing.T) {
	r := newAlertRig(t, observe.AlertConfig{})
	failing := observe.Condition{Key: observe.ConditionKeyRotation, Kind: store.IssueKeyRotation, Failing: true,
		Error: "no_successor_key", Summary: "signing key kid-a is due to rotate and no successor is published"}
	for range 3 {
		if err := r.alerts.SetCondition(t.Context(), failing); err != nil {
			t.Fatal(err)
		}
	}
	open := r.issues("open")
	if len(open) != 1 || open[0].Failures != 3 || open[0].Kind != store.IssueKeyRotation {
		t.Fatalf("open issues %+v; want one key rotation issue counting 3 failed checks", open)
	}
	// Another replica (reading the same keys) finds the check passing.
	other := r.replica()
	if err := other.alerts.SetCondition(t.Context(), observe.Condition{Key: observe.ConditionKeyRotation, Kind: store.IssueKeyRotation}); err != nil {
		t.Fatal(err)
	}
	if len(r.issues("open")) != 0 || len(r.issues("resolved")) != 1 {
		t.Fatal("a passing check did not resolve its issue")
	}
	if err := r.alerts.SetCondition(t.Context(), observe.Condition{Key: "error_rate:route:x"}); err == nil {
		t.Fatal("a condition may not use an error-rate key")
	}
}

func TestSigningKeyCondition(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	active := keys.KeyInfo{ID: "kid-a", State: "active", ActivatedAt: now.Add(-80 * 24 * time.Hour), RotatesAt: now.Add(10 * 24 * time.Hour)}
	next := keys.KeyInfo{ID: "kid-n", State: "next", PublishedAt: now.Add(-time.Hour)}
	cases := []struct {
		name    string
		list    []keys.KeyInfo
		now     time.Time
		failing bool
		code    string
	}{
		{"successor published", []keys.KeyInfo{active, next}, now, false, ""},
		{"far from rotation without successor", []keys.KeyInfo{active}, now, false, ""},
		{"within a day of rotation without successor", []keys.KeyInfo{active}, active.RotatesAt.Add(-23 * time.Hour), true, "no_successor_key"},
		{"overdue without successor", []keys.KeyInfo{active}, active.RotatesAt.Add(time.Hour), true, "no_successor_key"},
		{"overdue with successor", []keys.KeyInfo{active, next}, active.RotatesAt.Add(time.Hour), false, ""},
		{"no active key", []keys.KeyInfo{next}, now, true, "no_active_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := observe.SigningKeyCondition(c.list, c.now)
			if got.Failing != c.failing || got.Error != c.code {
				t.Fatalf("failing %v, %q (%s); want %v, %q", got.Failing, got.Error, got.Summary, c.failing, c.code)
			}
		})
	}
}

func TestJWKSCondition(t *testing.T) {
	jwks := []byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"kid-a","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","use":"sig","alg":"ES256"}]}`)
	if c := observe.JWKSCondition(jwks, "kid-a", "r1"); c.Failing || c.Key != "jwks_self_check:r1" {
		t.Fatalf("the published kid: %+v; want a passing check keyed by the replica", c)
	}
	if c := observe.JWKSCondition(jwks, "kid-b", "r1"); !c.Failing || c.Error != "kid_not_found" {
		t.Fatalf("a missing kid: %+v; want kid_not_found", c)
	}
	if c := observe.JWKSCondition([]byte("<html>"), "kid-a", "r1"); !c.Failing || c.Error != "jwks_invalid" {
		t.Fatalf("a JWKS that does not parse: %+v; want jwks_invalid", c)
	}
}
