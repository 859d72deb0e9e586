package marathon

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The Marathon compatibility fixtures live beside the repository, in ../shared/compat/marathon
// relative to the module root; tests read them there and skip when they are absent.
func compatDir(t testing.TB) string {
	t.Helper()
	root := moduleRoot(t)
	dir := filepath.Join(root, "..", "shared", "compat", "marathon")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("Marathon compatibility fixtures not found at %s (they live in ../shared/compat beside the repository): %v", dir, err)
	}
	return dir
}

var (
	rootOnce sync.Once
	rootDir  string
)

// moduleRoot finds the module root once: from `go env GOMOD`, else by walking up to go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() { rootDir = findModuleRoot() })
	if rootDir == "" {
		t.Fatal("go.mod not found above the package directory")
	}
	return rootDir
}

func findModuleRoot() string {
	if out, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			return filepath.Dir(gomod)
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func readCompat(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(compatDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readOnlyFields are the fields GET adds to an app, which a POST body does not carry.
var readOnlyFields = []string{
	"version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
	"deployments", "readinessCheckResults", "tasks", "lastTaskFailure", "tasksStats", "taskStats",
}

func stripReadOnly(app map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range app {
		out[k] = v
	}
	for _, k := range readOnlyFields {
		delete(out, k)
	}
	return out
}

func generic(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// subsetOf reports where want (generic JSON) is not contained in got: every object key of want
// must be in got with a contained value, arrays must match element by element, numbers compare by
// value. A null in want stands for an absent value.
func subsetOf(want, got any, path string) []string {
	switch w := want.(type) {
	case nil:
		return nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + ": want an object"}
		}
		var diffs []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				if wv != nil {
					diffs = append(diffs, path+"/"+k+": missing")
				}
				continue
			}
			diffs = append(diffs, subsetOf(wv, gv, path+"/"+k)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{path + ": arrays differ"}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, subsetOf(w[i], g[i], idx(path, i))...)
		}
		return diffs
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return []string{path + ": want a number"}
		}
		wf, _ := w.Float64()
		gf, _ := g.Float64()
		if wf != gf {
			return []string{path + ": " + w.String() + " != " + g.String()}
		}
		return nil
	default:
		if want != got {
			b1, _ := json.Marshal(want)
			b2, _ := json.Marshal(got)
			return []string{path + ": " + string(b1) + " != " + string(b2)}
		}
		return nil
	}
}
