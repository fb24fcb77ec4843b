package doctor

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// rotatingProvider publishes a JWKS the test changes and signs ID tokens
// with the kid the test chooses, at the fake clock's time.
type rotatingProvider struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex // guards the fields below
	now       time.Time
	published []string // kids in the JWKS
	signer    string   // kid that signs
	forge     bool     // sign with a key other than the published one
	down      bool
}

func newRotatingProvider(t *testing.T, start time.Time) *rotatingProvider {
	p := &rotatingProvider{t: t, now: start}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.down {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
		for _, kid := range p.published {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &p.keyFor(kid).PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		writeJSON(w, 200, set)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// keyFor gives each kid a key; kids starting with "b" share the second one.
func (p *rotatingProvider) keyFor(kid string) *rsa.PrivateKey {
	a, b := testKeys()
	if strings.HasPrefix(kid, "b") {
		return b
	}
	return a
}

func (p *rotatingProvider) clock() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now
}

func (p *rotatingProvider) advance(d time.Duration) {
	p.mu.Lock()
	p.now = p.now.Add(d)
	p.mu.Unlock()
}

func (p *rotatingProvider) set(published []string, signer string) {
	p.mu.Lock()
	p.published, p.signer = published, signer
	p.mu.Unlock()
}

// idToken signs a token valid for an hour with the current signer.
func (p *rotatingProvider) idToken(context.Context) (string, error) {
	p.mu.Lock()
	kid, now, forge := p.signer, p.now, p.forge
	p.mu.Unlock()
	if kid == "" {
		return "", errors.New("login failed")
	}
	key := p.keyFor(kid)
	if forge {
		key = p.keyFor("b" + kid)
		if strings.HasPrefix(kid, "b") {
			key = p.keyFor("a" + kid)
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(map[string]any{"iss": "https://bank.test", "sub": testSub, "aud": testClientID,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).Serialize()
}

func (p *rotatingProvider) watcher(t *testing.T, state string, withTokens bool) *Watcher {
	t.Helper()
	cfg := WatchConfig{JWKSURI: p.srv.URL + "/jwks", StatePath: state, InsecureLoopback: true, Now: p.clock}
	if withTokens {
		cfg.IDToken = p.idToken
	}
	w, err := NewWatcher(cfg)
	if err != nil {
		t.Fatalf("NewWatcher: %v", err)
	}
	t.Cleanup(w.Close)
	return w
}

// poll runs one poll and returns "STATUS id" for each result.
func poll(t *testing.T, w *Watcher) ([]string, []Result) {
	t.Helper()
	results, err := w.Poll(t.Context())
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	var got []string
	for _, r := range results {
		got = append(got, string(r.Status)+" "+r.ID)
	}
	return got, results
}

func TestWatchRotationRules(t *testing.T) {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	type step struct {
		after     time.Duration // clock advance before the poll
		published []string
		signer    string
		want      []string // statuses and ids, in report order
	}
	tests := []struct {
		name   string
		tokens bool
		steps  []step
	}{
		{"a rotation by the rules", true, []step{
			{0, []string{"a1"}, "a1", []string{"INFO jwks.watch", "INFO jwks.watch"}}, // watching; a1 signs
			{time.Hour, []string{"a1", "b2"}, "a1", []string{"INFO jwks.watch"}},      // b2 published
			{24 * time.Hour, []string{"a1", "b2"}, "a1", []string{"PASS jwks.watch"}}, // no change
			{2 * time.Hour, []string{"a1", "b2"}, "b2", []string{"INFO jwks.watch"}},  // b2 signs 26-27 h after publication
			{24 * time.Hour, []string{"b2"}, "b2", []string{"INFO jwks.watch"}},       // a1 removed, its tokens long expired
		}},
		{"a key signing as soon as it is published", true, []step{
			{0, []string{"a1"}, "a1", []string{"INFO jwks.watch", "INFO jwks.watch"}},
			{time.Hour, []string{"a1", "b2"}, "b2", []string{"INFO jwks.watch", "WARN jwks.rotation_early_use"}},
		}},
		{"a key removed while its token is valid", true, []step{
			{0, []string{"a1", "b2"}, "a1", []string{"INFO jwks.watch", "INFO jwks.watch"}},
			{30 * time.Minute, []string{"b2"}, "b2", []string{"WARN jwks.rotation_removed_early", "INFO jwks.watch"}},
		}},
		{"a key removed an hour after its successor appeared", false, []step{
			{0, []string{"a1"}, "", []string{"INFO jwks.watch"}},
			{time.Hour, []string{"a1", "b2"}, "", []string{"INFO jwks.watch"}},
			{time.Hour, []string{"b2"}, "", []string{"WARN jwks.rotation_removed_early"}},
		}},
		{"the last key removed", false, []step{
			{0, []string{"a1"}, "", []string{"INFO jwks.watch"}},
			{48 * time.Hour, nil, "", []string{"WARN jwks.rotation_removed_early"}},
		}},
		{"a token signed by an unpublished kid", true, []step{
			{0, []string{"a1"}, "a9", []string{"INFO jwks.watch", "FAIL jwks.kid_not_found"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newRotatingProvider(t, start)
			state := filepath.Join(t.TempDir(), "state.json")
			for i, s := range tt.steps {
				p.advance(s.after)
				p.set(s.published, s.signer)
				// A fresh watcher each time: all memory is in the state file.
				got, results := poll(t, p.watcher(t, state, tt.tokens))
				if !slices.Equal(got, s.want) {
					t.Errorf("poll %d at +%s = %v; want %v\n%v", i, p.clock().Sub(start), got, s.want, results)
				}
			}
		})
	}
}

func TestWatchInvalidSignatureAndOutage(t *testing.T) {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	p := newRotatingProvider(t, start)
	state := filepath.Join(t.TempDir(), "state.json")
	w := p.watcher(t, state, true)
	p.set([]string{"a1"}, "a1")
	poll(t, w)

	// The JWKS is down: jwks_uri_unreachable, and the state is untouched.
	before, _ := os.ReadFile(state)
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.advance(time.Hour)
	got, res := poll(t, w)
	if !slices.Equal(got, []string{"FAIL jwks.reachable"}) || !strings.Contains(res[0].Evidence, "jwks_uri_unreachable") {
		t.Errorf("outage poll = %v %v; want FAIL jwks.reachable naming jwks_uri_unreachable", got, res)
	}
	after, _ := os.ReadFile(state)
	if string(before) != string(after) {
		t.Errorf("a failed poll changed the state file")
	}
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()

	// A token whose signature does not verify with the key published under its kid.
	p.mu.Lock()
	p.forge = true
	p.mu.Unlock()
	p.advance(time.Hour)
	got, res = poll(t, w)
	if !slices.Equal(got, []string{"FAIL jwks.invalid_signature"}) {
		t.Errorf("forged token poll = %v; want FAIL jwks.invalid_signature\n%v", got, res)
	}
}

func TestWatchRun(t *testing.T) {
	p := newRotatingProvider(t, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	p.set([]string{"a1"}, "")
	w := p.watcher(t, filepath.Join(t.TempDir(), "state.json"), false)
	ctx, cancel := context.WithCancel(t.Context())
	ticks := make(chan time.Time)
	var polls [][]Result
	done := make(chan error)
	go func() {
		done <- w.Run(ctx, ticks, func(r []Result) {
			polls = append(polls, r)
			if len(polls) == 3 {
				cancel()
			}
		})
	}()
	ticks <- time.Time{}
	ticks <- time.Time{}
	if err := <-done; err != nil {
		t.Fatalf("Run = %v; want nil when the context ends", err)
	}
	if len(polls) != 3 {
		t.Errorf("Run polled %d times for two ticks; want 3 (one at start)", len(polls))
	}
}

func TestWatchStateFile(t *testing.T) {
	p := newRotatingProvider(t, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	p.set([]string{"a1"}, "a1")
	poll(t, p.watcher(t, state, true))

	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if tok, _ := p.idToken(t.Context()); strings.Contains(string(b), strings.Split(tok, ".")[2]) {
		t.Errorf("the state file holds a token")
	}
	if !strings.Contains(string(b), `"a1"`) || !strings.Contains(string(b), `"preexisting": true`) {
		t.Errorf("state file = %s; want kid a1, preexisting", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d files after a save; want only the state file", len(entries))
	}

	_, err = NewWatcher(WatchConfig{JWKSURI: "https://elsewhere.test/jwks", StatePath: state})
	if !errors.Is(err, ErrStateMismatch) {
		t.Errorf("NewWatcher with another jwks_uri = %v; want ErrStateMismatch", err)
	}
	if err := os.WriteFile(state, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWatcher(WatchConfig{JWKSURI: p.srv.URL + "/jwks", StatePath: state}); err == nil {
		t.Errorf("NewWatcher on a corrupt state file succeeded")
	}
}

// TestIDTokenSourceRedactsTheCredentials: a provider that echoes the client
// secret or the password in an error does not put them in the watcher's
// output: the token source's errors are redacted like a run's evidence.
func TestIDTokenSourceRedactsTheCredentials(t *testing.T) {
	const clientSecret, pw = "echoed-client-secret-0123456789", "echoed-password-9876"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code=code-1234567&state="+q.Get("state"), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_, sec, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":"secret %s and password %s refused"}`, sec, pw)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	source, _, closeSource, err := IDTokenSource(t.Context(), Config{
		AuthorizationEndpoint: srv.URL + "/authorize", TokenEndpoint: srv.URL + "/token", JWKSURI: srv.URL + "/jwks",
		ClientID: "agg-client-01", ClientSecret: clientSecret, RedirectURI: "https://agg.example/cb",
		Username: "user", Password: pw, InsecureLoopback: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource()
	_, err = source(t.Context())
	if err == nil {
		t.Fatal("the source returned an ID token from a failing token endpoint")
	}
	for _, s := range []string{clientSecret, pw} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("the error shows a credential %q: %v", s, err)
		}
	}
}

// TestIDTokenSourceKeepsNothingBetweenPolls: the watcher's token source runs
// for as long as the watcher does, so each poll starts clean: the tokens,
// cookies and states one poll saw do not pile up.
func TestIDTokenSourceKeepsNothingBetweenPolls(t *testing.T) {
	var mu sync.Mutex
	n := 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s", HttpOnly: true})
		http.Redirect(w, r, q.Get("redirect_uri")+"?code=code-1234567&state="+q.Get("state"), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("grant_type") == "refresh_token" {
			// Like fdxd by default: a refresh brings no new ID token.
			fmt.Fprintf(w, `{"access_token":"access-token-%06d","token_type":"Bearer","expires_in":900}`, i)
			return
		}
		fmt.Fprintf(w, `{"access_token":"access-token-%06d","token_type":"Bearer","expires_in":900,"refresh_token":"refresh-token-%06d","id_token":"id.token-%06d.sig"}`, i, i, i)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	src, err := newIDTokenSource(t.Context(), Config{
		AuthorizationEndpoint: srv.URL + "/authorize", TokenEndpoint: srv.URL + "/token", JWKSURI: srv.URL + "/jwks",
		ClientID: "agg-client-01", ClientSecret: "client-secret-0123456789", RedirectURI: "https://agg.example/cb",
		Username: "user", Password: "password-9876", InsecureLoopback: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	for range 50 {
		if _, err := src.next(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	r := src.r
	if len(r.accessTokens) > 2 || len(r.states) > 1 || len(r.cookies) > 1 || len(r.rec.secrets) > 8 || len(r.rec.results) > 0 {
		t.Fatalf("after 50 polls the source holds %d access tokens, %d states, %d cookies, %d secrets, %d results; want one poll's worth",
			len(r.accessTokens), len(r.states), len(r.cookies), len(r.rec.secrets), len(r.rec.results))
	}
}
