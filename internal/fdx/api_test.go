package fdx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/dataset"
	"github.com/fdxd/fdxd/internal/fdx/fdxtest"
	"github.com/fdxd/fdxd/internal/fdx/gen"
	"github.com/fdxd/fdxd/internal/fdx/model"
	"github.com/fdxd/fdxd/internal/fdx/pdf"
	"github.com/fdxd/fdxd/internal/maintenance"
	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

var t0 = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

// clock is the injected time, moved by tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type fixture struct {
	t       testing.TB
	st      *sqlite.Store
	path    string
	clock   *clock
	api     *API
	h       http.Handler
	tokens  *oauth.AccessTokens
	logs    *syncBuffer
	file    *dataset.File // alice's data
	grants  map[string]store.Grant
	bobAcct string
}

const tokenKey = "0123456789abcdef0123456789abcdef"

func newFixture(t testing.TB, txnsPerAccount int) *fixture {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "fdxd.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, path: path, clock: &clock{now: t0}, logs: &syncBuffer{}, grants: map[string]store.Grant{}}
	if err := st.CreateClient(ctx, store.Client{ID: "plaid", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.User{
		{ID: "u-alice", Subject: "sub_alice_0001", Username: "alice", Name: "Alice Liddell", Email: "alice@example.com"},
		{ID: "u-bob", Subject: "sub_bob_0002", Username: "bob", Name: "Bob Marley", Email: "bob@example.com"},
	} {
		u.CreatedAt, u.UpdatedAt = t0, t0
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	f.file = f.importGenerated("alice", 1, txnsPerAccount)
	bob := f.importGenerated("bob", 2, 20)
	f.bobAcct = bob.Customers[0].Accounts[0].Account.AccountID

	f.tokens, err = oauth.NewAccessTokens([]byte(tokenKey), st, 900*time.Second, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	logger := observe.NewLogger(f.logs, slog.LevelInfo)
	f.api, err = New(Config{Store: st, Tokens: f.tokens, Observer: observe.New(logger, f.clock.Now), Logger: logger,
		Maintenance: maintenance.New(st, f.clock.Now), CursorKey: []byte("cursor-key-cursor-key-cursor-key!"), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.h = f.api.Handler()
	return f
}

func (f *fixture) importGenerated(username string, seed uint64, txns int) *dataset.File {
	f.t.Helper()
	file, err := gen.Generate(gen.Options{Username: username, Seed: seed, Now: t0, TransactionsPerAccount: txns})
	if err != nil {
		f.t.Fatal(err)
	}
	f.importFile(file, false)
	return file
}

func (f *fixture) importFile(file *dataset.File, replace bool) {
	f.t.Helper()
	imp, err := file.Convert(f.t.Context(), f.st, dataset.Options{Now: t0, Replace: replace})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.ImportData(f.t.Context(), imp); err != nil {
		f.t.Fatal(err)
	}
}

// grant redeems a code for a grant through the store, the way the token
// endpoint does, and mints an access token for it.
func (f *fixture) token(id, userID string, scopes []string, selection []string) string {
	f.t.Helper()
	ctx := f.t.Context()
	g, ok := f.grants[id]
	if !ok {
		sub := map[string]string{"u-alice": "sub_alice_0001", "u-bob": "sub_bob_0002"}[userID]
		code := store.AuthCode{Hash: "code-" + id, GrantID: id, OAuthSessionID: "oas-" + id, ClientID: "plaid", UserID: userID,
			Subject: sub, Scopes: scopes, AccountSelection: selection != nil, AccountIDs: selection, AuthTime: t0, CreatedAt: t0,
			ExpiresAt: t0.Add(5 * time.Minute)}
		if err := f.st.CreateAuthCode(ctx, code); err != nil {
			f.t.Fatal(err)
		}
		g = store.Grant{ID: id, OAuthSessionID: code.OAuthSessionID, ClientID: "plaid", UserID: userID, Subject: sub, Scopes: scopes,
			AccountSelection: selection != nil, AccountIDs: selection, AuthTime: t0, CreatedAt: t0, ExpiresAt: t0.AddDate(0, 13, 0)}
		if err := f.st.RedeemAuthCode(ctx, store.CodeRedemption{CodeHash: code.Hash, Now: t0, Grant: g}); err != nil {
			f.t.Fatal(err)
		}
		f.grants[id] = g
	}
	tok, _ := f.tokens.Issue(g, f.clock.Now())
	return tok
}

func (f *fixture) aliceToken() string {
	return f.token("g-alice", "u-alice", []string{"openid", "offline_access"}, nil)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (r response) fdxCode(t testing.TB) int {
	t.Helper()
	return int(r.json(t)["code"].(float64))
}

// do sends a request and validates whatever comes back: a 200 against the
// spec, anything else as an FDX error body.
func (f *fixture) do(method, target, token string, header ...string) response {
	f.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if method == http.MethodGet {
		fdxtest.ValidateResponse(f.t, req, res.status, res.header, res.body)
	}
	return res
}

func (f *fixture) get(target, token string) response { return f.do(http.MethodGet, target, token) }

// walk pages through a list, checking that nextOffset appears exactly on
// the pages that have a successor, and returns the items.
func (f *fixture) walk(base, key, token string) (items []json.RawMessage, pages int) {
	f.t.Helper()
	next := ""
	for {
		target := base
		if next != "" {
			sep := "?"
			if strings.Contains(base, "?") {
				sep = "&"
			}
			target += sep + "offset=" + url.QueryEscape(next)
		}
		res := f.get(target, token)
		if res.status != http.StatusOK {
			f.t.Fatalf("GET %s = %d %s", target, res.status, res.body)
		}
		var page struct {
			Page *struct {
				NextOffset  *string `json:"nextOffset"`
				NextPageKey *string `json:"nextPageKey"`
			} `json:"page"`
		}
		var all map[string]json.RawMessage
		json.Unmarshal(res.body, &page)
		json.Unmarshal(res.body, &all)
		var got []json.RawMessage
		json.Unmarshal(all[key], &got)
		items = append(items, got...)
		pages++
		if page.Page == nil || page.Page.NextOffset == nil {
			return items, pages
		}
		if *page.Page.NextOffset == "" || page.Page.NextPageKey == nil || *page.Page.NextPageKey != *page.Page.NextOffset {
			f.t.Fatalf("GET %s: page %+v; want a non-empty nextOffset with the same nextPageKey", target, res.body)
		}
		if len(got) == 0 {
			f.t.Fatalf("GET %s: an empty page with a nextOffset", target)
		}
		next = *page.Page.NextOffset
		if pages > 10_000 {
			f.t.Fatal("pagination does not end")
		}
	}
}

// TestWalkEveryEndpointOfEveryAccount reads everything the way an
// aggregator does, validating each body against the spec.
func TestWalkEveryEndpointOfEveryAccount(t *testing.T) {
	f := newFixture(t, 300)
	tok := f.aliceToken()

	res := f.get("/fdx/v6/customers/current", tok)
	if res.status != 200 || res.json(t)["customerId"] != "sub_alice_0001" {
		t.Fatalf("customers/current = %d %s", res.status, res.body)
	}
	accounts, pages := f.walk("/fdx/v6/accounts?limit=4", "accounts", tok)
	want := f.file.Customers[0].Accounts
	if len(accounts) != len(want) || pages != (len(want)+3)/4 {
		t.Fatalf("walked %d accounts in %d pages; want %d in %d", len(accounts), pages, len(want), (len(want)+3)/4)
	}
	window := "startTime=" + t0.AddDate(-2, 0, 0).Format(time.DateOnly) + "&endTime=" + t0.Format(time.DateOnly)
	for i, raw := range accounts {
		var d model.AccountDescriptor
		if err := model.Unmarshal(raw, &d); err != nil {
			t.Fatalf("account %d: %v", i, err)
		}
		if d.AccountID != want[i].Account.AccountID {
			t.Fatalf("account %d is %s; want %s (import order)", i, d.AccountID, want[i].Account.AccountID)
		}
		base := "/fdx/v6/accounts/" + d.AccountID
		details := f.get(base, tok)
		if model.HasDetails(d.AccountCategory) != (details.status == 200) {
			t.Fatalf("%s details: %d %s", d.AccountCategory, details.status, details.body)
		}
		if details.status == 404 && details.fdxCode(t) != codeDataNotFound {
			t.Fatalf("%s details: %s", d.AccountCategory, details.body)
		}
		if c := f.get(base+"/contact", tok); c.status != 200 {
			t.Fatalf("contact: %d %s", c.status, c.body)
		}
		txns, txnPages := f.walk(base+"/transactions?limit=40&"+window, "transactions", tok)
		if n := len(want[i].Transactions); len(txns) != n {
			t.Fatalf("%s: walked %d transactions; want %d", d.AccountType, len(txns), n)
		}
		seen := map[string]bool{}
		for _, raw := range txns {
			var tx struct{ TransactionID string }
			json.Unmarshal(raw, &tx)
			if seen[tx.TransactionID] {
				t.Fatalf("%s: transaction %s twice", d.AccountType, tx.TransactionID)
			}
			seen[tx.TransactionID] = true
		}
		if len(txns) > 40 && txnPages < 2 {
			t.Fatalf("%s: %d transactions in one page of 40", d.AccountType, len(txns))
		}
		stmts, _ := f.walk(base+"/statements?limit=7", "statements", tok)
		if len(stmts) != len(want[i].Statements) {
			t.Fatalf("%s: %d statements; want %d", d.AccountType, len(stmts), len(want[i].Statements))
		}
		for _, raw := range stmts {
			var s model.Statement
			if err := model.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			doc := f.get(s.Links[0].Href, tok)
			if doc.status != 200 || doc.header.Get("Content-Type") != "application/pdf" || pdf.Verify(doc.body) != nil {
				t.Fatalf("statement %s: %d %s", s.Links[0].Href, doc.status, doc.header)
			}
		}
		pn := f.get(base+"/payment-networks", tok)
		if (len(want[i].PaymentNetworks) > 0) != (pn.status == 200) {
			t.Fatalf("%s payment networks: %d %s", d.AccountType, pn.status, pn.body)
		}
		if at := f.get(base+"/asset-transfer-networks", tok); at.status != 200 {
			t.Fatalf("asset transfer networks: %d %s", at.status, at.body)
		}
	}
}

func TestTransactionsDefaultWindowAndPendingFilter(t *testing.T) {
	f := newFixture(t, 300)
	tok := f.aliceToken()
	checking := f.file.Customers[0].Accounts[0]
	res := f.get("/fdx/v6/accounts/"+checking.Account.AccountID+"/transactions?limit=500", tok)
	var body struct{ Transactions []model.Transaction }
	var raw map[string][]json.RawMessage
	json.Unmarshal(res.body, &raw)
	for _, r := range raw["transactions"] {
		var tx model.Transaction
		if err := model.Unmarshal(r, &tx); err != nil {
			t.Fatal(err)
		}
		body.Transactions = append(body.Transactions, tx)
	}
	earliest := t0.AddDate(0, 0, -6).Truncate(24 * time.Hour)
	var pending int
	for _, tx := range body.Transactions {
		if at := dataset.TransactionTime(tx); at.Before(earliest) || at.After(t0) {
			t.Fatalf("transaction %s at %v outside the default 7-day window", tx.TransactionID, at)
		}
		if tx.Status == model.TransactionStatusPending {
			pending++
		}
	}
	if len(body.Transactions) == 0 || pending == 0 {
		t.Fatalf("default window: %d transactions, %d pending; want recent ones including pending", len(body.Transactions), pending)
	}
}

func TestNegativeCases(t *testing.T) {
	f := newFixture(t, 120)
	alice := f.file.Customers[0].Accounts
	checking, card := alice[0].Account.AccountID, alice[1].Account.AccountID
	full := f.aliceToken()
	selected := f.token("g-selected", "u-alice", []string{"openid"}, []string{checking})
	narrow := f.token("g-narrow", "u-alice", []string{"openid", "Account"}, nil)

	// A cursor of the checking account's transactions, to misuse.
	first := f.get("/fdx/v6/accounts/"+checking+"/transactions?limit=5&startTime=2025-01-01&endTime=2026-11-25", full)
	cur := first.json(t)["page"].(map[string]any)["nextOffset"].(string)
	tampered := []byte(cur)
	tampered[len(tampered)/2] ^= 1
	if tampered[len(tampered)/2] == '-' || tampered[len(tampered)/2] == '_' {
		tampered[len(tampered)/2] = 'A'
	}
	acctURL := "/fdx/v6/accounts/" + checking
	tests := []struct {
		name, method, target, token string
		status, code                int
	}{
		{"no token", "GET", "/fdx/v6/accounts", "", 401, codeNotAuthorized},
		{"malformed token", "GET", "/fdx/v6/accounts", "not-a-token", 401, codeNotAuthorized},
		{"ID token as bearer", "GET", "/fdx/v6/accounts", "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJzdWJfYWxpY2VfMDAwMSJ9.c2ln", 401, codeNotAuthorized},
		{"token in the query", "GET", "/fdx/v6/accounts?access_token=" + url.QueryEscape(full), "", 401, codeNotAuthorized},
		{"malformed account id", "GET", "/fdx/v6/accounts/" + strings.Repeat("x", 300), full, 404, codeAccountNotFound},
		{"unknown account id", "GET", "/fdx/v6/accounts/acc_000000000000", full, 404, codeAccountNotFound},
		{"another user's account", "GET", "/fdx/v6/accounts/" + f.bobAcct, full, 404, codeAccountNotFound},
		{"another user's transactions", "GET", "/fdx/v6/accounts/" + f.bobAcct + "/transactions", full, 404, codeAccountNotFound},
		{"deselected account", "GET", "/fdx/v6/accounts/" + card, selected, 404, codeAccountNotFound},
		{"deselected account's contact", "GET", "/fdx/v6/accounts/" + card + "/contact", selected, 404, codeAccountNotFound},
		{"selected account", "GET", acctURL, selected, 200, 0},
		{"start without end", "GET", acctURL + "/transactions?startTime=2026-01-01", full, 400, codeInvalidDateRange},
		{"end without start", "GET", acctURL + "/transactions?endDate=2026-01-01", full, 400, codeInvalidDateRange},
		{"start after end", "GET", acctURL + "/transactions?startTime=2026-02-01&endTime=2026-01-01", full, 400, codeInvalidDateRange},
		{"start before history", "GET", acctURL + "/transactions?startTime=2024-11-24&endTime=2026-01-01", full, 400, codeInvalidDateRange},
		{"start at the history limit", "GET", acctURL + "/transactions?startTime=2024-11-25&endTime=2024-12-01", full, 200, 0},
		{"malformed date", "GET", acctURL + "/transactions?startTime=2026-1-01&endTime=2026-02-01", full, 400, codeInvalidDate},
		{"timestamp instead of date", "GET", acctURL + "/statements?startTime=2026-01-01T00:00:00Z&endTime=2026-02-01", full, 400, codeInvalidDate},
		{"startTime and startDate disagree", "GET", acctURL + "/transactions?startTime=2026-01-01&startDate=2026-01-02&endTime=2026-02-01", full, 400, codeInvalidDateRange},
		{"limit zero", "GET", "/fdx/v6/accounts?limit=0", full, 400, codeInvalidInput},
		{"negative limit", "GET", "/fdx/v6/accounts?limit=-5", full, 400, codeInvalidInput},
		{"limit not a number", "GET", "/fdx/v6/accounts?limit=ten", full, 400, codeInvalidInput},
		{"huge limit is capped", "GET", "/fdx/v6/accounts?limit=99999999", full, 200, 0},
		{"tampered cursor", "GET", acctURL + "/transactions?offset=" + url.QueryEscape(string(tampered)), full, 400, codeInvalidInput},
		{"garbage cursor", "GET", acctURL + "/transactions?offset=%21%21%21", full, 400, codeInvalidInput},
		{"cursor of another account", "GET", "/fdx/v6/accounts/" + card + "/transactions?offset=" + url.QueryEscape(cur), full, 400, codeInvalidInput},
		{"cursor of another list", "GET", acctURL + "/statements?offset=" + url.QueryEscape(cur), full, 400, codeInvalidInput},
		{"cursor of another user", "GET", "/fdx/v6/accounts/" + f.bobAcct + "/transactions?offset=" + url.QueryEscape(cur), f.token("g-bob", "u-bob", nil, nil), 400, codeInvalidInput},
		{"cursor with another window", "GET", acctURL + "/transactions?startTime=2025-02-01&endTime=2026-11-25&offset=" + url.QueryEscape(cur), full, 400, codeInvalidInput},
		{"cursor with its window omitted", "GET", acctURL + "/transactions?offset=" + url.QueryEscape(cur), full, 200, 0},
		{"unknown statement", "GET", acctURL + "/statements/st_nope", full, 404, codeDataNotFound},
		{"statement of another account", "GET", "/fdx/v6/accounts/" + card + "/statements/" + alice[0].Statements[0].StatementID, full, 404, codeDataNotFound},
		{"POST", "POST", "/fdx/v6/accounts", full, 405, codeNotImplemented},
		{"DELETE", "DELETE", acctURL, full, 405, codeNotImplemented},
		{"PUT on a statement", "PUT", acctURL + "/statements/x", full, 405, codeNotImplemented},
		{"unknown route", "GET", "/fdx/v6/balances", full, 404, codeDataNotFound},
		{"unknown nested route", "GET", acctURL + "/holdings", full, 404, codeDataNotFound},
		{"scope excludes transactions", "GET", acctURL + "/transactions", narrow, 403, codeForbidden},
		{"scope includes accounts", "GET", "/fdx/v6/accounts", narrow, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.do(tt.method, tt.target, tt.token)
			if res.status != tt.status {
				t.Fatalf("%s %s = %d %s; want %d", tt.method, tt.target, res.status, res.body, tt.status)
			}
			if tt.code != 0 {
				fdxtest.CheckErrorBody(t, res.status, res.header, res.body)
				if got := res.fdxCode(t); got != tt.code {
					t.Fatalf("FDX code %d; want %d (%s)", got, tt.code, res.body)
				}
			}
			if tt.status == 401 && !strings.Contains(res.header.Get("WWW-Authenticate"), `Bearer realm="fdx", error="invalid_token"`) {
				t.Fatalf("401 without WWW-Authenticate Bearer invalid_token: %q", res.header.Get("WWW-Authenticate"))
			}
			if tt.status == 405 && res.header.Get("Allow") != "GET, HEAD" {
				t.Fatalf("405 Allow = %q", res.header.Get("Allow"))
			}
		})
	}
}

func TestExpiredAndRevokedTokens(t *testing.T) {
	f := newFixture(t, 20)
	tok := f.aliceToken()
	if res := f.get("/fdx/v6/accounts", tok); res.status != 200 {
		t.Fatalf("fresh token: %d", res.status)
	}
	f.clock.Set(t0.Add(901 * time.Second))
	res := f.get("/fdx/v6/accounts", tok)
	if res.status != 401 || res.fdxCode(t) != codeNotAuthorized || !strings.Contains(string(res.body), "expired") {
		t.Fatalf("expired token: %d %s", res.status, res.body)
	}
	fresh := f.aliceToken()
	if err := f.st.RevokeGrant(t.Context(), "g-alice", f.clock.Now(), "user revoked"); err != nil {
		t.Fatal(err)
	}
	res = f.get("/fdx/v6/accounts", fresh)
	if res.status != 401 || res.fdxCode(t) != codeNotAuthorized || !strings.Contains(string(res.body), "revoked") {
		t.Fatalf("revoked token: %d %s", res.status, res.body)
	}
}

func TestAccountStatusRules(t *testing.T) {
	f := newFixture(t, 20)
	accts := f.file.Customers[0].Accounts
	accts[0].Account.Status = model.AccountStatusClosed     // checking
	accts[4].Account.Status = model.AccountStatusRestricted // savings
	f.importFile(f.file, false)
	tok := f.aliceToken()
	closed, restricted, wallet := accts[0].Account.AccountID, accts[4].Account.AccountID, accts[5].Account.AccountID
	for _, tt := range []struct {
		path         string
		status, code int
	}{
		{"/accounts/" + closed, 200, 0},
		{"/accounts/" + closed + "/transactions", 200, 0},
		{"/accounts/" + closed + "/payment-networks", 409, codeAccountClosed},
		{"/accounts/" + closed + "/asset-transfer-networks", 409, codeAccountClosed},
		{"/accounts/" + restricted, 200, 0},
		{"/accounts/" + restricted + "/transactions", 403, codeForbidden},
		{"/accounts/" + restricted + "/contact", 403, codeForbidden},
		{"/accounts/" + restricted + "/payment-networks", 403, codeForbidden},
		{"/accounts/" + wallet, 404, codeDataNotFound},
		{"/accounts/" + wallet + "/payment-networks", 404, codeDataNotFound},
		{"/accounts/" + wallet + "/transactions", 200, 0},
	} {
		res := f.get("/fdx/v6"+tt.path, tok)
		if res.status != tt.status || (tt.code != 0 && res.fdxCode(t) != tt.code) {
			t.Errorf("GET %s = %d %s; want %d/%d", tt.path, res.status, res.body, tt.status, tt.code)
		}
	}
	res := f.get("/fdx/v6/accounts/"+closed, tok)
	if !strings.Contains(string(res.body), `"status":"CLOSED"`) {
		t.Errorf("closed account details: %s", res.body)
	}
	empty := f.token("g-none", "u-alice", []string{"openid"}, []string{})
	if res := f.get("/fdx/v6/accounts", empty); res.status != 404 || res.fdxCode(t) != codeDataNotFound {
		t.Errorf("empty selection /accounts = %d %s; want 404 1107 (accounts has minItems 1)", res.status, res.body)
	}
}

func TestMaintenanceAndOutage(t *testing.T) {
	f := newFixture(t, 20)
	tok := f.aliceToken()
	if err := f.st.SetSetting(t.Context(), "maintenance", "on"); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(maintenance.CacheFor + time.Second))
	tok = f.aliceToken()
	for _, path := range []string{"/fdx/v6/accounts", "/fdx/v6/customers/current", "/fdx/v6/accounts/x/transactions"} {
		res := f.get(path, tok)
		if res.status != 503 || res.fdxCode(t) != codeUnavailable || res.header.Get("Retry-After") == "" ||
			res.json(t)["message"] != "Scheduled Maintenance" {
			t.Fatalf("maintenance %s: %d %s %v", path, res.status, res.body, res.header)
		}
	}
	if err := f.st.SetSetting(t.Context(), "maintenance", "off"); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(2*maintenance.CacheFor + 2*time.Second))
	tok = f.aliceToken()
	if res := f.get("/fdx/v6/accounts", tok); res.status != 200 {
		t.Fatalf("after maintenance: %d %s", res.status, res.body)
	}
	// The database becomes unreachable: every read fails with
	// store.ErrUnavailable, as the backends report it.
	down := &outage{Store: f.st}
	down.down.Store(true)
	tokens, _ := oauth.NewAccessTokens([]byte(tokenKey), down, 900*time.Second, f.clock.Now)
	api, err := New(Config{Store: down, Tokens: tokens, Observer: f.api.cfg.Observer, Maintenance: maintenance.New(down, f.clock.Now),
		CursorKey: f.api.cfg.CursorKey, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.h = api.Handler()
	res := f.get("/fdx/v6/accounts", tok)
	if res.status != 503 || res.header.Get("Retry-After") == "" || res.fdxCode(t) != codeUnavailable {
		t.Fatalf("database down: %d %s; want 503 with Retry-After", res.status, res.body)
	}
	down.down.Store(false)
	f.clock.Set(t0.Add(4*maintenance.CacheFor + 4*time.Second))
	if res := f.get("/fdx/v6/accounts", tok); res.status != 200 {
		t.Fatalf("database back: %d %s", res.status, res.body)
	}
}

// outage is the real store with its reads cut while down is set.
type outage struct {
	*sqlite.Store
	down atomic.Bool
}

func (o *outage) cut(op string) error {
	if o.down.Load() {
		return fmt.Errorf("sqlite: %s: %w (connection refused)", op, store.ErrUnavailable)
	}
	return nil
}

func (o *outage) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	if err := o.cut("get grant"); err != nil {
		return store.Grant{}, err
	}
	return o.Store.GetGrant(ctx, id)
}

func (o *outage) GetSetting(ctx context.Context, name string) (string, error) {
	if err := o.cut("get setting"); err != nil {
		return "", err
	}
	return o.Store.GetSetting(ctx, name)
}

func (o *outage) ListAccounts(ctx context.Context, q store.AccountQuery) ([]store.Account, error) {
	if err := o.cut("list accounts"); err != nil {
		return nil, err
	}
	return o.Store.ListAccounts(ctx, q)
}

func TestOneLogLinePerRequest(t *testing.T) {
	f := newFixture(t, 20)
	tok := f.aliceToken()
	acct := f.file.Customers[0].Accounts[0].Account.AccountID
	f.do("GET", "/fdx/v6/accounts/"+acct+"/transactions", tok, "X-Request-ID", "req-test-123")
	f.get("/fdx/v6/accounts/nope", tok)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line not JSON: %s", l)
		}
		if m["event"] == "http.request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d request lines; want 2:\n%s", len(lines), f.logs.String())
	}
	ok, miss := lines[0], lines[1]
	for k, want := range map[string]any{"request_id": "req-test-123", "sub": "sub_alice_0001", "client_id": "plaid",
		"route": "/fdx/v6/accounts/{accountId}/transactions", "status": float64(200)} {
		if ok[k] != want {
			t.Errorf("log %s = %v; want %v (line %v)", k, ok[k], want, ok)
		}
	}
	if _, has := ok["duration_ms"]; !has {
		t.Errorf("log line has no latency: %v", ok)
	}
	if miss["status"] != float64(404) || miss["error"] != "701" {
		t.Errorf("404 log line = %v; want status 404, error 701", miss)
	}
	if strings.Contains(f.logs.String(), tok) {
		t.Fatal("an access token reached the log")
	}
}

func TestHeadAndCursorOpacity(t *testing.T) {
	f := newFixture(t, 20)
	tok := f.aliceToken()
	res := f.do("HEAD", "/fdx/v6/accounts", tok)
	if res.status != 200 || len(res.body) != 0 || res.header.Get("Content-Length") == "" {
		t.Fatalf("HEAD = %d, %d bytes", res.status, len(res.body))
	}
	page := f.get("/fdx/v6/accounts?limit=1", tok).json(t)["page"].(map[string]any)["nextOffset"].(string)
	if strings.Contains(page, "acc_") || strings.Contains(page, "u-alice") {
		t.Fatalf("cursor %q reveals ids", page)
	}
	c := cursor{kind: listAccounts, scope: scopeOf("u-alice", ""), at: 42, id: "x"}
	other, _ := New(Config{Store: f.st, Tokens: f.tokens, Observer: f.api.cfg.Observer, CursorKey: []byte(strings.Repeat("z", 32))})
	if _, err := decodeCursor(c.encode(other.cfg.CursorKey), f.api.cfg.CursorKey, listAccounts, c.scope); err == nil {
		t.Fatal("a cursor MAC'd with another key was accepted")
	}
	got, err := decodeCursor(c.encode(f.api.cfg.CursorKey), f.api.cfg.CursorKey, listAccounts, c.scope)
	if err != nil || got != c {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
}

func TestNewRefusesMissingDependencies(t *testing.T) {
	_, err := New(Config{CursorKey: []byte("short")})
	for _, want := range []string{"no store", "no access-token verifier", "no observer", "at least 32 bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New error %v; want it to mention %q", err, want)
		}
	}
}

func ExampleAPI_Mount() {
	fmt.Println(BasePath + "/accounts/{accountId}/transactions")
	// Output: /fdx/v6/accounts/{accountId}/transactions
}
