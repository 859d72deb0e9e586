package marathon

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

func TestDecodeAppStrict(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		want map[string]string // path -> one expected message
	}{
		{
			name: "unknown fields at every depth",
			body: `{"id":"/a","cmd":"x","foo":1,"container":{"docker":{"image":"x","bar":true}},` +
				`"healthChecks":[{"protocol":"HTTP"},{"prot":"HTTP"}],"env":{"A":{"secret":"s","x":1}}}`,
			want: map[string]string{
				"/foo": "Unknown field", "/container/docker/bar": "Unknown field",
				"/healthChecks(1)/prot": "Unknown field", "/env/A": "",
			},
		},
		{
			name: "values of the wrong type",
			body: `{"id":5,"cpus":"1","instances":1.5,"env":{"A":5},"constraints":[["a",1]],` +
				`"unreachableStrategy":"enabled","requirePorts":"yes","labels":[],"args":"x"}`,
			want: map[string]string{
				"/id": "error.expected.jsstring", "/cpus": "error.expected.jsnumber",
				"/instances": "error.expected.int", "/env/A": "", "/constraints(0)(1)": "error.expected.jsstring",
				"/unreachableStrategy": "", "/requirePorts": "error.expected.jsboolean",
				"/labels": "error.expected.jsobject", "/args": "error.expected.jsarray",
			},
		},
		{
			name: "read-only fields in a request body",
			body: `{"id":"/a","cmd":"x","tasksRunning":1,"deployments":[],"tasks":[],"lastTaskFailure":null}`,
			want: map[string]string{
				"/tasksRunning": "Unknown field", "/deployments": "Unknown field",
				"/tasks": "Unknown field", "/lastTaskFailure": "Unknown field",
			},
		},
		{name: "not an object", body: `["/a"]`, want: map[string]string{"/": "error.expected.jsobject"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeApp([]byte(c.body))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v (%T), want *DecodeError", err, err)
			}
			if de.Message != MsgInvalidJSON {
				t.Fatalf("message %q", de.Message)
			}
			var paths []string
			for path := range c.want {
				paths = append(paths, path)
			}
			got := de.Paths()
			slices.Sort(got)
			slices.Sort(paths)
			if !slices.Equal(got, paths) {
				t.Fatalf("paths = %q, want %q\n%v", got, paths, err)
			}
			for _, d := range de.Details {
				if msg := c.want[d.Path]; msg != "" && !slices.Contains(d.Errors, msg) {
					t.Errorf("%s: errors %q, want %q", d.Path, d.Errors, msg)
				}
			}
			var verr *ValidationError
			if errors.As(err, &verr) {
				t.Fatal("a DecodeError must not pass for a ValidationError (400, not 422)")
			}
		})
	}
}

func TestDecodeAppSyntax(t *testing.T) {
	for _, body := range []string{``, `{`, `{"id":"/a",}`, `{"id":"/a"} {}`, `{"id":"/a"}}`, `nul`} {
		_, err := DecodeApp([]byte(body))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v (%T), want *SyntaxError", body, err, err)
		}
	}
}

func TestDecodeAppInfoAcceptsReadOnly(t *testing.T) {
	body := `{"id":"/a","cmd":"x","tasksRunning":0,"tasksStaged":1,"deployments":[{"id":"d1"}],` +
		`"tasks":[{"id":"a.1","appId":"/a","host":"h","state":"TASK_RUNNING","ports":[31000]}],` +
		`"version":"2024-01-01T00:00:00.000Z","versionInfo":{"lastScalingAt":"x","lastConfigChangeAt":"y"}}`
	app, err := DecodeAppInfo([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if app.TasksRunning == nil || *app.TasksRunning != 0 || len(app.Tasks) != 1 {
		t.Fatalf("read-only fields: %+v", app)
	}
	if diffs := subsetOf(generic(t, []byte(body)), generic(t, mustMarshal(t, app)), ""); len(diffs) > 0 {
		t.Fatalf("read-only fields lost (an embedded zero count too): %v", diffs)
	}
	stripped := app.ReadOnlyStripped()
	if got, want := string(mustMarshal(t, stripped)), `{"id":"/a","cmd":"x","cpus":0,"mem":0,"disk":0,"gpus":0,"executor":"","requirePorts":false}`; got != want {
		t.Fatalf("stripped:\n%s\n%s", got, want)
	}
	if app.Tasks == nil {
		t.Fatal("ReadOnlyStripped changed the original")
	}
}

func TestEnvValueJSON(t *testing.T) {
	var env map[string]EnvValue
	if err := json.Unmarshal([]byte(`{"A":"1","B":{"secret":"s"}}`), &env); err != nil {
		t.Fatal(err)
	}
	if env["A"].Value != "1" || !env["B"].IsSecret() || env["B"].Secret != "s" {
		t.Fatalf("%+v", env)
	}
	if got := string(mustMarshal(t, env)); got != `{"A":"1","B":{"secret":"s"}}` {
		t.Fatal(got)
	}
	for _, bad := range []string{`{"A":1}`, `{"A":{"secret":""}}`, `{"A":{}}`, `{"A":{"secret":"s","value":"v"}}`} {
		if err := json.Unmarshal([]byte(bad), &env); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestUnreachableStrategyJSON(t *testing.T) {
	for in, want := range map[string]UnreachableStrategy{
		`"disabled"`: {Disabled: true},
		`{"inactiveAfterSeconds":60,"expungeAfterSeconds":120}`: {InactiveAfterSeconds: 60, ExpungeAfterSeconds: 120},
		`{}`: {},
	} {
		var u UnreachableStrategy
		if err := json.Unmarshal([]byte(in), &u); err != nil || u != want {
			t.Errorf("%s: %+v, %v", in, u, err)
		}
	}
	for _, bad := range []string{`"enabled"`, `{"inactiveAfter":1}`, `5`} {
		var u UnreachableStrategy
		if err := json.Unmarshal([]byte(bad), &u); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestDecodeAppPatchStrict(t *testing.T) {
	if _, err := DecodeAppPatch([]byte(`{"instances":"2"}`)); err == nil {
		t.Fatal("mistyped patch accepted")
	}
	_, err := DecodeAppPatches([]byte(`[{"cpus":1},{"bogus":1}]`))
	var de *DecodeError
	if !errors.As(err, &de) || de.Details[0].Path != "(1)/bogus" {
		t.Fatalf("err = %v", err)
	}
}
