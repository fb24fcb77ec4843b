package replicatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

// tokenCall is one answer of the token endpoint.
type tokenCall struct {
	status  int
	replica string // the replica that answered, from the load balancer
	body    tokenBody
	header  http.Header
	err     error
}

type tokenBody struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// postToken posts form to the token endpoint through the load balancer to
// replica i, with HTTP Basic client authentication.
func postToken(client *http.Client, base string, i int, form url.Values) tokenCall {
	req, err := http.NewRequest(http.MethodPost, base+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return tokenCall{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	if i >= 0 {
		req.Header.Set(backendHeader, fmt.Sprint(i))
	}
	resp, err := client.Do(req)
	if err != nil {
		return tokenCall{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	call := tokenCall{status: resp.StatusCode, header: resp.Header, replica: resp.Header.Get(backendHeader), err: err}
	if err == nil {
		if jerr := json.Unmarshal(raw, &call.body); jerr != nil {
			call.err = fmt.Errorf("token response is not JSON (%w): %.200s", jerr, raw)
		}
	}
	return call
}

// TestConcurrentRedemptionsAcrossReplicas redeems one code 1,000 times at
// once, spread over three replicas: exactly one redemption wins, every
// other gets invalid_grant, and the replays revoke the grant the winner
// got, so its access and refresh tokens are refused on every replica.
func TestConcurrentRedemptionsAcrossReplicas(t *testing.T) {
	c := startCluster(t, clusterOptions{})
	ctx := t.Context()
	res := c.signIn(t, c.authorizeURL("st-replay"), func(*http.Request) int { return replicaA })
	code := res.Code()
	if code == "" {
		t.Fatalf("sign-in ended without a code: status %d, page:\n%s", res.StatusCode, res.Page)
	}

	const redemptions = 1000
	transport := &http.Transport{MaxIdleConnsPerHost: redemptions, MaxConnsPerHost: redemptions}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	calls := make([]tokenCall, redemptions)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range redemptions {
		wg.Go(func() {
			<-start
			calls[i] = postToken(client, c.lb.url, i%len(c.replicas), form)
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d redemptions over %d replicas in %v", redemptions, len(c.replicas), time.Since(began).Round(time.Millisecond))

	var (
		winners   []tokenCall
		invalid   int
		answering = map[string]int{}
		other     = map[string]int{}
	)
	for _, call := range calls {
		switch {
		case call.err != nil:
			other["transport error: "+call.err.Error()]++
		case call.status == http.StatusOK:
			winners = append(winners, call)
		case call.status == http.StatusBadRequest && call.body.Error == "invalid_grant":
			invalid++
		default:
			other[fmt.Sprintf("%d %s %s", call.status, call.body.Error, call.body.Description)]++
		}
		answering[call.replica]++
	}
	if len(winners) != 1 || invalid != redemptions-1 || len(other) > 0 {
		t.Fatalf("of %d redemptions: %d succeeded, %d invalid_grant, others %v; want exactly 1 success and %d invalid_grant",
			redemptions, len(winners), invalid, other, redemptions-1)
	}
	for i := range c.replicas {
		if answering[fmt.Sprint(i)] < redemptions/len(c.replicas)-1 {
			t.Errorf("replica %c answered %d redemptions; want about a third: %v", 'A'+i, answering[fmt.Sprint(i)], answering)
		}
	}

	won := winners[0].body
	if won.AccessToken == "" || won.RefreshToken == "" {
		t.Fatalf("the winning redemption has no access or refresh token: %+v", won)
	}
	ac, err := c.store.GetAuthCode(ctx, secret.Hash(code))
	if err != nil {
		t.Fatalf("the redeemed code: %v", err)
	}
	grant, err := c.store.GetGrant(ctx, ac.GrantID)
	if err != nil {
		t.Fatalf("the winner's grant: %v", err)
	}
	if grant.RevokedAt.IsZero() {
		t.Fatal("the winner's grant is not revoked after 999 replays")
	}
	grants, err := c.store.ListGrants(ctx, store.GrantFilter{ClientID: clientID, IncludeDead: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != 1 {
		t.Fatalf("%d grants in the database after one code's redemptions; want 1", len(grants))
	}
	rt, err := c.store.GetRefreshToken(ctx, secret.Hash(won.RefreshToken))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if err == nil && rt.GrantID != grant.ID {
		t.Fatalf("the winner's refresh token belongs to grant %s; want %s", rt.GrantID, grant.ID)
	}

	// Every replica refuses the winner's tokens now.
	for i := range c.replicas {
		refresh := postToken(http.DefaultClient, c.lb.url, i, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {won.RefreshToken}})
		if refresh.status != http.StatusBadRequest || refresh.body.Error != "invalid_grant" {
			t.Errorf("refresh with the revoked grant's token on replica %c: %d %s; want 400 invalid_grant", 'A'+i, refresh.status, refresh.body.Error)
		}
		for _, path := range []string{"/userinfo", "/fdx/v6/accounts"} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.lb.url+path, nil)
			req.Header.Set("Authorization", "Bearer "+won.AccessToken)
			resp, err := clientTo(i).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with the revoked grant's access token on replica %c: %d; want 401", path, 'A'+i, resp.StatusCode)
			}
		}
	}
}

// authorizeURL is an authorize request of the test client through the load
// balancer, without PKCE (a confidential client).
func (c *cluster) authorizeURL(state string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid offline_access"}, "state": {state}}
	return c.lb.url + "/authorize?" + q.Encode()
}
