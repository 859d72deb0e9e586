package services_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestRootGroupVersions records a version of the root group at every change of apps or
// groups, serves the tree at each version, rolls the whole tree back to one, keeps the versions
// across a change of leader, and keeps only the newest 50.
func TestRootGroupVersions(t *testing.T) {
	c, api := newServicesCluster(t, 2, 0)
	rootVersions := func(api *client) []string {
		t.Helper()
		var vs []string
		api.json("GET", "/v2/groups/versions", nil, http.StatusOK, &vs)
		return vs
	}
	if vs := rootVersions(api); len(vs) != 0 {
		t.Fatalf("versions of a new root: %v", vs)
	}
	type change struct {
		method, path string
		body         any
	}
	changes := []change{
		{"POST", "/v2/apps", sleeper("/r/a", 0)},
		{"POST", "/v2/groups", map[string]any{"id": "/g", "apps": []any{sleeper("x", 0)}}},
		{"PUT", "/v2/apps/r/a", map[string]any{"cmd": "sleep 7"}},
		{"PUT", "/v2/groups/g", map[string]any{"apps": []any{sleeper("x", 0), sleeper("y", 0)}}},
		{"DELETE", "/v2/groups/g", nil},
	}
	var made []string // the version each change made
	for i, ch := range changes {
		code, _, body := api.do(ch.method, ch.path, ch.body)
		if code/100 != 2 {
			t.Fatalf("%s %s: %d %s", ch.method, ch.path, code, body)
		}
		var res struct{ Version string } // a deployment result, or the app POST /v2/apps made
		if err := json.Unmarshal(body, &res); err != nil || res.Version == "" {
			t.Fatalf("%s %s: no version in %s", ch.method, ch.path, body)
		}
		made = append(made, res.Version)
		waitNoDeployments(t, api)
		vs := rootVersions(api)
		if len(vs) != i+1 || vs[0] != res.Version {
			t.Fatalf("after %s %s: root versions %v, want %d, newest %s", ch.method, ch.path, vs, i+1, res.Version)
		}
	}
	var root marathon.Group
	api.json("GET", "/v2/groups", nil, http.StatusOK, &root)
	if root.Version != made[len(made)-1] {
		t.Errorf("root version %s, want the last change's %s", root.Version, made[len(made)-1])
	}

	// The tree at a version: /g with x and y, /r/a with its new command.
	var at marathon.Group
	api.json("GET", "/v2/groups/versions/"+made[3], nil, http.StatusOK, &at)
	if at.ID != "/" || at.Version != made[3] || len(at.Groups) != 2 || at.Groups[0].ID != "/g" || len(at.Groups[0].Apps) != 2 ||
		at.Groups[1].ID != "/r" || len(at.Groups[1].Apps) != 1 || *at.Groups[1].Apps[0].Cmd != "sleep 7" {
		t.Errorf("root at %s: %+v", made[3], at)
	}
	var g marathon.Group
	api.json("GET", "/v2/groups/versions/"+made[1], nil, http.StatusOK, &g)
	if len(g.Groups) != 2 || len(g.Groups[0].Apps) != 1 || *g.Groups[1].Apps[0].Cmd != "sleep 3600" {
		t.Errorf("root at %s: %+v", made[1], g)
	}
	api.json("GET", "/v2/groups/versions/2001-01-01T00:00:00.000Z", nil, http.StatusNotFound, nil)
	api.json("GET", "/v2/groups/r/a/versions/"+made[0], nil, http.StatusNotFound, nil)

	// Roll the whole tree back to the version with /g and its two apps, /r/a with its first command.
	var back marathon.DeploymentResult
	api.json("PUT", "/v2/groups", map[string]any{"version": made[3]}, http.StatusOK, &back)
	waitNoDeployments(t, api)
	api.json("GET", "/v2/groups", nil, http.StatusOK, &root)
	if len(root.Groups) != 2 || root.Groups[0].ID != "/g" || len(root.Groups[0].Apps) != 2 || *root.Groups[1].Apps[0].Cmd != "sleep 7" {
		t.Fatalf("after the rollback to %s: %+v", made[3], root)
	}
	var gv []string
	api.json("GET", "/v2/groups/g/versions", nil, http.StatusOK, &gv)
	if len(gv) != 1 || gv[0] != back.Version {
		t.Errorf("versions of the restored /g: %v, want [%s]", gv, back.Version)
	}
	api.json("GET", "/v2/groups/g/versions/"+back.Version, nil, http.StatusOK, &g)
	if g.ID != "/g" || len(g.Apps) != 2 {
		t.Errorf("/g at %s: %+v", back.Version, g)
	}
	want := []string{back.Version}
	for _, v := range slices.Backward(made) {
		want = append(want, v)
	}
	if vs := rootVersions(api); !slices.Equal(vs, want) {
		t.Fatalf("root versions %v, want %v", vs, want)
	}

	// A new leader reads them back.
	old := c.ServicesLeaderIndex()
	api.json("DELETE", "/v2/leader", nil, http.StatusOK, nil)
	testutil.WaitFor(t, 30*time.Second, func() error {
		if i := c.ServicesLeaderIndex(); i < 0 || i == old {
			return fmt.Errorf("leader %d", i)
		}
		return nil
	})
	api = newClient(t, c.ServicesLeaderURL())
	if vs := rootVersions(api); !slices.Equal(vs, want) {
		t.Fatalf("after the failover: root versions %v, want %v", vs, want)
	}

	// Only the newest 50 stay.
	for i := range 50 - len(want) + 3 {
		api.json("POST", "/v2/apps", sleeper(fmt.Sprintf("/many/a%d", i), 0), http.StatusCreated, nil)
	}
	vs := rootVersions(api)
	if len(vs) != 50 || slices.Contains(vs, made[2]) || !slices.Contains(vs, made[3]) {
		t.Fatalf("%d root versions, oldest %s; want 50, from %s", len(vs), vs[len(vs)-1], made[3])
	}
	api.json("GET", "/v2/groups/versions/"+made[0], nil, http.StatusNotFound, nil)
	api.json("GET", "/v2/groups/versions/"+made[3], nil, http.StatusOK, nil)
}

// A root tree too large to store with a change is not kept as a version; the change still
// goes through.
func TestRootGroupVersionTooLarge(t *testing.T) {
	_, api := newServicesCluster(t, 1, 0)
	var vs []string
	for i := range 40 {
		app := sleeper(fmt.Sprintf("/big/a%d", i), 0)
		noise := make([]byte, 24<<10) // hex of random bytes: half of it survives gzip
		_, _ = rand.Read(noise)
		app["labels"] = map[string]string{"noise": hex.EncodeToString(noise)}
		api.json("POST", "/v2/apps", app, http.StatusCreated, nil)
		api.json("GET", "/v2/groups/versions", nil, http.StatusOK, &vs)
		if len(vs) <= i {
			t.Logf("root versions stop at app %d", i)
			var apps struct{ Apps []marathon.App }
			api.json("GET", "/v2/apps", nil, http.StatusOK, &apps)
			if len(apps.Apps) != i+1 {
				t.Fatalf("%d apps after %d created", len(apps.Apps), i+1)
			}
			return
		}
	}
	t.Fatalf("every one of %d root versions was kept, the last of about 1 MiB", len(vs))
}
