// Package againstfdxd runs doctor against fdxd itself: the real server
// in-process on 127.0.0.1. It lives apart from package doctor, which must
// not depend on fdxd's server, not even in its tests.
package againstfdxd_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fdxd/fdxd/internal/doctor"
	"github.com/fdxd/fdxd/internal/fdx"
	"github.com/fdxd/fdxd/internal/fdx/gen"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
)

const specPath = "../../../../shared/spec/corex-6.4.yaml"

func TestAgainstFdxd(t *testing.T) {
	tests := []struct {
		name   string
		client func(*store.Client)
	}{
		{"default client", nil},
		{"account selection", func(c *store.Client) { c.AccountSelection = true }},
		{"rotation and ID token on refresh", func(c *store.Client) {
			c.RotateRefreshTokens = true
			c.IDTokenOnRefresh = true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := servertest.Start(t, servertest.Options{Client: tt.client})
			// The demo's data set: two years in every account type.
			if err := gen.Demo(t.Context(), s.Store, s.User.ID, s.Clock.Now()); err != nil {
				t.Fatalf("demo data: %v", err)
			}
			var spec *doctor.Spec
			if _, err := os.Stat(specPath); err == nil {
				if spec, err = doctor.LoadSpec(t.Context(), specPath); err != nil {
					t.Fatal(err)
				}
			} else {
				t.Logf("no spec at %s: schema checks are skipped", specPath)
			}
			rep := doctor.Run(t.Context(), doctor.Config{
				Issuer:       s.Issuer,
				ClientID:     servertest.ClientID,
				ClientSecret: servertest.ClientSecret,
				// Plaid's redirect URI, registered for the test client; never fetched.
				RedirectURI:      "https://cdn.plaid.com/link/v2/stable/oauth.html",
				Username:         servertest.Username,
				Password:         servertest.Password,
				APIBase:          s.Issuer + fdx.BasePath,
				Spec:             spec,
				InsecureLoopback: true,
				Now:              s.Clock.Now,
				Timeout:          2 * time.Minute,
			})
			var text bytes.Buffer
			rep.WriteText(&text)
			var fails []string
			for _, r := range rep.Results {
				if r.Status == doctor.Fail {
					fails = append(fails, r.ID)
				}
			}
			t.Logf("%v", rep.Summary())
			if len(fails) > 0 {
				t.Errorf("FAIL against fdxd: %v\n%s", fails, text.String())
			}
			for _, id := range []string{"authorize.login", "token.exchange_basic", "token.code_reuse", "jwks.invalid_signature",
				"refresh.grant", "userinfo.sub", "consistency.sub_stable", "api.accounts", "api.transactions", "api.statement_pdf",
				"api.null_field", "api.next_offset_last_page", "api.error_body"} {
				if r, _ := rep.Result(id); r.Status != doctor.Pass {
					t.Errorf("%s = %s (%s); want PASS", id, r.Status, r.Evidence)
				}
			}
			for _, secret := range []string{servertest.ClientSecret, servertest.Password} {
				if strings.Contains(text.String(), secret) {
					t.Errorf("the report contains the secret %q", secret)
				}
			}
			// And nothing doctor sent shows up in fdxd's logs either.
			if strings.Contains(s.Logs.String(), servertest.Password) {
				t.Errorf("fdxd logged the password doctor sent")
			}
		})
	}
}
