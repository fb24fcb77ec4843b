package doctor

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseHTMLPage(t *testing.T) {
	page := parseHTMLPage(`<!DOCTYPE html>
<html><head><title> Sign in &middot; Bank </title>
<script>var x = "<form action=/evil>"; if (a<b) {}</script>
<style>form { color: red }</style></head>
<body>
<!-- <form action="/commented"> -->
<form action="/search"><input name=q value=find><input type=submit value=Go></form>
<form METHOD=Post action='/login?step=1' id=main>
  <input type="hidden" name="csrf" value="a&amp;b">
  <input name="user" autocomplete="username">
  <input type=password name=pw>
  <input type=checkbox name=remember checked>
  <input type=checkbox name=spam>
  <input type=radio name=mode value=fast><input type=radio name=mode value=slow checked>
  <select name=lang><option value=en>English<option value=fr selected>Français</select>
  <select name=region><option>North</option><option>South</option></select>
  <textarea name=note>hello &lt;world&gt;</textarea>
  <input type=text name=off value=x disabled>
  <button name=action value=login>Sign <b>in</b></button>
  <button type=submit name=action value=cancel>Cancel</button>
  <button type=button onclick="x()">Show password</button>
</form>
<a href="/abort?x=1">Cancel sign-in</a>
<meta http-equiv="Refresh" content="0; URL='/next'">
</body></html>`)
	if page.title != "Sign in · Bank" {
		t.Errorf("title = %q", page.title)
	}
	if page.metaRefresh != "/next" {
		t.Errorf("meta refresh = %q; want /next", page.metaRefresh)
	}
	if len(page.forms) != 2 {
		t.Fatalf("%d forms; want 2 (scripts and comments hold none): %+v", len(page.forms), page.forms)
	}
	f := page.forms[1]
	if f.method != "POST" || f.action != "/login?step=1" || f.id != "main" || !f.hasPassword() {
		t.Errorf("form = %s %s id %s, password %v", f.method, f.action, f.id, f.hasPassword())
	}
	byName := map[string]formField{}
	for _, fld := range f.fields {
		if _, dup := byName[fld.name]; !dup {
			byName[fld.name] = fld
		}
	}
	checks := []struct{ name, got, want string }{
		{"csrf value", byName["csrf"].value, "a&b"},
		{"lang", byName["lang"].value, "fr"},
		{"region", byName["region"].value, "North"},
		{"note", byName["note"].value, "hello <world>"},
		{"button label", byName["action"].label, "Sign in"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q; want %q", c.name, c.got, c.want)
		}
	}
	proceed, cancel := f.submitButtons()
	if len(proceed) != 1 || proceed[0].value != "login" || len(cancel) != 1 || cancel[0].value != "cancel" {
		t.Errorf("buttons: proceed %+v, cancel %+v", proceed, cancel)
	}
	if u := usernameField(f); u < 0 || f.fields[u].name != "user" {
		t.Errorf("username field = %d", u)
	}
	if l, ok := cancelLink(page); !ok || l != "/abort?x=1" {
		t.Errorf("cancel link = %q, %v", l, ok)
	}

	r := &run{cfg: Config{Username: "ann", Password: "pw-1"}}
	values, pressed, filled, ok := r.fillForm(f, walkLogin)
	want := url.Values{"csrf": {"a&b"}, "user": {"ann"}, "pw": {"pw-1"}, "remember": {"on"}, "mode": {"slow"},
		"lang": {"fr"}, "region": {"North"}, "note": {"hello <world>"}, "action": {"login"}}
	if !ok || !filled || pressed == nil || values.Encode() != want.Encode() {
		t.Errorf("fillForm = %v (pressed %v, filled %v, ok %v)\nwant %v", values, pressed, filled, ok, want)
	}
	values, pressed, filled, _ = r.fillForm(f, walkCancel)
	if filled || pressed == nil || values.Get("action") != "cancel" || values.Has("pw") && values.Get("pw") != "" {
		t.Errorf("cancel fillForm = %v (filled %v); want action=cancel and no password", values, filled)
	}
}

