package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static templates
var files embed.FS

// Shared is the file system of the shared assets: base.css and console.js.
var Shared fs.FS = mustSub(files, "static")

var layout = template.Must(template.ParseFS(files, "templates/layout.html"))

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// Link is an entry of a page's navigation.
type Link struct {
	Href, Label string
}

// Page is what the layout renders: a console's single HTML page, whose content the scripts
// build in the element #main.
type Page struct {
	Title   string   // the document title
	Product string   // the name shown at the top left
	Nav     []Link   // the main navigation
	Styles  []string // stylesheet URLs, in order (see Assets.URL)
	Scripts []string // script URLs, in order; they run deferred
}

// WritePage renders p with the shared layout, with the security headers of a console page.
func WritePage(w http.ResponseWriter, p Page) error {
	SecurityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if err := layout.Execute(w, p); err != nil {
		return fmt.Errorf("console: render %s: %w", p.Title, err)
	}
	return nil
}

// SecurityHeaders sets the headers every console answer carries: same-origin scripts, styles and
// connections only, no framing, no MIME sniffing.
func SecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

// Assets serves a console's static files by name, each with an ETag derived from its content,
// so browsers revalidate them cheaply and never run a stale script after an upgrade.
type Assets struct {
	files map[string]asset
}

type asset struct {
	body  []byte
	etag  string
	ctype string
}

// NewAssets reads every regular file at the top of each file system; a later file system's file
// replaces an earlier one's of the same name.
func NewAssets(fsyss ...fs.FS) (*Assets, error) {
	a := &Assets{files: map[string]asset{}}
	for _, fsys := range fsyss {
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			return nil, fmt.Errorf("console: assets: %w", err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			body, err := fs.ReadFile(fsys, e.Name())
			if err != nil {
				return nil, fmt.Errorf("console: assets: %w", err)
			}
			sum := sha256.Sum256(body)
			ctype := mime.TypeByExtension(path.Ext(e.Name()))
			if ctype == "" {
				ctype = "application/octet-stream"
			}
			a.files[e.Name()] = asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ctype}
		}
	}
	return a, nil
}

// AssetsOf returns the shared assets and those in the static directory of files, a
// console's embedded tree (its own files replace shared ones of the same name). It panics when
// files lacks that directory, which the console's embed directive rules out at build time.
func AssetsOf(files fs.FS) *Assets {
	a, err := NewAssets(Shared, mustSub(files, "static"))
	if err != nil {
		panic(err)
	}
	return a
}

// URL returns the URL of the asset name under prefix, with its content version as a query, so a
// page always loads the assets it was rendered with.
func (a *Assets) URL(prefix, name string) string {
	f, ok := a.files[name]
	if !ok {
		return prefix + name
	}
	return prefix + name + "?v=" + strings.Trim(f.etag, `"`)
}

// ServeHTTP serves the asset named by the last element of the path.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := path.Base(r.URL.Path)
	f, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	SecurityHeaders(w.Header())
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}
