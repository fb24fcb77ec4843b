package oauth_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
)

// The benchmarks measure each endpoint two ways: "http" is a real request
// over loopback TCP with keep-alive (what a client sees, transport
// included), "inproc" calls the server's handler with an
// httptest.ResponseRecorder (the endpoint's own cost). Both run the full
// middleware: request ids, records and JSON log lines (to io.Discard, so
// the encoding is paid but no buffer grows).

// benchServer starts a server without the per-client rate limit, so the
// benchmarks measure the endpoints rather than the limiter's 503s.
func benchServer(b *testing.B) *servertest.Server {
	b.Helper()
	return servertest.Start(b, servertest.Options{Configure: func(c *server.Config) {
		c.ClientRateLimit = -1
		c.Logger = observe.NewLogger(io.Discard, nil)
	}})
}

// benchParallelism × GOMAXPROCS goroutines run the parallel benchmarks: a
// loaded server has many requests in flight, so one waiting for the
// database's single writer does not leave a core idle.
const benchParallelism = 4

// benchClient keeps enough idle connections for parallel benchmarks.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}

// benchRequest makes a request; body is a form when not empty.
func benchRequest(method, target, body, user, pass, bearer string) *http.Request {
	var r *http.Request
	if body != "" {
		r, _ = http.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r, _ = http.NewRequest(method, target, nil)
	}
	if user != "" {
		r.SetBasicAuth(user, pass)
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	return r
}

// benchDo runs one request over HTTP or in-process and fails unless 200.
func benchDo(b *testing.B, s *servertest.Server, inproc bool, method, path, body, user, pass, bearer string) {
	if inproc {
		r := benchRequest(method, path, body, user, pass, bearer)
		r.RemoteAddr = "127.0.0.1:50000"
		w := httptest.NewRecorder()
		s.Server.Handler().ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body.String())
		}
		return
	}
	resp, err := benchClient.Do(benchRequest(method, s.Issuer+path, body, user, pass, bearer))
	if err != nil {
		b.Fatalf("%s %s: %v", method, path, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, err)
	}
}

// benchCPU starts counting the process's CPU time; the returned func
// reports it per iteration as cpu-ns/op. On a machine shared with other
// work, ns/op (wall time) swings with the load while cpu-ns/op stays put,
// so compare cpu-ns/op there. In http mode it includes the client's side.
// Call it right before the measured loop, after the setup.
func benchCPU(b *testing.B) func() {
	start := benchProcessCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(benchProcessCPU()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// benchProcessCPU is the user and system CPU time of the process so far.
func benchProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchModes runs f as the http and inproc sub-benchmarks.
func benchModes(b *testing.B, f func(b *testing.B, inproc bool)) {
	b.Run("http", func(b *testing.B) { f(b, false) })
	b.Run("inproc", func(b *testing.B) { f(b, true) })
}

// benchTokens signs the test user in through the login form and exchanges
// the code: a refresh token and an access token to reuse.
func benchTokens(b *testing.B, s *servertest.Server) (access, refresh string) {
	b.Helper()
	code, _ := s.Authorize(url.Values{"scope": {"openid offline_access profile email"}})
	resp, body := s.PostForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {servertest.RedirectURI}}, servertest.ClientID, servertest.ClientSecret)
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || resp.StatusCode != 200 || tok.RefreshToken == "" {
		b.Fatalf("code exchange: %d %s", resp.StatusCode, body)
	}
	return tok.AccessToken, tok.RefreshToken
}

// benchCodes inserts n authorization codes for the test user, as the login
// step would after a sign-in, and returns their values. This is setup; the
// exchange that follows is the real endpoint.
func benchCodes(b *testing.B, s *servertest.Server, n int) []string {
	b.Helper()
	now := s.Clock.Now()
	codes := make([]string, n)
	prefix := secret.Token("bench-", 16)
	for i := range codes {
		codes[i] = fmt.Sprintf("%s-%d", prefix, i)
		err := s.Store.CreateAuthCode(b.Context(), store.AuthCode{
			Hash: secret.Hash(codes[i]), GrantID: secret.ID("grt_", 10), OAuthSessionID: secret.ID("ses_", 10),
			ClientID: s.Client.ID, UserID: s.User.ID, Subject: s.User.Subject, RedirectURI: servertest.RedirectURI,
			Scopes: []string{"openid", "offline_access"}, State: "bench-state", Nonce: "bench-nonce",
			AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute),
		})
		if err != nil {
			b.Fatalf("insert code: %v", err)
		}
	}
	return codes
}

func BenchmarkDiscovery(b *testing.B) {
	s := benchServer(b)
	benchModes(b, func(b *testing.B, inproc bool) {
		defer benchCPU(b)()
		for b.Loop() {
			benchDo(b, s, inproc, "GET", "/.well-known/openid-configuration", "", "", "", "")
		}
	})
}

