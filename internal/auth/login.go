package auth

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"
)

//go:embed templates/login.html
var templateFS embed.FS

var loginPage = template.Must(template.ParseFS(templateFS, "templates/login.html"))

// maxFormBytes bounds a login form.
const maxFormBytes = 4 << 10

// loginData is what the login page renders.
type loginData struct {
	Title string
	Next  string
	Error string
}

// serveLogin shows the login form (GET) or checks the token a form posted (POST).
func (a *Authenticator) serveLogin(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if !a.Enabled() {
			http.Redirect(w, r, a.cfg.Home, http.StatusSeeOther)
			return
		}
		a.renderLogin(w, http.StatusOK, loginData{Next: localPath(r.URL.Query().Get("next"))})
	case http.MethodPost:
		a.postLogin(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "expecting GET or POST", http.StatusMethodNotAllowed)
	}
}

func (a *Authenticator) postLogin(w http.ResponseWriter, r *http.Request) {
	if err := sameOrigin(r); err != nil {
		a.refuse(w, r, http.StatusForbidden, err.Error())
		return
	}
	if q := r.URL.Query(); q.Has("token") || q.Has("access_token") {
		http.Error(w, "the token belongs in the form body, never in a URL", http.StatusBadRequest)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad login form: "+err.Error(), http.StatusBadRequest)
		return
	}
	next := localPath(r.PostForm.Get("next"))
	if !a.validToken(strings.TrimSpace(r.PostForm.Get("token"))) {
		a.renderLogin(w, http.StatusUnauthorized, loginData{Next: next, Error: "That token is not valid for this cluster."})
		return
	}
	value, exp := a.newSession()
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		Expires:  exp,
		MaxAge:   int(a.cfg.SessionTTL.Seconds()),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	if next == "" {
		next = a.cfg.Home
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// serveLogout ends the browser's session: POST only, from a page of this site.
func (a *Authenticator) serveLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "expecting POST", http.StatusMethodNotAllowed)
		return
	}
	if err := sameOrigin(r); err != nil {
		a.refuse(w, r, http.StatusForbidden, err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, LoginPath, http.StatusSeeOther)
}

func (a *Authenticator) renderLogin(w http.ResponseWriter, status int, d loginData) {
	d.Title = a.cfg.Title
	var buf bytes.Buffer
	if err := loginPage.Execute(&buf, d); err != nil {
		http.Error(w, "render the login page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// localPath returns p when it is a path on this site ("/..." but not "//..." or "/\..."),
// else "": a login never redirects elsewhere.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") ||
		strings.ContainsAny(p, "\r\n") {
		return ""
	}
	return p
}
