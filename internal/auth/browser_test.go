package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/console/browsertest"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestBrowser logs in to the services console in headless Chromium and checks what the session
// allows: the page's own requests pass, the cookie is out of scripts' reach, and the classic
// attack on Marathon, a page of another origin posting an app (a "simple" text/plain request
// that needs no CORS preflight), is refused although the browser sends the cookie along.
// Logging out ends the session.
func TestBrowser(t *testing.T) {
	const tok = "browser-test-token-0123456789"
	ctx := browsertest.New(t)
	c := testcluster.New(t, testcluster.Options{Masters: 1, Services: true, AuthToken: tok})
	t.Cleanup(func() { _ = chromedp.Do(ctx, chromedp.Navigate("about:blank")) })
	c.WaitForServicesLeader(15 * time.Second)
	services := c.ServicesLeaderURL()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>elsewhere</title><p>a page of another origin"))
	}))
	defer other.Close()
	apps, err := marathon.New(marathon.Config{URLs: []string{services}, Token: tok})
	if err != nil {
		t.Fatal(err)
	}

	step := func(a chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, a); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		v, err := chromedp.Run(sctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	location := func() string {
		t.Helper()
		return eval(`Promise.resolve(location.href)`)
	}
	waitLocation := func(prefix string) {
		t.Helper()
		testutil.WaitFor(t, 10*time.Second, func() error {
			if loc := location(); !strings.HasPrefix(loc, prefix) {
				return fmt.Errorf("at %s, want %s", loc, prefix)
			}
			return nil
		})
	}
	post := func(target, id string) string {
		return fmt.Sprintf(`fetch(%q, {method: "POST", mode: "no-cors", credentials: "include",
			body: JSON.stringify({id: %q, cmd: "sleep 1000", instances: 0, cpus: 0.1, mem: 16})})
			.then(r => String(r.status))`, target, id)
	}

	step(chromedp.Navigate(services + "/ui/"))
	waitLocation(services + "/login?next=%2Fui%2F")
	step(chromedp.SendKeys(chromedp.ID("token"), "not the token"))
	step(chromedp.Submit(chromedp.ID("token")))
	step(chromedp.WaitVisible(chromedp.ID("login-error")))
	step(chromedp.SendKeys(chromedp.ID("token"), tok))
	step(chromedp.Submit(chromedp.ID("token")))
	waitLocation(services + "/ui/")

	if got := eval(`Promise.resolve(String(document.cookie.includes("marina_session")))`); got != "false" {
		t.Error("scripts can read the session cookie")
	}
	if got := eval(post("/v2/apps", "/same-origin")); got != "201" {
		t.Fatalf("the console's own POST: %s, want 201", got)
	}

	// A page of another origin on the same host: any site the user visits while logged in.
	step(chromedp.Navigate(other.URL))
	eval(post(services+"/v2/apps", "/cross-origin"))
	if _, err := apps.App(testutil.Context(t), "/same-origin"); err != nil {
		t.Fatalf("the same-origin app: %v", err)
	}
	var apiErr *marathon.APIError
	if _, err := apps.App(testutil.Context(t), "/cross-origin"); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Fatalf("a page of another origin created an app: %v", err)
	}

	step(chromedp.Navigate(services + "/ui/"))
	waitLocation(services + "/ui/")
	if got := eval(`fetch("/logout", {method: "POST"}).then(r => String(r.redirected))`); got != "true" {
		t.Errorf("logout did not redirect: %s", got)
	}
	step(chromedp.Navigate(services + "/ui/"))
	waitLocation(services + "/login")
}
