package console_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/marina-dcos/marina/internal/console"
)

func TestAssets(t *testing.T) {
	own := fstest.MapFS{
		"page.js":  {Data: []byte("console.log('page')")},
		"base.css": {Data: []byte("body{}")}, // replaces the shared one
	}
	a, err := console.NewAssets(console.Shared, own)
	if err != nil {
		t.Fatal(err)
	}
	jsURL := a.URL("/ui/assets/", "page.js")
	if !strings.HasPrefix(jsURL, "/ui/assets/page.js?v=") {
		t.Fatalf("URL = %q, want the asset with its content version", jsURL)
	}
	etag := `"` + strings.TrimPrefix(jsURL, "/ui/assets/page.js?v=") + `"`

	for _, tc := range []struct {
		name, method, path, ifNoneMatch string
		wantStatus                      int
		wantType, wantBody              string
	}{
		{"own script", http.MethodGet, jsURL, "", http.StatusOK, "text/javascript; charset=utf-8", "console.log('page')"},
		{"shared script", http.MethodGet, "/ui/assets/console.js", "", http.StatusOK, "text/javascript; charset=utf-8", "window.Marina"},
		{"own file wins", http.MethodGet, "/ui/assets/base.css", "", http.StatusOK, "text/css; charset=utf-8", "body{}"},
		{"unchanged", http.MethodGet, "/ui/assets/page.js", etag, http.StatusNotModified, "", ""},
		{"changed", http.MethodGet, "/ui/assets/page.js", `"old"`, http.StatusOK, "text/javascript; charset=utf-8", "page"},
		{"missing", http.MethodGet, "/ui/assets/nope.js", "", http.StatusNotFound, "", ""},
		{"post", http.MethodPost, "/ui/assets/page.js", "", http.StatusMethodNotAllowed, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.ifNoneMatch != "" {
				req.Header.Set("If-None-Match", tc.ifNoneMatch)
			}
			w := httptest.NewRecorder()
			a.ServeHTTP(w, req)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tc.wantStatus)
			}
			if tc.wantType != "" && w.Header().Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type %q, want %q", w.Header().Get("Content-Type"), tc.wantType)
			}
			if !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Errorf("body %.80q does not contain %q", w.Body.String(), tc.wantBody)
			}
			if tc.wantStatus == http.StatusOK && w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff header")
			}
		})
	}
}

func TestWritePage(t *testing.T) {
	w := httptest.NewRecorder()
	err := console.WritePage(w, console.Page{
		Title:   `Apps <b>&</b>`,
		Product: "Marina services",
		Nav:     []console.Link{{Href: "#/apps", Label: "Applications"}},
		Styles:  []string{"assets/base.css?v=1"},
		Scripts: []string{"assets/console.js?v=2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	for _, want := range []string{
		`<title>Apps &lt;b&gt;&amp;&lt;/b&gt;</title>`,
		`<a href="#/apps">Applications</a>`,
		`<link rel="stylesheet" href="assets/base.css?v=1">`,
		`<script src="assets/console.js?v=2" defer></script>`,
		`<main id="main" tabindex="-1">`,
		`class="skip" href="#main"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy %q: want same-origin only, no inline code", csp)
	}
}
