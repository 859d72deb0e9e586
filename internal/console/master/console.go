package master

import (
	"embed"
	"log/slog"
	"net/http"

	"github.com/marina-dcos/marina/internal/console"
)

//go:embed static
var files embed.FS

// Prefix is the path under which every page but the overview (at /) and every asset is served.
const Prefix = "/console/"

// assetPrefix is where the shared and the console's own assets are served.
const assetPrefix = Prefix + "assets/"

// pages maps each page's path to its title and script.
var pages = []struct{ path, title, script string }{
	{"/", "Overview", "overview.js"},
	{Prefix + "agents", "Agents", "agents.js"},
	{Prefix + "agent", "Agent", "agent.js"},
	{Prefix + "frameworks", "Frameworks", "frameworks.js"},
	{Prefix + "tasks", "Tasks", "tasks.js"},
	{Prefix + "sandbox", "Sandbox", "sandbox.js"},
}

var nav = []console.Link{
	{Href: "/", Label: "Overview"},
	{Href: Prefix + "agents", Label: "Agents"},
	{Href: Prefix + "frameworks", Label: "Frameworks"},
	{Href: Prefix + "tasks", Label: "Tasks"},
}

// Handler returns the console's handler: the pages at / and under Prefix, and their assets;
// any other path is not found. log receives rendering errors (nil: slog.Default()).
func Handler(log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	assets := console.AssetsOf(files)
	mux := http.NewServeMux()
	for _, p := range pages {
		page := console.Page{
			Title:   p.title + " · Marina master",
			Product: "Marina master",
			Nav:     nav,
			Styles:  []string{assets.URL(assetPrefix, "base.css"), assets.URL(assetPrefix, "master.css")},
			Scripts: []string{assets.URL(assetPrefix, "console.js"), assets.URL(assetPrefix, "master.js"), assets.URL(assetPrefix, p.script)},
		}
		pattern := "GET " + p.path
		if p.path == "/" {
			pattern = "GET /{$}"
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := console.WritePage(w, page); err != nil {
				log.Warn("console page", "path", r.URL.Path, "err", err)
			}
		})
	}
	mux.Handle("GET "+assetPrefix, assets)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		console.SecurityHeaders(w.Header())
		http.Error(w, "no such console page", http.StatusNotFound)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the console only answers GET", http.StatusMethodNotAllowed)
	})
	return mux
}
