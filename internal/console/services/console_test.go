package services_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/marina-dcos/marina/internal/agent/supervisor"
	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
	client "github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/console/browsertest"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

func TestMain(m *testing.M) {
	supervisor.MaybeRun()
	os.Exit(m.Run())
}

// stepTimeout bounds one step of a browser test: a click and what it should lead to.
const stepTimeout = 30 * time.Second

// page drives one browser tab through the console and saves a screenshot when a step fails.
type page struct {
	t   *testing.T
	ctx context.Context
}

// do runs actions within stepTimeout.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		browsertest.Screenshot(p.t, p.ctx, "failed")
		p.t.Fatalf("%s: %v", what, err)
	}
}

// wait waits until the JavaScript expression is true in the page.
func (p *page) wait(what, expr string) {
	p.t.Helper()
	p.do(what, retried(chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(stepTimeout))))
}

// retried runs a until it succeeds or fails for good: a navigation can end the page's script
// context under a poll, and a live update can replace the element a click found.
func retried(a chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			_, err := a(ctx, t)
			if err == nil || ctx.Err() != nil || !transient(err) {
				return err
			}
		}
	})
}

func transient(err error) bool {
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"could not find node", "node is detached", "cannot find context", "execution context was destroyed"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// click clicks the element sel with the mouse, again if a live update replaced it meanwhile.
func (p *page) click(sel string) {
	p.t.Helper()
	p.do("click "+sel, retried(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)))
}

func (p *page) set(sel, value string) {
	p.t.Helper()
	p.do("set "+sel, chromedp.SetValue(chromedp.CSS(sel), value, chromedp.NodeVisible))
}

// unnamedControls is a JavaScript expression: the controls of the page that a screen reader
// could not name (no text, aria-label or label).
const unnamedControls = `[...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')]
	.filter((el) => !((el.getAttribute('aria-label') || el.textContent || '').trim() ||
		(el.id && document.querySelector('label[for="' + el.id + '"]'))))
	.map((el) => el.outerHTML.slice(0, 160))`

// shot saves a screenshot of the page and checks that every control on it has a name.
func (p *page) shot(name string) {
	p.t.Helper()
	browsertest.Screenshot(p.t, p.ctx, name)
	if bad := eval[[]string](p, unnamedControls); len(bad) > 0 {
		p.t.Errorf("%s: controls without an accessible name: %q", name, bad)
	}
}

// runningTasks is a JavaScript expression: the number of RUNNING rows in the tasks table.
const runningTasks = `[...document.querySelectorAll('#tasks-table tbody tr[data-task]')].filter((r) => r.textContent.includes('RUNNING')).length`

