package master_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/console/browsertest"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// The task the console shows: a greeting, 80 KiB of numbered filler (more than the tail's first
// page of 64 KiB), then a numbered line every 200ms, to tail.
const (
	greeting = "hello from the console test"
	fillers  = 1280
	pad      = "ooooooooooooooooooooooooooooooooooooooooooooooooooo" // a filler line is 64 bytes
)

var appJSON = fmt.Sprintf(`{"id": "/console-demo", "cpus": 0.25, "mem": 48, "cmd": "echo %s; `+
	`i=0; while [ $i -lt %d ]; do printf 'filler %%04d %%s\\n' $i %s; i=$((i+1)); done; `+
	`i=0; while sleep 0.2; do i=$((i+1)); echo tick $i; done"}`, greeting, fillers, pad)

// head is what the task writes before its ticks.
func head() string {
	var b strings.Builder
	b.WriteString(greeting + "\n")
	for i := range fillers {
		fmt.Fprintf(&b, "filler %04d %s\n", i, pad)
	}
	return b.String()
}

// TestMasterConsole drives the console in headless Chromium against a two-master cluster that
// requires a token, with a task launched through the services API: after logging in, a standby
// redirects to the leader, the overview shows the masters and the agent's resources, the tasks
// page lists the task, its sandbox lists its files and its stdout is tailed live. Every request
// the pages make stays on the leader's origin, authenticated by the session cookie alone.
func TestMasterConsole(t *testing.T) {
	const token = "console-test-token"
	ctx := browsertest.New(t)
	c := testcluster.New(t, testcluster.Options{Masters: 2, Agents: 1, Services: true, AuthToken: token})
	t.Cleanup(func() { _ = chromedp.Do(ctx, chromedp.Navigate("about:blank")) }) // stop polling before the cluster stops
	c.WaitForServicesLeader(15 * time.Second)
	apps, err := marathon.New(marathon.Config{URLs: c.ServicesURLs(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	tctx := testutil.Context(t)
	if _, err := apps.CreateAppJSON(tctx, []byte(appJSON)); err != nil {
		t.Fatal(err)
	}
	var taskID string
	testutil.WaitFor(t, 20*time.Second, func() error {
		tasks, err := apps.Tasks(tctx, "/console-demo")
		if err != nil {
			return err
		}
		if len(tasks) != 1 || tasks[0].State != "TASK_RUNNING" {
			return fmt.Errorf("tasks: %+v", tasks)
		}
		taskID = tasks[0].ID
		return nil
	})

	leader := c.LeaderURL()
	var standby string
	for _, m := range c.Masters() {
		if m.URL != leader {
			standby = m.URL
		}
	}
	agentHost := c.Agents()[0].IP

	// A standby answers its pages, before any authentication, with a redirect to the leader's.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest(http.MethodGet, standby+"/console/tasks?q=x", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != leader+"/console/tasks?q=x" {
		t.Fatalf("standby: %s to %q, want 307 to %s/console/tasks?q=x", resp.Status, resp.Header.Get("Location"), leader)
	}
	// A browser opening the standby's console is sent to the leader's, logs in there, and lands
	// on the overview.
	run(t, ctx, chromedp.Navigate(standby+"/"))
	waitFor(t, ctx, `!!document.getElementById("token")`)
	if loc := value(t, ctx, chromedp.Location()); !strings.HasPrefix(loc, leader+"/login") {
		t.Fatalf("the standby's console led to %s, want the leader's login page", loc)
	}
	run(t, ctx, chromedp.SendKeys(chromedp.ID("token"), token))
	run(t, ctx, chromedp.Submit(chromedp.ID("token")))
	waitFor(t, ctx, `location.pathname === "/" && !!document.querySelector("#masters")`)
	if loc := value(t, ctx, chromedp.Location()); loc != leader+"/" {
		t.Fatalf("the standby's console led to %s, want the leader's %s/", loc, leader)
	}

	// The overview: the leader and the standby, the etcd members, the agent with its resources
	// (the task's 0.25 CPUs of the agent's 4), the services framework.
	waitText(t, ctx, "#masters tbody", hostOf(leader), "leader", hostOf(standby), "standby")
	waitText(t, ctx, "#etcd tbody", "leader", "follower")
	waitText(t, ctx, "#agents tbody", append([]string{agentHost, "0.25 / 4", "48 MiB / 4 GiB"}, attributes(t, c)...)...)
	waitText(t, ctx, "#frameworks tbody", "marathon")
	waitText(t, ctx, "#counts", "Running")
	browsertest.Screenshot(t, ctx, "overview")
	// The first Tab reaches the skip link, which moves the focus to the content.
	run(t, ctx, chromedp.KeyEvent(kb.Tab))
	waitFor(t, ctx, `document.activeElement.matches("a.skip")`)
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, `document.activeElement.id === "main"`)

	run(t, ctx, chromedp.Navigate(leader+"/console/agents"))
	ports := c.Agents()[0].Resources().RangesOf(mesos.ResourcePorts)[0]
	waitText(t, ctx, "#agents tbody", agentHost, "active", fmt.Sprintf("%d-%d", ports.Begin, ports.End))
	browsertest.Screenshot(t, ctx, "agents")

	// The agent's own page: its resources, its task, and what it reports through the proxy.
	run(t, ctx, chromedp.Click(chromedp.CSS(`#agents a.name`)))
	waitText(t, ctx, "#facts", agentHost, "active")
	waitText(t, ctx, "#resources tbody", "0.25 / 4", "48 MiB / 4 GiB")
	waitText(t, ctx, "#active tbody", taskID, "running")
	waitText(t, ctx, "#flags", "work_dir")
	browsertest.Screenshot(t, ctx, "agent")

	run(t, ctx, chromedp.Navigate(leader+"/console/frameworks"))
	waitText(t, ctx, "#frameworks tbody", "marathon", "active")
	browsertest.Screenshot(t, ctx, "frameworks")

	// The tasks page lists the task; its sandbox link, followed from the keyboard, opens the
	// listing of its files.
	run(t, ctx, chromedp.Navigate(leader+"/console/tasks"))
	waitText(t, ctx, "#active tbody", taskID, "running", agentHost)
	browsertest.Screenshot(t, ctx, "tasks")
	run(t, ctx, chromedp.Focus(chromedp.CSS(`a[aria-label="Sandbox of `+taskID+`"]`)))
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	waitText(t, ctx, "#files tbody", "stdout", "stderr")
	waitText(t, ctx, "#where", "running", agentHost)
	browsertest.Screenshot(t, ctx, "sandbox")

	// Its stdout opens from the listing at its last 64 KiB and grows as the task writes: the
	// tail reads on from where it was. Load earlier brings back the beginning, byte for byte.
	run(t, ctx, chromedp.Click(chromedp.CSS(`#files a[href$="path=stdout"]`)))
	waitText(t, ctx, "#log", "filler 1279", "tick 1\n")
	ticks := value(t, ctx, chromedp.Evaluate[int](`document.getElementById('log').textContent.split('tick ').length - 1`))
	waitFor(t, ctx, fmt.Sprintf(`document.getElementById('log').textContent.split('tick ').length - 1 >= %d`, ticks+5))
	if text := value(t, ctx, chromedp.Text(chromedp.ID("log"))); strings.Contains(text, greeting) {
		t.Errorf("the tail opened at the file's start, not at its last page")
	}
	run(t, ctx, chromedp.Click(chromedp.ID("earlier")))
	waitText(t, ctx, "#log", greeting)
	text := value(t, ctx, chromedp.Evaluate[string](`document.getElementById('log').textContent`))
	if !strings.HasPrefix(text, head()) || strings.Count(text, "tick 2\n") != 1 {
		t.Errorf("the page of the file repeats or loses bytes:\n%s", text)
	}
	if hidden := value(t, ctx, chromedp.Evaluate[bool](`document.getElementById('earlier').hidden`)); !hidden {
		t.Error("Load earlier is still offered at the file's start")
	}
	browsertest.Screenshot(t, ctx, "stdout")
	// Follow is a toggle button that the keyboard works.
	waitFor(t, ctx, `document.getElementById("follow").getAttribute("aria-pressed") === "true"`)
	run(t, ctx, chromedp.Focus(chromedp.ID("follow")))
	run(t, ctx, chromedp.KeyEvent(" "))
	waitFor(t, ctx, `document.getElementById("follow").getAttribute("aria-pressed") === "false"`)
	run(t, ctx, chromedp.KeyEvent(" "))
	waitFor(t, ctx, `document.getElementById("follow").getAttribute("aria-pressed") === "true"`)

	// The pages fetched only from the leader's origin, with no token in any URL.
	var urls []string
	raw := value(t, ctx, chromedp.Evaluate[string](`JSON.stringify(performance.getEntriesByType('resource').map(e => e.name))`))
	if err := json.Unmarshal([]byte(raw), &urls); err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, leader+"/") || strings.Contains(u, token) || strings.Contains(strings.ToLower(u), "token=") {
			t.Errorf("the page requested %s", u)
		}
	}
	if len(urls) == 0 {
		t.Error("the page made no requests")
	}

	// Once its app is gone, the open page shows the task killed; the task is among the completed
	// ones, and its sandbox still opens.
	if _, err := apps.DeleteApp(tctx, "/console-demo", false); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "#where", "killed")
	run(t, ctx, chromedp.Navigate(leader+"/console/tasks"))
	waitText(t, ctx, "#completed tbody", taskID, "killed")
	run(t, ctx, chromedp.Click(chromedp.CSS(`#completed a[aria-label="stdout of `+taskID+`"]`)))
	waitText(t, ctx, "#log", "filler 1279", "tick 1\n")
	waitText(t, ctx, "#where", "killed")
	browsertest.Screenshot(t, ctx, "completed-stdout")
}