func BenchmarkJWKS(b *testing.B) {
	s := benchServer(b)
	benchModes(b, func(b *testing.B, inproc bool) {
		defer benchCPU(b)()
		for b.Loop() {
			benchDo(b, s, inproc, "GET", "/jwks", "", "", "", "")
		}
	})
}

// BenchmarkCodeExchange redeems a fresh code per iteration: the store read,
// an RS256 ID token, the access token and the refresh token, and the
// redemption transaction.
func BenchmarkCodeExchange(b *testing.B) {
	s := benchServer(b)
	benchModes(b, func(b *testing.B, inproc bool) {
		codes := benchCodes(b, s, b.N)
		b.ResetTimer()
		defer benchCPU(b)()
		for i := range b.N {
			benchDo(b, s, inproc, "POST", "/token", "grant_type=authorization_code&code="+codes[i]+
				"&redirect_uri="+url.QueryEscape(servertest.RedirectURI), servertest.ClientID, servertest.ClientSecret, "")
		}
	})
	// Capacity on every core: compare with BenchmarkSignRS256/parallel.
	parallel := func(b *testing.B, inproc bool) {
		codes := make(chan string, b.N)
		for _, c := range benchCodes(b, s, b.N) {
			codes <- c
		}
		b.ResetTimer()
		defer benchCPU(b)()
		b.SetParallelism(benchParallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				benchDo(b, s, inproc, "POST", "/token", "grant_type=authorization_code&code="+<-codes+
					"&redirect_uri="+url.QueryEscape(servertest.RedirectURI), servertest.ClientID, servertest.ClientSecret, "")
			}
		})
	}
	b.Run("http-parallel", func(b *testing.B) { parallel(b, false) })
	b.Run("inproc-parallel", func(b *testing.B) { parallel(b, true) })
}

// BenchmarkSignRS256 is the RSA-2048 signature of an ID token alone, the
// ceiling for code exchange.
func BenchmarkSignRS256(b *testing.B) {
	s := benchServer(b)
	if _, alg, ok := s.Server.Keys().Active(); !ok || alg != "RS256" {
		b.Fatalf("active key algorithm %q; want RS256", alg)
	}
	now := s.Clock.Now()
	claims, _ := json.Marshal(map[string]any{"iss": s.Issuer, "sub": servertest.Subject, "aud": servertest.ClientID,
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "auth_time": now.Unix(), "nonce": "bench-nonce",
		"at_hash": "x4Cp1bkUqU2JQ3nwkpZKzA", "azp": servertest.ClientID})
	sign := func(b *testing.B) {
		if _, err := s.Server.Keys().Sign(claims); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		defer benchCPU(b)()
		for b.Loop() {
			sign(b)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		defer benchCPU(b)()
		b.SetParallelism(benchParallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				sign(b)
			}
		})
	})
}

// BenchmarkRefresh is the refresh_token grant of a non-rotating client:
// store reads and a new access token, no write, no signature.
func BenchmarkRefresh(b *testing.B) {
	s := benchServer(b)
	_, refresh := benchTokens(b, s)
	body := "grant_type=refresh_token&refresh_token=" + refresh
	benchModes(b, func(b *testing.B, inproc bool) {
		defer benchCPU(b)()
		for b.Loop() {
			benchDo(b, s, inproc, "POST", "/token", body, servertest.ClientID, servertest.ClientSecret, "")
		}
	})
	for _, inproc := range []bool{false, true} {
		name := map[bool]string{false: "http-parallel", true: "inproc-parallel"}[inproc]
		b.Run(name, func(b *testing.B) {
			defer benchCPU(b)()
			b.SetParallelism(benchParallelism)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchDo(b, s, inproc, "POST", "/token", body, servertest.ClientID, servertest.ClientSecret, "")
				}
			})
		})
	}
}

func BenchmarkUserinfo(b *testing.B) {
	s := benchServer(b)
	access, _ := benchTokens(b, s)
	benchModes(b, func(b *testing.B, inproc bool) {
		defer benchCPU(b)()
		for b.Loop() {
			benchDo(b, s, inproc, "GET", "/userinfo", "", "", "", access)
		}
	})
}

func BenchmarkIntrospection(b *testing.B) {
	s := benchServer(b)
	access, _ := benchTokens(b, s)
	body := "token=" + access
	benchModes(b, func(b *testing.B, inproc bool) {
		defer benchCPU(b)()
		for b.Loop() {
			benchDo(b, s, inproc, "POST", "/introspect", body, servertest.ClientID, servertest.ClientSecret, "")
		}
	})
}
