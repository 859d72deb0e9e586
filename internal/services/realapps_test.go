package services_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/marina-dcos/marina/internal/testutil"
)

// readOnly are the fields GET adds to an app; a POST body does not carry them.
var readOnly = []string{
	"version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
	"deployments", "readinessCheckResults", "tasks", "lastTaskFailure", "tasksStats", "taskStats",
}

// TestRealAppsRoundTrip posts each production app definition in ../shared/compat/marathon/real
// (600 definitions, 500 distinct ids; read-only fields stripped) and reads it back: every field the
// definition had must come back with an equal value; defaults fill in the rest.
func TestRealAppsRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("posts 600 apps")
	}
	dir := testutil.Compat(t, "marathon")
	_, c := newServicesCluster(t, 1, 0)
	posted := map[string]bool{}
	definitions := 0
	for _, file := range []string{"apps_100.json", "apps_500.json"} {
		var dump struct {
			Apps []map[string]any `json:"apps"`
		}
		decode(t, filepath.Join(dir, "real", file), &dump)
		definitions += len(dump.Apps)
		for i, app := range dump.Apps {
			for _, k := range readOnly {
				delete(app, k)
			}
			id, _ := app["id"].(string)
			if posted[id] {
				continue // apps_100 repeats ids of apps_500
			}
			posted[id] = true
			code, _, body := c.do(http.MethodPost, "/v2/apps", app)
			if code != http.StatusCreated {
				t.Errorf("%s apps[%d] %s: POST answered %d: %s", file, i, id, code, body)
				continue
			}
			code, _, body = c.do(http.MethodGet, "/v2/apps"+id, nil)
			if code != http.StatusOK {
				t.Errorf("%s: GET answered %d: %s", id, code, body)
				continue
			}
			var got struct {
				App map[string]any `json:"app"`
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if err := subset("", normalizeNumbers(app), got.App); err != nil {
				t.Errorf("%s apps[%d] %s: read back differs: %v", file, i, id, err)
			}
		}
	}
	t.Logf("%d definitions read, %d distinct apps posted and read back", definitions, len(posted))
	if definitions < 600 || len(posted) == 0 {
		t.Errorf("read %d definitions (%d distinct), want the 600 of the dumps", definitions, len(posted))
	}
}

func decode(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// normalizeNumbers makes every number of v a json.Number, whatever decoded it.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	case float64:
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
	}
	return v
}

// subset reports the first place where want is not contained in got: objects may gain keys,
// arrays must match element by element, numbers compare by value.
func subset(path string, want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %v, want an object", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s/%s: missing", path, k)
			}
			if err := subset(path+"/"+k, wv, gv); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want %v", path, got, want)
		}
		for i := range w {
			if err := subset(fmt.Sprintf("%s(%d)", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
	case json.Number:
		g, ok := got.(json.Number)
		wf, _ := w.Float64()
		gf, _ := g.Float64()
		if !ok || wf != gf {
			return fmt.Errorf("%s: got %v, want %v", path, got, want)
		}
	default:
		if want != got {
			return fmt.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
	return nil
}

func TestSubset(t *testing.T) {
	tests := []struct {
		want, got string
		ok        bool
	}{
		{`{"a":1}`, `{"a":1.0,"b":2}`, true},
		{`{"a":1}`, `{"b":1}`, false},
		{`{"a":[1,{"x":"y"}]}`, `{"a":[1,{"x":"y","z":0}]}`, true},
		{`{"a":[1]}`, `{"a":[1,2]}`, false},
		{`{"a":"x"}`, `{"a":"y"}`, false},
		{`{"a":{"b":true}}`, `{"a":{"b":false}}`, false},
	}
	for _, tt := range tests {
		var want, got any
		for s, v := range map[string]*any{tt.want: &want, tt.got: &got} {
			dec := json.NewDecoder(bytes.NewReader([]byte(s)))
			dec.UseNumber()
			if err := dec.Decode(v); err != nil {
				t.Fatal(err)
			}
		}
		if err := subset("", want, got); (err == nil) != tt.ok {
			t.Errorf("subset(%s, %s) = %v, want ok %v", tt.want, tt.got, err, tt.ok)
		}
	}
}
