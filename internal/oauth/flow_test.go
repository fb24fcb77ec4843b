package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/fdxd/fdxd/internal/server/servertest"
)

// peers returns the go-oidc provider and the x/oauth2 config of the test
// client: clients nobody here wrote.
func peers(t *testing.T, s *servertest.Server) (*oidc.Provider, *oauth2.Config, context.Context) {
	t.Helper()
	ctx := oidc.ClientContext(t.Context(), http.DefaultClient)
	provider, err := oidc.NewProvider(ctx, s.Issuer)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	conf := &oauth2.Config{
		ClientID:     servertest.ClientID,
		ClientSecret: servertest.ClientSecret,
		RedirectURL:  servertest.RedirectURI,
		Endpoint:     provider.Endpoint(),
		Scopes:       []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess},
	}
	return provider, conf, ctx
}

// TestPlaidShapedFlow is the flow Plaid runs: scope openid offline_access,
// no prompt, client_secret_basic; then a refresh and userinfo.
func TestPlaidShapedFlow(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	provider, conf, ctx := peers(t, s)

	state := "plaid-state-8f3a1c"
	authURL := conf.AuthCodeURL(state)
	if strings.Contains(authURL, "prompt") {
		t.Fatalf("the authorize URL must carry no prompt, as Plaid sends none: %s", authURL)
	}
	res := s.Login(s.Browser(), authURL, servertest.Username, servertest.Password, nil)
	if res.Code() == "" {
		t.Fatalf("no code: %+v", res)
	}
	q := res.Redirect.Query()
	if got := q.Get("state"); got != state {
		t.Fatalf("state = %q; want it back unchanged (%q)", got, state)
	}
	if got := q.Get("iss"); got != s.Issuer {
		t.Fatalf("iss = %q; want %q (RFC 9207)", got, s.Issuer)
	}
	if res.Redirect.Scheme+"://"+res.Redirect.Host+res.Redirect.Path != servertest.RedirectURI {
		t.Fatalf("redirected to %s; want the registered redirect URI", res.Redirect)
	}

	tok, err := conf.Exchange(ctx, res.Code())
	if err != nil {
		t.Fatalf("x/oauth2 code exchange: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.AccessToken == "" {
		t.Fatalf("token = %+v", tok)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access without prompt=consent: Plaid's connection would die in 15 minutes")
	}
	if got := tok.ExpiresIn; got != 900 {
		t.Fatalf("expires_in = %d; want exactly 900", got)
	}
	rawID, _ := tok.Extra("id_token").(string)
	verifier := provider.Verifier(&oidc.Config{ClientID: servertest.ClientID, Now: s.Clock.Now})
	idt, err := verifier.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc ID token verification (kid in JWKS, signature, iss, aud, exp): %v", err)
	}
	if idt.Subject != servertest.Subject || len(idt.Subject) < 7 {
		t.Fatalf("sub = %q; want %q (at least 7 characters)", idt.Subject, servertest.Subject)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var claims struct {
		AuthTime int64  `json:"auth_time"`
		AZP      string `json:"azp"`
		Nonce    string `json:"nonce"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.AuthTime != s.Clock.Now().Unix() || claims.AZP != servertest.ClientID || claims.Nonce != "" {
		t.Fatalf("claims auth_time %d azp %q nonce %q", claims.AuthTime, claims.AZP, claims.Nonce)
	}

	// Userinfo with the access token: the same sub.
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("go-oidc userinfo: %v", err)
	}
	if ui.Subject != idt.Subject {
		t.Fatalf("userinfo sub %q differs from the ID token's %q", ui.Subject, idt.Subject)
	}

	// Fifteen minutes later the access token has expired; x/oauth2 refreshes.
	s.Clock.Advance(15 * time.Minute)
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo accepted an expired access token")
	}
	stale := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: s.Clock.Now().Add(-time.Second)}
	fresh, err := conf.TokenSource(ctx, stale).Token()
	if err != nil {
		t.Fatalf("x/oauth2 refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken != tok.RefreshToken {
		t.Fatalf("refresh: want a new access token and the same (non-rotating) refresh token")
	}
	ui, err = provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh))
	if err != nil || ui.Subject != servertest.Subject {
		t.Fatalf("userinfo after refresh: %v, %+v", err, ui)
	}
}

// TestRefreshTokenLivesThirteenMonths: no inactivity timeout, an absolute
// lifetime of 395 days.
func TestRefreshTokenLivesThirteenMonths(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	_, conf, ctx := peers(t, s)
	code, _ := s.Authorize(nil)
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	refresh := func() error {
		_, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: s.Clock.Now().Add(-time.Second)}).Token()
		return err
	}
	s.Clock.Advance(394 * 24 * time.Hour) // unused for 394 days
	if err := refresh(); err != nil {
		t.Fatalf("refresh after 394 idle days: %v", err)
	}
	s.Clock.Advance(24*time.Hour + time.Second)
	err = refresh()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("refresh after 395 days = %v; want invalid_grant", err)
	}
}

// tokenJSON decodes a token endpoint response.
func tokenJSON(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("token response is not JSON: %s", body)
	}
	return m
}

func exchangeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {servertest.RedirectURI}}
}