// pagesServer serves a few login shapes found in the wild.
func pagesServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, body)
	}
	// Two-step login: the user name first, then the password.
	mux.HandleFunc("GET /two-step", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<form method=post action=/two-step/user><label>Email<input type=email name=login_hint></label><button>Next</button></form>`)
	})
	mux.HandleFunc("POST /two-step/user", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<form method=post action=/two-step/password><input type=hidden name=login_hint value="`+html.EscapeString(r.PostFormValue("login_hint"))+`"><input type=password name=secret><input type=submit value="Continue"></form>`)
	})
	mux.HandleFunc("POST /two-step/password", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("login_hint") != "ann@bank.test" || r.PostFormValue("secret") != "pw-1" {
			page(w, `<p>Wrong password</p><form method=post action=/two-step/password><input type=hidden name=login_hint value=x><input type=password name=secret><input type=submit value="Continue"></form>`)
			return
		}
		// response_mode=form_post: an auto-submitting form to the client.
		page(w, `<body onload="document.forms[0].submit()"><form method=post action="https://rp.test/cb"><input type=hidden name=code value=c-123><input type=hidden name=state value=s-1></form></body>`)
	})
	// A login behind a meta refresh, with Cancel as a link.
	mux.HandleFunc("GET /meta", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<meta http-equiv=refresh content="0;url=/meta/login">`)
	})
	mux.HandleFunc("GET /meta/login", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<form method=post action=/meta/login><input name=username><input type=password name=password><button>Log in</button></form><a href="/meta/abort">Cancel</a>`)
	})
	mux.HandleFunc("GET /meta/abort", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://rp.test/cb?error=access_denied&state=s-1", http.StatusFound)
	})
	// A JavaScript-only login.
	mux.HandleFunc("GET /spa", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<html><head><title>Bank</title></head><body><div id=root></div><script src=/app.js></script><noscript>Enable JavaScript</noscript></body></html>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestWalk(t *testing.T) {
	srv := pagesServer(t)
	target, _ := url.Parse("https://rp.test/cb")
	newRun := func(password string) *run {
		policy := transportPolicy{insecureLoopback: true, now: time.Now}
		return &run{cfg: Config{Username: "ann@bank.test", Password: password}, rec: &recorder{},
			client: newHTTPClient(policy, policy.newTransport(), nil)}
	}
	tests := []struct {
		name     string
		start    string
		password string
		mode     walkMode
		check    func(t *testing.T, w walkResult, err error)
	}{
		{"two-step login ending in form_post", "/two-step", "pw-1", walkLogin, func(t *testing.T, w walkResult, err error) {
			if err != nil || w.reached == nil || w.reached.Query().Get("code") != "c-123" || w.reached.Query().Get("state") != "s-1" {
				t.Errorf("walk = %+v, %v; want the form_post fields as the redirect", w, err)
			}
		}},
		{"wrong password", "/two-step", "nope", walkLogin, func(t *testing.T, w walkResult, err error) {
			if err != nil || w.reached != nil || !w.loginFailed {
				t.Errorf("walk = %+v, %v; want loginFailed", w, err)
			}
		}},
		{"cancel link behind a meta refresh", "/meta", "pw-1", walkCancel, func(t *testing.T, w walkResult, err error) {
			if err != nil || !w.cancel || w.reached == nil || w.reached.Query().Get("error") != "access_denied" {
				t.Errorf("walk = %+v, %v; want the cancel link followed to access_denied", w, err)
			}
		}},
		{"login form without a password to give", "/meta", "", walkLogin, func(t *testing.T, w walkResult, err error) {
			if err != nil || !w.noPassword || w.reached != nil {
				t.Errorf("walk = %+v, %v; want noPassword", w, err)
			}
		}},
		{"JavaScript-only page", "/spa", "pw-1", walkLogin, func(t *testing.T, w walkResult, err error) {
			out := loginOutcome{walk: w, err: err}
			if w.reached != nil || !strings.Contains(out.failure(), "without a way forward") || !strings.Contains(out.failure(), "Enable JavaScript") {
				t.Errorf("walk = %+v; failure %q", w, out.failure())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := newRun(tt.password).walk(t.Context(), srv.URL+tt.start, tt.mode, []*url.URL{target})
			tt.check(t, w, err)
			if slices.ContainsFunc(w.steps, func(s string) bool { return strings.Contains(s, "pw-1") }) {
				t.Errorf("a step shows the password: %v", w.steps)
			}
		})
	}
}

var (
	hiddenField = regexp.MustCompile(`name="(ar|csrf_token)" value="([^"]*)"`)
)

// personLogsIn plays the person of --manual: a browser that signs in to the
// test provider and returns the URL it ended on.
func personLogsIn(t *testing.T, p *provider, authURL string) string {
	jar, _ := cookiejar.New(nil)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig.RootCAs = p.roots
	b := &http.Client{Jar: jar, Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer transport.CloseIdleConnections()
	get := func(u string) (*http.Response, string) {
		resp, err := b.Get(u)
		if err != nil {
			t.Errorf("person: %v", err)
			return nil, ""
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	post := func(path, action string, page string, extra url.Values) string {
		form := url.Values{"action": {action}}
		for _, m := range hiddenField.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		for k, v := range extra {
			form[k] = v
		}
		resp, err := b.PostForm(p.issuer+path, form)
		if err != nil {
			t.Errorf("person: %v", err)
			return ""
		}
		resp.Body.Close()
		return resp.Header.Get("Location")
	}
	resp, _ := get(authURL)
	if resp == nil {
		return ""
	}
	_, loginPage := get(p.issuer + resp.Header.Get("Location"))
	next := post("/login", "login", loginPage, url.Values{"username": {testUsername}, "password": {testPassword}})
	_, selectPage := get(p.issuer + next)
	return post("/select", "share", selectPage, url.Values{"account": {"acc-chk-0001"}})
}

func TestManualLogin(t *testing.T) {
	p := newProvider(t, faults{}, fixedClock())
	outR, outW := io.Pipe()
	inR, inW := io.Pipe()
	cfg := p.config(t)
	cfg.Password = ""
	cfg.Manual = &Manual{Out: outW, In: bufio.NewReader(inR)}

	// One goroutine reads what doctor prints (so its writes never block),
	// another logs in and pastes the URL back.
	urls := make(chan string, 10)
	go func() {
		defer close(urls)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, p.issuer+"/authorize?") {
				urls <- line
			}
		}
	}()
	logins := make(chan int)
	go func() {
		n := 0
		for u := range urls {
			n++
			fmt.Fprintln(inW, personLogsIn(t, p, u))
		}
		logins <- n
	}()
	rep := Run(t.Context(), cfg)
	outW.Close()
	inR.Close() // unblocks a paste nobody reads
	inW.Close()

	if fails := statuses(rep, Fail); len(fails) > 0 {
		t.Errorf("FAIL with --manual: %v\n%s", fails, reportText(rep))
	}
	for id, want := range map[string]Status{
		"authorize.login": Pass, "token.exchange_basic": Pass, "token.code_reuse": Pass, "consistency.sub_stable": Pass,
		"api.accounts": Pass, "token.wrong_secret": Skip, "authorize.cancel": Skip, "authorize.cookies": Skip,
	} {
		if r, _ := rep.Result(id); r.Status != want {
			t.Errorf("%s = %s (%s); want %s", id, r.Status, r.Evidence, want)
		}
	}
	if n := <-logins; n != 2 {
		t.Errorf("--manual asked for %d logins; want 2", n)
	}
}

func TestEvidenceIsRedacted(t *testing.T) {
	rec := &recorder{}
	rec.secret("tok-abcdef-123456", "short")
	rec.fail("token.exchange_basic", "the server said: invalid token tok-abcdef-123456 (short)")
	got := rec.sorted()[0].Evidence
	if strings.Contains(got, "tok-abcdef-123456") || got != "the server said: invalid token [redacted] (short)" {
		t.Errorf("evidence = %q; want the token redacted (and words under six characters kept)", got)
	}
}

func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	last := -1
	for _, c := range catalogue {
		if seen[c.id] {
			t.Errorf("%s is in the catalogue twice", c.id)
		}
		seen[c.id] = true
		if !strings.HasPrefix(c.id, string(c.stage)+".") {
			t.Errorf("%s is in stage %s", c.id, c.stage)
		}
		if i := slices.Index(stageOrder, c.stage); i < last {
			t.Errorf("%s is out of stage order", c.id)
		} else {
			last = i
		}
		if c.fix == "" && c.id != "jwks.watch" {
			t.Errorf("%s has no fix", c.id)
		}
	}
}

// FuzzParseHTMLPage: pages come from servers nobody here wrote; no input may
// panic the reader.
func FuzzParseHTMLPage(f *testing.F) {
	for _, seed := range []string{
		`<form method=post action=/login><input name=u><input type=password name=p><button name=a value=1>Go</button></form>`,
		`<select name=s><option>a<option selected value=b>b</select><textarea name=t>x</textarea>`,
		`</><a href=/x>Cancel</a><meta http-equiv=refresh content="0;url=/y"><!-- <form> --><script>"<form>"</script>`,
		`<form><button>`, `<input value="unterminated`, `<`, `<!`, `<title>t`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		page := parseHTMLPage(doc)
		for _, form := range page.forms {
			r := &run{cfg: Config{Username: "u", Password: "p"}}
			r.fillForm(form, walkLogin)
			r.fillForm(form, walkCancel)
			usernameField(form)
		}
		chooseForm(page, walkLogin)
		cancelLink(page)
	})
}

// TestManualLoginBadPasteHidesTheCode: a pasted URL that does not parse is
// reported without its text, which carries the authorization code.
func TestManualLoginBadPasteHidesTheCode(t *testing.T) {
	redirect, _ := url.Parse("https://agg.example/cb")
	for _, pasted := range []string{
		"https://agg.example:44x3/cb?code=pasted-code-1234567890&state=s1",
		"https://agg.example/cb?code=pasted-code-1234567890&state=s1\x7f",
	} {
		m := &Manual{Out: io.Discard, In: bufio.NewReader(strings.NewReader(pasted + "\n"))}
		_, err := manualLogin(m, "https://bank.example/authorize", redirect)
		if err == nil {
			t.Fatalf("pasted %q: no error", pasted)
		}
		if strings.Contains(err.Error(), "pasted-code-1234567890") {
			t.Errorf("pasted %q: error %q shows the code", pasted, err)
		}
	}
}
