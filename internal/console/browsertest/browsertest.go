package browsertest

import (
	"context"
	"errors"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Window is the size of the browser's window, in CSS pixels.
const (
	WindowWidth  = 1280
	WindowHeight = 900
)

// binaries are the names tried on the PATH, in order, when $MARINA_CHROMIUM is unset.
var binaries = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"}

// New starts a headless Chromium for the test and returns the context of one tab in it. The
// browser is stopped when the test ends. The test is skipped when no Chromium is found.
//
// The browser runs until the test ends, so derive a context with a timeout from the returned one
// to bound a single step: its expiry fails that step and leaves the browser running.
func New(t testing.TB) context.Context {
	t.Helper()
	path, err := findChromium()
	if err != nil {
		t.Skipf("browser tests need Chromium: %v (bash scripts/test-deps.sh installs it)", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(WindowWidth, WindowHeight),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	messages := chromedp.Console(ctx) // subscribes now, and starts the browser
	var wg sync.WaitGroup
	wg.Go(func() { logConsole(t, messages) })
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits until the browser has exited and its profile is removed
		wg.Wait()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	return ctx
}

// logConsole logs the page's console messages through t until the tab closes, and fails the
// test on an uncaught exception.
func logConsole(t testing.TB, messages iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range messages {
		if err != nil {
			return // the tab or the browser ended with the test
		}
		if m.IsException() {
			t.Errorf("browser: uncaught exception at %s:%d: %s", m.URL, m.Line+1, m.Text)
			continue
		}
		if m.URL != "" && m.Source == "network" {
			t.Logf("browser: %s (%s)", m, m.URL)
			continue
		}
		t.Logf("browser: %s", m)
	}
}

// findChromium returns the path of the Chromium binary: $MARINA_CHROMIUM, or the first of
// binaries found on the PATH.
func findChromium() (string, error) {
	if p := os.Getenv("MARINA_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range binaries {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("none of chromium, chromium-browser, google-chrome, headless_shell is on the PATH and $MARINA_CHROMIUM is unset")
}

// dirs records the screenshot folders already emptied and logged in this run, by test name.
var dirs sync.Map

// Screenshot saves a full-page PNG of the tab of ctx as <name>.png in the test's screenshot
// folder (see the package documentation), and logs the folder at the first screenshot of a test.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := Dir(t)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
}

// Dir returns the test's screenshot folder, creating it, and emptying and logging it the first
// time in a run.
func Dir(t testing.TB) string {
	t.Helper()
	root := os.Getenv("MARINA_SCREENSHOTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "marina-screenshots")
	}
	dir := filepath.Join(root, filepath.FromSlash(t.Name()))
	if _, seen := dirs.LoadOrStore(dir, true); !seen {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatalf("screenshots: %v", err)
		}
		t.Logf("screenshots in %s", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshots: %v", err)
	}
	return dir
}
