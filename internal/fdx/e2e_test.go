package fdx_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/fdxd/fdxd/internal/fdx/fdxtest"
	"github.com/fdxd/fdxd/internal/fdx/gen"
	"github.com/fdxd/fdxd/internal/fdx/model"
	"github.com/fdxd/fdxd/internal/server/servertest"
)

// aggregator is x/oauth2's HTTP client for one connection, checking every
// response it receives.
type aggregator struct {
	t      *testing.T
	s      *servertest.Server
	client *http.Client
	calls  int
}

func (a *aggregator) get(path string) (int, http.Header, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.s.Issuer+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("X-Request-ID", "req_e2e_"+time.Now().Format("150405.000000"))
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a.calls++
	fdxtest.ValidateResponse(a.t, req, resp.StatusCode, resp.Header, body)
	return resp.StatusCode, resp.Header, body
}

// walk pages through a list to its end: nextOffset on every page but the
// last, never null, "" or 0.
func (a *aggregator) walk(path, key string) []json.RawMessage {
	a.t.Helper()
	var items []json.RawMessage
	next := ""
	for pages := 0; ; pages++ {
		target := path
		if next != "" {
			target += "&offset=" + url.QueryEscape(next)
		}
		status, _, body := a.get(target)
		if status != http.StatusOK {
			a.t.Fatalf("GET %s: %d %s", target, status, body)
		}
		var page map[string]json.RawMessage
		json.Unmarshal(body, &page)
		var got []json.RawMessage
		json.Unmarshal(page[key], &got)
		items = append(items, got...)
		var meta struct {
			NextOffset *json.RawMessage `json:"nextOffset"`
		}
		json.Unmarshal(page["page"], &meta)
		if meta.NextOffset == nil {
			return items
		}
		var cursor string
		if err := json.Unmarshal(*meta.NextOffset, &cursor); err != nil || cursor == "" || cursor == "0" {
			a.t.Fatalf("GET %s: nextOffset %s; want an opaque non-empty string or nothing", target, *meta.NextOffset)
		}
		if len(got) == 0 {
			a.t.Fatalf("GET %s: an empty page with a nextOffset (Plaid's iteration limit)", target)
		}
		if pages > 5000 {
			a.t.Fatal("pagination does not end")
		}
		next = cursor
	}
}

// TestAggregatorReadsEverything is issue 4's "done when": a client nobody
// here wrote gets a token through the Plaid-shaped flow, then walks every
// endpoint of every account to the end; every body is valid against the
// spec, none has null, no last page has a nextOffset, every error is an FDX
// body.
func TestAggregatorReadsEverything(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	if err := gen.Demo(t.Context(), s.Store, s.User.ID, s.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
	provider, err := oidc.NewProvider(ctx, s.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: servertest.ClientID, ClientSecret: servertest.ClientSecret, RedirectURL: servertest.RedirectURI,
		Endpoint: provider.Endpoint(), Scopes: []string{"openid", "offline_access"}}
	res := s.Login(s.Browser(), conf.AuthCodeURL("walk-state"), servertest.Username, servertest.Password, nil)
	tok, err := conf.Exchange(ctx, res.Code())
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	a := &aggregator{t: t, s: s, client: conf.Client(ctx, tok)}

	status, _, body := a.get("/fdx/v6/customers/current")
	var customer model.Customer
	if status != 200 || model.Unmarshal(body, &customer) != nil || customer.CustomerID != servertest.Subject {
		t.Fatalf("customers/current: %d %s; want the ID token's sub as customerId", status, body)
	}

	accounts := a.walk("/fdx/v6/accounts?limit=3", "accounts")
	if len(accounts) < 8 {
		t.Fatalf("%d demo accounts; want at least one of each category", len(accounts))
	}
	now := s.Clock.Now()
	window := "startTime=" + now.AddDate(0, -24, 1).Format(time.DateOnly) + "&endTime=" + now.Format(time.DateOnly)
	categories := map[string]bool{}
	transactions := 0
	for _, raw := range accounts {
		var d model.AccountDescriptor
		if err := model.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		categories[string(d.AccountCategory)] = true
		base := "/fdx/v6/accounts/" + d.AccountID
		if st, _, b := a.get(base); st != 200 && model.HasDetails(d.AccountCategory) {
			t.Fatalf("%s details: %d %s", d.AccountCategory, st, b)
		}
		a.get(base + "/contact")
		transactions += len(a.walk(base+"/transactions?limit=100&"+window, "transactions"))
		statements := a.walk(base+"/statements?limit=6&"+window, "statements")
		if len(statements) > 0 {
			var st model.Statement
			model.Unmarshal(statements[len(statements)-1], &st)
			href := st.Links[0].Href
			if u, err := url.Parse(href); err == nil && u.IsAbs() {
				href = u.RequestURI()
			}
			if code, h, _ := a.get(href); code != 200 || h.Get("Content-Type") != "application/pdf" {
				t.Fatalf("statement PDF %s: %d %s", href, code, h.Get("Content-Type"))
			}
		}
		if st, _, b := a.get(base + "/payment-networks?limit=100"); st != 200 && st != 404 {
			t.Fatalf("payment networks: %d %s", st, b)
		}
		a.get(base + "/asset-transfer-networks")
	}
	for _, c := range []string{"DEPOSIT_ACCOUNT", "LOAN_ACCOUNT", "LOC_ACCOUNT", "INVESTMENT_ACCOUNT"} {
		if !categories[c] {
			t.Errorf("the demo data has no %s", c)
		}
	}
	if transactions < 1000 {
		t.Fatalf("walked %d transactions over two years; want a realistic history", transactions)
	}

	// Negative cases an aggregator meets, all with FDX bodies.
	var first model.AccountDescriptor
	model.Unmarshal(accounts[0], &first)
	for _, c := range []struct {
		path string
		want int
	}{
		{"/fdx/v6/accounts/no-such-account", 404},
		{"/fdx/v6/accounts/" + first.AccountID + "/transactions?startTime=" + now.Format(time.DateOnly) + "&endTime=" +
			now.AddDate(0, -1, 0).Format(time.DateOnly), 400},
		{"/fdx/v6/accounts?offset=tampered-cursor", 400},
		{"/fdx/v6/no-such-route", 404},
	} {
		if st, _, b := a.get(c.path); st != c.want {
			t.Fatalf("GET %s: %d %s; want %d", c.path, st, b, c.want)
		}
	}
	for name, header := range map[string]string{"no token": "", "garbage": "Bearer garbage", "an ID token": "Bearer " + idToken} {
		req, _ := http.NewRequest("GET", s.Issuer+"/fdx/v6/accounts", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fdxtest.ValidateResponse(t, req, resp.StatusCode, resp.Header, b)
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("%s: %d %q; want 401 with a Bearer challenge", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}

	// Sixteen minutes on the access token has expired: 401 with FDX 602.
	// x/oauth2 (whose clock is the real one) is told so, refreshes, and the
	// walk goes on.
	s.Clock.Advance(16 * time.Minute)
	st, _, b := a.get("/fdx/v6/accounts?limit=1")
	var e struct{ Code int }
	json.Unmarshal(b, &e)
	if st != 401 || e.Code != 602 {
		t.Fatalf("expired access token: %d %s; want 401 with FDX 602", st, b)
	}
	a.client = conf.Client(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Second)})
	if st, _, _ := a.get("/fdx/v6/accounts?limit=1"); st != 200 {
		t.Fatalf("after a refresh: %d", st)
	}
	t.Logf("%d API calls, %d accounts, %d transactions", a.calls, len(accounts), transactions)
}
