package admin

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"time"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// pageNames are the pages; each is templates/<name>.html with the layout.
var pageNames = []string{"login", "error", "overview", "issues", "issue", "requests", "request", "keys"}

type pages struct {
	t map[string]*template.Template
}

var funcs = template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"iso": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"pct":   fmtPercent,
	"dur":   fmtDuration,
	"dash":  func(s string) string { return map[bool]string{true: "—", false: s}[s == ""] },
	"query": func(v url.Values) string { return v.Encode() },
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, errors.New("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, errors.New("dict: keys are strings")
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		d := now.Sub(t).Round(time.Second)
		if d < 0 {
			return "in " + (-d).String()
		}
		return d.String() + " ago"
	},
}

// parsePages parses the embedded templates once, each page with the
// layout and the shared fragments.
func parsePages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/chart.html",
			"templates/records.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("admin: parse %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// frame is what the layout needs.
type frame struct {
	Title string
	// Plain pages (sign-in, errors) have no navigation.
	Plain   bool
	Nav     string
	Admin   string
	CSRF    string
	Refresh int
	Now     time.Time
}

// render writes page name (or only its "live" fragment when the request
// asks with ?fragment=live) to a buffer first, so a template error is a
// clean 500.
func (p *pages) render(w http.ResponseWriter, status int, name string, f frame, data any) {
	p.renderPart(w, status, name, "layout", f, data)
}

func (p *pages) renderPart(w http.ResponseWriter, status int, name, part string, f frame, data any) {
	var buf bytes.Buffer
	if err := p.t[name].ExecuteTemplate(&buf, part, struct {
		frame
		Data any
	}{f, data}); err != nil {
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	writeBuffered(w, status, "text/html; charset=utf-8", &buf)
}

type errorView struct {
	Heading string
	Message string
}

func (p *pages) error(w http.ResponseWriter, status int, heading, message string) {
	p.render(w, status, "error", frame{Title: heading, Plain: true}, errorView{heading, message})
}

// page renders a signed-in page, or its live fragment.
func (a *Admin) page(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	a.pageStatus(w, r, http.StatusOK, name, title, data)
}

func (a *Admin) pageStatus(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	s := sessionFrom(r.Context())
	f := frame{Title: title, Nav: name, Admin: s.Username, CSRF: s.csrf, Refresh: a.cfg.RefreshSeconds, Now: a.cfg.Now().UTC()}
	if r.URL.Query().Get("fragment") == "live" {
		a.pages.renderPart(w, status, name, "live", f, data)
		return
	}
	a.pages.render(w, status, name, f, data)
}

// failPage answers a page's failure: 4xx with the reason, 5xx without.
func (a *Admin) failPage(w http.ResponseWriter, r *http.Request, err error) {
	status, _ := storeStatus(err)
	heading := "Something went wrong"
	switch status {
	case http.StatusNotFound:
		heading = "Not found"
	case http.StatusBadRequest:
		heading = "Bad request"
	}
	a.pages.error(w, status, heading, a.errMessage(r, status, err))
}

func assets() http.Handler {
	sub, err := fs.Sub(assetFiles, "assets")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
