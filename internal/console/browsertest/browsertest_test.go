package browsertest_test

import (
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/marina-dcos/marina/internal/console/browsertest"
)

const page = `<!doctype html><title>t</title>
<button id="b" onclick="document.getElementById('out').textContent = innerWidth + 'x' + innerHeight">go</button>
<p id="out"></p>`

func TestBrowserClicksAndScreenshots(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL),
		chromedp.Click(chromedp.ID("b")),
	); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("out")))
	if err != nil {
		t.Fatal(err)
	}
	if got == "" {
		t.Fatalf("the click did not run the page's script")
	}
	t.Logf("viewport %s", got)

	browsertest.Screenshot(t, ctx, "page")
	f, err := os.Open(filepath.Join(browsertest.Dir(t), "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if cfg.Width != browsertest.WindowWidth {
		t.Errorf("screenshot width %d, want the window's %d", cfg.Width, browsertest.WindowWidth)
	}
}
