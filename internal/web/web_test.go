package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPagesRenderAndEscape(t *testing.T) {
	p, err := New("Demo Bank", "")
	if err != nil {
		t.Fatal(err)
	}
	rr := httptest.NewRecorder()
	p.Login(rr, 200, LoginPage{Action: "/login", AuthRequest: "ar1", CSRFToken: "csrf1", ClientName: `<script>x</script>`,
		Username: `"><img>`, Error: "Wrong username or password.", RequestID: "req_1"})
	body := rr.Body.String()
	for _, want := range []string{`<html lang="en">`, `<label for="username">`, `autocomplete="current-password"`,
		`name="csrf_token" value="csrf1"`, `value="cancel"`, `role="alert"`, "req_1", "&lt;script&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, `"><img>`) {
		t.Fatal("login page does not escape its inputs")
	}
	if ct := rr.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}

	rr = httptest.NewRecorder()
	p.Select(rr, 200, SelectPage{Action: "/select", ClientName: "Plaid", Accounts: []SelectAccount{
		{ID: "a1", Name: "Checking", Number: "…1234", Kind: "Deposit", Checked: true}}})
	if !strings.Contains(rr.Body.String(), `id="acct-a1" name="account" value="a1" checked`) {
		t.Fatalf("selection page lacks the account checkbox:\n%s", rr.Body.String())
	}

	rr = httptest.NewRecorder()
	p.Error(rr, 400, ErrorPage{Heading: "Cannot continue", Message: "redirect_uri mismatch", Code: "redirect_uri_mismatch"})
	if rr.Code != 400 || !strings.Contains(rr.Body.String(), "redirect_uri_mismatch") {
		t.Fatalf("error page = %d %s", rr.Code, rr.Body.String())
	}
}

func TestAssets(t *testing.T) {
	rr := httptest.NewRecorder()
	Assets().ServeHTTP(rr, httptest.NewRequest("GET", "/fdxd.css", nil))
	if rr.Code != 200 || !strings.Contains(rr.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("stylesheet = %d %q", rr.Code, rr.Header().Get("Content-Type"))
	}
}
