package master

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Prefix is the path under which every page but the overview (at /) and every asset is served.
const Prefix = "/console/"

// page is one console page: its template, title and script.
type page struct {
	name  string // template file, without .html; the nav entry it highlights
	title string
	tmpl  *template.Template
}

// pageData is what the layout and the pages render.
type pageData struct {
	Title  string
	Nav    string // the current nav entry
	Script string // the page's script, an asset name
	Assets string // the assets' base path
	Navs   []navEntry
}

type navEntry struct{ Name, Title, Href string }

var navs = []navEntry{
	{"overview", "Overview", "/"},
	{"agents", "Agents", Prefix + "agents"},
	{"frameworks", "Frameworks", Prefix + "frameworks"},
	{"tasks", "Tasks", Prefix + "tasks"},
}

// asset is one embedded file with its validator.
type asset struct {
	body  []byte
	etag  string
	ctype string
}

// console serves the pages and the assets.
type console struct {
	log    *slog.Logger
	pages  map[string]*page // by path
	assets map[string]asset // by name
}

// Handler returns the console's handler, serving / and everything under Prefix; other paths
// are not found. log receives template errors (nil: slog.Default()).
func Handler(log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	c := &console{log: log, pages: map[string]*page{}, assets: map[string]asset{}}
	c.loadAssets()
	for p, pg := range map[string]*page{
		"/":                   {name: "overview", title: "Overview"},
		Prefix + "agents":     {name: "agents", title: "Agents"},
		Prefix + "frameworks": {name: "frameworks", title: "Frameworks"},
		Prefix + "tasks":      {name: "tasks", title: "Tasks"},
		Prefix + "sandbox":    {name: "sandbox", title: "Sandbox"},
	} {
		pg.tmpl = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+pg.name+".html"))
		c.pages[p] = pg
	}
	return c
}

// loadAssets indexes the embedded assets, each with a content digest as its ETag.
func (c *console) loadAssets() {
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "assets/")
		c.assets[name] = asset{
			body:  body,
			etag:  `"` + hex.EncodeToString(sum[:8]) + `"`,
			ctype: mime.TypeByExtension(path.Ext(name)),
		}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("console: embedded assets: %v", err)) // a build defect, not a runtime one
	}
}

func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "the console only answers GET", http.StatusMethodNotAllowed)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, Prefix+"assets/"); ok {
		c.serveAsset(w, r, name)
		return
	}
	pg, ok := c.pages[r.URL.Path]
	if !ok {
		http.Error(w, "no such page", http.StatusNotFound)
		return
	}
	var buf bytes.Buffer
	err := pg.tmpl.ExecuteTemplate(&buf, "layout", pageData{
		Title:  pg.title,
		Nav:    pg.name,
		Script: pg.name + ".js",
		Assets: Prefix + "assets",
		Navs:   navs,
	})
	if err != nil {
		c.log.Error("console: render page", "page", pg.name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (c *console) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := c.assets[name]
	if !ok {
		http.Error(w, "no such asset", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache") // revalidate: the ETag makes that a 304
	if a.ctype != "" {
		h.Set("Content-Type", a.ctype)
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
