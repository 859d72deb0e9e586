package marathon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestRealApps takes every app of the anonymised production dumps through what POST /v2/apps and
// GET /v2/apps do: strict decoding of the app without its read-only fields, validation, defaults,
// and marshalling. The output must be stable, keep every field the app had, validate again, and
// conform to Marathon's AppDefinition JSON schema.
func TestRealApps(t *testing.T) {
	schema := appSchema(t)
	total, passed := 0, 0
	for _, file := range []string{"real/apps_100.json", "real/apps_500.json"} {
		var dump struct {
			Apps []map[string]any `json:"apps"`
		}
		dec := json.NewDecoder(bytes.NewReader(readCompat(t, file)))
		dec.UseNumber()
		if err := dec.Decode(&dump); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(dump.Apps) == 0 {
			t.Fatalf("%s: no apps", file)
		}
		for i, raw := range dump.Apps {
			total++
			name := fmt.Sprintf("%s#%d", file, i)
			if err := checkRealApp(t, schema, raw); err != nil {
				t.Errorf("%s (%v): %v", name, raw["id"], err)
				continue
			}
			passed++
		}
	}
	t.Logf("real apps: %d of %d pass decode, validation, defaults, round trip and schema", passed, total)
}

func checkRealApp(t *testing.T, schema *jsonschema.Schema, raw map[string]any) error {
	stripped := stripReadOnly(raw)
	in := mustMarshal(t, stripped)
	app, err := DecodeApp(in)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if verr := app.Validate(); verr != nil {
		return fmt.Errorf("validate as given: %w", verr)
	}
	app.ApplyDefaults()
	if verr := app.Validate(); verr != nil {
		return fmt.Errorf("validate after defaults: %w", verr)
	}
	out1 := mustMarshal(t, app)
	again, err := DecodeApp(out1)
	if err != nil {
		return fmt.Errorf("decode own output: %w", err)
	}
	out2 := mustMarshal(t, again)
	if !bytes.Equal(out1, out2) {
		return fmt.Errorf("marshal is not stable:\n%s\n%s", out1, out2)
	}
	again.ApplyDefaults()
	if out3 := mustMarshal(t, again); !bytes.Equal(out1, out3) {
		return fmt.Errorf("ApplyDefaults is not idempotent:\n%s\n%s", out1, out3)
	}
	if diffs := subsetOf(generic(t, in), generic(t, out1), ""); len(diffs) > 0 {
		return fmt.Errorf("fields lost or changed: %s\nout: %s", strings.Join(diffs, "; "), out1)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out1))
	if err != nil {
		return err
	}
	if err := schema.Validate(inst); err != nil {
		return fmt.Errorf("schema: %v\nout: %s", err, out1)
	}
	return nil
}

