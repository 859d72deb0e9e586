package marathon

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// invalidApps maps each testdata/invalid-*.json to the exact set of paths its problems are at.
var invalidApps = map[string][]string{
	"invalid-id.json":               {"/id"},
	"invalid-root-id.json":          {"/id"},
	"invalid-id-above-root.json":    {"/id"},
	"invalid-cmd-and-args.json":     {"/"},
	"invalid-no-command.json":       {"/"},
	"invalid-resources.json":        {"/instances", "/cpus", "/mem", "/disk", "/gpus", "/executor"},
	"invalid-gpus-with-docker.json": {"/"},
	"invalid-constraints.json": {
		"/constraints(0)", "/constraints(1)", "/constraints(2)", "/constraints(3)",
		"/constraints(4)", "/constraints(5)", "/constraints(6)",
	},
	"invalid-port-definitions.json": {
		"/portDefinitions", "/portDefinitions(0)/port", "/portDefinitions(1)/protocol",
		"/portDefinitions(3)/name",
	},
	"invalid-networks.json": {"/networks", "/networks(2)/mode"},
	"invalid-container.json": {
		"/container/docker/image", "/container/docker/parameters(0)/key",
		"/container/volumes(0)/containerPath", "/container/volumes(0)/mode",
		"/container/volumes(1)/secret", "/container/portMappings",
		"/container/portMappings(0)/containerPort", "/container/portMappings(1)/protocol",
	},
	"invalid-health-checks.json": {
		"/healthChecks(0)/portIndex", "/healthChecks(1)/command", "/healthChecks(2)/protocol",
		"/healthChecks(3)", "/healthChecks(4)/gracePeriodSeconds", "/healthChecks(5)/ipProtocol",
	},
	"invalid-readiness-checks.json": {
		"/readinessChecks(0)/portName", "/readinessChecks(0)/timeoutSeconds",
		"/readinessChecks(0)/httpStatusCodesForReady(0)",
	},
	"invalid-strategies.json": {
		"/upgradeStrategy/minimumHealthCapacity", "/upgradeStrategy/maximumOverCapacity",
		"/unreachableStrategy/expungeAfterSeconds", "/killSelection", "/backoffSeconds",
		"/backoffFactor", "/maxLaunchDelaySeconds", "/taskKillGracePeriodSeconds",
	},
	"invalid-secrets.json":                     {"/env/DB_PASSWORD", "/secrets/api/source"},
	"invalid-dependencies.json":                {"/dependencies(1)", "/dependencies(2)"},
	"invalid-deprecated.json":                  {"/", "/ports", "/uris"},
	"invalid-docker-network-and-networks.json": {"/"},
	"invalid-scheduling.json":                  {"/", "/upgradeStrategy/minimumHealthCapacity", "/acceptedResourceRoles"},
	"invalid-persistent-volume.json": {
		"/container/volumes(0)/containerPath", "/container/volumes(0)/mode",
		"/container/volumes(0)/persistent", "/container/volumes(0)/persistent/size",
		"/unreachableStrategy",
	},
}

func TestInvalidApps(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := invalidApps[filepath.Base(f)]; !ok {
			t.Errorf("%s has no expected paths in invalidApps", f)
		}
	}
	for name, want := range invalidApps {
		t.Run(name, func(t *testing.T) {
			app, err := DecodeApp(readTestdata(t, name))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			verr := app.Validate()
			assertPaths(t, verr, want...)
			if verr.Message != MsgInvalidObject {
				t.Fatalf("message %q", verr.Message)
			}
			for _, d := range verr.Details {
				if len(d.Errors) == 0 {
					t.Fatalf("%s has no errors", d.Path)
				}
			}
		})
	}
}

func TestValidApps(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "valid-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			app, err := DecodeApp(readTestdata(t, filepath.Base(f)))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if verr := app.Validate(); verr != nil {
				t.Fatal(verr)
			}
			roundTrip(t, app)
			if app.URIs != nil || app.Ports != nil || app.IPAddress != nil {
				t.Fatalf("deprecated fields left after defaults: %s", mustMarshal(t, app))
			}
			if c := app.Container; c != nil && c.Docker != nil && (c.Docker.Network != "" || c.Docker.PortMappings != nil) {
				t.Fatalf("deprecated docker fields left after defaults: %s", mustMarshal(t, app))
			}
		})
	}
}

