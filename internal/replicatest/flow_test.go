package replicatest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/fdxd/fdxd/internal/fdx/fdxtest"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/server/servertest"
)

// Replica indexes.
const (
	replicaA = 0
	replicaB = 1
	replicaC = 2
)

// onReplica makes go-oidc and x/oauth2 send their requests through the load
// balancer to replica i.
func onReplica(ctx context.Context, i int) context.Context {
	return oidc.ClientContext(ctx, clientTo(i))
}

// oauthConfig is the aggregator's x/oauth2 configuration for provider.
func oauthConfig(provider *oidc.Provider) *oauth2.Config {
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: endpoint, RedirectURL: redirectURI,
		Scopes: []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess}}
}

// browserRouted is a browser (cookie jar, no redirects followed) whose
// requests go through the load balancer to the replica route chooses.
func browserRouted(route func(*http.Request) int) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     routeTransport{base: http.DefaultTransport, route: route},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signIn drives the real login form through the load balancer for
// authorizeURL and returns the code; route chooses each hop's replica.
func (c *cluster) signIn(t *testing.T, authorizeURL string, route func(*http.Request) int) servertest.LoginResult {
	t.Helper()
	s := &servertest.Server{T: t, Issuer: c.lb.url}
	return s.Login(browserRouted(route), authorizeURL, username, userPassword, nil)
}

// TestPlaidFlowAcrossReplicas walks the Plaid-shaped flow with every step on
// a different replica: discovery and authorize on A, the login page on B,
// the login POST on C, the code exchange on A, the refresh on B, userinfo
// and the FDX API on C. The ID token verifies against the JWKS each replica
// serves.
func TestPlaidFlowAcrossReplicas(t *testing.T) {
	c := startCluster(t, clusterOptions{})
	ctx := t.Context()

	provider, err := oidc.NewProvider(onReplica(ctx, replicaA), c.lb.url)
	if err != nil {
		t.Fatalf("go-oidc discovery through the load balancer: %v", err)
	}
	conf := oauthConfig(provider)
	pkce := oauth2.GenerateVerifier()
	state, nonce := "st-"+secret.ID("", 8), "n-"+secret.ID("", 8)
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce))

	res := c.signIn(t, authURL, func(r *http.Request) int {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/authorize":
			return replicaA
		case r.Method == http.MethodGet:
			return replicaB
		default:
			return replicaC
		}
	})
	code := res.Code()
	if code == "" {
		t.Fatalf("sign-in across replicas ended without a code: status %d, redirect %v, page:\n%s", res.StatusCode, res.Redirect, res.Page)
	}
	if got := res.Redirect.Query().Get("state"); got != state {
		t.Errorf("redirect state = %q; want %q", got, state)
	}
	if got := res.Redirect.Query().Get("iss"); got != c.lb.url {
		t.Errorf("redirect iss = %q; want the load balancer's URL %q", got, c.lb.url)
	}

	tok, err := conf.Exchange(onReplica(ctx, replicaA), code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("code exchange on A: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("code exchange on A: no refresh token for offline_access")
	}
	rawIDToken, _ := tok.Extra("id_token").(string)
	if rawIDToken == "" {
		t.Fatal("code exchange on A: no id_token")
	}
	for i, r := range c.replicas {
		keySet := oidc.NewRemoteKeySet(ctx, r.url+"/jwks")
		idToken, err := oidc.NewVerifier(c.lb.url, keySet, &oidc.Config{ClientID: clientID}).Verify(ctx, rawIDToken)
		if err != nil {
			t.Fatalf("ID token against replica %c's JWKS: %v", 'A'+i, err)
		}
		if idToken.Subject != subject || idToken.Nonce != nonce {
			t.Errorf("ID token (replica %c's JWKS): sub %q nonce %q; want %q %q", 'A'+i, idToken.Subject, idToken.Nonce, subject, nonce)
		}
		if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("ID token at_hash: %v", err)
		}
	}

	refreshed, err := conf.TokenSource(onReplica(ctx, replicaB), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh on B: %v", err)
	}
	if refreshed.AccessToken == "" || refreshed.AccessToken == tok.AccessToken {
		t.Fatalf("refresh on B: access token %q; want a new one", refreshed.AccessToken)
	}

	info, err := provider.UserInfo(onReplica(ctx, replicaC), oauth2.StaticTokenSource(refreshed))
	if err != nil {
		t.Fatalf("userinfo on C: %v", err)
	}
	if info.Subject != subject {
		t.Errorf("userinfo on C: sub %q; want %q", info.Subject, subject)
	}

	// Both access tokens, minted on A and on B, are good on C.
	for name, access := range map[string]string{"from the exchange on A": tok.AccessToken, "from the refresh on B": refreshed.AccessToken} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.lb.url+"/fdx/v6/accounts", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := clientTo(replicaC).Do(req)
		if err != nil {
			t.Fatalf("FDX accounts on C: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("FDX accounts on C with the access token %s: %d %s", name, resp.StatusCode, body)
		}
		fdxtest.ValidateResponse(t, req, resp.StatusCode, resp.Header, body)
		var page struct {
			Accounts []json.RawMessage `json:"accounts"`
		}
		if err := json.Unmarshal(body, &page); err != nil || len(page.Accounts) == 0 {
			t.Fatalf("FDX accounts on C: %d accounts (%v); want the demo data's", len(page.Accounts), err)
		}
	}

	for _, want := range []struct {
		replica int
		route   string
	}{
		{replicaA, "GET /.well-known/openid-configuration"},
		{replicaA, "GET /authorize"},
		{replicaB, "GET /login"},
		{replicaC, "POST /login"},
		{replicaA, "POST /token"},
		{replicaB, "POST /token"},
		{replicaC, "GET /userinfo"},
		{replicaC, "GET /fdx/v6/accounts"},
	} {
		if c.lb.servedBy(want.replica, want.route) == 0 {
			t.Errorf("replica %c served no %s; the flow did not cross replicas as planned", 'A'+want.replica, want.route)
		}
	}
	for i := range c.replicas {
		for _, route := range []string{"GET /authorize", "GET /login", "POST /login", "GET /userinfo"} {
			if n := c.lb.servedBy(i, route); n > 0 && !plannedOn(i, route) {
				t.Errorf("replica %c served %d %s; the plan puts it elsewhere", 'A'+i, n, route)
			}
		}
	}
}

func plannedOn(i int, route string) bool {
	switch route {
	case "GET /authorize":
		return i == replicaA
	case "GET /login":
		return i == replicaB
	case "POST /login":
		return i == replicaC
	case "GET /userinfo":
		return i == replicaC
	}
	return true
}
