package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

const (
	sessionCookie = "fdxd_admin"
	// loginCookie carries the sign-in form's CSRF token (double submit).
	loginCookie = "fdxd_admin_login"
)

// session is the signed-in admin of a request.
type session struct {
	store.AdminSession
	// csrf is the token the session's forms carry.
	csrf string
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) session {
	s, _ := ctx.Value(sessionKey{}).(session)
	return s
}

// csrfFor derives a form token from a secret cookie value; it reveals
// nothing of the value.
func csrfFor(cookieValue string) string {
	sum := sha256.Sum256([]byte("fdxd admin csrf\x00" + cookieValue))
	return hex.EncodeToString(sum[:16])
}

func tokenEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// signedIn serves h to a signed-in admin and sends anyone else to the
// sign-in page. Forms posted to h must carry the session's CSRF token.
func (a *Admin) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := a.session(r)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if r.Method != http.MethodGet {
				a.pages.error(w, http.StatusForbidden, "Signed out", "Your session has ended. Sign in again.")
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		case err != nil:
			a.cfg.Logger.Error("admin session lookup failed", "event", "admin.session_failed", "error", err.Error())
			a.pages.error(w, http.StatusServiceUnavailable, "Unavailable", "The database is unavailable; try again shortly.")
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil || !tokenEqual(r.PostForm.Get("csrf"), s.csrf) {
				a.pages.error(w, http.StatusForbidden, "Form expired", "The form could not be verified. Reload the page and try again.")
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	}
}

// session loads the request's admin session; ErrNotFound when there is
// none or it expired.
func (a *Admin) session(r *http.Request) (session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return session{}, store.ErrNotFound
	}
	s, err := a.cfg.Store.GetAdminSession(r.Context(), secret.Hash(c.Value))
	if err != nil {
		return session{}, err
	}
	if !a.cfg.Now().Before(s.ExpiresAt) {
		return session{}, store.ErrNotFound
	}
	return session{AdminSession: s, csrf: csrfFor(c.Value)}, nil
}

func secureRequest(r *http.Request) bool { return r.TLS != nil }

func (a *Admin) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: secureRequest(r),
		SameSite: http.SameSiteStrictMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}

// safeNext keeps a post-sign-in redirect on this listener.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

type loginView struct {
	CSRF     string
	Next     string
	Username string
	Error    string
}

func (a *Admin) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := a.session(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	a.showLogin(w, r, http.StatusOK, loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

func (a *Admin) showLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	token := secret.Token("", 16)
	a.setCookie(w, r, loginCookie, token, 30*time.Minute)
	v.CSRF = csrfFor(token)
	a.pages.render(w, status, "login", frame{Title: "Sign in", Plain: true}, v)
}

// dummyHash keeps the time of a sign-in with an unknown username close to
// one with a wrong password.
var dummyHash = sync.OnceValue(func() string { return password.Hash("fdxd-admin-unknown-user", password.Default) })

func (a *Admin) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		a.showLogin(w, r, http.StatusBadRequest, loginView{Error: "The form could not be read."})
		return
	}
	username, pw := r.PostForm.Get("username"), r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	c, err := r.Cookie(loginCookie)
	if err != nil || !tokenEqual(r.PostForm.Get("csrf"), csrfFor(c.Value)) {
		a.showLogin(w, r, http.StatusForbidden, loginView{Next: next, Username: username,
			Error: "The form expired. Please sign in again."})
		return
	}
	addr := remoteHost(r.RemoteAddr)
	if len(username) > 256 {
		username = username[:256]
	}
	for _, key := range []string{"user:" + username, "addr:" + addr} {
		if limited, _ := a.failures.Exhausted(key); limited {
			a.cfg.Logger.Warn("admin sign-in refused: too many failures", "event", "admin.login_rate_limited",
				"admin", username, "remote_addr", addr)
			a.showLogin(w, r, http.StatusTooManyRequests, loginView{Next: next, Username: username,
				Error: "Too many failed sign-ins. Wait a minute and try again."})
			return
		}
	}
	admin, err := a.cfg.Store.GetAdmin(r.Context(), username)
	hash := admin.PasswordHash
	if err != nil {
		hash = dummyHash()
	}
	verr := password.Verify(pw, hash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.cfg.Logger.Error("admin lookup failed", "event", "admin.login_failed", "error", err.Error())
		a.showLogin(w, r, http.StatusServiceUnavailable, loginView{Next: next, Username: username,
			Error: "The database is unavailable; try again shortly."})
		return
	}
	if err != nil || verr != nil {
		a.failures.Take("user:" + username)
		a.failures.Take("addr:" + addr)
		a.cfg.Logger.Warn("admin sign-in failed", "event", "admin.login_failed", "admin", username, "remote_addr", addr)
		a.showLogin(w, r, http.StatusUnauthorized, loginView{Next: next, Username: username,
			Error: "The username or password is not right."})
		return
	}
	value := secret.Token("", 32)
	now := a.cfg.Now().UTC()
	if err := a.cfg.Store.CreateAdminSession(r.Context(), store.AdminSession{IDHash: secret.Hash(value),
		Username: admin.Username, CreatedAt: now, ExpiresAt: now.Add(a.cfg.SessionTTL)}); err != nil {
		a.cfg.Logger.Error("admin session not stored", "event", "admin.login_failed", "error", err.Error())
		a.showLogin(w, r, http.StatusServiceUnavailable, loginView{Next: next, Username: username,
			Error: "The database is unavailable; try again shortly."})
		return
	}
	a.setCookie(w, r, loginCookie, "", -1)
	a.setCookie(w, r, sessionCookie, value, a.cfg.SessionTTL)
	a.cfg.Logger.Info("admin signed in", "event", "admin.login", "admin", admin.Username, "remote_addr", addr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (a *Admin) logout(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	if err := a.cfg.Store.DeleteAdminSession(r.Context(), s.IDHash); err != nil {
		a.cfg.Logger.Error("admin session not deleted", "event", "admin.logout_failed", "error", err.Error())
	}
	a.setCookie(w, r, sessionCookie, "", -1)
	a.cfg.Logger.Info("admin signed out", "event", "admin.logout", "admin", s.Username)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// api serves h to callers presenting the admin token.
func (a *Admin) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if a.cfg.APIToken == "" || !strings.EqualFold(scheme, "Bearer") || !tokenEqual(strings.TrimSpace(token), a.cfg.APIToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fdxd-admin"`)
			msg := "send Authorization: Bearer <FDXD_ADMIN_TOKEN>"
			if a.cfg.APIToken == "" {
				msg = "the admin API is off: start fdxd serve with FDXD_ADMIN_TOKEN set"
			}
			writeJSONError(w, http.StatusUnauthorized, "unauthorized", msg)
			return
		}
		h(w, r)
	}
}

func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
