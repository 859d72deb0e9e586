package marathon

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/marina-dcos/marina/internal/testutil"
)

// compatDir is ../shared/compat/marathon; the test skips when it is absent.
func compatDir(t testing.TB) string { return testutil.Compat(t, "marathon") }

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
