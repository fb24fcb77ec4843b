package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/fdxd/fdxd/internal/browsertest"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
)

// browserPurpose names these tests when chromium is missing.
const browserPurpose = "the real-browser sign-in test"

// callbackServer is the aggregator's redirect target: a tiny page on a free
// loopback port that records the query the browser brought.
type callbackServer struct {
	URI string
	got chan url.Values
}

func startCallback(t *testing.T) *callbackServer {
	t.Helper()
	cb := &callbackServer{got: make(chan url.Values, 4)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		select {
		case cb.got <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>Aggregator callback</title><p id="received">Connected.</p>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cb.URI = srv.URL + "/callback"
	return cb
}

// wait returns the query of the first callback request.
func (cb *callbackServer) wait(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-cb.got:
		return q
	case <-time.After(60 * time.Second):
		t.Fatal("the browser never reached the redirect URI")
		return nil
	}
}

// setup starts fdxd with the callback registered as one more redirect URI
// of the test client, and the x/oauth2 config of that client.
func setup(t *testing.T) (*servertest.Server, *callbackServer, *oauth2.Config) {
	t.Helper()
	cb := startCallback(t)
	s := servertest.Start(t, servertest.Options{Client: func(c *store.Client) {
		c.RedirectURIs = append(c.RedirectURIs, cb.URI)
	}})
	conf := &oauth2.Config{
		ClientID:     servertest.ClientID,
		ClientSecret: servertest.ClientSecret,
		RedirectURL:  cb.URI,
		Endpoint:     oauth2.Endpoint{AuthURL: s.Issuer + "/authorize", TokenURL: s.Issuer + "/token", AuthStyle: oauth2.AuthStyleInHeader},
		Scopes:       []string{"openid", "offline_access"},
	}
	return s, cb, conf
}

// TestBrowserSignIn: chromium opens the authorize URL, the user types their
// username and password on the real login page and clicks Sign in; the
// browser lands on the redirect URI with a code and the unchanged state,
// and x/oauth2 exchanges that code for tokens.
func TestBrowserSignIn(t *testing.T) {
	path := browsertest.Find(t, browserPurpose)
	s, cb, conf := setup(t)
	ctx := browsertest.Start(t, path, 90*time.Second)

	state := "browser-state-" + secret.ID("", 8) + "/+?&="
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))

	err := chromedp.Do(ctx,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	if err != nil {
		t.Fatalf("open the authorize URL: %v\nbrowser %s", err, browsertest.Where(ctx))
	}
	if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || !strings.Contains(title, "Sign in") {
		t.Errorf("login page title %q, %v", title, err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("username"), servertest.Username),
		chromedp.SendKeys(chromedp.ID("password"), servertest.Password),
		chromedp.Click(chromedp.CSS(`button[name="action"][value="login"]`)),
		chromedp.WaitVisible(chromedp.ID("received")),
	)
	if err != nil {
		t.Fatalf("sign-in in the browser: %v\nbrowser %s", err, browsertest.Where(ctx))
	}
	q := cb.wait(t)
	if q.Get("code") == "" || q.Get("error") != "" {
		t.Fatalf("redirect query %v; want a code", q)
	}
	if got := q.Get("state"); got != state {
		t.Fatalf("state = %q; want it unchanged: %q", got, state)
	}
	if got := q.Get("iss"); got != s.Issuer {
		t.Fatalf("iss = %q; want %q", got, s.Issuer)
	}
	landed, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(landed); u == nil || u.Scheme+"://"+u.Host+u.Path != cb.URI {
		t.Fatalf("the browser is at %s; want the redirect URI %s", landed, cb.URI)
	}

	// The code is real: x/oauth2 exchanges it, with the PKCE verifier.
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("x/oauth2 exchange of the browser's code: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Extra("id_token") == nil {
		t.Fatalf("token %+v; want access, refresh and ID tokens", tok)
	}
	if _, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("the code was accepted twice")
	}
}

// TestBrowserCancel: clicking Cancel on the login page sends the browser
// back with error=access_denied and the state.
func TestBrowserCancel(t *testing.T) {
	path := browsertest.Find(t, browserPurpose)
	s, cb, conf := setup(t)
	ctx := browsertest.Start(t, path, 90*time.Second)

	state := "cancel-state-" + secret.ID("", 8)
	err := chromedp.Do(ctx,
		chromedp.Navigate(conf.AuthCodeURL(state)),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.Click(chromedp.CSS(`button[name="action"][value="cancel"]`)),
		chromedp.WaitVisible(chromedp.ID("received")),
	)
	if err != nil {
		t.Fatalf("cancel in the browser: %v\nbrowser %s", err, browsertest.Where(ctx))
	}
	q := cb.wait(t)
	if q.Get("error") != "access_denied" || q.Get("state") != state || q.Get("code") != "" || q.Get("iss") != s.Issuer {
		t.Fatalf("redirect query %v; want error=access_denied, state %q, iss, no code", q, state)
	}
}
