package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/marina-dcos/marina/internal/pki"
)

// Paths the middleware serves.
const (
	LoginPath  = "/login"
	LogoutPath = "/logout"
)

// CookieName names the session cookie.
const CookieName = "marina_session"

// DefaultSessionTTL is how long a login lasts.
const DefaultSessionTTL = 12 * time.Hour

// Config configures the middleware.
type Config struct {
	// Token is the cluster's API token. Empty disables authentication: every request passes.
	Token string
	// Public lists paths open to everyone: an entry ending in "/" is a prefix. The login and
	// logout paths are always public.
	Public []string
	// NodeOnly lists paths that, over TLS, also need a client certificate the cluster CA
	// issued: calls that only nodes make (an agent's registration stream).
	NodeOnly []string
	// Title names the service on the login page, e.g. "Marina master".
	Title string
	// Home is where a login without a "next" page lands; default "/".
	Home string
	// SessionTTL bounds a login; default DefaultSessionTTL.
	SessionTTL time.Duration
	// Unauthorized writes the body of a 401 (headers are set); default a line of text.
	Unauthorized func(w http.ResponseWriter, r *http.Request)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Authenticator is the middleware. It is safe for concurrent use.
type Authenticator struct {
	cfg   Config
	token []byte
}

// New returns the middleware for cfg.
func New(cfg Config) *Authenticator {
	if cfg.Title == "" {
		cfg.Title = "Marina"
	}
	if cfg.Home == "" {
		cfg.Home = "/"
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Unauthorized == nil {
		cfg.Unauthorized = func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte("missing or invalid bearer token\n"))
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Authenticator{cfg: cfg, token: []byte(cfg.Token)}
}

// Enabled reports whether requests need credentials.
func (a *Authenticator) Enabled() bool { return len(a.token) > 0 }

// Wrap returns next behind authentication, with the login and logout routes.
func (a *Authenticator) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case LoginPath:
			a.serveLogin(w, r)
			return
		case LogoutPath:
			a.serveLogout(w, r)
			return
		}
		if r.TLS != nil && matches(a.cfg.NodeOnly, r.URL.Path) && !pki.PeerVerified(r.TLS) {
			a.refuse(w, r, http.StatusForbidden, "this endpoint is for the cluster's nodes: present a node certificate")
			return
		}
		if !a.Enabled() || matches(a.cfg.Public, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		switch a.check(r) {
		case viaBearer:
			next.ServeHTTP(w, r)
		case viaCookie:
			if !safeMethod(r.Method) {
				if err := sameOrigin(r); err != nil {
					a.refuse(w, r, http.StatusForbidden, err.Error())
					return
				}
			}
			next.ServeHTTP(w, r)
		default:
			a.unauthorized(w, r)
		}
	})
}

// how says which credential authenticated a request.
type how int

const (
	none how = iota
	viaBearer
	viaCookie
)

// check authenticates r by its bearer token, else its session cookie.
func (a *Authenticator) check(r *http.Request) how {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && a.validToken(strings.TrimSpace(tok)) {
			return viaBearer
		}
		return none // a wrong token is not rescued by a cookie
	}
	if c, err := r.Cookie(CookieName); err == nil && a.validSession(c.Value) {
		return viaCookie
	}
	return none
}

// validToken compares in constant time.
func (a *Authenticator) validToken(tok string) bool {
	return a.Enabled() && subtle.ConstantTimeCompare([]byte(tok), a.token) == 1
}

// Sessions are "v1.<unix expiry>.<mac>": mac is HMAC-SHA256 over "v1.<expiry>" keyed by the
// token, base64url. The token itself never reaches the browser.
const sessionVersion = "v1"

func (a *Authenticator) newSession() (string, time.Time) {
	exp := a.cfg.Now().Add(a.cfg.SessionTTL).Truncate(time.Second)
	payload := sessionVersion + "." + strconv.FormatInt(exp.Unix(), 10)
	return payload + "." + a.mac(payload), exp
}

func (a *Authenticator) mac(payload string) string {
	m := hmac.New(sha256.New, a.token)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *Authenticator) validSession(v string) bool {
	if !a.Enabled() {
		return false
	}
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return false
	}
	payload, sig := v[:i], v[i+1:]
	if !hmac.Equal([]byte(sig), []byte(a.mac(payload))) {
		return false
	}
	ver, exp, ok := strings.Cut(payload, ".")
	if !ok || ver != sessionVersion {
		return false
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	return err == nil && a.cfg.Now().Before(time.Unix(secs, 0))
}

// unauthorized answers a request without valid credentials: a browser loading a page goes to
// the login page, anything else gets 401.
func (a *Authenticator) unauthorized(w http.ResponseWriter, r *http.Request) {
	if pageLoad(r) {
		http.Redirect(w, r, LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="marina"`)
	closeUnread(w, r)
	a.cfg.Unauthorized(w, r)
}

func (a *Authenticator) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	closeUnread(w, r)
	http.Error(w, msg, status)
}

// closeUnread asks an HTTP/1 client to close the connection: the server does not wait for the
// rest of a refused (perhaps streamed) body.
func closeUnread(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
}

// pageLoad reports whether r is a browser loading a page (not a script's API call).
func pageLoad(r *http.Request) bool {
	if !safeMethod(r.Method) || r.Header.Get("Authorization") != "" {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Errors of the same-origin check.
var (
	errCrossSite = errors.New("cross-site request refused")
	errNoOrigin  = errors.New("request without Origin or Sec-Fetch-Site refused: a browser form or script of this site must send it")
)

// sameOrigin checks that a cookie-authenticated request comes from a page of this site: by
// Sec-Fetch-Site when the browser sends it, else by Origin. A request with neither is refused.
func sameOrigin(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return nil
	case "":
	default:
		return errCrossSite
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return errNoOrigin
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return errCrossSite
	}
	return nil
}

// matches reports whether path is one of paths, or under one ending in "/".
func matches(paths []string, path string) bool {
	for _, p := range paths {
		if path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) {
			return true
		}
	}
	return false
}
