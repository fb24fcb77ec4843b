package doctor

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// specPath is the Core Exchange spec beside the checkout (../shared).
const specPath = "../../../shared/spec/corex-6.4.yaml"

var loadTestSpec = sync.OnceValues(func() (*Spec, error) {
	if _, err := os.Stat(specPath); err != nil {
		return nil, err
	}
	return LoadSpec(testContext(), specPath)
})

// testSpec returns the spec, or nil (schema checks then report SKIP) when
// the checkout has no ../shared beside it.
func testSpec(t testing.TB) *Spec {
	s, err := loadTestSpec()
	if err != nil {
		t.Logf("no Core Exchange spec at %s (%v): schema checks are skipped", specPath, err)
		return nil
	}
	return s
}

func fixedClock() func() time.Time {
	t0 := time.Now().UTC().Truncate(time.Second)
	return func() time.Time { return t0 }
}

func (p *provider) config(t testing.TB) Config {
	return Config{
		Issuer:       p.issuer,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURI:  testRedirectURI,
		APIBase:      p.issuer + "/fdx/v6",
		Spec:         testSpec(t),
		Username:     testUsername,
		Password:     testPassword,
		RootCAs:      p.roots,
		Timeout:      time.Minute,
		Now:          p.now,
	}
}

func statuses(rep *Report, st Status) []string {
	var ids []string
	for _, r := range rep.Results {
		if r.Status == st {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

func reportText(rep *Report) string {
	var b bytes.Buffer
	rep.WriteText(&b)
	return b.String()
}

// checkNoSecrets fails when any secret of the test provider appears in the
// report, in text or JSON.
func checkNoSecrets(t *testing.T, rep *Report, extra ...string) {
	t.Helper()
	var text, js bytes.Buffer
	rep.WriteText(&text)
	rep.WriteJSON(&js)
	for _, s := range append([]string{testClientSecret, testPassword}, extra...) {
		if strings.Contains(text.String(), s) || strings.Contains(js.String(), s) {
			t.Errorf("the report contains the secret %q", s)
		}
	}
}

func TestReferenceProviderPasses(t *testing.T) {
	p := newProvider(t, faults{}, fixedClock())
	rep := Run(t.Context(), p.config(t))
	text := reportText(rep)
	if fails := statuses(rep, Fail); len(fails) > 0 {
		t.Errorf("FAIL on a correct provider: %v\n%s", fails, text)
	}
	if warns := statuses(rep, Warn); len(warns) > 0 {
		t.Errorf("WARN on a correct provider: %v\n%s", warns, text)
	}
	// What a correct provider leaves unobservable or merely informative.
	wantSkip := []string{}
	if testSpec(t) == nil {
		wantSkip = append(wantSkip, "api.schema")
	}
	if got := statuses(rep, Skip); !slices.Equal(got, wantSkip) {
		t.Errorf("SKIP = %v; want %v\n%s", got, wantSkip, text)
	}
	wantInfo := []string{"refresh.rotation", "refresh.rotated_reuse"}
	if got := statuses(rep, Info); !slices.Equal(got, wantInfo) {
		t.Errorf("INFO = %v; want %v\n%s", got, wantInfo, text)
	}
	// Every check of the catalogue is reported once, in catalogue order.
	var ids []string
	for _, r := range rep.Results {
		ids = append(ids, r.ID)
	}
	var want []string
	for _, c := range catalogue {
		if !watchOnly(c.id) {
			want = append(want, c.id)
		}
	}
	if !slices.Equal(ids, want) {
		t.Errorf("ids = %v\nwant %v", ids, want)
	}
	checkNoSecrets(t, rep, p.issuedTokens()...)
	if t.Failed() {
		return
	}
	t.Logf("\n%s", text)
}

func TestBrokenProviders(t *testing.T) {
	tests := []struct {
		name     string
		f        faults
		wantFail string
	}{
		{"kid missing from the JWKS", faults{kidMissing: true}, "jwks.kid_not_found"},
		{"JWKS over http", faults{jwksHTTP: true}, "jwks.reachable"},
		{"JWKS answering 500", faults{jwks500: true}, "jwks.reachable"},
		{"redirect URI matched by prefix", faults{redirectPrefix: true}, "prelog.redirect_uri_prefix"},
		{"reusable code", faults{reusableCode: true}, "token.code_reuse"},
		{"no refresh token without prompt=consent", faults{refreshNeedsConsent: true}, "token.refresh_without_consent"},
		{"six-character sub", faults{shortSub: true}, "token.id_token_sub"},
		{"null in a required field", faults{nullRequired: true}, "api.null_field"},
		{"nextOffset on the last page", faults{nextOffsetOnLastPage: true}, "api.next_offset_last_page"},
		{"non-FDX error body", faults{nonFDXErrors: true}, "api.error_body"},
		{"wrong secret accepted", faults{acceptWrongSecret: true}, "token.wrong_secret"},
		{"state altered", faults{alterState: true}, "authorize.state"},
		{"userinfo refusing the access token", faults{userinfoRefuses: true}, "userinfo.access_token"},
		{"issuer with a trailing slash", faults{issuerSlash: true}, "discovery.issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, tt.f, fixedClock())
			rep := Run(t.Context(), p.config(t))
			if got := statuses(rep, Fail); !slices.Equal(got, []string{tt.wantFail}) {
				t.Errorf("FAIL = %v; want exactly [%s]\n%s", got, tt.wantFail, reportText(rep))
			}
			res, _ := rep.Result(tt.wantFail)
			if res.Fix == "" || res.Evidence == "" {
				t.Errorf("%s has evidence %q and fix %q; want both", tt.wantFail, res.Evidence, res.Fix)
			}
			t.Logf("FAIL %s: %s", res.ID, res.Evidence)
			checkNoSecrets(t, rep, p.issuedTokens()...)
		})
	}
}

// issuedTokens lists every code and token the provider handed out.
func (p *provider) issuedTokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for c := range p.codes {
		out = append(out, c)
	}
	for a := range p.access {
		out = append(out, a)
	}
	for r := range p.refresh {
		out = append(out, r)
	}
	return out
}

func TestReportJSON(t *testing.T) {
	p := newProvider(t, faults{kidMissing: true}, fixedClock())
	rep := Run(t.Context(), p.config(t))
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Target  string         `json:"target"`
		Failed  bool           `json:"failed"`
		Summary map[string]int `json:"summary"`
		Results []Result       `json:"results"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("the JSON report does not parse: %v\n%s", err, b.String())
	}
	if doc.Target != p.issuer || !doc.Failed || doc.Summary["FAIL"] != 1 || len(doc.Results) != len(rep.Results) {
		t.Errorf("JSON report = target %q failed %v summary %v, %d results; want %q, true, 1 FAIL, %d results",
			doc.Target, doc.Failed, doc.Summary, len(doc.Results), p.issuer, len(rep.Results))
	}
	for i, r := range doc.Results {
		if r != rep.Results[i] {
			t.Errorf("JSON result %d = %+v; want %+v", i, r, rep.Results[i])
		}
	}
}

func testContext() context.Context { return context.Background() }

func TestSelfSignedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"issuer": "https://" + r.Host})
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	trusted := x509.NewCertPool()
	trusted.AddCert(srv.Certificate())
	tests := []struct {
		name          string
		roots         *x509.CertPool
		wantReachable Status
		wantTLS       string
	}{
		{"system roots", nil, Fail, "certificate does not verify: self-signed certificate"},
		{"trusted through --ca-file", trusted, Pass, "self-signed certificate (trusted only through --ca-file): blocked in production"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Run(t.Context(), Config{Issuer: srv.URL, RootCAs: tt.roots, Timeout: 20 * time.Second})
			reach, _ := rep.Result("discovery.reachable")
			tls, _ := rep.Result("discovery.tls")
			if reach.Status != tt.wantReachable || tls.Status != Fail || !strings.Contains(tls.Evidence, tt.wantTLS) {
				t.Errorf("discovery.reachable %s (%s), discovery.tls %s (%s); want %s and FAIL with %q",
					reach.Status, reach.Evidence, tls.Status, tls.Evidence, tt.wantReachable, tt.wantTLS)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	p := newProvider(t, faults{}, fixedClock())
	cfg := p.config(t)
	// A token endpoint that never answers: the run's deadline ends it.
	cfg.TokenEndpoint = p.issuer + "/hang"
	release := make(chan struct{})
	defer close(release)
	p.mux.HandleFunc("POST /hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	cfg.Timeout = 500 * time.Millisecond
	rep := Run(t.Context(), cfg)
	ex, _ := rep.Result("token.exchange_basic")
	if ex.Status != Fail || !strings.Contains(ex.Evidence, "deadline") {
		t.Errorf("token.exchange_basic = %s (%s); want FAIL naming the deadline", ex.Status, ex.Evidence)
	}
	last, _ := rep.Result("consistency.sub_stable")
	if last.Status != Skip || !strings.Contains(last.Evidence, "--timeout") {
		t.Errorf("consistency.sub_stable = %s (%s); want SKIP naming --timeout", last.Status, last.Evidence)
	}
	if len(rep.Results) != len(catalogue)-3 {
		t.Errorf("%d results after the deadline; want every check (%d)", len(rep.Results), len(catalogue)-3)
	}
}

// BenchmarkRun is one whole run against the reference provider on
// 127.0.0.1 (spec validation included).
func BenchmarkRun(b *testing.B) {
	p := newProvider(b, faults{}, fixedClock())
	cfg := p.config(b)
	before := p.servedCount()
	runs := 0
	for b.Loop() {
		if rep := Run(b.Context(), cfg); rep.Failed() {
			b.Fatalf("FAIL on the reference provider:\n%s", reportText(rep))
		}
		runs++
	}
	b.ReportMetric(float64(p.servedCount()-before)/float64(runs), "requests/run")
}