func TestDeprecatedFieldsMigrate(t *testing.T) {
	app := decodeTestdata(t, "valid-deprecated.json")
	app.ApplyDefaults()
	got := string(mustMarshal(t, app))
	for _, want := range []string{
		`"fetch":[{"uri":"https://example.com/bundle.tar.gz","extract":true,"executable":false,"cache":false},{"uri":"https://example.com/run.sh","extract":false,"executable":false,"cache":false}]`,
		`"portDefinitions":[{"port":0,"protocol":"tcp"},{"port":10001,"protocol":"tcp"}]`,
		`"healthChecks":[{"gracePeriodSeconds":300,"intervalSeconds":60,"maxConsecutiveFailures":3,"path":"/","portIndex":0,"protocol":"HTTP","ipProtocol":"IPv4","timeoutSeconds":20,"delaySeconds":15}]`,
		`"upgradeStrategy":{"minimumHealthCapacity":0.5,"maximumOverCapacity":1}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s\nin %s", want, got)
		}
	}

	ipt := decodeTestdata(t, "valid-ip-per-task.json")
	ipt.ApplyDefaults()
	got = string(mustMarshal(t, ipt))
	for _, want := range []string{
		`"container":{"type":"MESOS","portMappings":[{"containerPort":8080,"name":"http","protocol":"tcp","servicePort":0}]}`,
		`"networks":[{"name":"dcos","mode":"container","labels":{"tier":"backend"}}]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s\nin %s", want, got)
		}
	}

	bridge := decodeTestdata(t, "valid-docker-bridge.json")
	bridge.ApplyDefaults()
	got = string(mustMarshal(t, bridge))
	for _, want := range []string{
		`"id":"/web/nginx"`,
		`"portMappings":[{"containerPort":80,"hostPort":0,"labels":{"VIP_0":"/web:80"},"name":"http","protocol":"tcp","servicePort":0}]`,
		`"networks":[{"mode":"container/bridge"}]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s\nin %s", want, got)
		}
	}
}

func TestApplyDefaultsMinimal(t *testing.T) {
	app := decodeTestdata(t, "valid-minimal.json")
	app.ApplyDefaults()
	want := `{"id":"/sleep","cmd":"sleep 100","instances":1,"cpus":1,"mem":128,"disk":0,"gpus":0,` +
		`"executor":"","portDefinitions":[{"port":0,"name":"default","protocol":"tcp"}],` +
		`"requirePorts":false,"backoffSeconds":1,"backoffFactor":1.15,"maxLaunchDelaySeconds":300,` +
		`"upgradeStrategy":{"minimumHealthCapacity":1,"maximumOverCapacity":1},` +
		`"networks":[{"mode":"host"}],"killSelection":"YOUNGEST_FIRST",` +
		`"unreachableStrategy":{"inactiveAfterSeconds":0,"expungeAfterSeconds":0}}`
	if got := string(mustMarshal(t, app)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestApplyDefaultsResident(t *testing.T) {
	app := decodeTestdata(t, "valid-resident.json")
	app.UnreachableStrategy = nil
	app.UpgradeStrategy = nil
	app.ApplyDefaults()
	if !app.UnreachableStrategy.Disabled || *app.UpgradeStrategy.MinimumHealthCapacity != 0.5 ||
		*app.UpgradeStrategy.MaximumOverCapacity != 0 || app.Residency == nil {
		t.Fatalf("resident defaults: %s", mustMarshal(t, app))
	}
	if verr := app.Validate(); verr != nil {
		t.Fatal(verr)
	}
}

func TestHealthCheckAccessors(t *testing.T) {
	var h HealthCheck
	if h.Interval().Seconds() != 60 || h.Timeout().Seconds() != 20 || h.GracePeriod().Seconds() != 300 ||
		h.MaxFailures() != 3 || h.EffectiveProtocol() != ProtocolHTTP || h.IsMesos() {
		t.Fatalf("defaults: %+v", h)
	}
	h.MaxConsecutiveFailures = new(0)
	if h.MaxFailures() != 0 {
		t.Fatal("explicit 0 lost")
	}
}

func TestGroupValidate(t *testing.T) {
	g, err := DecodeGroup([]byte(`{
		"id": "/shop",
		"apps": [
			{"id": "web", "cmd": "x"},
			{"id": "/other/api", "cmd": "x"},
			{"id": "/shop/web", "cmd": "x"},
			{"id": "bad", "cpus": -1}
		],
		"groups": [{"id": "db", "apps": [{"id": "pg", "cmd": "x", "dependencies": ["../web"]}]}],
		"dependencies": ["/infra"]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	assertPaths(t, g.Validate(), "/apps(1)/id", "/apps(2)/id", "/apps(3)", "/apps(3)/cpus")
	g.Apps = g.Apps[:1]
	if verr := g.Validate(); verr != nil {
		t.Fatal(verr)
	}
	g.ApplyDefaults()
	if g.Apps[0].ID != "/shop/web" || g.Groups[0].ID != "/shop/db" || g.Groups[0].Apps[0].ID != "/shop/db/pg" ||
		g.Groups[0].Apps[0].Dependencies[0] != "/shop/web" {
		t.Fatalf("ids not resolved: %s", mustMarshal(t, g))
	}
}

// TestGroupEnforceRole accepts enforceRole on a top-level group only, as Marathon does.
func TestGroupEnforceRole(t *testing.T) {
	for _, tt := range []struct {
		body string
		want []string // paths of the problems
	}{
		{`{"id": "/prod", "enforceRole": true}`, nil},
		{`{"id": "/prod", "enforceRole": false, "groups": [{"id": "second", "enforceRole": false}]}`, nil},
		{`{"id": "/prod", "enforceRole": true, "groups": [{"id": "second", "enforceRole": true}]}`, []string{"/groups(0)/enforceRole"}},
		{`{"id": "/", "enforceRole": true, "groups": [{"id": "prod", "enforceRole": true}]}`, []string{"/enforceRole"}},
		{`{"id": "/prod/second", "enforceRole": true}`, []string{"/enforceRole"}},
	} {
		g, err := DecodeGroup([]byte(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		verr := g.Validate()
		if tt.want == nil {
			if verr != nil {
				t.Errorf("%s: %v", tt.body, verr)
			}
			continue
		}
		assertPaths(t, verr, tt.want...)
		if verr != nil && !strings.Contains(verr.Details[0].Errors[0], "enforceRole can only be set for top-level groups") {
			t.Errorf("%s: %+v", tt.body, verr.Details)
		}
	}
}

func TestCanonicalPath(t *testing.T) {
	for _, c := range []struct {
		id, base, want string
		ok             bool
	}{
		{"a", "/", "/a", true},
		{"/a/b/", "/", "/a/b", true},
		{"a/../b", "/x", "/x/b", true},
		{"../c", "/x/y", "/x/c", true},
		{"./a//b", "/", "/a/b", true},
		{"../..", "/x", "/", false},
		{"/", "/x", "/", true},
	} {
		got, ok := CanonicalPath(c.id, c.base)
		if got != c.want || ok != c.ok {
			t.Errorf("CanonicalPath(%q, %q) = %q, %v; want %q, %v", c.id, c.base, got, ok, c.want, c.ok)
		}
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeTestdata(t testing.TB, name string) *App {
	t.Helper()
	app, err := DecodeApp(readTestdata(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return app
}

// assertPaths checks that verr reports problems at exactly the given paths.
func assertPaths(t *testing.T, verr *ValidationError, want ...string) {
	t.Helper()
	var got []string
	if verr != nil {
		got = verr.Paths()
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("paths = %q, want %q\n%v", got, want, verr)
	}
}

func TestValidateNaNDoesNotPanic(t *testing.T) {
	app := &App{ID: "/a", Cmd: new("x"), Mem: math.NaN()}
	assertPaths(t, app.Validate(), "/")
}
