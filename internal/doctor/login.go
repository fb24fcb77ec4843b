package doctor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The walker drives a provider's login the way a browser with JavaScript off
// would: follow redirects, fill the form that has a password field, keep
// hidden inputs, press the button that goes on (or the one that cancels),
// select everything on pages such as account selection, and stop at the
// first redirect to the redirect URI, which is never fetched.

// maxWalkSteps bounds one walk: a login is a handful of pages.
const maxWalkSteps = 25

type walkMode int

const (
	// walkLogin logs in and goes on until the redirect URI.
	walkLogin walkMode = iota
	// walkCancel presses Cancel where a page offers it.
	walkCancel
)

// walkResult is where a walk ended.
type walkResult struct {
	reached     *url.URL // the redirect target reached, with its query; nil when none was
	targetIndex int      // which target was reached
	steps       []string // "GET /authorize → 303 /login", values never shown
	endPage     string   // what the last page said
	loginFailed bool     // the login form came back after the password was sent
	noPassword  bool     // a login form was shown but doctor has no password (manual mode)
	submitted   bool     // credentials were submitted
	cancel      bool     // a cancel control was pressed
	formRefused bool     // a form came back unchanged after it was submitted
	cookies     []cookieSeen
}

type cookieSeen struct {
	name             string
	secure, httpOnly bool
	overHTTPS        bool
}

// errWalkTooLong is returned when a walk neither ends on a page nor reaches
// the redirect URI.
var errWalkTooLong = errors.New("no redirect to the redirect URI")

// walk starts at start (an authorization URL) and follows the provider until
// a redirect to one of targets, or a page it cannot go past.
func (r *run) walk(ctx context.Context, start string, mode walkMode, targets []*url.URL) (walkResult, error) {
	var res walkResult
	browser := r.client.newBrowser()
	method, next, form := http.MethodGet, start, url.Values(nil)
	label := ""
	passwordSent := 0
	lastForm := ""
	for range maxWalkSteps {
		nextURL, err := url.Parse(next)
		if err != nil {
			return res, fmt.Errorf("bad URL from the provider: %w", err)
		}
		if i := matchTarget(nextURL, targets); i >= 0 {
			res.reached, res.targetIndex = nextURL, i
			return res, nil
		}
		var resp *response
		if method == http.MethodPost {
			resp, err = browser.postForm(ctx, next, form, nil)
		} else {
			resp, err = browser.get(ctx, next, http.Header{"Accept": {"text/html,application/xhtml+xml"}})
		}
		if err != nil {
			return res, err
		}
		for _, c := range resp.cookies {
			if c.MaxAge >= 0 && c.Value != "" {
				res.cookies = append(res.cookies, cookieSeen{name: c.Name, secure: c.Secure, httpOnly: c.HttpOnly, overHTTPS: resp.url.Scheme == "https"})
			}
		}
		step := fmt.Sprintf("%s %s%s → %d", method, shortURL(resp.url), label, resp.status)
		if resp.isRedirect() {
			res.steps = append(res.steps, step+" "+shortURL(resp.location))
			method, next, form, label = http.MethodGet, resp.location.String(), nil, ""
			continue
		}
		res.steps = append(res.steps, step)
		page := parseHTMLPage(string(resp.body))
		if page.metaRefresh != "" {
			if u, err := resp.url.Parse(page.metaRefresh); err == nil {
				method, next, form, label = http.MethodGet, u.String(), nil, " (meta refresh)"
				continue
			}
		}
		res.endPage = describePage(resp, page)

		f, ok := chooseForm(page, mode)
		if mode == walkCancel && !res.cancel {
			// Some pages offer Cancel as a link rather than a button.
			if _, buttons := f.submitButtons(); !ok || len(buttons) == 0 {
				if l, found := cancelLink(page); found {
					if u, err := resp.url.Parse(l); err == nil {
						res.cancel = true
						method, next, form, label = http.MethodGet, u.String(), nil, " (cancel link)"
						continue
					}
				}
			}
		}
		if !ok {
			return res, nil
		}
		action, err := resp.url.Parse(f.action)
		if err != nil {
			return res, nil
		}
		if f.hasPassword() && passwordSent > 0 {
			// The login form came back after the password was sent.
			res.loginFailed = true
			return res, nil
		}
		values, pressed, filled, ok := r.fillForm(f, mode)
		if !ok {
			res.noPassword = f.hasPassword()
			return res, nil
		}
		if pressed != nil && pressed.looksLikeCancel() {
			res.cancel = true
		}
		if filled {
			passwordSent++
			res.submitted = true
		}
		// The same form (same action, same fields) straight after it was
		// submitted means the provider refused the submission: stop there,
		// with its page as the evidence.
		key := f.method + " " + action.String() + " " + fieldNames(f.fields)
		if key == lastForm {
			res.formRefused = true
			return res, nil
		}
		lastForm = key
		label = " [" + fieldNames(submittedFields(f, values)) + buttonLabel(pressed) + "]"
		if f.method == http.MethodGet {
			// A GET form replaces the action's query with its fields.
			get := *action
			get.RawQuery = values.Encode()
			method, next, form = http.MethodGet, get.String(), nil
		} else {
			method, next, form = http.MethodPost, action.String(), values
		}
		// A form that posts to the redirect URI (response_mode=form_post) ends
		// the walk with its fields, unsent.
		if i := matchTarget(action, targets); i >= 0 {
			reached := *action
			q := reached.Query()
			for k, vs := range values {
				q[k] = vs
			}
			reached.RawQuery = q.Encode()
			res.steps = append(res.steps, "form to the redirect URI (not sent)")
			res.reached, res.targetIndex = &reached, i
			return res, nil
		}
	}
	return res, fmt.Errorf("%w after %d steps", errWalkTooLong, maxWalkSteps)
}

