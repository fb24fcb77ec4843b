package oauth_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
)

// TestNoSecretReachesTheLogs runs whole flows with known values, failures
// included, and searches every log line — and the database file — for the
// secrets, passwords, codes and tokens.
func TestNoSecretReachesTheLogs(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Client: func(c *store.Client) { c.RotateRefreshTokens = true }})
	_, conf, ctx := peers(t, s)
	secrets := map[string]string{
		"client secret": servertest.ClientSecret,
		"password":      servertest.Password,
	}

	// A failed login whose username is a password typed in the wrong field.
	mistyped := "Wr0ng-Field-P@ssw0rd-123"
	secrets["password typed as username"] = mistyped
	s.Login(s.Browser(), s.AuthorizeURL(nil), mistyped, "also-a-secret-pw-456", nil)
	secrets["wrong password"] = "also-a-secret-pw-456"

	res := s.Login(s.Browser(), s.AuthorizeURL(url.Values{"nonce": {"nonce-value"}}), servertest.Username, servertest.Password, nil)
	code := res.Code()
	secrets["code"] = code
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	secrets["access token"] = tok.AccessToken
	secrets["refresh token"] = tok.RefreshToken
	secrets["id token"] = tok.Extra("id_token").(string)
	// The replay, a wrong secret, refreshes, userinfo, introspection and
	// revocation all log something.
	conf.Exchange(ctx, code)
	bad := *conf
	bad.ClientSecret = "wrong-secret-value-789"
	secrets["wrong client secret"] = bad.ClientSecret
	bad.Exchange(ctx, "made-up-code-value-000")

	res = s.Login(s.Browser(), s.AuthorizeURL(nil), servertest.Username, servertest.Password, nil)
	secrets["second code"] = res.Code()
	tok2, err := conf.Exchange(ctx, res.Code())
	if err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(16 * time.Minute)
	fresh, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	secrets["rotated refresh token"] = fresh.RefreshToken
	secrets["refreshed access token"] = fresh.AccessToken
	req, _ := http.NewRequest("GET", s.Issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+fresh.AccessToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	s.PostForm("/introspect", url.Values{"token": {fresh.AccessToken}}, servertest.ClientID, servertest.ClientSecret)
	s.PostForm("/revoke", url.Values{"token": {fresh.RefreshToken}}, servertest.ClientID, servertest.ClientSecret)
	// Reusing the rotated-out token after the grace.
	s.Clock.Advance(3 * time.Minute)
	s.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}}, servertest.ClientID, servertest.ClientSecret)

	logs := s.Logs.String()
	if len(logs) < 1000 {
		t.Fatalf("suspiciously few logs (%d bytes)", len(logs))
	}
	basic := base64.StdEncoding.EncodeToString([]byte(servertest.ClientID + ":" + servertest.ClientSecret))
	secrets["Basic credentials"] = basic
	for what, v := range secrets {
		if v == "" {
			t.Fatalf("%s is empty: the flow did not run", what)
		}
		if strings.Contains(logs, v) {
			t.Errorf("the %s appears in the logs", what)
		}
	}
	// Stored only as hashes: the database file holds none of them either.
	db, err := os.ReadFile(s.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(s.DBPath + "-wal")
	for what, v := range secrets {
		if strings.Contains(string(db), v) || strings.Contains(string(wal), v) {
			t.Errorf("the %s is stored in clear in the database", what)
		}
	}
}
