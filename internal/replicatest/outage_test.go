package replicatest

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/postgres/pgtest"
)

// requestDeadline is the deadline fdxd gives every request (server.Config
// RequestTimeout's default); no answer may take longer, whatever the
// database does.
const requestDeadline = 10 * time.Second

// verdict classifies one answer.
type verdict int

const (
	answeredOK  verdict = iota // the normal answer
	cleanlyDown                // a 503 as the contract says: temporarily_unavailable or the FDX 503 body, with Retry-After
	broken                     // anything else: a 500, a wrong body, a transport error, a hang
)

// loadRecorder counts answers by phase, kind and status, and keeps what
// the recovery check and the report need.
type loadRecorder struct {
	phase atomic.Pointer[string]

	mu        sync.Mutex // guards the fields below
	counts    map[string]int
	brokenLog []string
	slowest   time.Duration
	// lastDown and firstUp: per "replica kind", when the last clean 503
	// ended and when the first 200 of a request started after since began.
	since    time.Time
	firstUp  map[string]time.Time
	lastDown map[string]time.Time
}

func newLoadRecorder() *loadRecorder {
	r := &loadRecorder{counts: map[string]int{}, firstUp: map[string]time.Time{}, lastDown: map[string]time.Time{}}
	r.setPhase("before")
	return r
}

func (r *loadRecorder) setPhase(p string) {
	r.phase.Store(&p)
	if strings.HasPrefix(p, "recovering") {
		r.mu.Lock()
		r.since = time.Now()
		clear(r.firstUp)
		r.mu.Unlock()
	}
}

func (r *loadRecorder) currentPhase() string { return *r.phase.Load() }

// record notes one answer of replica to a request of kind that started in
// phase at began.
// A request that ends in another phase than it began in is counted under
// both, "before>cut": it straddles a change and belongs to neither.
func (r *loadRecorder) record(phase, kind string, replica int, began time.Time, status int, v verdict, detail string) {
	took := time.Since(began)
	if now := r.currentPhase(); now != phase {
		phase += ">" + now
	}
	if took > requestDeadline+time.Second && v != broken {
		v, detail = broken, fmt.Sprintf("answered after %v, beyond the %v request deadline", took.Round(time.Millisecond), requestDeadline)
	}
	name := [...]string{"ok", "503", "BROKEN"}[v]
	key := fmt.Sprintf("%s %s %d %s", phase, kind, status, name)
	id := fmt.Sprintf("%c %s", 'A'+replica, kind)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[key]++
	r.slowest = max(r.slowest, took)
	switch v {
	case broken:
		if len(r.brokenLog) < 20 {
			r.brokenLog = append(r.brokenLog, fmt.Sprintf("[%s] replica %c %s: %d %s", phase, 'A'+replica, kind, status, detail))
		}
	case cleanlyDown:
		r.lastDown[id] = time.Now()
	case answeredOK:
		if !r.since.IsZero() && began.After(r.since) {
			if _, seen := r.firstUp[id]; !seen {
				r.firstUp[id] = time.Now()
			}
		}
	}
}

// upOnAll reports whether every replica has answered a request of each
// kind with its normal answer since the recovery began, and how long after.
func (r *loadRecorder) upOnAll(replicas int, kinds []string) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var latest time.Time
	for i := range replicas {
		for _, k := range kinds {
			at, ok := r.firstUp[fmt.Sprintf("%c %s", 'A'+i, k)]
			if !ok {
				return 0, false
			}
			if at.After(latest) {
				latest = at
			}
		}
	}
	return latest.Sub(r.since), true
}

// count sums the answers whose key has every one of parts.
func (r *loadRecorder) count(parts ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, v := range r.counts {
		fields := strings.Fields(k)
		if containsAll(fields, parts) {
			n += v
		}
	}
	return n
}

// countTouching is count with the phase matched loosely: answers that
// began or ended in phase count too.
func (r *loadRecorder) countTouching(phase string, parts ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, v := range r.counts {
		fields := strings.Fields(k)
		if slices.Contains(strings.Split(fields[0], ">"), phase) && containsAll(fields[1:], parts) {
			n += v
		}
	}
	return n
}