// TestServicesConsole walks the console as a user does: create an app with the form (the
// server's 422 shown at the field first), see it reach Running in its folder, scale it to three
// instances, compare versions, read a task's stdout, edit it as JSON (a 422 first), roll back a
// deployment that cannot finish, kill a task and scale down, see the folder's health, roll back to
// the first version, restart, suspend and destroy the app; every page is saved as a screenshot.
func TestServicesConsole(t *testing.T) {
	lo, hi := testutil.PortRange(t)
	agentResources, err := mesos.ParseResources(fmt.Sprintf("cpus:2;mem:2048;disk:1024;ports:[%d-%d]", lo, hi))
	if err != nil {
		t.Fatal(err)
	}
	c := testcluster.New(t, testcluster.Options{Masters: 1, Agents: 1, Services: true, AgentResources: agentResources})
	base := c.ServicesURLs()[c.WaitForServicesLeader(20*time.Second)]
	p := &page{t: t, ctx: browsertest.New(t)}

	// GET / redirects to the console, which lists no apps yet and follows the event stream.
	p.do("open the console", chromedp.Navigate(base+"/"))
	p.wait("the apps page", `location.pathname === '/ui/' && !!document.querySelector('#apps-table')`)
	p.wait("the event stream", `document.querySelector('#live').classList.contains('on')`)
	p.shot("01-apps-empty")

	// Create an app with the form; an invalid CPU share comes back as a 422 shown at its field.
	p.click("#create-app")
	p.set("#f-id", "/console/web")
	p.set("#f-cmd", "echo hello-from-console; exec sleep 600")
	p.set("#f-cpus", "-1")
	p.set("#f-mem", "32")
	p.set("#f-instances", "1")
	p.click("#submit")
	p.wait("the 422 at the CPUs field", `document.querySelector('#err-cpus').textContent !== '' &&
		document.querySelector('#f-cpus').getAttribute('aria-invalid') === 'true'`)
	t.Logf("the server's answer at the CPUs field: %q", eval[string](p, `document.querySelector('#err-cpus').textContent`))
	p.shot("02-create-invalid")
	p.set("#f-cpus", "0.5")
	p.click("#submit")
	p.wait("the new app's page", `location.hash === '#/app/console/web'`)

	// The apps page shows it in its folder, then running.
	p.click(`.topbar a[href="#/apps"]`)
	p.click("#folder-_console")
	p.wait("the app running in its folder", `(() => {
		const row = document.querySelector('tr[data-app="/console/web"]');
		return row && row.textContent.includes('Running') && row.textContent.includes('1 / 1');
	})()`)
	p.shot("03-apps-folder")

	// Scale to 3 from the app's page.
	p.click("#app-_console_web")
	p.wait("one running task", runningTasks+` === 1`)
	p.click("#scale")
	p.set("#scale-input", "3")
	p.click("#scale-ok")
	p.wait("three running tasks", runningTasks+` === 3`)
	p.shot("04-app-scaled")

	// The versions: the scale made a second one; compare the first with the current.
	p.click("#tab-versions")
	p.wait("two versions", `document.querySelectorAll('#versions-table tbody tr').length === 2`)
	p.click(`#versions-table button[id^="diff-"]`)
	p.wait("the diff", `(() => {
		const d = document.querySelector('#diff');
		return d && [...d.querySelectorAll('.add')].some((l) => l.textContent.includes('"instances": 3'));
	})()`)
	p.shot("05-versions-diff")

	// A task's stdout, read from its sandbox on the agent.
	p.click("#tab-tasks")
	p.click(`#tasks-table a[id^="stdout-"]`)
	p.wait("the task's stdout", `document.querySelector('#sandbox')?.textContent.includes('hello-from-console')`)
	p.shot("06-sandbox")

	// Edit it as raw JSON: add a label and a health check with an invalid memory size first, whose
	// 422 is listed beside the editor, then fix it and deploy; the restart replaces the instances
	// one by one, each once healthy.
	p.do("back to the app", chromedp.NavigateBack())
	p.click("#edit")
	p.click("#mode-json")
	editJSON := func(mem int) {
		p.t.Helper()
		p.do("edit the JSON", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const ta = document.querySelector('#json'), d = JSON.parse(ta.value);
			d.labels = {tier: 'web'}; d.mem = %d;
			d.healthChecks = [{protocol: 'COMMAND', command: {value: 'true'}, delaySeconds: 0, intervalSeconds: 1, gracePeriodSeconds: 5}];
			ta.value = JSON.stringify(d, null, 2);
		})()`, mem)))
		p.click("#submit")
	}
	editJSON(-5)
	p.wait("the 422 beside the JSON", `/line \d+, \/mem: /.test(document.querySelector('#json-errors')?.textContent)`)
	p.shot("07-edit-json-invalid")
	editJSON(32)
	p.wait("the app's page", `location.hash === '#/app/console/web'`)
	p.wait("the restart done", `[...document.querySelectorAll('#tasks-table tbody tr[data-task]')].filter((r) => r.textContent.includes('Healthy')).length === 3 &&
		document.querySelector('#tasks-table tbody').children.length === 3 && !document.querySelector('.deployment')`)
	p.click("#tab-config")
	p.wait("the new label", `document.querySelector('#app-json')?.textContent.includes('"tier": "web"')`)
	p.shot("08-config")
	p.click("#tab-tasks")

	// Scale to 6: the agent fits only a fourth instance (2 CPUs), so the deployment stays; roll
	// it back from the deployments page and the app returns to 3.
	// This time with the keyboard: Enter in the dialog's field scales.
	p.click("#scale")
	p.set("#scale-input", "6")
	p.do("press Enter", chromedp.SendKeys(chromedp.CSS("#scale-input"), "\r"))
	p.wait("four running tasks", runningTasks+` === 4`)
	p.click(`.topbar a[href="#/deployments"]`)
	p.wait("the deployment", `!!document.querySelector('#deployments-table tr[data-deployment]')`)
	p.shot("09-deployments")
	p.click(`#deployments-table button[id^="rollback-"]`)
	p.click("#confirm-ok")
	p.wait("no deployment left", `!document.querySelector('#deployments-table tr[data-deployment]')`)
	p.do("the app again", chromedp.Navigate(base+"/ui/#/app/console/web"))
	p.wait("three running tasks after the rollback", runningTasks+` === 3 && document.querySelector('#tasks-table tbody').children.length === 3`)
	if got := eval[string](p, `document.querySelector('.page-head .muted').textContent`); got != "3 of 3 running" {
		t.Errorf("after the rollback the app shows %q, want 3 of 3 running", got)
	}
	p.shot("10-rolled-back")

	// Kill one task and scale down with it.
	p.click(`#tasks-table button[id^="killscale-"]`)
	p.wait("two tasks left", `document.querySelector('#tasks-table tbody').children.length === 2 &&
		document.querySelector('.page-head .muted').textContent === '2 of 2 running'`)

	// The folder's health bar counts the healthy instances.
	p.click(`.crumbs a[href="#/apps/console"]`)
	p.wait("two healthy", `document.querySelector('tr[data-app="/console/web"] .bar')?.getAttribute('aria-label').startsWith('2 healthy, 0 unhealthy')`)
	p.shot("11-apps-healthy")
	p.click("#app-_console_web")

	// Roll back to the first version from the versions tab: one instance, no label, no health
	// check.
	p.click("#tab-versions")
	p.wait("every version", `document.querySelectorAll('#versions-table tbody tr').length >= 4`)
	p.click(`#versions-table tbody tr:last-child button[id^="apply-"]`)
	p.click("#confirm-ok")
	p.wait("the first version deployed", runningTasks+` === 1 && document.querySelector('#tasks-table tbody').children.length === 1 &&
		!document.querySelector('.deployment')`)
	p.click("#tab-config")
	p.wait("the first definition", `(() => {
		const j = document.querySelector('#app-json')?.textContent || '';
		return j.includes('"instances": 1') && !j.includes('"tier"') && !j.includes('healthChecks');
	})()`)
	p.shot("12-version-rolled-back")

	// Restart it: the one task is replaced by a new one.
	p.click("#tab-tasks")
	p.wait("the task", runningTasks+` === 1`)
	before := eval[string](p, `document.querySelector('#tasks-table tr[data-task]').dataset.task`)
	p.click("#restart")
	p.click("#confirm-ok")
	p.wait("a new task", fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll('#tasks-table tr[data-task]')];
		return rows.length === 1 && rows[0].dataset.task !== %q && rows[0].textContent.includes('RUNNING') &&
			!document.querySelector('.deployment');
	})()`, before))

	// Suspend it: scaled to 0, the definition kept.
	p.click("#suspend")
	p.click("#confirm-ok")
	p.wait("suspended", `document.querySelector('.page-head .badge')?.textContent === 'Suspended' &&
		document.querySelector('#tasks-table .empty') !== null`)

	// Destroy it: the console returns to the folder, now empty.
	p.click("#destroy")
	p.click("#confirm-ok")
	p.wait("the app gone", `location.hash === '#/apps/console' && !!document.querySelector('#apps-table .empty')`)
}

// TestAppsPageThousandApps measures how long the apps page takes to show 1,000 apps and how
// long filtering them takes. It prints the figures and asserts only that every app is shown.
func TestAppsPageThousandApps(t *testing.T) {
	const n = 1000
	c := testcluster.New(t, testcluster.Options{Masters: 1, Services: true})
	base := c.ServicesURLs()[c.WaitForServicesLeader(20*time.Second)]
	api, err := client.New(client.Config{URLs: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	ids := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range ids {
				zero := 0
				cmd := "sleep 600"
				app := &marathon.App{ID: fmt.Sprintf("/app-%04d", i), Cmd: &cmd, Instances: &zero, CPUs: 0.1, Mem: 32}
				if _, err := api.CreateApp(ctx, app); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		ids <- i
	}
	close(ids)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("created %d apps through the API in %v", n, time.Since(start).Round(time.Millisecond))

	p := &page{t: t, ctx: browsertest.New(t)}
	p.do("open the apps page", chromedp.Navigate(base+"/ui/#/apps"))
	p.wait("every app", fmt.Sprintf(`document.querySelectorAll('#apps-table tbody tr[data-app]').length === %d`, n))
	p.wait("the first paint", `performance.getEntriesByName('apps-painted').length > 0`)
	rendered := eval[float64](p, `performance.getEntriesByName('apps-rendered')[0].startTime`)
	painted := eval[float64](p, `performance.getEntriesByName('apps-painted')[0].startTime`)
	p.wait("the last row", `performance.getEntriesByName('apps-drawn').length > 0`)
	drawn := eval[float64](p, `performance.getEntriesByName('apps-drawn')[0].startTime`)
	fetched := eval[float64](p, `performance.getEntriesByType('resource').find((e) => e.name.endsWith('/v2/apps')).duration`)

	// Time a filter keystroke's re-render of all 1,000 rows, then of one.
	filter := func(text string) float64 {
		return eval[float64](p, fmt.Sprintf(`(() => {
			const f = document.querySelector('#filter'), t0 = performance.now();
			f.value = %q; f.dispatchEvent(new Event('input'));
			return performance.now() - t0;
		})()`, text))
	}
	filterAll, filterOne := filter("app-"), filter("app-0999")
	if got := eval[int](p, `document.querySelectorAll('#apps-table tbody tr[data-app]').length`); got != 1 {
		t.Errorf("filtering by app-0999 shows %d apps, want 1", got)
	}
	t.Logf("apps page with %d apps: first rows built %.0f ms and painted %.0f ms after navigation, every row drawn at %.0f ms (GET /v2/apps %.0f ms); a filter keystroke answers in %.1f ms (%d matches), %.1f ms (1 match)",
		n, rendered, painted, drawn, fetched, filterAll, n, filterOne)
	// A full-page screenshot of 1,000 rows takes seconds: save ten of them.
	filter("app-000")
	browsertest.Screenshot(t, p.ctx, "apps-filtered")
}

// TestConsoleServedAndRedirected checks the console's HTTP surface without a browser: / redirects
// to /ui/, the page and assets carry the security headers and content versions, and the
// sandbox reader rejects what it cannot serve.
func TestConsoleServedAndRedirected(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Masters: 1, Services: true})
	base := c.ServicesURLs()[c.WaitForServicesLeader(20*time.Second)]
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := noRedirect.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET / = %s to %q, want 302 to /ui/", resp.Status, resp.Header.Get("Location"))
	}

	for _, tc := range []struct {
		path, wantType string
		wantStatus     int
	}{
		{"/ui/", "text/html; charset=utf-8", http.StatusOK},
		{"/ui/assets/services.js", "text/javascript; charset=utf-8", http.StatusOK},
		{"/ui/assets/base.css", "text/css; charset=utf-8", http.StatusOK},
		{"/ui/assets/nope.js", "", http.StatusNotFound},
		{"/ui/api/tasks/x/files/etc-passwd?offset=0", "application/json; charset=utf-8", http.StatusNotFound},
		{"/ui/api/tasks/x/files/stdout?offset=-3", "application/json; charset=utf-8", http.StatusBadRequest},
		{"/ui/api/tasks/no-such-task/files/stdout?offset=0", "application/json; charset=utf-8", http.StatusNotFound},
	} {
		t.Run(strings.Trim(tc.path, "/"), func(t *testing.T) {
			resp, err := http.Get(base + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %s, want %d", resp.Status, tc.wantStatus)
			}
			if tc.wantType != "" && resp.Header.Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.wantType)
			}
			if tc.wantStatus == http.StatusOK && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("no same-origin Content-Security-Policy: %q", resp.Header.Get("Content-Security-Policy"))
			}
		})
	}
}

// TestConsoleLogin opens the console of a cluster with a token: the browser is sent to the login
// page, and once logged in the console's API calls and event stream work through the session
// cookie alone, which the page's scripts cannot read.
func TestConsoleLogin(t *testing.T) {
	const token = "console-test-token"
	c := testcluster.New(t, testcluster.Options{Masters: 1, Services: true, AuthToken: token})
	base := c.ServicesURLs()[c.WaitForServicesLeader(20*time.Second)]
	p := &page{t: t, ctx: browsertest.New(t)}

	p.do("open the console", chromedp.Navigate(base+"/ui/#/deployments"))
	p.wait("the login page", `!!document.querySelector('input#token')`)
	p.set("#token", token)
	p.do("log in", chromedp.Submit(chromedp.CSS("#token")))
	p.wait("the console", `location.pathname === '/ui/' && !!document.querySelector('#apps-table')`)
	p.click(`.topbar a[href="#/deployments"]`)
	p.wait("the deployments page", `!!document.querySelector('#deployments-table')`)
	p.wait("the event stream", `document.querySelector('#live').classList.contains('on')`)
	if cookies := eval[string](p, `document.cookie`); strings.Contains(cookies, token) {
		t.Errorf("the token is readable by the page's scripts: %q", cookies)
	}
	browsertest.Screenshot(t, p.ctx, "logged-in")
}

// TestConsoleOnStandby opens the console on a services instance that does not lead: its API
// calls and its event stream reach the leader through the standby's proxy, so an app created
// elsewhere appears live.
func TestConsoleOnStandby(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Masters: 2, Services: true})
	leader := c.WaitForServicesLeader(20 * time.Second)
	standby := c.ServicesURLs()[1-leader]
	p := &page{t: t, ctx: browsertest.New(t)}
	p.do("open the standby's console", chromedp.Navigate(standby+"/ui/"))
	p.wait("the event stream", `!!document.querySelector('#apps-table') && document.querySelector('#live').classList.contains('on')`)

	api, err := client.New(client.Config{URLs: []string{c.ServicesURLs()[leader]}})
	if err != nil {
		t.Fatal(err)
	}
	zero, cmd := 0, "sleep 600"
	if _, err := api.CreateApp(t.Context(), &marathon.App{ID: "/elsewhere", Cmd: &cmd, Instances: &zero, CPUs: 0.1, Mem: 16}); err != nil {
		t.Fatal(err)
	}
	p.wait("the app created elsewhere", `!!document.querySelector('tr[data-app="/elsewhere"]')`)
	browsertest.Screenshot(t, p.ctx, "standby")
}
