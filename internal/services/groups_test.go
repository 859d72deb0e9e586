package services_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestGroups runs a group through its life: created with an app that depends on another (the
// dependent starts only once its dependency runs), scaled by a factor, changed in a dry run
// that changes nothing, rolled back to its first version, refused with a dependency cycle, and
// deleted; then two apps created in one bulk PUT.
func TestGroups(t *testing.T) {
	_, api := newServicesCluster(t, 1, 2)
	ev := openEvents(t, api.base, "?event_type=group_change_success")

	var first marathon.DeploymentResult
	t.Run("create with dependencies", func(t *testing.T) {
		h := api.json("POST", "/v2/groups", map[string]any{
			"id": "shop",
			"apps": []any{
				sleeper("web", 1) /* relative to the group */, sleeper("db", 1),
			},
			"groups": []any{map[string]any{"id": "jobs", "apps": []any{sleeper("/shop/jobs/report", 1)}}},
		}, http.StatusCreated, &first)
		if first.DeploymentID == "" || h.Get("Location") != "/v2/groups/shop" {
			t.Fatalf("created %+v, headers %v", first, h)
		}
		waitRunning(t, api, "/shop/db", 1, 30*time.Second)
		waitRunning(t, api, "/shop/web", 1, 30*time.Second)
		waitNoDeployments(t, api)
		ev.next(t, 10*time.Second, marathon.EventGroupChangeSuccessType)

		// web depends on db: change both so that both restart, then watch the order.
		var res marathon.DeploymentResult
		api.json("PUT", "/v2/groups/shop", map[string]any{"apps": []any{
			map[string]any{"id": "db", "cmd": "sleep 3601", "cpus": 0.1, "mem": 16},
			map[string]any{"id": "web", "cmd": "sleep 3601", "cpus": 0.1, "mem": 16, "dependencies": []string{"db"}},
		}}, http.StatusOK, &res)
		var deps []marathon.Deployment
		api.json("GET", "/v2/deployments", nil, http.StatusOK, &deps)
		if len(deps) != 1 || !slices.Equal(deps[0].AffectedApps, []string{"/shop/db", "/shop/web"}) || deps[0].TotalSteps != 2 ||
			deps[0].Steps[0].Actions[0] != (marathon.DeploymentAction{Action: "RestartApplication", App: "/shop/db"}) {
			t.Fatalf("deployments %+v", deps)
		}
		db := waitVersion(t, api, "/shop/db", 1, res.Version)
		web := waitVersion(t, api, "/shop/web", 1, res.Version)
		if db[0].StartedAt == "" || web[0].StagedAt < db[0].StartedAt {
			t.Errorf("web staged at %s, before db ran at %s", web[0].StagedAt, db[0].StartedAt)
		}
		waitNoDeployments(t, api)
		if _, data := ev.next(t, 10*time.Second, marathon.EventGroupChangeSuccessType); !strings.Contains(string(data), res.Version) {
			t.Errorf("group_change_success %s, want version %s", data, res.Version)
		}
	})

	t.Run("get", func(t *testing.T) {
		var g marathon.Group
		api.json("GET", "/v2/groups/shop?embed=group.apps&embed=group.groups&embed=group.apps.counts", nil, http.StatusOK, &g)
		if g.ID != "/shop" || len(g.Apps) != 2 || len(g.Groups) != 1 || g.Groups[0].ID != "/shop/jobs" || *g.Apps[0].TasksRunning != 1 {
			t.Fatalf("group %+v", g)
		}
		var root marathon.Group
		api.json("GET", "/v2/groups", nil, http.StatusOK, &root)
		if root.ID != "/" || len(root.Groups) != 1 || root.Groups[0].ID != "/shop" {
			t.Fatalf("root %+v", root)
		}
		api.json("GET", "/v2/groups/nowhere", nil, http.StatusNotFound, nil)
		api.json("POST", "/v2/groups", map[string]any{"id": "/shop"}, http.StatusConflict, nil)
		var verr marathon.ValidationError
		api.json("POST", "/v2/groups", map[string]any{"id": "/g", "apps": []any{sleeper("/other/x", 1)}}, http.StatusUnprocessableEntity, &verr)
		if len(verr.Details) != 1 || verr.Details[0].Path != "/apps(0)/id" {
			t.Errorf("422 %+v, want /apps(0)/id", verr)
		}
	})

	t.Run("scaleBy", func(t *testing.T) {
		api.json("PUT", "/v2/groups/shop", map[string]any{"scaleBy": 2}, http.StatusOK, nil)
		for _, id := range []string{"/shop/db", "/shop/web", "/shop/jobs/report"} {
			waitRunning(t, api, id, 2, 30*time.Second)
		}
		waitNoDeployments(t, api)
	})

	t.Run("dryRun", func(t *testing.T) {
		var steps marathon.DeploymentSteps
		api.json("PUT", "/v2/groups/shop?dryRun=true", map[string]any{"apps": []any{sleeper("db", 5)}}, http.StatusOK, &steps)
		want := []marathon.DeploymentStep{
			{Actions: []marathon.DeploymentAction{{Action: "StopApplication", App: "/shop/web"}}},
			{Actions: []marathon.DeploymentAction{{Action: "RestartApplication", App: "/shop/db"}}},
		}
		if fmt.Sprint(steps.Steps) != fmt.Sprint(want) {
			t.Errorf("steps %+v, want %+v", steps.Steps, want)
		}
		var deps []marathon.Deployment
		api.json("GET", "/v2/deployments", nil, http.StatusOK, &deps)
		if len(deps) != 0 || len(api.tasks("/shop/web")) != 2 {
			t.Errorf("a dry run deployed: %+v", deps)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		var versions []string
		api.json("GET", "/v2/groups/shop/versions", nil, http.StatusOK, &versions)
		if len(versions) != 3 || versions[2] != first.Version {
			t.Fatalf("versions %v, want 3 ending with %s", versions, first.Version)
		}
		api.json("PUT", "/v2/groups/shop", map[string]any{"version": first.Version}, http.StatusOK, nil)
		for _, id := range []string{"/shop/db", "/shop/web", "/shop/jobs/report"} {
			waitRunning(t, api, id, 1, 30*time.Second)
		}
		waitNoDeployments(t, api)
		var app struct{ App marathon.App }
		api.json("GET", "/v2/apps/shop/web", nil, http.StatusOK, &app)
		if *app.App.Cmd != "sleep 3600" || len(app.App.Dependencies) != 0 {
			t.Errorf("rolled back to %+v", app.App)
		}
	})

	t.Run("cycle", func(t *testing.T) {
		code, _, body := api.do("PUT", "/v2/groups/shop", map[string]any{"apps": []any{
			map[string]any{"id": "db", "cmd": "sleep 3600", "dependencies": []string{"web"}},
			map[string]any{"id": "web", "cmd": "sleep 3600", "dependencies": []string{"db"}},
		}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "cyclic") {
			t.Errorf("cycle: %d %s", code, body)
		}
	})

	t.Run("delete", func(t *testing.T) {
		api.json("DELETE", "/v2/groups/shop", nil, http.StatusOK, nil)
		waitNoDeployments(t, api)
		api.json("GET", "/v2/groups/shop", nil, http.StatusNotFound, nil)
		api.json("GET", "/v2/apps/shop/db", nil, http.StatusNotFound, nil)
	})

	t.Run("bulk PUT", func(t *testing.T) {
		var res marathon.DeploymentResult
		api.json("PUT", "/v2/apps", []any{sleeper("/bulk/a", 1), sleeper("/bulk/b", 2)}, http.StatusOK, &res)
		var deps []marathon.Deployment
		api.json("GET", "/v2/deployments", nil, http.StatusOK, &deps)
		if len(deps) > 1 || len(deps) == 1 && (deps[0].ID != res.DeploymentID || len(deps[0].AffectedApps) != 2) {
			t.Fatalf("deployments %+v, want one of both apps", deps)
		}
		waitRunning(t, api, "/bulk/a", 1, 30*time.Second)
		waitRunning(t, api, "/bulk/b", 2, 30*time.Second)
		waitNoDeployments(t, api)
		// PATCH changes existing apps only.
		api.json("PATCH", "/v2/apps", []any{map[string]any{"id": "/bulk/a", "instances": 2}}, http.StatusOK, nil)
		waitRunning(t, api, "/bulk/a", 2, 30*time.Second)
		api.json("PATCH", "/v2/apps", []any{map[string]any{"id": "/bulk/none", "instances": 2}}, http.StatusNotFound, nil)
	})
}

// waitVersion waits until the app has exactly n tasks, all RUNNING and launched from version.
func waitVersion(t *testing.T, api *client, appID string, n int, version string) []marathon.Task {
	t.Helper()
	var ts []marathon.Task
	testutil.WaitFor(t, 30*time.Second, func() error {
		var err error
		if ts, err = api.tryTasks(appID); err != nil {
			return err
		}
		if len(ts) != n || running(ts) != n || slices.ContainsFunc(ts, func(t marathon.Task) bool { return t.Version != version }) {
			return fmt.Errorf("%d tasks, %d running: %+v; want %d running at version %s", len(ts), running(ts), ts, n, version)
		}
		return nil
	})
	return ts
}

// TestGroupExamplesRoundTrip deploys Marathon's group and bulk app examples from
// ../shared/compat/marathon/examples (read-only fields stripped) and reads them back: every field
// an example gives must come back with an equal value.
func TestGroupExamplesRoundTrip(t *testing.T) {
	dir := testutil.Compat(t, "marathon")
	_, api := newServicesCluster(t, 1, 0)
	get := func(id string) map[string]any {
		t.Helper()
		var got struct {
			App map[string]any `json:"app"`
		}
		_, _, body := api.do("GET", "/v2/apps"+id, nil)
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil || got.App == nil {
			t.Fatalf("GET %s: %v: %s", id, err, body)
		}
		return got.App
	}
	check := func(file string, apps []map[string]any) {
		t.Helper()
		for _, app := range apps {
			id, _ := app["id"].(string)
			got := get(id)
			// Deprecated fields come back converted, as Marathon converts them: ports as
			// portDefinitions, uris as fetch, docker.network as networks.
			app = maps.Clone(app)
			delete(app, "ports")
			delete(app, "uris")
			if c, ok := app["container"].(map[string]any); ok {
				if d, ok := c["docker"].(map[string]any); ok {
					delete(d, "network")
				}
			}
			if err := subset("", normalizeNumbers(app), got); err != nil {
				t.Errorf("%s: %s read back differs: %v", file, id, err)
			}
		}
	}

	// The example carries versions, which would ask for a rollback: they go, as the apps'
	// read-only fields do.
	var root struct {
		Groups []map[string]any `json:"groups"`
	}
	decode(t, filepath.Join(dir, "examples", "group.json"), &root)
	var apps []map[string]any
	for _, g := range root.Groups {
		delete(g, "version")
		for _, app := range g["apps"].([]any) {
			app := app.(map[string]any)
			for _, k := range readOnly {
				delete(app, k)
			}
			apps = append(apps, app)
		}
	}
	api.json("PUT", "/v2/groups", root, http.StatusOK, nil)
	check("group.json", apps)
	var g marathon.Group
	api.json("GET", "/v2/groups"+root.Groups[0]["id"].(string), nil, http.StatusOK, &g)
	if len(g.Apps) != len(root.Groups[0]["apps"].([]any)) {
		t.Errorf("group %s has %d apps, want %d", g.ID, len(g.Apps), len(root.Groups[0]["apps"].([]any)))
	}

	var created, patch []map[string]any
	decode(t, filepath.Join(dir, "examples", "apps_create.json"), &created)
	api.json("PUT", "/v2/apps", created, http.StatusOK, nil)
	check("apps_create.json", created)
	decode(t, filepath.Join(dir, "examples", "apps_patch.json"), &patch)
	api.json("PATCH", "/v2/apps?force=true", patch, http.StatusOK, nil)
	check("apps_patch.json", patch)
}

// TestGroupDeploymentFailover holds a dependent back behind an app that never gets ready, hands
// the leadership over, and checks that the new leader resumes the deployment at the same step
// (the dependent still held) and that cancelling it lets the dependent start.
func TestGroupDeploymentFailover(t *testing.T) {
	if !lookPath("busybox") {
		t.Skip("busybox is not installed: no HTTP server to run")
	}
	c, api := newServicesCluster(t, 2, 1)
	var res marathon.DeploymentResult
	api.json("POST", "/v2/groups", map[string]any{"id": "/held", "apps": []any{
		map[string]any{
			"id": "db", "cmd": "exec busybox httpd -f -p $PORT0 -h .", "cpus": 0.1, "mem": 16,
			"portDefinitions": []map[string]any{{"port": 0, "name": "http"}},
			"readinessChecks": []map[string]any{{"path": "/never", "portName": "http", "intervalSeconds": 2, "timeoutSeconds": 1}},
		},
		map[string]any{"id": "web", "cmd": "sleep 3600", "cpus": 0.1, "mem": 16, "dependencies": []string{"db"}},
	}}, http.StatusCreated, &res)
	waitRunning(t, api, "/held/db", 1, 30*time.Second)
	step := func() int {
		var deps []marathon.Deployment
		api.json("GET", "/v2/deployments", nil, http.StatusOK, &deps)
		if len(deps) != 1 || deps[0].ID != res.DeploymentID {
			t.Fatalf("deployments %+v, want %s", deps, res.DeploymentID)
		}
		return deps[0].CurrentStep
	}
	if s := step(); s != 2 || len(api.tasks("/held/web")) != 0 {
		t.Fatalf("step %d, web tasks %v; want step 2 (scale db), web held", s, api.tasks("/held/web"))
	}

	old := c.ServicesLeaderIndex()
	api.json("DELETE", "/v2/leader", nil, http.StatusOK, nil)
	testutil.WaitFor(t, 30*time.Second, func() error {
		if i := c.ServicesLeaderIndex(); i < 0 || i == old {
			return fmt.Errorf("leader %d", i)
		}
		return nil
	})
	api = newClient(t, c.ServicesLeaderURL())
	waitRunning(t, api, "/held/db", 1, 30*time.Second)
	if s := step(); s != 2 || len(api.tasks("/held/web")) != 0 {
		t.Fatalf("after the failover: step %d, web tasks %v; want step 2, web held", s, api.tasks("/held/web"))
	}
	var versions []string
	api.json("GET", "/v2/groups/held/versions", nil, http.StatusOK, &versions)
	if !slices.Equal(versions, []string{res.Version}) {
		t.Errorf("after the failover: versions %v, want [%s]", versions, res.Version)
	}

	api.json("DELETE", "/v2/deployments/"+res.DeploymentID+"?force=true", nil, http.StatusAccepted, nil)
	waitRunning(t, api, "/held/web", 1, 30*time.Second)
}

// TestGroupPatch changes a top-level group's enforceRole with PATCH: no deployment, the apps
// untouched, the setting kept by a new leader; and refuses what PATCH cannot change.
func TestGroupPatch(t *testing.T) {
	c, api := newServicesCluster(t, 3, 0)
	var created marathon.App
	api.json("POST", "/v2/apps", sleeper("/team/a", 0), http.StatusCreated, &created)
	waitNoDeployments(t, api)
	api.json("PATCH", "/v2/groups/team", map[string]any{"enforceRole": true}, http.StatusOK, nil)
	var ds []marathon.Deployment
	api.json("GET", "/v2/deployments", nil, http.StatusOK, &ds)
	if len(ds) != 0 {
		t.Errorf("PATCH started deployments %+v", ds)
	}
	check := func(api *client) {
		t.Helper()
		var g marathon.Group
		api.json("GET", "/v2/groups/team", nil, http.StatusOK, &g)
		if g.EnforceRole == nil || !*g.EnforceRole {
			t.Errorf("enforceRole %v after PATCH", g.EnforceRole)
		}
		if len(g.Apps) != 1 || g.Apps[0].Version != created.Version {
			t.Errorf("PATCH changed the apps: %+v", g.Apps)
		}
	}
	check(api)
	for _, tt := range []struct {
		path string
		body any
		want int
	}{
		{"/v2/groups/team/sub", map[string]any{"enforceRole": true}, http.StatusUnprocessableEntity},
		{"/v2/groups/", map[string]any{"enforceRole": true}, http.StatusUnprocessableEntity},
		{"/v2/groups/nope", map[string]any{"enforceRole": true}, http.StatusNotFound},
		{"/v2/groups/team", map[string]any{"enforceRole": "yes"}, http.StatusBadRequest},
		{"/v2/groups/team", map[string]any{"apps": []any{}}, http.StatusBadRequest},
		{"/v2/groups/team", "{", http.StatusBadRequest},
	} {
		if code, _, body := api.do("PATCH", tt.path, tt.body); code != tt.want {
			t.Errorf("PATCH %s %v: %d %s, want %d", tt.path, tt.body, code, body, tt.want)
		}
	}
	// A new leader reads the setting back from etcd.
	old := c.ServicesLeaderIndex()
	c.StopMaster(old)
	check(newClient(t, c.Masters()[c.WaitForServicesLeader(30*time.Second)].ServicesURL))
}

// TestGroupVersionsOfAppChanges records a version of a group made through /v2/groups at every
// change of its apps made through /v2/apps, and rolls the group back to one of them.
func TestGroupVersionsOfAppChanges(t *testing.T) {
	_, api := newServicesCluster(t, 1, 0)
	versions := func() []string {
		t.Helper()
		var vs []string
		api.json("GET", "/v2/groups/vg/versions", nil, http.StatusOK, &vs)
		return vs
	}
	api.json("POST", "/v2/groups", map[string]any{"id": "/vg", "apps": []any{sleeper("a", 0)}}, http.StatusCreated, nil)
	waitNoDeployments(t, api)
	steps := []struct {
		method, path string
		body         any
	}{
		{"PUT", "/v2/apps/vg/a", map[string]any{"cmd": "sleep 7"}},
		{"POST", "/v2/apps", sleeper("/vg/b", 0)},
		{"POST", "/v2/apps/vg/a/restart", nil},
		{"DELETE", "/v2/apps/vg/b", nil},
	}
	for i, st := range steps {
		code, _, body := api.do(st.method, st.path, st.body)
		if code/100 != 2 {
			t.Fatalf("%s %s: %d %s", st.method, st.path, code, body)
		}
		waitNoDeployments(t, api)
		if vs := versions(); len(vs) != i+2 {
			t.Fatalf("after %s %s: versions %v, want %d", st.method, st.path, vs, i+2)
		}
	}
	// Back to the version made by POST /v2/apps: both apps, a with its new command.
	vs := versions() // newest first
	api.json("PUT", "/v2/groups/vg", map[string]any{"version": vs[2]}, http.StatusOK, nil)
	waitNoDeployments(t, api)
	var g marathon.Group
	api.json("GET", "/v2/groups/vg", nil, http.StatusOK, &g)
	if len(g.Apps) != 2 || g.Apps[0].Cmd == nil || *g.Apps[0].Cmd != "sleep 7" {
		t.Errorf("after the rollback to %s: %+v", vs[2], g.Apps)
	}
	// A change of a group within it through /v2/groups is a version of it too.
	api.json("POST", "/v2/groups/vg", map[string]any{"id": "inner", "apps": []any{sleeper("c", 0)}}, http.StatusCreated, nil)
	waitNoDeployments(t, api)
	if n := len(versions()); n != len(steps)+3 {
		t.Errorf("after creating /vg/inner: %d versions of /vg, want %d", n, len(steps)+3)
	}
	// Apps outside groups made through /v2/groups leave no group versions.
	api.json("POST", "/v2/apps", sleeper("/loose/c", 0), http.StatusCreated, nil)
	var loose []string
	api.json("GET", "/v2/groups/loose/versions", nil, http.StatusOK, &loose)
	if len(loose) != 0 {
		t.Errorf("versions of /loose: %v", loose)
	}
}