func matchTarget(u *url.URL, targets []*url.URL) int {
	for i, t := range targets {
		if sameEndpoint(u, t) {
			return i
		}
	}
	return -1
}

func buttonLabel(f *formField) string {
	if f == nil || f.name == "" {
		return ""
	}
	return "; " + f.name + "=" + f.value
}

// submittedFields lists the form's fields that values sends (for evidence).
func submittedFields(f htmlForm, values url.Values) []formField {
	var out []formField
	seen := map[string]bool{}
	for _, fld := range f.fields {
		if _, ok := values[fld.name]; ok && !seen[fld.name] && !fld.isSubmit() {
			seen[fld.name] = true
			out = append(out, fld)
		}
	}
	return out
}

func describePage(resp *response, page htmlPage) string {
	desc := fmt.Sprintf("%d", resp.status)
	if page.title != "" {
		desc += fmt.Sprintf(" %q", page.title)
	}
	if len(page.forms) == 0 && page.text != "" && !strings.EqualFold(page.text, page.title) {
		desc += ": " + truncate(page.text, 160)
	} else if !strings.Contains(resp.contentType(), "html") && len(resp.body) > 0 {
		desc += ": " + snippet(resp.body, 160)
	}
	return desc
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// chooseForm picks the form a person would submit: the one with a password
// field; when cancelling, the one with a cancel button; otherwise the first
// form with a submit button, or the first form.
func chooseForm(page htmlPage, mode walkMode) (htmlForm, bool) {
	if len(page.forms) == 0 {
		return htmlForm{}, false
	}
	if mode == walkCancel {
		for _, f := range page.forms {
			if _, cancel := f.submitButtons(); len(cancel) > 0 {
				return f, true
			}
		}
	}
	for _, f := range page.forms {
		if f.hasPassword() {
			return f, true
		}
	}
	for _, f := range page.forms {
		if proceed, _ := f.submitButtons(); len(proceed) > 0 && f.method == http.MethodPost {
			return f, true
		}
	}
	for _, f := range page.forms {
		if proceed, _ := f.submitButtons(); len(proceed) > 0 {
			return f, true
		}
	}
	// A form without buttons that scripts submit on load (form_post).
	for _, f := range page.forms {
		if len(f.fields) > 0 {
			return f, true
		}
	}
	return htmlForm{}, false
}

// cancelLink finds a link whose text or target reads like cancel.
func cancelLink(page htmlPage) (string, bool) {
	for _, l := range page.links {
		f := formField{label: l.text, value: l.href}
		if f.looksLikeCancel() {
			return l.href, true
		}
	}
	return "", false
}

// fillForm builds the submission of form. It fills the username and password
// when the form asks for them, checks every checkbox outside login forms
// (account selection: share everything), and presses the button that goes on
// or, in cancel mode, the one that cancels. ok is false when the form needs a
// password doctor does not have.
func (r *run) fillForm(form htmlForm, mode walkMode) (values url.Values, pressed *formField, passwordFilled, ok bool) {
	proceed, cancel := form.submitButtons()
	login := form.hasPassword()
	overrides := map[int]string{}
	if mode == walkCancel && len(cancel) > 0 {
		pressed = &cancel[0]
	} else {
		if login {
			if r.cfg.Password == "" {
				return nil, nil, false, false
			}
			for i, f := range form.fields {
				if f.tag == "input" && f.typ == "password" {
					overrides[i] = r.cfg.Password
					passwordFilled = true
				}
			}
		}
		if u := usernameField(form); u >= 0 && r.cfg.Username != "" && (login || form.fields[u].value == "") {
			overrides[u] = r.cfg.Username
		}
		if len(proceed) > 0 {
			pressed = &proceed[0]
		}
	}
	values = url.Values{}
	radios := map[string]bool{}
	for i, f := range form.fields {
		if f.disabled || f.name == "" {
			continue
		}
		switch {
		case f.isSubmit():
			if pressed != nil && f.name == pressed.name && f.value == pressed.value && f.label == pressed.label {
				if f.typ == "image" {
					values.Add(f.name+".x", "1")
					values.Add(f.name+".y", "1")
				} else {
					values.Add(f.name, f.value)
				}
			}
		case f.tag == "button" || f.typ == "reset" || f.typ == "button" || f.typ == "file":
		case f.typ == "checkbox":
			// Outside a login form, tick every box: share all accounts,
			// accept. Login forms keep their defaults ("remember me").
			if f.checked || !login && pressed != nil && !pressed.looksLikeCancel() {
				values.Add(f.name, firstNonEmpty(f.value, "on"))
			}
		case f.typ == "radio":
			if f.checked && !radios[f.name] {
				radios[f.name] = true
				values.Add(f.name, firstNonEmpty(f.value, "on"))
			}
		default:
			if v, ok := overrides[i]; ok {
				values.Add(f.name, v)
			} else {
				values.Add(f.name, f.value)
			}
		}
	}
	// A radio group with nothing checked: a person picks the first choice.
	for _, f := range form.fields {
		if f.typ == "radio" && f.name != "" && !f.disabled && !radios[f.name] {
			radios[f.name] = true
			values.Add(f.name, firstNonEmpty(f.value, "on"))
		}
	}
	return values, pressed, passwordFilled, true
}

// usernameField is the index of the field that takes the login name: one
// that says so (name, id, autocomplete), else the first text field of a login
// form; -1 when none.
func usernameField(form htmlForm) int {
	first := -1
	for i, f := range form.fields {
		if !f.isTextEntry() || f.disabled {
			continue
		}
		if f.looksLikeUsername() {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	if form.hasPassword() {
		return first
	}
	return -1
}

// manualLogin prints the authorization URL and reads the URL the browser
// ended on.
func manualLogin(m *Manual, authURL string, redirect *url.URL) (*url.URL, error) {
	fmt.Fprintf(m.Out, "\nOpen this URL in a browser and log in as the test user:\n\n  %s\n\n", authURL)
	fmt.Fprintf(m.Out, "Your browser will then try to open %s (it may fail to load: that is fine).\nPaste the whole URL from the address bar here and press Enter:\n> ", shortURL(redirect))
	line, err := m.In.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return nil, fmt.Errorf("reading the pasted URL: %w", err)
	}
	u, err := url.Parse(strings.TrimSpace(line))
	if err != nil {
		// Without the *url.Error's quote of the text: it carries the code.
		return nil, fmt.Errorf("the pasted text is not a URL: %w", unwrapURLError(err))
	}
	if !sameEndpoint(u, redirect) {
		return nil, fmt.Errorf("the pasted URL %s is not the redirect URI %s", shortURL(u), shortURL(redirect))
	}
	return u, nil
}

// Manual makes doctor ask a person to log in: it prints each authorization
// URL to Out and reads the final redirect URL from In.
type Manual struct {
	Out io.Writer
	In  *bufio.Reader
}