func containsAll(fields, parts []string) bool {
	for _, p := range parts {
		if !slices.Contains(fields, p) {
			return false
		}
	}
	return true
}

func (r *loadRecorder) table() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]string, 0, len(r.counts))
	for k := range r.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-48s %7d\n", k, r.counts[k])
	}
	fmt.Fprintf(&b, "  slowest answer: %v\n", r.slowest.Round(time.Millisecond))
	return b.String()
}

// oauthUnavailable checks a 503 of an OAuth JSON endpoint:
// temporarily_unavailable with a Retry-After.
func oauthUnavailable(status int, h http.Header, body []byte) (verdict, string) {
	var e struct {
		Error string `json:"error"`
	}
	if status != http.StatusServiceUnavailable {
		return broken, string(clip(body))
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error != "temporarily_unavailable" {
		return broken, "503 without temporarily_unavailable: " + string(clip(body))
	}
	if !validRetryAfter(h) {
		return broken, "503 temporarily_unavailable without a valid Retry-After"
	}
	return cleanlyDown, ""
}

// fdxUnavailable checks a 503 of the FDX API: the FDX error body with code
// 503, and a Retry-After.
func fdxUnavailable(status int, h http.Header, body []byte) (verdict, string) {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if status != http.StatusServiceUnavailable {
		return broken, string(clip(body))
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Code != 503 || e.Message == "" {
		return broken, "503 without the FDX error body: " + string(clip(body))
	}
	if !validRetryAfter(h) {
		return broken, "FDX 503 without a valid Retry-After"
	}
	return cleanlyDown, ""
}

// pageUnavailable checks a 503 page of the browser endpoints.
func pageUnavailable(status int, h http.Header, body []byte) (verdict, string) {
	if status != http.StatusServiceUnavailable {
		return broken, string(clip(body))
	}
	if !strings.Contains(string(body), "temporarily_unavailable") || !validRetryAfter(h) {
		return broken, "503 page without temporarily_unavailable or Retry-After"
	}
	return cleanlyDown, ""
}

func validRetryAfter(h http.Header) bool {
	n, err := strconv.Atoi(h.Get("Retry-After"))
	return err == nil && n > 0
}

func clip(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}

// loadClient is the HTTP client of the load: its timeout is well past the
// request deadline, so a hang is seen as a slow answer, not hidden.
func loadClient() *http.Client {
	return &http.Client{Timeout: 2 * requestDeadline,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends req and returns the status, header and body, or the transport
// error.
func do(client *http.Client, req *http.Request) (int, http.Header, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body, err
}

// exchangeAttempt is one code exchange tried under load.
type exchangeAttempt struct {
	code    string
	status  int // 0: transport error
	refresh string
}

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// flowUnderLoad signs in through the load balancer (each hop on the next
// replica, round robin) and exchanges the code, recording every hop. It
// returns the exchange attempt, when the flow got that far.
func (c *cluster) flowUnderLoad(rec *loadRecorder, client *http.Client) (exchangeAttempt, bool) {
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: client.Timeout, Transport: client.Transport, CheckRedirect: client.CheckRedirect}
	// hop runs one request through the balancer and classifies it with
	// judge; replica is read from the balancer's answer header.
	hop := func(kind string, req *http.Request, judge func(int, http.Header, []byte) (verdict, string, bool)) (int, http.Header, []byte, bool) {
		phase, began := rec.currentPhase(), time.Now()
		status, h, body, err := do(browser, req)
		replica := 0
		if h != nil {
			replica, _ = strconv.Atoi(h.Get(backendHeader))
		}
		if err != nil {
			rec.record(phase, kind, replica, began, 0, broken, err.Error())
			return 0, nil, nil, false
		}
		v, detail, proceed := judge(status, h, body)
		rec.record(phase, kind, replica, began, status, v, detail)
		return status, h, body, proceed
	}
	toClient := func(h http.Header) (*url.URL, bool) {
		u, err := url.Parse(h.Get("Location"))
		return u, err == nil && strings.HasPrefix(u.String(), redirectURI)
	}
	// redirected judges a redirect to the client: a code goes on, a
	// temporarily_unavailable error is a clean refusal.
	redirected := func(h http.Header) (verdict, string, bool) {
		u, _ := toClient(h)
		switch {
		case u.Query().Get("code") != "":
			return answeredOK, "", true
		case u.Query().Get("error") == "temporarily_unavailable":
			return cleanlyDown, "", false
		}
		return broken, "redirect to the client with " + u.RawQuery, false
	}

	req, _ := http.NewRequest(http.MethodGet, c.authorizeURL("st-"+secret.ID("", 6)), nil)
	_, h, _, ok := hop("authorize", req, func(status int, h http.Header, body []byte) (verdict, string, bool) {
		if status/100 == 3 {
			if _, out := toClient(h); out {
				return redirected(h)
			}
			return answeredOK, "", true
		}
		v, d := pageUnavailable(status, h, body)
		return v, d, false
	})
	if !ok {
		return exchangeAttempt{}, false
	}
	loginURL, err := url.Parse(c.lb.url)
	if err == nil {
		loginURL, err = loginURL.Parse(h.Get("Location"))
	}
	if err != nil {
		return exchangeAttempt{}, false
	}
	req, _ = http.NewRequest(http.MethodGet, loginURL.String(), nil)
	_, _, page, ok := hop("login-page", req, func(status int, h http.Header, body []byte) (verdict, string, bool) {
		if status == http.StatusOK && formAction.Match(body) {
			return answeredOK, "", true
		}
		v, d := pageUnavailable(status, h, body)
		return v, d, false
	})
	if !ok {
		return exchangeAttempt{}, false
	}
	form := url.Values{"username": {username}, "password": {userPassword}, "action": {"login"}}
	for _, m := range hiddenInput.FindAllSubmatch(page, -1) {
		form.Set(string(m[1]), html.UnescapeString(string(m[2])))
	}
	action := html.UnescapeString(string(formAction.FindSubmatch(page)[1]))
	req, _ = http.NewRequest(http.MethodPost, c.lb.url+action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.lb.url)
	_, h, _, ok = hop("login", req, func(status int, h http.Header, body []byte) (verdict, string, bool) {
		if status/100 == 3 {
			if _, out := toClient(h); out {
				return redirected(h)
			}
			return broken, "login redirected within the server: " + h.Get("Location"), false
		}
		v, d := pageUnavailable(status, h, body)
		return v, d, false
	})
	if !ok {
		return exchangeAttempt{}, false
	}
	u, _ := toClient(h)
	attempt := exchangeAttempt{code: u.Query().Get("code")}
	form = url.Values{"grant_type": {"authorization_code"}, "code": {attempt.code}, "redirect_uri": {redirectURI}}
	req, _ = http.NewRequest(http.MethodPost, c.lb.url+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	hop("exchange", req, func(status int, h http.Header, body []byte) (verdict, string, bool) {
		attempt.status = status
		if status == http.StatusOK {
			var tb tokenBody
			if err := json.Unmarshal(body, &tb); err != nil || tb.RefreshToken == "" {
				return broken, "200 without a refresh token", false
			}
			attempt.refresh = tb.RefreshToken
			return answeredOK, "", true
		}
		v, d := oauthUnavailable(status, h, body)
		return v, d, false
	})
	return attempt, true
}

// TestOutageUnderLoad hammers token refresh, discovery, the FDX accounts
// endpoint and whole sign-in flows on three replicas while the network to
// PostgreSQL is cut, then hangs, then the server ends every session, then
// the network partitions (every byte held for longer than the request
// deadline).
// Every answer is a 200 or a clean 503; none is a 500, none takes longer
// than the request deadline, no process dies; service resumes within
// seconds of each fault without a restart; and every grant in the
// database is one a code exchange made: none lost, none twice.
func TestOutageUnderLoad(t *testing.T) {
	direct := pgtest.NewDatabase(t)
	proxy, viaProxy := pgtest.ProxyFor(t, direct)
	c := startCluster(t, clusterOptions{dbURL: viaProxy, directURL: direct,
		args: []string{"--db-max-conns", "4", "--db-connect-timeout", "1s"}})

	// Grants for the refresh and FDX load, made before the faults.
	const grants = 3
	var refreshTokens, accessTokens []string
	for i := range grants {
		res := c.signIn(t, c.authorizeURL(fmt.Sprint("st-setup-", i)), func(*http.Request) int { return i % len(c.replicas) })
		call := postToken(http.DefaultClient, c.lb.url, i%len(c.replicas),
			url.Values{"grant_type": {"authorization_code"}, "code": {res.Code()}, "redirect_uri": {redirectURI}})
		if call.status != http.StatusOK {
			t.Fatalf("setup exchange %d: %d %+v %v", i, call.status, call.body, call.err)
		}
		refreshTokens = append(refreshTokens, call.body.RefreshToken)
		accessTokens = append(accessTokens, call.body.AccessToken)
	}

	rec := newLoadRecorder()
	stop := make(chan struct{})
	var (
		wg        sync.WaitGroup
		attemptMu sync.Mutex
		attempts  []exchangeAttempt
		next      atomic.Uint64
	)
	replicaFor := func() int { return int(next.Add(1) % uint64(len(c.replicas))) }
	hammer := func(kind string, request func(replica int) *http.Request, judge func(int, http.Header, []byte) (verdict, string)) {
		client := loadClient()
		for {
			select {
			case <-stop:
				return
			default:
			}
			replica := replicaFor()
			phase, began := rec.currentPhase(), time.Now()
			status, h, body, err := do(client, request(replica))
			if err != nil {
				rec.record(phase, kind, replica, began, 0, broken, err.Error())
				continue
			}
			if status == http.StatusOK {
				rec.record(phase, kind, replica, began, status, answeredOK, "")
				continue
			}
			v, detail := judge(status, h, body)
			rec.record(phase, kind, replica, began, status, v, detail)
		}
	}
	for i := range grants {
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshTokens[i]}}.Encode()
		wg.Go(func() {
			hammer("refresh", func(replica int) *http.Request {
				req, _ := http.NewRequest(http.MethodPost, c.replicas[replica].url+"/token", strings.NewReader(refresh))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(clientID, clientSecret)
				return req
			}, oauthUnavailable)
		})
		wg.Go(func() {
			hammer("accounts", func(replica int) *http.Request {
				req, _ := http.NewRequest(http.MethodGet, c.replicas[replica].url+"/fdx/v6/accounts", nil)
				req.Header.Set("Authorization", "Bearer "+accessTokens[i])
				return req
			}, fdxUnavailable)
		})
	}
	wg.Go(func() {
		hammer("discovery", func(replica int) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, c.replicas[replica].url+"/.well-known/openid-configuration", nil)
			return req
		}, oauthUnavailable)
	})
	for range 2 {
		wg.Go(func() {
			client := loadClient()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if a, ok := c.flowUnderLoad(rec, client); ok {
					attemptMu.Lock()
					attempts = append(attempts, a)
					attemptMu.Unlock()
				}
			}
		})
	}
	readiness := c.watchReadiness(rec, stop, &wg)
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopLoad()

	hammered := []string{"refresh", "accounts", "exchange"}
	awaitRecovery := func(phase, fault string) time.Duration {
		t.Helper()
		rec.setPhase(phase)
		for {
			if took, ok := rec.upOnAll(len(c.replicas), hammered); ok {
				t.Logf("after %s: every replica served refresh, accounts and code exchange again %v later", fault, took.Round(time.Millisecond))
				return took
			}
			if time.Since(rec.since) > 15*time.Second {
				stopLoad()
				t.Fatalf("15 s after %s some replica still does not serve every kind of request:\n%s", fault, rec.table())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	const maxRecovery = 5 * time.Second

	time.Sleep(1500 * time.Millisecond) // steady load
	rec.setPhase("cut")
	proxy.Cut()
	time.Sleep(3 * time.Second) // PostgreSQL unreachable: refused and reset
	proxy.Restore()
	if took := awaitRecovery("recovering-cut", "the network to PostgreSQL came back"); took > maxRecovery {
		t.Errorf("service resumed %v after the network came back; want within %v", took, maxRecovery)
	}
	rec.setPhase("after-cut")
	time.Sleep(1500 * time.Millisecond)

	rec.setPhase("hang")
	proxy.Stall()
	time.Sleep(2 * time.Second) // PostgreSQL accepts connections and never answers
	proxy.Restore()
	if took := awaitRecovery("recovering-hang", "the hung server answered again"); took > maxRecovery {
		t.Errorf("service resumed %v after the hang ended; want within %v", took, maxRecovery)
	}
	rec.setPhase("after-hang")
	time.Sleep(1500 * time.Millisecond)

	rec.setPhase("terminated")
	if n := pgtest.TerminateSessions(t, direct); n == 0 {
		t.Error("no database session of the replicas to terminate")
	}
	if took := awaitRecovery("recovering-terminated", "the server ended every session"); took > maxRecovery {
		t.Errorf("service resumed %v after the sessions were ended; want within %v", took, maxRecovery)
	}
	rec.setPhase("after-terminated")
	time.Sleep(1500 * time.Millisecond)

	// A network partition: nothing is refused and nothing answers, so only
	// the request deadline ends the requests waiting on the database.
	rec.setPhase("partition")
	proxy.Freeze()
	time.Sleep(requestDeadline + 1500*time.Millisecond)
	proxy.Thaw()
	if took := awaitRecovery("recovering-partition", "the partition healed"); took > maxRecovery {
		t.Errorf("service resumed %v after the partition healed; want within %v", took, maxRecovery)
	}
	rec.setPhase("after-partition")
	time.Sleep(1500 * time.Millisecond)
	stopLoad()

	t.Logf("answers by phase, kind, status:\n%s", rec.table())
	if n := rec.count("BROKEN"); n > 0 {
		t.Errorf("%d answers were neither a 200 nor a clean 503, e.g.:\n  %s", n, strings.Join(rec.brokenLog, "\n  "))
	}
	for _, phase := range []string{"before", "after-cut", "after-hang", "after-terminated", "after-partition"} {
		if n := rec.count(phase, "503"); n > 0 {
			t.Errorf("%d answers were 503 in phase %s, when the database answered", n, phase)
		}
		for _, kind := range []string{"refresh", "accounts", "discovery", "exchange"} {
			if rec.count(phase, kind, "ok") == 0 {
				t.Errorf("no %s succeeded in phase %s", kind, phase)
			}
		}
	}
	for _, phase := range []string{"cut", "hang", "partition"} {
		for _, kind := range []string{"refresh", "accounts"} {
			if rec.countTouching(phase, kind, "503") == 0 {
				t.Errorf("no %s was refused with a 503 in phase %s: the fault did not bite", kind, phase)
			}
		}
	}
	if n := rec.count("discovery", "503"); n > 0 {
		t.Errorf("discovery answered 503 %d times; it needs no database", n)
	}
	for _, r := range c.replicas {
		if !r.alive() {
			t.Errorf("replica %s exited during the faults: %v", r.name, r.exitErr)
		}
	}
	readiness.check(t)

	c.checkGrants(t, attempts, refreshTokens)
}

// checkGrants compares the grants in the database with the code exchanges:
// every successful exchange made exactly its grant; every exchange that
// was refused made none, and redeeming its code now succeeds once; no
// other grant exists. The refresh tokens used through the faults still work.
func (c *cluster) checkGrants(t *testing.T, attempts []exchangeAttempt, setupRefresh []string) {
	t.Helper()
	ctx := t.Context()
	want := map[string]bool{}
	for _, rt := range setupRefresh {
		got, err := c.store.GetRefreshToken(ctx, secret.Hash(rt))
		if err != nil {
			t.Fatalf("a setup refresh token is gone: %v", err)
		}
		want[got.GrantID] = true
	}
	succeeded, retried, ambiguous := 0, 0, 0
	for _, a := range attempts {
		ac, err := c.store.GetAuthCode(ctx, secret.Hash(a.code))
		if err != nil {
			t.Fatalf("a code the server issued is not in the database: %v", err)
		}
		switch a.status {
		case http.StatusOK:
			succeeded++
			if ac.RedeemedAt.IsZero() {
				t.Errorf("an exchange succeeded but its code is not redeemed")
			}
			rt, err := c.store.GetRefreshToken(ctx, secret.Hash(a.refresh))
			if err != nil || rt.GrantID != ac.GrantID {
				t.Errorf("the refresh token of a successful exchange: grant %q, %v; want grant %s", rt.GrantID, err, ac.GrantID)
			}
			want[ac.GrantID] = true
		default:
			// Refused (503) or cut off: the client retries, as RFC 6749
			// lets it, now that the database answers.
			retried++
			call := postToken(http.DefaultClient, c.lb.url, -1,
				url.Values{"grant_type": {"authorization_code"}, "code": {a.code}, "redirect_uri": {redirectURI}})
			switch {
			case call.status == http.StatusOK && ac.RedeemedAt.IsZero():
				want[ac.GrantID] = true
			case call.status == http.StatusBadRequest && !ac.RedeemedAt.IsZero():
				// The commit reached PostgreSQL but its answer was cut off:
				// the client saw a 503, and its retry is a replay, which
				// revokes the grant (RFC 6749 §4.1.2). Nothing is lost
				// silently: the grant exists, revoked.
				ambiguous++
				want[ac.GrantID] = true
			default:
				t.Errorf("retrying an exchange refused during the faults (code redeemed: %v): %d %+v",
					!ac.RedeemedAt.IsZero(), call.status, call.body)
			}
		}
	}
	grants, err := c.store.ListGrants(ctx, store.GrantFilter{ClientID: clientID, IncludeDead: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range grants {
		got = append(got, g.ID)
		if !want[g.ID] {
			t.Errorf("grant %s is in the database but no code exchange made it", g.ID)
		}
	}
	if len(grants) != len(want) {
		t.Errorf("%d grants in the database; want %d (one per redeemed code)", len(grants), len(want))
	}
	for id := range want {
		if !slices.Contains(got, id) {
			t.Errorf("grant %s of a successful exchange is missing from the database", id)
		}
	}
	t.Logf("code exchanges under load: %d succeeded, %d refused and retried after recovery (%d of them had committed)",
		succeeded, retried, ambiguous)
	if succeeded == 0 {
		t.Error("no code exchange succeeded under load")
	}
	for i, rt := range setupRefresh {
		call := postToken(http.DefaultClient, c.lb.url, i%len(c.replicas), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if call.status != http.StatusOK {
			t.Errorf("refresh token %d after the faults: %d %+v", i, call.status, call.body)
		}
	}
}

// readinessWatch polls every replica's /readyz (when this build has the
// admin listener) through the faults.
type readinessWatch struct {
	enabled bool
	mu      sync.Mutex
	seen    map[string]map[int]int // phase → status → count
}

func (c *cluster) watchReadiness(rec *loadRecorder, stop chan struct{}, wg *sync.WaitGroup) *readinessWatch {
	w := &readinessWatch{seen: map[string]map[int]int{}}
	for _, r := range c.replicas {
		if r.adminURL == "" {
			continue
		}
		w.enabled = true
		wg.Go(func() {
			client := &http.Client{Timeout: 2 * requestDeadline}
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				phase := rec.currentPhase()
				status := 0
				if resp, err := client.Get(r.adminURL + "/readyz"); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				if now := rec.currentPhase(); now != phase {
					phase += ">" + now
				}
				w.mu.Lock()
				if w.seen[phase] == nil {
					w.seen[phase] = map[int]int{}
				}
				w.seen[phase][status]++
				w.mu.Unlock()
			}
		})
	}
	return w
}

// check: /readyz failed while the database was cut and passed before and
// after.
func (w *readinessWatch) check(t *testing.T) {
	t.Helper()
	if !w.enabled {
		t.Log("READYZ NOT CHECKED: this build of fdxd serve has no admin listener")
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("/readyz answers by phase: %v", w.seen)
	if w.seen["cut"][http.StatusServiceUnavailable] == 0 {
		t.Errorf("/readyz never answered 503 while the database was cut: %v", w.seen["cut"])
	}
	for _, phase := range []string{"before", "after-cut", "after-hang", "after-terminated", "after-partition"} {
		for status, n := range w.seen[phase] {
			if status != http.StatusOK {
				t.Errorf("/readyz answered %d %d times in phase %s, when the database answered", status, n, phase)
			}
		}
	}
}
