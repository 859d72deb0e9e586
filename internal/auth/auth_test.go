package auth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/auth"
)

const token = "s3cret-token"

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })

// session logs in through the form and returns the session cookie.
func session(t testing.TB, h http.Handler, token string) *http.Cookie {
	t.Helper()
	rec := post(h, "/login", url.Values{"token": {token}}, http.Header{"Origin": {"http://example.test"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies", len(cookies))
	}
	return cookies[0]
}

func post(h http.Handler, target string, form url.Values, hdr http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://example.test"+target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range hdr {
		r.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestMiddleware(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := auth.New(auth.Config{Token: token, Public: []string{"/health", "/console/assets/"}, Now: clock})
	h := a.Wrap(ok)
	cookie := session(t, h, token)
	if strings.Contains(cookie.Value, token) {
		t.Fatal("the session cookie holds the token")
	}
	other := session(t, auth.New(auth.Config{Token: "another token", Now: clock}).Wrap(ok), "another token")
	expired := session(t, auth.New(auth.Config{Token: token, Now: func() time.Time { return now.Add(-13 * time.Hour) }}).Wrap(ok), token)
	tampered := *cookie
	tampered.Value = strings.Replace(cookie.Value, "v1.", "v1.9", 1)

	tests := []struct {
		name     string
		method   string
		path     string
		header   map[string]string
		cookie   *http.Cookie
		want     int
		location string
	}{
		{name: "bearer", path: "/v2/apps", header: map[string]string{"Authorization": "Bearer " + token}, want: 200},
		{name: "bearer, any case", path: "/v2/apps", header: map[string]string{"Authorization": "bearer " + token}, want: 200},
		{name: "wrong bearer", path: "/v2/apps", header: map[string]string{"Authorization": "Bearer nope"}, want: 401},
		{name: "basic scheme", path: "/v2/apps", header: map[string]string{"Authorization": "Basic " + token}, want: 401},
		{name: "none", path: "/v2/apps", want: 401},
		{name: "token in the URL", path: "/v2/apps?token=" + token + "&access_token=" + token, want: 401},
		{name: "public", path: "/health", want: 200},
		{name: "public prefix", path: "/console/assets/app.css", want: 200},
		{name: "not a public prefix", path: "/healthz", want: 401},
		{name: "browser page load", path: "/console/tasks?x=1", header: map[string]string{"Accept": "text/html,application/xhtml+xml"}, want: 303, location: "/login?next=%2Fconsole%2Ftasks%3Fx%3D1"},
		{name: "browser navigation", path: "/", header: map[string]string{"Sec-Fetch-Mode": "navigate", "Accept": "*/*"}, want: 303, location: "/login?next=%2F"},
		{name: "browser script", path: "/master/state", header: map[string]string{"Sec-Fetch-Mode": "cors", "Accept": "text/html"}, want: 401},
		{name: "cookie", path: "/v2/apps", cookie: cookie, want: 200},
		{name: "cookie, same-origin POST", method: "POST", path: "/v2/apps", cookie: cookie, header: map[string]string{"Sec-Fetch-Site": "same-origin"}, want: 200},
		{name: "cookie, cross-site POST", method: "POST", path: "/v2/apps", cookie: cookie, header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://example.test"}, want: 403},
		{name: "cookie, same-site POST", method: "DELETE", path: "/v2/apps/x", cookie: cookie, header: map[string]string{"Sec-Fetch-Site": "same-site"}, want: 403},
		{name: "cookie, POST with Origin", method: "PUT", path: "/v2/apps/x", cookie: cookie, header: map[string]string{"Origin": "http://example.test"}, want: 200},
		{name: "cookie, POST from another origin", method: "POST", path: "/v2/apps", cookie: cookie, header: map[string]string{"Origin": "http://evil.test"}, want: 403},
		{name: "cookie, POST with a null origin", method: "POST", path: "/v2/apps", cookie: cookie, header: map[string]string{"Origin": "null"}, want: 403},
		{name: "cookie, POST without origin", method: "POST", path: "/v2/apps", cookie: cookie, want: 403},
		{name: "bearer, POST without origin", method: "POST", path: "/v2/apps", header: map[string]string{"Authorization": "Bearer " + token}, want: 200},
		{name: "cookie of another cluster", path: "/v2/apps", cookie: other, want: 401},
		{name: "expired cookie", path: "/v2/apps", cookie: expired, want: 401},
		{name: "tampered cookie", path: "/v2/apps", cookie: &tampered, want: 401},
		{name: "wrong bearer with a cookie", path: "/v2/apps", cookie: cookie, header: map[string]string{"Authorization": "Bearer nope"}, want: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "http://example.test"+tt.path, nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if tt.cookie != nil {
				r.AddCookie(tt.cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.location != "" && rec.Header().Get("Location") != tt.location {
				t.Errorf("Location %q, want %q", rec.Header().Get("Location"), tt.location)
			}
			if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") != `Bearer realm="marina"` {
				t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func TestNoToken(t *testing.T) {
	h := auth.New(auth.Config{}).Wrap(ok)
	for _, method := range []string{"GET", "POST", "DELETE"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/v2/apps", nil))
		if rec.Code != 200 {
			t.Errorf("%s without a configured token: %d", method, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Errorf("login without a token: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestLogin(t *testing.T) {
	h := auth.New(auth.Config{Token: token, Title: "Marina services", Home: "/ui/"}).Wrap(ok)
	same := http.Header{"Sec-Fetch-Site": {"same-origin"}}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login?next=/ui/apps", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `<label for="token">`) || !strings.Contains(body, `value="/ui/apps"`) ||
		!strings.Contains(body, "Marina services") {
		t.Fatalf("login page: %d\n%s", rec.Code, body)
	}
	for _, hdr := range []string{"Content-Security-Policy", "Cache-Control"} {
		if rec.Header().Get(hdr) == "" {
			t.Errorf("the login page has no %s", hdr)
		}
	}

	tests := []struct {
		name     string
		target   string
		form     url.Values
		header   http.Header
		want     int
		location string
		cookie   bool
	}{
		{"good token", "/login", url.Values{"token": {token}, "next": {"/ui/apps"}}, same, 303, "/ui/apps", true},
		{"good token, no next", "/login", url.Values{"token": {" " + token + "\n"}}, same, 303, "/ui/", true},
		{"next elsewhere", "/login", url.Values{"token": {token}, "next": {"//evil.test/x"}}, same, 303, "/ui/", true},
		{"next with a backslash", "/login", url.Values{"token": {token}, "next": {`/\evil.test`}}, same, 303, "/ui/", true},
		{"next absolute", "/login", url.Values{"token": {token}, "next": {"https://evil.test/"}}, same, 303, "/ui/", true},
		{"bad token", "/login", url.Values{"token": {"nope"}}, same, 401, "", false},
		{"empty token", "/login", url.Values{}, same, 401, "", false},
		{"token in the URL", "/login?token=" + token, url.Values{}, same, 400, "", false},
		{"cross-site form", "/login", url.Values{"token": {token}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403, "", false},
		{"no origin", "/login", url.Values{"token": {token}}, nil, 403, "", false},
		{"oversized form", "/login", url.Values{"token": {strings.Repeat("x", 8<<10)}}, same, 400, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(h, tt.target, tt.form, tt.header)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if rec.Header().Get("Location") != tt.location {
				t.Errorf("Location %q, want %q", rec.Header().Get("Location"), tt.location)
			}
			cookies := rec.Result().Cookies()
			if !tt.cookie {
				if len(cookies) != 0 {
					t.Errorf("set cookies %v", cookies)
				}
				return
			}
			if len(cookies) != 1 {
				t.Fatalf("cookies %v", cookies)
			}
			c := cookies[0]
			if c.Name != auth.CookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" || c.MaxAge <= 0 {
				t.Errorf("cookie %+v", c)
			}
		})
	}
	if rec := post(h, "/login", url.Values{"token": {"nope"}}, same); !strings.Contains(rec.Body.String(), `role="alert"`) {
		t.Errorf("a failed login does not say so accessibly:\n%s", rec.Body)
	}

	rec = post(h, "/logout", nil, same)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 || c[0].Value != "" {
		t.Errorf("logout cookies %v", c)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/logout", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /logout: %d", rec.Code)
	}
	if rec := post(h, "/logout", nil, http.Header{"Origin": {"http://evil.test"}}); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site logout: %d", rec.Code)
	}
}
