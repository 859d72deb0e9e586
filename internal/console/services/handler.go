package services

import (
	"crypto/tls"
	"embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/marina-dcos/marina/internal/client/sandbox"
	"github.com/marina-dcos/marina/internal/console"
)

//go:embed static
var files embed.FS

// Config is what the console needs from the services instance serving it.
type Config struct {
	Masters   []string     // base URLs of the masters, through which sandboxes are read
	AuthToken string       // sent to the masters when set
	ClientTLS *tls.Config  // verifies https masters; nil trusts the system's roots
	Logger    *slog.Logger // default slog.Default()
}

// Handler serves the console under /ui/: the page, its assets and the sandbox reader.
func Handler(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg.ClientTLS
	assets := console.AssetsOf(files)
	asset := func(name string) string { return assets.URL("assets/", name) } // relative to /ui/
	page := console.Page{
		Title:   "Services · Marina",
		Product: "Marina services",
		Nav:     []console.Link{{Href: "#/apps", Label: "Applications"}, {Href: "#/deployments", Label: "Deployments"}},
		Styles:  []string{asset("base.css"), asset("services.css")},
		// The shared helpers, then the router, then one script per page.
		Scripts: []string{asset("console.js"), asset("services.js"), asset("apps.js"), asset("app.js"), asset("edit.js"), asset("deployments.js")},
	}
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	sandbox.KeepToken(hc, cfg.AuthToken)
	sb := &sandboxes{masters: cfg.Masters, token: cfg.AuthToken, http: hc, log: cfg.Logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		if err := console.WritePage(w, page); err != nil {
			cfg.Logger.Warn("console page", "err", err)
		}
	})
	mux.Handle("GET /ui/assets/", assets)
	mux.HandleFunc("GET /ui/api/tasks/{task}/files/{file}", sb.serveRead)
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not found: the console lives at /ui/", http.StatusNotFound)
	})
	return mux
}