// TestSchemaIsNotVacuous makes sure the schema check in TestRealApps can fail.
func TestSchemaIsNotVacuous(t *testing.T) {
	schema := appSchema(t)
	for _, bad := range []string{
		`{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"protocol":"sctp"}]}`,
		`{"id":"/a","cmd":"x","unknown":1}`,
		`{"id":"/a","cmd":"x","args":["y"]}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if schema.Validate(inst) == nil {
			t.Errorf("schema accepted %s", bad)
		}
	}
}

// TestGroupSchema checks the example group, with defaults applied, against Group.json.
func TestGroupSchema(t *testing.T) {
	schema := compileSchema(t, "Group.json")
	g, err := DecodeGroup(readCompat(t, "examples/group.json"))
	if err != nil {
		t.Fatal(err)
	}
	g.ApplyDefaults()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(mustMarshal(t, g)))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatal(err)
	}
}

// appSchema compiles Marathon's AppDefinition.json (draft-04).
func appSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	return compileSchema(t, "AppDefinition.json")
}

func compileSchema(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	dir := filepath.Join(compatDir(t), "schema")
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	for _, f := range []string{"AppDefinition.json", "Group.json"} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(readCompat(t, filepath.Join("schema", f))))
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := doc.(map[string]any); ok {
			// "http://json-schema.org/schema#" names no draft; the files are draft-04.
			delete(m, "$schema")
			delete(m, "id")
		}
		if err := c.AddResource("file://"+filepath.ToSlash(filepath.Join(dir, f)), doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("file://" + filepath.ToSlash(filepath.Join(dir, name)))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

// TestExamples decodes every example body of the RAML spec strictly into its type.
func TestExamples(t *testing.T) {
	compatDir(t)
	t.Run("app.json", func(t *testing.T) {
		app, err := DecodeApp(readCompat(t, "examples/app.json"))
		if err != nil {
			t.Fatal(err)
		}
		// The example shows every field at once, and so breaks three of Marathon's rules: cmd
		// with args, ipAddress with ports (and discovery with Docker), and an env secret that
		// names a secret's source instead of the secret.
		assertPaths(t, app.Validate(), "/", "/ipAddress", "/env/PASSWORD")
		app.Args = nil
		app.IPAddress = nil
		app.Env["PASSWORD"] = EnvValue{Secret: "secret1"}
		if verr := app.Validate(); verr != nil {
			t.Fatalf("without args and ipAddress: %v", verr)
		}
		roundTrip(t, app)
	})
	t.Run("app-check-http-example.json", func(t *testing.T) {
		app, err := DecodeApp(readCompat(t, "examples/app-check-http-example.json"))
		if err != nil {
			t.Fatal(err)
		}
		if verr := app.Validate(); verr != nil {
			t.Fatal(verr)
		}
		roundTrip(t, app)
	})
	t.Run("apps_create.json", func(t *testing.T) {
		apps, err := DecodeApps(readCompat(t, "examples/apps_create.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 2 {
			t.Fatalf("got %d apps", len(apps))
		}
		for _, a := range apps {
			if verr := a.Validate(); verr != nil {
				t.Errorf("%s: %v", a.ID, verr)
			}
			roundTrip(t, a)
		}
	})
	t.Run("app_list.json", func(t *testing.T) {
		var list struct {
			Apps []*App `json:"apps"`
		}
		if err := DecodeResponse(readCompat(t, "examples/app_list.json"), &list); err != nil {
			t.Fatal(err)
		}
		a := list.Apps[0]
		if *a.TasksRunning != 0 || len(a.Deployments) != 1 || a.VersionInfo == nil {
			t.Fatalf("read-only fields not decoded: %+v", a)
		}
		// ["hostname", "UNIQUE", ""]: Marathon 1.x rejects a value for UNIQUE.
		assertPaths(t, a.Validate(), "/constraints(0)")
		if _, err := DecodeApp(mustMarshal(t, a)); err == nil {
			t.Fatal("DecodeApp accepted read-only fields")
		}
		if _, err := DecodeApp(mustMarshal(t, a.ReadOnlyStripped())); err != nil {
			t.Fatalf("DecodeApp refused the stripped app: %v", err)
		}
	})
	t.Run("app_patch.json", func(t *testing.T) {
		p, err := DecodeAppPatch(readCompat(t, "examples/app_patch.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(p.Fields(), ","); got != "id,instances" {
			t.Fatalf("fields %s", got)
		}
		base := &App{ID: "/foo", Cmd: new("sleep 1"), Instances: new(7), Labels: map[string]string{"a": "b"}}
		patched := p.ApplyTo(base)
		if *patched.Instances != 2 || *patched.Cmd != "sleep 1" || patched.Labels["a"] != "b" {
			t.Fatalf("patched: %+v", patched)
		}
		if verr := patched.Validate(); verr != nil {
			t.Fatal(verr)
		}
	})
	t.Run("apps_patch.json", func(t *testing.T) {
		ps, err := DecodeAppPatches(readCompat(t, "examples/apps_patch.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 2 || !ps[0].Has("cpus") || ps[0].Has("instances") || ps[1].App().ID != "/test/sleep120" {
			t.Fatalf("patches: %v %v", ps[0].Fields(), ps[1].Fields())
		}
	})
	t.Run("group.json", func(t *testing.T) {
		g, err := DecodeGroup(readCompat(t, "examples/group.json"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		g.Walk(func(*App) { n++ })
		if n != 3 {
			t.Fatalf("walked %d apps", n)
		}
		if verr := g.Validate(); verr != nil {
			t.Fatal(verr)
		}
		g.ApplyDefaults()
		if verr := g.Validate(); verr != nil {
			t.Fatalf("after defaults: %v", verr)
		}
		out := mustMarshal(t, g)
		g2, err := DecodeGroup(out)
		if err != nil {
			t.Fatal(err)
		}
		if out2 := mustMarshal(t, g2); !bytes.Equal(out, out2) {
			t.Fatalf("group marshal not stable:\n%s\n%s", out, out2)
		}
	})
	for _, f := range []string{"tasks.json", "app_tasks.json"} {
		t.Run(f, func(t *testing.T) {
			var l TaskList
			decodeExample(t, f, &l)
			if len(l.Tasks) == 0 || l.Tasks[0].AppID == "" || l.Tasks[0].State != "TASK_RUNNING" && l.Tasks[0].State != "TASK_STAGING" {
				t.Fatalf("tasks: %+v", l)
			}
		})
	}
	t.Run("app_task.json", func(t *testing.T) {
		var s TaskSingle
		decodeExample(t, "app_task.json", &s)
		if s.Task.Region != "primary" {
			t.Fatalf("task: %+v", s)
		}
	})
	t.Run("deployments.json", func(t *testing.T) {
		var ds []Deployment
		decodeExample(t, "deployments.json", &ds)
		if len(ds) != 1 || ds[0].CurrentActions[0].ReadinessCheckResults[0].LastResponse.Status != 500 {
			t.Fatalf("deployments: %+v", ds)
		}
	})
	t.Run("deployment_steps.json", func(t *testing.T) {
		var s DeploymentSteps
		decodeExample(t, "deployment_steps.json", &s)
		if len(s.Steps) != 2 || s.Steps[1].Actions[0].Action != ActionScaleApplication {
			t.Fatalf("steps: %+v", s)
		}
	})
	t.Run("deployments_result.json", func(t *testing.T) {
		var r DeploymentResult
		decodeExample(t, "deployments_result.json", &r)
		if r.DeploymentID == "" || r.Version == "" {
			t.Fatalf("result: %+v", r)
		}
	})
	t.Run("queue.json", func(t *testing.T) {
		var q Queue
		decodeExample(t, "queue.json", &q)
		if len(q.Queue) != 2 || q.Queue[1].LastUnusedOffers[0].Offer.Resources[0].Ranges[0].End != 5 {
			t.Fatalf("queue: %+v", q)
		}
		for i, item := range q.Queue {
			if verr := item.App.Validate(); verr != nil {
				t.Errorf("queue(%d).app: %v", i, verr)
			}
		}
	})
	t.Run("info.json", func(t *testing.T) {
		var info Info
		decodeExample(t, "info.json", &info)
		if info.MarathonConfig.TaskLostExpungeInterval != 30000 || info.HTTPConfig.HTTPSPort != 8443 {
			t.Fatalf("info: %+v", info)
		}
	})
}

// decodeExample decodes an example strictly and checks that marshalling keeps every field.
func decodeExample(t *testing.T, name string, v any) {
	t.Helper()
	in := readCompat(t, filepath.Join("examples", name))
	if err := DecodeResponse(in, v); err != nil {
		t.Fatal(err)
	}
	if diffs := subsetOf(generic(t, in), generic(t, mustMarshal(t, v)), ""); len(diffs) > 0 {
		t.Fatalf("fields lost: %s", strings.Join(diffs, "; "))
	}
}

// roundTrip checks that defaults keep the app valid and that its marshalling is stable.
func roundTrip(t *testing.T, app *App) {
	t.Helper()
	in := mustMarshal(t, app)
	app.ApplyDefaults()
	if verr := app.Validate(); verr != nil {
		t.Fatalf("after defaults: %v", verr)
	}
	out := mustMarshal(t, app)
	again, err := DecodeApp(out)
	if err != nil {
		t.Fatalf("decode own output: %v", err)
	}
	if out2 := mustMarshal(t, again); !bytes.Equal(out, out2) {
		t.Fatalf("not stable:\n%s\n%s", out, out2)
	}
	_ = in
}

// TestEvents decodes every "data:" line of the recorded event stream into the type its
// eventType names.
func TestEvents(t *testing.T) {
	raw := readCompat(t, "examples/events.txt")
	n := 0
	lastEvent := ""
	for _, line := range strings.Split(string(raw), "\n") {
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			lastEvent = strings.TrimSpace(name)
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		n++
		ev, err := DecodeEvent([]byte(data))
		if err != nil {
			t.Errorf("line %q: %v", data, err)
			continue
		}
		if ev.Type() != lastEvent {
			t.Errorf("eventType %s under event: %s", ev.Type(), lastEvent)
		}
		if diffs := subsetOf(generic(t, []byte(data)), generic(t, mustMarshal(t, ev)), ""); len(diffs) > 0 {
			t.Errorf("%s: fields lost: %v", ev.Type(), diffs)
		}
	}
	if n == 0 {
		t.Fatal("no data lines")
	}
	if _, err := DecodeEvent([]byte(`{"eventType":"status_update_event","timestamp":"x","bogus":1}`)); err == nil {
		t.Fatal("unknown field accepted")
	}
	var de *DecodeError
	if _, err := DecodeEvent([]byte(`{"eventType":"status_update_event","ports":"x"}`)); !errors.As(err, &de) {
		t.Fatalf("mistyped field: %v", err)
	}
}
