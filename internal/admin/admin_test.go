package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
)

func TestHealthAndReadiness(t *testing.T) {
	r := newRig(t, nil)
	resp, err := http.Get(r.admin.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("/healthz = %d %q", resp.StatusCode, body)
	}
	resp, err = http.Get(r.admin.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Ready  bool
		Checks []struct {
			Name string
			OK   bool
		}
	}
	json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if resp.StatusCode != 200 || !ready.Ready || len(ready.Checks) != 3 {
		t.Fatalf("/readyz = %d %+v; want ready with database, signing_key and migrations", resp.StatusCode, ready)
	}
	for _, c := range ready.Checks {
		if !c.OK {
			t.Fatalf("check %s not ok", c.Name)
		}
	}
	// The database gone: not ready.
	r.s.Store.Close()
	resp, err = http.Get(r.admin.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database closed = %d; want 503", resp.StatusCode)
	}
}

// TestMetricsAfterAFullFlow scrapes /metrics as Prometheus does, parses the
// text format, and finds every route of a full flow.
func TestMetricsAfterAFullFlow(t *testing.T) {
	r := newRig(t, nil)
	r.flow("st-metrics")

	req, _ := http.NewRequest(http.MethodGet, r.admin.URL+"/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics Content-Type %q", resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	routes := map[string]bool{}
	for _, m := range fams["fdxd_http_requests_total"].GetMetric() {
		routes[label(m, "route")] = true
		if c := label(m, "code"); len(c) != 3 {
			t.Errorf("code label %q", c)
		}
	}
	for _, want := range []string{"authorize", "login", "token", "userinfo", "jwks", "discovery", "revoke", "introspect",
		"/fdx/v6/accounts", "/fdx/v6/customers/current"} {
		if !routes[want] {
			t.Errorf("no fdxd_http_requests_total{route=%q} after a full flow; routes: %v", want, routes)
		}
	}
	hist := fams["fdxd_http_request_duration_seconds"]
	if hist.GetType() != dto.MetricType_HISTOGRAM || len(hist.GetMetric()) < 10 {
		t.Fatalf("fdxd_http_request_duration_seconds: %v with %d series", hist.GetType(), len(hist.GetMetric()))
	}
	for _, name := range []string{"fdxd_oauth_codes_redeemed_total", "fdxd_oauth_refreshes_total", "fdxd_oauth_revocations_total"} {
		if v := fams[name].GetMetric(); len(v) != 1 || v[0].GetCounter().GetValue() < 1 {
			t.Errorf("%s = %v; want at least 1", name, v)
		}
	}
	for _, name := range []string{"fdxd_oauth_codes_replayed_total", "fdxd_request_records_dropped_total", "fdxd_open_issues",
		"fdxd_signing_key_age_seconds", "fdxd_signing_key_rotates_in_seconds",
		"fdxd_notifications_delivered_total", "go_goroutines", "process_open_fds"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	for _, m := range fams["fdxd_signing_key_age_seconds"].GetMetric() {
		if label(m, "state") == "" || label(m, "kid") == "" {
			t.Errorf("signing key age without kid or state: %v", m)
		}
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestAPIRequiresTheToken(t *testing.T) {
	r := newRig(t, nil)
	for _, auth := range []string{"", "Bearer wrong-token-0000000000", "Basic " + apiToken, apiToken} {
		req, _ := http.NewRequest(http.MethodGet, r.admin.URL+"/api/v1/issues", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 401 || e.Error != "unauthorized" || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: %d %q; want 401 unauthorized with a challenge", auth, resp.StatusCode, e.Error)
		}
	}
	// Without FDXD_ADMIN_TOKEN the API is off, whatever is sent.
	off := newRig(t, func(c *server.Config) { c.Observability.AdminToken = "" })
	req, _ := http.NewRequest(http.MethodGet, off.admin.URL+"/api/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer ")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("API without a configured token = %d; want 401", resp.StatusCode)
	}
}

func TestProfilerTakesTheToken(t *testing.T) {
	r := newRig(t, nil)
	resp, err := http.Get(r.admin.URL + "/debug/pprof/heap")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("/debug/pprof/heap without the token = %d; want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, r.admin.URL+"/debug/pprof/heap?debug=1", nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "heap profile") {
		t.Errorf("/debug/pprof/heap with the token = %d:\n%.200s", resp.StatusCode, body)
	}
	// The command line may carry a postgres:// URL with its password.
	req, _ = http.NewRequest(http.MethodGet, r.admin.URL+"/debug/pprof/cmdline", nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("/debug/pprof/cmdline = %d; want 404", resp.StatusCode)
	}
}

func TestAPIRefusesBadFilters(t *testing.T) {
	r := newRig(t, nil)
	cases := []struct {
		path   string
		status int
	}{
		{"/api/v1/requests?since=yesterday", 400},
		{"/api/v1/requests?since=2026-11-25T16:00:00Z&until=2026-11-25T15:00:00Z", 400},
		{"/api/v1/requests?status=6xx", 400},
		{"/api/v1/requests?status=abc", 400},
		{"/api/v1/requests?limit=0", 400},
		{"/api/v1/requests?limit=100000", 400},
		{"/api/v1/requests?before=-3", 400},
		{"/api/v1/requests?failures=maybe", 400},
		{"/api/v1/requests?state=" + strings.Repeat("s", 300), 400},
		{"/api/v1/issues?status=closed", 400},
		{"/api/v1/issues?limit=x", 400},
		{"/api/v1/bundle", 400},
		{"/api/v1/bundle?request_id=a&state=b", 400},
		{"/api/v1/bundle?state=st&since=2026-11-25&until=2026-11-24", 400},
		{"/api/v1/bundle?request_id=req_missing", 404},
		{"/api/v1/requests/req_missing", 404},
		{"/api/v1/issues/iss_missing", 404},
		{"/api/v1/nothing", 404},
	}
	for _, c := range cases {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if got := r.api(c.path, &e); got != c.status || e.Error == "" || e.Description == "" {
			t.Errorf("GET %s = %d %+v; want %d with a JSON error", c.path, got, e, c.status)
		}
		if strings.Contains(e.Description, "sqlite") {
			t.Errorf("GET %s leaks the backend: %q", c.path, e.Description)
		}
	}
}

// TestAPIMirrorsTheIssueCenter induces an error spike with the injected
// clock and follows it through the API: the issue, its trend, samples and
// records, the request, the bundle and the keys.
func TestAPIMirrorsTheIssueCenter(t *testing.T) {
	r := newRig(t, nil)
	s := r.s
	_, tok := r.flow("st-api-good")
	// A spike: 12 exchanges of made-up codes in 3 seconds.
	var failedIDs []string
	for i := range 12 {
		resp, _ := s.PostForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {"made-up-" + string(rune('a'+i))},
			"redirect_uri": {servertest.RedirectURI}}, servertest.ClientID, servertest.ClientSecret)
		failedIDs = append(failedIDs, resp.Header.Get("X-Request-ID"))
		if i%4 == 3 {
			s.Clock.Advance(time.Second)
		}
	}
	r.settle()
	if err := s.Server.Alerts().Evaluate(t.Context()); err != nil {
		t.Fatal(err)
	}

	var list struct{ Issues []observe.BundleIssue }
	if r.api("/api/v1/issues?status=open", &list) != 200 {
		t.Fatal("list issues")
	}
	var tokenIssue *observe.BundleIssue
	for i := range list.Issues {
		if list.Issues[i].Route == "token" {
			tokenIssue = &list.Issues[i]
		}
	}
	if tokenIssue == nil || tokenIssue.Error != "invalid_grant" || tokenIssue.Failures != 12 {
		t.Fatalf("open issues %+v; want the token endpoint's, 12 invalid_grant failures", list.Issues)
	}

	var detail struct {
		Issue   observe.BundleIssue
		Trend   []struct{ Requests, Failures int64 }
		Samples []struct {
			Error            string `json:"error"`
			Count            int    `json:"count"`
			ExampleRequestID string `json:"example_request_id"`
		}
		Records []struct {
			XRequestID string `json:"x_request_id"`
			Failure    bool   `json:"failure"`
		}
	}
	if r.api("/api/v1/issues/"+tokenIssue.ID, &detail) != 200 {
		t.Fatal("issue detail")
	}
	var trendFailures int64
	for _, p := range detail.Trend {
		trendFailures += p.Failures
	}
	if trendFailures != 12 || len(detail.Samples) != 1 || detail.Samples[0].Count != 12 || len(detail.Records) != 12 {
		t.Fatalf("issue detail: %d failures in the trend, samples %+v, %d records; want 12, one sample of 12, 12 records",
			trendFailures, detail.Samples, len(detail.Records))
	}

	var one struct {
		Record struct {
			XRequestID string            `json:"x_request_id"`
			HTTPStatus int               `json:"http_status"`
			ClientID   string            `json:"client_id"`
			Error      string            `json:"error"`
			Headers    map[string]string `json:"headers"`
		}
	}
	if r.api("/api/v1/requests/"+failedIDs[0], &one) != 200 {
		t.Fatal("request detail")
	}
	if one.Record.HTTPStatus != 400 || one.Record.ClientID != servertest.ClientID || one.Record.Error != "invalid_grant" ||
		one.Record.Headers["Authorization"] != "Basic [masked]" {
		t.Fatalf("request = %+v", one.Record)
	}

	var search struct {
		Records []struct {
			XRequestID string `json:"x_request_id"`
			State      string `json:"state"`
		}
		NextBefore int64 `json:"next_before"`
	}
	if r.api("/api/v1/requests?state=st-api-good", &search) != 200 || len(search.Records) == 0 {
		t.Fatalf("search by state found %+v", search)
	}
	if r.api("/api/v1/requests?route=token&status=4xx&limit=5", &search) != 200 || len(search.Records) != 5 || search.NextBefore == 0 {
		t.Fatalf("search by route and status class: %+v", search)
	}
	if r.api("/api/v1/requests?route=token&user="+servertest.Subject+"&failures=1", &search) != 200 || len(search.Records) != 0 {
		t.Fatalf("the user's token requests did not fail, found %+v", search.Records)
	}

	var bundle observe.Bundle
	if r.api("/api/v1/bundle?state=st-api-good", &bundle) != 200 {
		t.Fatal("bundle")
	}
	if bundle.Format != observe.BundleFormat || bundle.Ticket == nil || bundle.Ticket.State != "st-api-good" || len(bundle.Records) < 5 {
		t.Fatalf("bundle by state: ticket %+v, %d records", bundle.Ticket, len(bundle.Records))
	}
	body, _ := json.Marshal(bundle)
	if strings.Contains(string(body), tok.AccessToken) || strings.Contains(string(body), tok.RefreshToken) {
		t.Fatal("a token is in the bundle")
	}

	var keyList struct {
		Keys []struct {
			Kid, State string
		}
		NextRotation time.Time `json:"next_rotation"`
		Successor    string
	}
	if r.api("/api/v1/keys", &keyList) != 200 || len(keyList.Keys) != 2 || keyList.NextRotation.IsZero() || keyList.Successor == "" {
		t.Fatalf("keys = %+v; want an active key with a published successor", keyList)
	}
}

func TestPagesNeedASignIn(t *testing.T) {
	r := newRig(t, nil)
	b := r.newBrowser()
	for _, p := range []string{"/", "/issues", "/requests", "/keys", "/requests/req_x", "/bundle?request_id=x"} {
		resp, _ := b.get(p)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s signed out = %d → %q; want a redirect to /login", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp := b.login(adminUser, "wrong password!"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password = %d; want 401", resp.StatusCode)
	}
	// A sign-in form without its CSRF token is refused.
	resp, _ := b.post("/login", url.Values{"username": {adminUser}, "password": {adminPassword}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without the CSRF token = %d; want 403", resp.StatusCode)
	}
	// A cross-site POST is refused by the browser's signals.
	req, _ := http.NewRequest(http.MethodPost, r.admin.URL+"/login", strings.NewReader("username=ops"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := b.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site sign-in POST = %v %v; want 403", resp.StatusCode, err)
	}

	resp = b.login(adminUser, adminPassword)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/issues" {
		t.Fatalf("sign-in = %d → %q; want a redirect to next", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range resp.Cookies() {
		if c.Name == "fdxd_admin" && (!c.HttpOnly || c.SameSite != http.SameSiteStrictMode) {
			t.Fatalf("session cookie %+v; want HttpOnly and SameSite=Strict", c)
		}
	}
	for _, p := range []string{"/", "/?range=24h", "/issues", "/requests", "/requests?failures=1&status=5xx", "/keys",
		"/issues?fragment=live"} {
		resp, page := b.get(p)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET %s signed in = %d", p, resp.StatusCode)
		}
		if strings.Contains(page, "cdn") || strings.Contains(page, "<script>") {
			t.Errorf("GET %s: an inline or third-party script", p)
		}
	}
	if resp, page := b.get("/requests?since=never"); resp.StatusCode != 400 || !strings.Contains(page, "is not a time") {
		t.Errorf("a bad search = %d; want 400 with the reason on the page", resp.StatusCode)
	}
	if resp, _ := b.get("/issues/iss_missing"); resp.StatusCode != 404 {
		t.Errorf("an unknown issue = %d; want 404", resp.StatusCode)
	}

	// Signing out needs the session's CSRF token.
	if resp, _ := b.post("/logout", url.Values{"csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-out with a forged token = %d; want 403", resp.StatusCode)
	}
	_, page := b.get("/keys")
	m := hiddenCSRF.FindStringSubmatch(page)
	if resp, _ := b.post("/logout", url.Values{"csrf": {m[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out = %d", resp.StatusCode)
	}
	if resp, _ := b.get("/keys"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign-out GET /keys = %d; want a redirect to sign in", resp.StatusCode)
	}
}

func TestSignInIsRateLimited(t *testing.T) {
	r := newRig(t, nil)
	b := r.newBrowser()
	for i := range 5 {
		if resp := b.login(adminUser, "wrong-password-"+string(rune('a'+i))); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d; want 401", i+1, resp.StatusCode)
		}
	}
	if resp := b.login(adminUser, adminPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the right password after 5 failures = %d; want 429 until the limit refills", resp.StatusCode)
	}
	r.s.Clock.Advance(2 * time.Minute)
	if resp := b.login(adminUser, adminPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right password after the wait = %d; want a sign-in", resp.StatusCode)
	}
}

func TestRecordsKeepTheCorrelationFields(t *testing.T) {
	r := newRig(t, nil)
	r.flow("st-correlate")
	r.settle()
	rs, err := r.s.Store.ListRequestRecords(t.Context(), store.RecordQuery{State: "st-correlate"})
	if err != nil || len(rs) == 0 {
		t.Fatalf("records with the state: %v %v", rs, err)
	}
	session := ""
	for _, rec := range rs {
		if rec.OAuthSessionID != "" {
			session = rec.OAuthSessionID
		}
	}
	all, err := r.s.Store.ListRequestRecords(t.Context(), store.RecordQuery{OAuthSessionID: session})
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	for _, rec := range all {
		routes[rec.Route] = true
		if rec.Time.IsZero() || rec.RequestID == "" || rec.Method == "" {
			t.Fatalf("record without time, id or method: %+v", rec)
		}
	}
	for _, want := range []string{"authorize", "login", "token"} {
		if !routes[want] {
			t.Errorf("the oauth_session_id ties no %s record: %v", want, routes)
		}
	}
}
