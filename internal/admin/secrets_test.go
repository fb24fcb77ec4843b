package admin_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/fdxd/fdxd/internal/notify"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/server"
	"github.com/fdxd/fdxd/internal/server/servertest"
	"github.com/fdxd/fdxd/internal/store"
	"github.com/fdxd/fdxd/internal/store/sqlite"
)

// captured keeps what the webhook receiver and the SMTP server got.
type captured struct {
	mu       sync.Mutex
	webhooks []string
	emails   []string
}

func (c *captured) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.webhooks, "\n") + "\n" + strings.Join(c.emails, "\n")
}

func (c *captured) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.webhooks), len(c.emails)
}

type mailSession struct{ c *captured }

func (s mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s mailSession) Reset()                               {}
func (s mailSession) Logout() error                        { return nil }
func (s mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.c.mu.Lock()
	s.c.emails = append(s.c.emails, string(b))
	s.c.mu.Unlock()
	return err
}

// receivers starts a webhook receiver and an SMTP server on loopback.
func receivers(t *testing.T) (*captured, *notify.WebhookConfig, *notify.EmailConfig) {
	t.Helper()
	c := &captured{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.webhooks = append(c.webhooks, fmt.Sprint(r.Header)+"\n"+string(b))
		c.mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return mailSession{c}, nil }))
	srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	host, portText, _ := net.SplitHostPort(l.Addr().String())
	port, _ := strconv.Atoi(portText)
	return c, &notify.WebhookConfig{URL: hook.URL + "/hook", Secret: []byte("whsec-secrets-test-0123456789")},
		&notify.EmailConfig{Host: host, Port: port, From: "fdxd@bank.example", To: []string{"ops@bank.example"}, AllowPlaintext: true}
}

// TestNoSecretInRecordsBundlesOrNotifications extends the foundation's
// no-secrets test: whole flows with known secrets, failures that open
// issues and send notifications, then a search of every request record
// (database file included), every bundle, every API answer, and the
// webhook and email bodies.
func TestNoSecretInRecordsBundlesOrNotifications(t *testing.T) {
	got, hook, mail := receivers(t)
	r := newRig(t, func(c *server.Config) {
		c.Observability.Webhook, c.Observability.Email = hook, mail
	})
	s := r.s
	secrets := map[string]string{
		"client secret": servertest.ClientSecret,
		"password":      servertest.Password,
		"Basic credentials": base64.StdEncoding.EncodeToString(
			[]byte(servertest.ClientID + ":" + servertest.ClientSecret)),
	}
	mistyped := "Wr0ng-Field-P@ssw0rd-123"
	secrets["password typed as username"] = mistyped
	s.Login(s.Browser(), s.AuthorizeURL(url.Values{"state": {"st-secrets"}}), mistyped, "also-a-secret-pw-456", nil)
	secrets["wrong password"] = "also-a-secret-pw-456"

	code, tok := r.flow("st-secrets")
	secrets["code"], secrets["access token"], secrets["refresh token"], secrets["id token"] = code, tok.AccessToken, tok.RefreshToken, tok.IDToken
	// The replay, and a wave of wrong client secrets that opens issues.
	s.PostForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {servertest.RedirectURI}},
		servertest.ClientID, servertest.ClientSecret)
	wrong := "wrong-client-secret-value-789"
	secrets["wrong client secret"] = wrong
	for i := range 12 {
		s.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fmt.Sprintf("made-up-refresh-%d", i)}},
			servertest.ClientID, wrong)
	}
	// Secrets in headers of all kinds.
	req, _ := http.NewRequest(http.MethodGet, s.Issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Referer", "http://127.0.0.1:8787/callback?code="+code+"&state=st-secrets")
	req.Header.Set("Cookie", "fdxd_session="+tok.RefreshToken)
	req.Header.Set("X-Forwarded-Token", tok.IDToken)
	req.Header.Set("X-Debug", "refresh="+tok.RefreshToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	r.settle()
	if err := s.Server.Alerts().Evaluate(t.Context()); err != nil {
		t.Fatal(err)
	}
	issues, err := s.Store.ListIssues(t.Context(), store.IssueQuery{Status: "open"})
	if err != nil || len(issues) == 0 {
		t.Fatalf("the wave of wrong secrets opened no issue: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		hooks, mails := got.counts()
		if hooks >= len(issues) && mails >= len(issues) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications: %d webhooks, %d emails for %d issues", hooks, mails, len(issues))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Everything the admin side can show.
	var texts []string
	apiText := func(path string) {
		req, _ := http.NewRequest(http.MethodGet, r.admin.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
		}
		texts = append(texts, string(b))
	}
	var list struct {
		Records []struct {
			XRequestID string `json:"x_request_id"`
		}
	}
	r.api("/api/v1/requests?limit=500", &list)
	if len(list.Records) < 30 {
		t.Fatalf("only %d records", len(list.Records))
	}
	apiText("/api/v1/requests?limit=500")
	for _, rec := range list.Records {
		apiText("/api/v1/requests/" + rec.XRequestID)
		apiText("/api/v1/bundle?request_id=" + rec.XRequestID)
	}
	apiText("/api/v1/bundle?state=st-secrets")
	apiText("/api/v1/bundle?user=" + servertest.Subject)
	for _, iss := range issues {
		apiText("/api/v1/issues/" + iss.ID)
		apiText("/api/v1/bundle?issue=" + iss.ID)
	}
	b := r.newBrowser()
	b.login(adminUser, adminPassword)
	for _, rec := range list.Records[:10] {
		_, page := b.get("/requests/" + rec.XRequestID)
		texts = append(texts, page)
	}
	for _, iss := range issues {
		_, page := b.get("/issues/" + iss.ID)
		texts = append(texts, page)
	}
	haystacks := map[string]string{
		"admin API answers, bundles and pages": strings.Join(texts, "\n"),
		"webhook and email bodies":             got.all(),
		"server logs":                          s.Logs.String(),
	}
	var files strings.Builder
	for _, path := range []string{s.DBPath, sqlite.RecordsPath(s.DBPath)} {
		db, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		wal, _ := os.ReadFile(path + "-wal")
		files.Write(db)
		files.Write(wal)
	}
	haystacks["database files"] = files.String()
	if !strings.Contains(haystacks["database files"], "st-secrets") {
		t.Fatal("the records are not in the database files: the search below would prove nothing")
	}
	for what, v := range secrets {
		if v == "" {
			t.Fatalf("%s is empty: the flow did not run", what)
		}
		for where, h := range haystacks {
			if strings.Contains(h, v) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}
	var bundle observe.Bundle
	r.api("/api/v1/bundle?state=st-secrets", &bundle)
	raw, _ := json.Marshal(bundle)
	for _, want := range []string{"Basic [masked]", "Bearer …", "fdxd_session=[masked]", "code=[masked]"} {
		if !strings.Contains(string(raw)+strings.Join(texts, ""), want) {
			t.Errorf("no %q: the masking this test relies on did not happen", want)
		}
	}
}
