package oauth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

// tokens runs a sign-in with scope and returns the token response.
func tokens(t *testing.T, s *servertest.Server, scope string) map[string]any {
	t.Helper()
	code, _ := s.Authorize(url.Values{"scope": {scope}})
	resp, body := s.PostForm("/token", exchangeForm(code), servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 200 {
		t.Fatalf("exchange: %d %s", resp.StatusCode, body)
	}
	return tokenJSON(t, body)
}

func userinfo(t *testing.T, s *servertest.Server, method, header, body, query string) (*http.Response, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.Issuer+"/userinfo"+query, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &m)
	return resp, m
}

func TestUserinfo(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	full := tokens(t, s, "openid profile email offline_access")
	at := full["access_token"].(string)

	resp, m := userinfo(t, s, "GET", "Bearer "+at, "", "")
	if resp.StatusCode != 200 || m["sub"] != servertest.Subject || m["name"] != "Alice Example" ||
		m["email"] != "alice@example.com" || m["email_verified"] != true || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET userinfo: %d %v", resp.StatusCode, m)
	}
	if m["preferred_username"] != nil || m["sub"] == servertest.Username {
		t.Fatalf("userinfo leaks the username: %v", m)
	}
	resp, m = userinfo(t, s, "POST", "", "access_token="+url.QueryEscape(at), "")
	if resp.StatusCode != 200 || m["sub"] != servertest.Subject {
		t.Fatalf("POST userinfo with the token in the body: %d %v", resp.StatusCode, m)
	}

	// Scopes decide the claims.
	narrow := tokens(t, s, "openid")
	_, m = userinfo(t, s, "GET", "Bearer "+narrow["access_token"].(string), "", "")
	if m["sub"] != servertest.Subject || m["email"] != nil || m["name"] != nil {
		t.Fatalf("openid-only userinfo: %v", m)
	}
	noOpenID := tokens(t, s, "offline_access")
	if noOpenID["id_token"] != nil {
		t.Fatal("an ID token without the openid scope")
	}
	resp, m = userinfo(t, s, "GET", "Bearer "+noOpenID["access_token"].(string), "", "")
	if resp.StatusCode != 403 || m["error"] != "insufficient_scope" {
		t.Fatalf("token without openid: %d %v", resp.StatusCode, m)
	}

	cases := []struct {
		name, method, header, body, query string
		status                            int
		challengeError                    bool
	}{
		{"no token", "GET", "", "", "", 401, false},
		{"garbage token", "GET", "Bearer garbage", "", "", 401, true},
		{"an ID token as bearer", "GET", "Bearer " + full["id_token"].(string), "", "", 401, true},
		{"a refresh token as bearer", "GET", "Bearer " + full["refresh_token"].(string), "", "", 401, true},
		{"basic scheme", "GET", "Basic " + at, "", "", 401, true},
		{"token in the query", "GET", "", "", "?access_token=" + url.QueryEscape(at), 400, true},
		{"token twice", "POST", "Bearer " + at, "access_token=" + url.QueryEscape(at), "", 400, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, m := userinfo(t, s, c.method, c.header, c.body, c.query)
			ch := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != c.status || !strings.HasPrefix(ch, "Bearer") || strings.Contains(ch, "error=") != c.challengeError {
				t.Fatalf("%d %q %v", resp.StatusCode, ch, m)
			}
		})
	}

	// Expired and revoked tokens are refused at once.
	s.Clock.Advance(15 * time.Minute)
	resp, _ = userinfo(t, s, "GET", "Bearer "+at, "", "")
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "expired") {
		t.Fatalf("expired token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestRevokeAndIntrospect(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	tok := tokens(t, s, "openid offline_access")
	at, rt := tok["access_token"].(string), tok["refresh_token"].(string)
	introspect := func(token, user string) map[string]any {
		resp, body := s.PostForm("/introspect", url.Values{"token": {token}}, user, servertest.ClientSecret)
		if resp.StatusCode != 200 {
			t.Fatalf("introspect: %d %s", resp.StatusCode, body)
		}
		return tokenJSON(t, body)
	}
	m := introspect(at, servertest.ClientID)
	if m["active"] != true || m["sub"] != servertest.Subject || m["client_id"] != servertest.ClientID ||
		m["exp"] != float64(s.Clock.Now().Add(900*time.Second).Unix()) {
		t.Fatalf("introspect access token: %v", m)
	}
	m = introspect(rt, servertest.ClientID)
	if m["active"] != true || m["token_type"] != "refresh_token" ||
		m["exp"] != float64(s.Clock.Now().Add(395*24*time.Hour).Unix()) {
		t.Fatalf("introspect refresh token (13-month lifetime visible): %v", m)
	}
	if m := introspect("garbage", servertest.ClientID); len(m) != 1 || m["active"] != false {
		t.Fatalf("introspect garbage: %v", m)
	}
	// Introspection requires client authentication.
	resp, body := s.PostForm("/introspect", url.Values{"token": {at}}, servertest.ClientID, "wrong")
	if resp.StatusCode != 401 {
		t.Fatalf("unauthenticated introspection: %d %s", resp.StatusCode, body)
	}
	// Another client sees nothing of our tokens.
	other := s.Client
	other.ID = "other-aggregator"
	if err := s.Store.CreateClient(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if m := introspect(at, "other-aggregator"); m["active"] != false {
		t.Fatalf("another client introspected our token: %v", m)
	}
	resp, _ = s.PostForm("/revoke", url.Values{"token": {rt}}, "other-aggregator", servertest.ClientSecret)
	if resp.StatusCode != 400 {
		t.Fatalf("another client revoked our token: %d", resp.StatusCode)
	}

	// Revoking the access token refuses it at once; the grant lives on.
	resp, _ = s.PostForm("/revoke", url.Values{"token": {at}, "token_type_hint": {"access_token"}}, servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 200 {
		t.Fatalf("revoke access token: %d", resp.StatusCode)
	}
	if r, _ := userinfo(t, s, "GET", "Bearer "+at, "", ""); r.StatusCode != 401 {
		t.Fatalf("revoked access token accepted: %d", r.StatusCode)
	}
	s.Clock.Advance(time.Second)
	resp, body = s.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 200 {
		t.Fatalf("refresh after revoking an access token: %d %s", resp.StatusCode, body)
	}
	at2 := tokenJSON(t, body)["access_token"].(string)
	if r, _ := userinfo(t, s, "GET", "Bearer "+at2, "", ""); r.StatusCode != 200 {
		t.Fatalf("a new access token after revoking the old one: %d", r.StatusCode)
	}

	// Revoking the refresh token ends the grant: every token refused.
	resp, _ = s.PostForm("/revoke", url.Values{"token": {rt}}, servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 200 {
		t.Fatalf("revoke refresh token: %d", resp.StatusCode)
	}
	if r, _ := userinfo(t, s, "GET", "Bearer "+at2, "", ""); r.StatusCode != 401 {
		t.Fatalf("access token after its grant was revoked: %d", r.StatusCode)
	}
	resp, _ = s.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 400 {
		t.Fatalf("refresh after revocation: %d", resp.StatusCode)
	}
	if m := introspect(rt, servertest.ClientID); m["active"] != false {
		t.Fatalf("revoked refresh token introspects active: %v", m)
	}
	// Unknown tokens revoke fine (RFC 7009 §2.2); a missing token does not.
	if resp, _ := s.PostForm("/revoke", url.Values{"token": {"never-issued"}}, servertest.ClientID, servertest.ClientSecret); resp.StatusCode != 200 {
		t.Fatalf("revoke unknown: %d", resp.StatusCode)
	}
	if resp, _ := s.PostForm("/revoke", url.Values{}, servertest.ClientID, servertest.ClientSecret); resp.StatusCode != 400 {
		t.Fatalf("revoke without token: %d", resp.StatusCode)
	}
}

func TestDisablingAUserRefusesTheirTokens(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	tok := tokens(t, s, "openid offline_access")
	// A code issued before the user is disabled and exchanged after.
	code, _ := s.Authorize(url.Values{"scope": {"openid offline_access"}})
	if _, err := s.Store.DisableUser(t.Context(), s.User.ID, s.Clock.Now(), "user disabled"); err != nil {
		t.Fatal(err)
	}
	if r, _ := userinfo(t, s, "GET", "Bearer "+tok["access_token"].(string), "", ""); r.StatusCode != 401 {
		t.Fatalf("access token of a disabled user: %d", r.StatusCode)
	}
	resp, body := s.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}},
		servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"invalid_grant"`) {
		t.Fatalf("refresh token of a disabled user: %d %s", resp.StatusCode, body)
	}
	resp, body = s.PostForm("/token", exchangeForm(code), servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "disabled") {
		t.Fatalf("code of a disabled user: %d %s", resp.StatusCode, body)
	}
}

// disablingBeforeRedemption is a store on which the user is disabled between
// the code exchange's own check of the user and its redemption: the race
// DisableUser and RedeemAuthCode settle in the database.
type disablingBeforeRedemption struct {
	store.Store
}

func (d disablingBeforeRedemption) RedeemAuthCode(ctx context.Context, r store.CodeRedemption) error {
	if _, err := d.DisableUser(ctx, r.Grant.UserID, r.Now, "user disabled"); err != nil {
		return err
	}
	return d.Store.RedeemAuthCode(ctx, r)
}

func TestCodeExchangeLosingTheRaceWithDisableUser(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "fdxd.db")
	st, err := sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := servertest.StartWithStore(t, disablingBeforeRedemption{st}, dbPath, servertest.Options{})
	code, _ := s.Authorize(url.Values{"scope": {"openid offline_access"}})
	resp, body := s.PostForm("/token", exchangeForm(code), servertest.ClientID, servertest.ClientSecret)
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"invalid_grant"`) || !strings.Contains(string(body), "disabled") {
		t.Fatalf("code exchange for a user disabled before the redemption committed: %d %s; want 400 invalid_grant", resp.StatusCode, body)
	}
	grants, err := st.ListGrants(t.Context(), store.GrantFilter{UserID: s.User.ID, IncludeDead: true})
	if err != nil || len(grants) != 0 {
		t.Fatalf("grants after the refused exchange: %+v, %v; want none", grants, err)
	}
}
