package auth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/auth"
)

// FuzzCredentials feeds arbitrary Authorization headers and session cookies to the middleware:
// it never panics, and only the token or a session it issued passes.
func FuzzCredentials(f *testing.F) {
	h := auth.New(auth.Config{Token: token}).Wrap(ok)
	valid := session(f, h, token).Value
	f.Add("Bearer "+token, "")
	f.Add("", valid)
	f.Add("Bearer", "v1.")
	f.Add("bearer  x", "v1.99999999999.AAAA")
	f.Add("Basic dG9rZW4=", "v2.1.x")
	f.Fuzz(func(t *testing.T, authz, cookie string) {
		r := httptest.NewRequest(http.MethodGet, "/v2/apps", nil)
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if cookie != "" {
			r.Header.Set("Cookie", auth.CookieName+"="+cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		scheme, tok, _ := strings.Cut(authz, " ")
		bearerOK := strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(tok) == token
		cookieOK := authz == "" && cookieIs(r, valid)
		if rec.Code == http.StatusOK && !bearerOK && !cookieOK {
			t.Fatalf("Authorization %q, cookie %q passed", authz, cookie)
		}
	})
}

// cookieIs reports whether r's session cookie, as net/http parses it, is v.
func cookieIs(r *http.Request, v string) bool {
	c, err := r.Cookie(auth.CookieName)
	return err == nil && c.Value == v
}
