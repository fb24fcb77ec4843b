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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
)

// The alert rule of TestAlertWindowsAcrossReplicas: a short window, so
// that the spike leaves it and the issue resolves within seconds.
const (
	alertWindow     = 10 * time.Second
	alertMinVolume  = 30
	alertQuiet      = 3 * time.Second
	failuresEach    = 12 // per replica: below alertMinVolume alone, above it together
	adminAPIToken   = "rt-admin-api-token-5e0c7a93d41f"
	adminUsername   = "ops"
	adminPassphrase = "adm-pw-Vq8!rT2#mW5-ops"
)

// TestAlertWindowsAcrossReplicas: error traffic spread over the three
// replicas, each below the minimum volume alone and above it together,
// opens exactly one issue, which counts all of it; the admin overview of
// every replica shows the combined traffic; once the spike has left the
// window and the quiet period has passed, the issue resolves once.
func TestAlertWindowsAcrossReplicas(t *testing.T) {
	c := startCluster(t, clusterOptions{
		args: []string{"--alert-window", alertWindow.String(), "--alert-min-volume", strconv.Itoa(alertMinVolume),
			"--alert-quiet-period", alertQuiet.String()},
		env: []string{"FDXD_ADMIN_TOKEN=" + adminAPIToken},
	})
	for _, r := range c.replicas {
		if r.adminURL == "" {
			t.Fatalf("replica %s has no admin listener", r.name)
		}
	}
	now := time.Now().UTC()
	if err := c.store.CreateAdmin(t.Context(), store.Admin{Username: adminUsername,
		PasswordHash: password.Hash(adminPassphrase, servertest.TestPasswordParams), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}

	// Each replica answers its share of made-up code exchanges; the test
	// waits until the replica has flushed them to the database.
	for i := range c.replicas {
		c.failTokenExchanges(i, failuresEach)
		want := int64(failuresEach * (i + 1))
		c.waitFor(fmt.Sprintf("%d failures in the shared window", want), 10*time.Second, func() (bool, string) {
			got := c.windowFailures("token")
			return got == want, fmt.Sprintf("%d", got)
		})
		if i < len(c.replicas)-1 {
			if issues := c.apiIssues(i, "route=token"); len(issues) != 0 {
				t.Fatalf("%d failures, below the minimum volume of %d, opened %+v", want, alertMinVolume, issues)
			}
		}
	}

	// Together they pass the minimum volume: exactly one issue opens, seen
	// alike from every replica, counting every failure once.
	var iss observe.BundleIssue
	c.waitFor("the token endpoint's issue", 10*time.Second, func() (bool, string) {
		issues := c.apiIssues(replicaB, "route=token")
		if len(issues) != 1 {
			return false, fmt.Sprintf("%+v", issues)
		}
		iss = issues[0]
		return iss.ResolvedAt.IsZero(), fmt.Sprintf("%+v", iss)
	})
	const total = failuresEach * 3
	if iss.Failures != total || iss.Requests != total || iss.Error != "invalid_grant" || iss.Kind != "error_rate" {
		t.Fatalf("issue %+v; want an error_rate issue counting %d invalid_grant failures of %d requests", iss, total, total)
	}
	for i := range c.replicas {
		if issues := c.apiIssues(i, "route=token"); len(issues) != 1 || issues[0].ID != iss.ID {
			t.Fatalf("replica %c lists %+v; want the one issue %s", 'A'+i, issues, iss.ID)
		}
	}

	// The overview of every replica charts the traffic of all three.
	admin := c.adminBrowser(replicaA)
	for i := range c.replicas {
		c.waitFor(fmt.Sprintf("replica %c's overview of the token endpoint", 'A'+i), 10*time.Second, func() (bool, string) {
			requests, failures := admin.overviewRoute(i, "token")
			return requests == total && failures == total, fmt.Sprintf("%d requests, %d failed", requests, failures)
		})
	}

	// No more failures: once the spike has left the window (and the
	// window stayed healthy for the quiet period) the issue resolves, and
	// no replica opens it again.
	c.waitFor("the issue to resolve", alertWindow+alertQuiet+15*time.Second, func() (bool, string) {
		issues := c.apiIssues(replicaC, "route=token")
		return len(issues) == 1 && !issues[0].ResolvedAt.IsZero(), fmt.Sprintf("%+v", issues)
	})
	all := c.apiIssues(replicaA, "route=token")
	if len(all) != 1 || all[0].ID != iss.ID || all[0].Failures != total {
		t.Fatalf("issues of the token endpoint after resolution: %+v; want the one issue %s, resolved, %d failures", all, iss.ID, total)
	}
	opened, resolved := c.countEvents("issue.opened", iss.ID), c.countEvents("issue.resolved", iss.ID)
	if opened != 1 || resolved != 1 {
		t.Fatalf("the replicas logged issue.opened %d times and issue.resolved %d times; want once each", opened, resolved)
	}
}

// failTokenExchanges sends n code exchanges of made-up codes to replica i;
// each is answered invalid_grant.
func (c *cluster) failTokenExchanges(i, n int) {
	c.t.Helper()
	client := clientTo(i)
	for k := range n {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {fmt.Sprintf("made-up-%c-%d", 'a'+i, k)},
			"redirect_uri": {redirectURI}}
		req, _ := http.NewRequest(http.MethodPost, c.lb.url+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(clientID, clientSecret)
		resp, err := client.Do(req)
		if err != nil {
			c.t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_grant") {
			c.t.Fatalf("made-up code on replica %c: %d %s; want 400 invalid_grant", 'A'+i, resp.StatusCode, body)
		}
	}
}

// windowFailures is how many failures of route the shared alert buckets
// of the last two windows hold, as the test's own connection reads them.
func (c *cluster) windowFailures(route string) int64 {
	c.t.Helper()
	now := time.Now()
	counts, err := c.store.SumAlertCounts(c.t.Context(), store.AlertCountQuery{Width: alertWindow / 60,
		Since: now.Add(-2 * alertWindow), Until: now.Add(alertWindow), Route: route})
	if err != nil {
		c.t.Fatal(err)
	}
	var n int64
	for _, ct := range counts {
		n += ct.Failures
	}
	return n
}

// apiIssues lists, through replica i's admin API, the issues query selects.
func (c *cluster) apiIssues(i int, query string) []observe.BundleIssue {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.replicas[i].adminURL+"/api/v1/issues?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+adminAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Issues []observe.BundleIssue }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("replica %c: GET /api/v1/issues?%s: %d %v", 'A'+i, query, resp.StatusCode, err)
	}
	return out.Issues
}

