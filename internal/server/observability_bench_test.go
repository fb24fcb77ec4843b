package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/fdxd/fdxd/internal/fdx/gen"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/server/servertest"
)

// BenchmarkObservability measures what observability costs a request:
// the refresh grant and the FDX /accounts list, in process on every core,
// with everything that counts requests off (the baseline), with metrics,
// charts and alerts but no records, and with all of it (records written
// to SQLite by the background writer as in production).
//
//	go test ./internal/server -run '^$' -bench Observability -count 5
func BenchmarkObservability(b *testing.B) {
	modes := []struct {
		name string
		set  func(*server.ObservabilityConfig)
	}{
		{"off", func(o *server.ObservabilityConfig) { o.DisableRequestSinks = true }},
		{"metrics", func(o *server.ObservabilityConfig) { o.DisableRecords = true }},
		{"on", func(*server.ObservabilityConfig) {}},
	}
	for _, m := range modes {
		s := servertest.Start(b, servertest.Options{Configure: func(c *server.Config) {
			c.Logger = observe.NewLogger(io.Discard, nil)
			c.ClientRateLimit = -1
			m.set(&c.Observability)
		}})
		b.Cleanup(s.Server.StartObservability(b.Context()))
		if err := gen.Demo(b.Context(), s.Store, s.User.ID, s.Clock.Now()); err != nil {
			b.Fatal(err)
		}
		code, _ := s.Authorize(nil)
		resp, body := s.PostForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {servertest.RedirectURI}}, servertest.ClientID, servertest.ClientSecret)
		if resp.StatusCode != 200 {
			b.Fatalf("exchange: %d %s", resp.StatusCode, body)
		}
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		json.Unmarshal(body, &tok)
		h := s.Server.Handler()
		refresh := "grant_type=refresh_token&refresh_token=" + url.QueryEscape(tok.RefreshToken)
		do := func(b *testing.B, req *http.Request) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, rec.Code, rec.Body)
			}
		}
		b.Run("refresh/"+m.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/token", strings.NewReader(refresh))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(servertest.ClientID, servertest.ClientSecret)
					do(b, req)
				}
			})
		})
		b.Run("accounts/"+m.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", "/fdx/v6/accounts", nil)
					req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
					do(b, req)
				}
			})
		})
		if w := s.Server.Records(); w != nil && w.Dropped() > 0 {
			b.Logf("%s: %d records dropped on a full queue, %d written", m.name, w.Dropped(), w.Written())
		}
	}
}