// TestConsoleHandler checks what the handler serves without a browser: pages with a
// same-origin policy, assets with validators, and nothing else.
func TestConsoleHandler(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{})
	base := c.LeaderURL()
	for _, tc := range []struct {
		method, path string
		want         int
		ctype        string
	}{
		{"GET", "/", http.StatusOK, "text/html"},
		{"GET", "/console/agents", http.StatusOK, "text/html"},
		{"GET", "/console/agent?id=a", http.StatusOK, "text/html"},
		{"GET", "/console/frameworks", http.StatusOK, "text/html"},
		{"GET", "/console/tasks", http.StatusOK, "text/html"},
		{"GET", "/console/sandbox?agent=a&task=t", http.StatusOK, "text/html"},
		{"GET", "/console/assets/master.js", http.StatusOK, "text/javascript"},
		{"GET", "/console/assets/console.js", http.StatusOK, "text/javascript"},
		{"GET", "/console/assets/base.css", http.StatusOK, "text/css"},
		{"GET", "/console/assets/nope.js", http.StatusNotFound, "text/plain"},
		{"GET", "/console/nope", http.StatusNotFound, "text/plain"},
		{"POST", "/console/tasks", http.StatusMethodNotAllowed, "text/plain"},
		{"GET", "/nope", http.StatusNotFound, "text/plain"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
				t.Fatalf("%s %s: %s %s, want %d %s", tc.method, tc.path, resp.Status, resp.Header.Get("Content-Type"), tc.want, tc.ctype)
			}
			if resp.StatusCode == http.StatusOK && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("no same-origin policy: %q", resp.Header.Get("Content-Security-Policy"))
			}
		})
	}

	resp, err := http.Get(base + "/console/assets/master.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, base+"/console/assets/master.css", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if resp.Header.Get("ETag") == "" || again.StatusCode != http.StatusNotModified {
		t.Errorf("asset revalidation: ETag %q, then %s; want 304", resp.Header.Get("ETag"), again.Status)
	}
}