// waitFor polls cond every 100 ms until it holds, failing the test after
// limit with what cond last reported.
func (c *cluster) waitFor(what string, limit time.Duration, cond func() (bool, string)) {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waited %v for %s; last: %s", limit, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countEvents counts the log lines of every replica with the event about
// the issue.
func (c *cluster) countEvents(event, issueID string) int {
	n := 0
	for _, r := range c.replicas {
		for line := range strings.SplitSeq(r.logs.String(), "\n") {
			if strings.Contains(line, `"event":"`+event+`"`) && strings.Contains(line, `"issue_id":"`+issueID+`"`) {
				n++
			}
		}
	}
	return n
}

// adminSession is a browser signed in to the issue center. Sessions are in
// the database, and cookies do not care for ports: signed in on one
// replica's admin listener, it is signed in on all of them.
type adminSession struct {
	c      *cluster
	client *http.Client
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *cluster) adminBrowser(i int) *adminSession {
	c.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &adminSession{c: c, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	base := c.replicas[i].adminURL
	page := b.get(base + "/login")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no CSRF token on replica %c's sign-in page:\n%s", 'A'+i, page)
	}
	form := url.Values{"csrf": {html.UnescapeString(m[1])}, "username": {adminUsername}, "password": {adminPassphrase}, "next": {"/"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := b.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign in on replica %c: %d; want a redirect", 'A'+i, resp.StatusCode)
	}
	return b
}

func (b *adminSession) get(u string) string {
	b.c.t.Helper()
	resp, err := b.client.Get(u)
	if err != nil {
		b.c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.c.t.Fatalf("GET %s: %d\n%s", u, resp.StatusCode, body)
	}
	return string(body)
}

// overviewRoute reads route's requests and failures over the last 15
// minutes from replica i's overview page (0, 0 when it lists no such
// route).
func (b *adminSession) overviewRoute(i int, route string) (requests, failures int64) {
	b.c.t.Helper()
	page := b.get(b.c.replicas[i].adminURL + "/?range=15m")
	row := regexp.MustCompile(`data-route="` + regexp.QuoteMeta(route) + `">\s*<tr><th scope="row"><a [^>]*>[^<]*</a></th><td>(\d+)</td><td>[^<]*<span class="muted">\((\d+) failed\)`)
	m := row.FindStringSubmatch(page)
	if m == nil {
		return 0, 0
	}
	requests, _ = strconv.ParseInt(m[1], 10, 64)
	failures, _ = strconv.ParseInt(m[2], 10, 64)
	return requests, failures
}
