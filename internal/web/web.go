// Package web renders the server's public pages (sign-in, account
// selection, errors) from embedded html/template files, and serves their
// stylesheet. Pages render to a buffer first, so a template error becomes
// a clean 500 instead of half a page.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"time"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// Pages renders the public pages.
type Pages struct {
	institution string
	// assetPrefix is where /assets is mounted (the issuer's path).
	assetPrefix string
	login       *template.Template
	selection   *template.Template
	errorPage   *template.Template
}

// New parses the embedded templates once.
func New(institution, assetPrefix string) (*Pages, error) {
	p := &Pages{institution: institution, assetPrefix: assetPrefix}
	for name, dst := range map[string]**template.Template{
		"login.html":  &p.login,
		"select.html": &p.selection,
		"error.html":  &p.errorPage,
	} {
		t, err := template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		*dst = t
	}
	return p, nil
}

// frame is what the layout needs on every page.
type frame struct {
	Title       string
	Institution string
	AssetPrefix string
}

// LoginPage is the sign-in form.
type LoginPage struct {
	Action      string
	AuthRequest string
	CSRFToken   string
	ClientName  string
	Username    string
	Error       string
	RequestID   string
}

// SelectPage is the account-selection form.
type SelectPage struct {
	Action      string
	AuthRequest string
	CSRFToken   string
	ClientName  string
	Accounts    []SelectAccount
	Error       string
	RequestID   string
}

// SelectAccount is one row of the selection form.
type SelectAccount struct {
	ID      string
	Name    string
	Number  string
	Kind    string
	Checked bool
}

// ErrorPage explains a failure that cannot be sent back to the client.
type ErrorPage struct {
	Heading   string
	Message   string
	Code      string
	Advice    string
	RequestID string
}

// Login writes the sign-in page with status.
func (p *Pages) Login(w http.ResponseWriter, status int, page LoginPage) {
	p.render(w, status, p.login, struct {
		frame
		LoginPage
	}{p.frame("Sign in"), page})
}

// Select writes the account-selection page with status.
func (p *Pages) Select(w http.ResponseWriter, status int, page SelectPage) {
	p.render(w, status, p.selection, struct {
		frame
		SelectPage
	}{p.frame("Choose accounts"), page})
}

// Error writes an error page with status.
func (p *Pages) Error(w http.ResponseWriter, status int, page ErrorPage) {
	p.render(w, status, p.errorPage, struct {
		frame
		ErrorPage
	}{p.frame(page.Heading), page})
}

// frame's fields sit beside the page's own; every page has a RequestID,
// which the layout shows as a support reference.
func (p *Pages) frame(title string) frame {
	return frame{Title: title, Institution: p.institution, AssetPrefix: p.assetPrefix}
}

func (p *Pages) render(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		// A template bug: nothing of the page has been written yet.
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Assets serves the stylesheet; mount it at <prefix>/assets/.
func Assets() http.Handler {
	sub, err := fs.Sub(assetFiles, "assets")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int((24*time.Hour).Seconds())))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