// attributes returns the agent's attributes as the console shows them ("none" without any).
func attributes(t *testing.T, c *testcluster.Cluster) []string {
	t.Helper()
	var st struct {
		Slaves []struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"slaves"`
	}
	if err := c.GetJSON("/master/state", &st); err != nil || len(st.Slaves) != 1 {
		t.Fatalf("master state: %v %+v", err, st)
	}
	out := []string{}
	for k, v := range st.Slaves[0].Attributes {
		out = append(out, fmt.Sprintf("%s: %v", k, v))
	}
	if len(out) == 0 {
		out = append(out, "none")
	}
	return out
}

func hostOf(u string) string { return strings.TrimPrefix(u, "http://") }

// step bounds one browser step.
const step = 15 * time.Second

func run(t *testing.T, ctx context.Context, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, a); err != nil {
		t.Fatal(err)
	}
}

func value[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitFor waits until the JavaScript expression is true on the page, across navigations: a
// poll that a navigation interrupts starts again on the new page.
func waitFor(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond)))
		if err == nil {
			return
		}
		if ctx.Err() == nil {
			select { // the page navigated away under the poll: poll the new one
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		shown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		got, _ := chromedp.Run(shown, chromedp.Evaluate[string](`document.getElementById('main').innerText`))
		t.Fatalf("waiting for %s: %v; the page shows:\n%s", expr, err, got)
	}
}

// waitText waits until the element matching sel contains every one of texts.
func waitText(t *testing.T, ctx context.Context, sel string, texts ...string) {
	t.Helper()
	args, err := json.Marshal(texts)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := json.Marshal(sel)
	waitFor(t, ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && %s.every(s => e.textContent.includes(s)); })()`, q, args))
}
