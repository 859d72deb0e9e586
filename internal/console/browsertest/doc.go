// Package browsertest runs Marina's web consoles in a real headless Chromium for tests, through
// github.com/chromedp/chromedp.
//
// New starts one browser per test and returns the context of a tab in it; every chromedp action
// runs against that context. The browser is stopped when the test ends, and the test is skipped
// with a clear message when no Chromium is installed (scripts/test-deps.sh installs it). The
// page's console messages are logged through t.Log, and an uncaught JavaScript exception fails
// the test: a console that throws is broken even when the assertion at hand still passes.
//
// Screenshot saves a full-page PNG of the tab, and Dir names the folder it saves to. The files of
// a test go to $MARINA_SCREENSHOTS/<TestName>, or to <os.TempDir()>/marina-screenshots/<TestName>
// when the variable is unset; the folder is emptied at its first use in a run and logged once, so
// it holds the pictures of the last run only and survives the test for a person to look at.
//
//	func TestAppsPage(t *testing.T) {
//		ctx := browsertest.New(t)
//		if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#apps"))); err != nil {
//			t.Fatal(err)
//		}
//		browsertest.Screenshot(t, ctx, "apps")
//	}
//
// The browser's window is 1280x900, it runs without its sandbox (tests run as root in
// containers) and without a GPU. $MARINA_CHROMIUM names the binary when it is not on the PATH
// as chromium, chromium-browser, google-chrome or headless_shell.
package browsertest
