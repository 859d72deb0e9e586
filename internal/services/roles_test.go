package services_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// TestGroupEnforceRole gives apps in a top-level group that enforces its role the group's role,
// refuses any other role for them (unless it is the one an app has), lets apps elsewhere have
// the default role or their top-level group's, and follows PATCH /v2/groups toggling
// enforceRole.
func TestGroupEnforceRole(t *testing.T) {
	_, api := newServicesCluster(t, 1, 0)
	role := func(id string) string {
		t.Helper()
		var got struct{ App marathon.App }
		api.json("GET", "/v2/apps"+id, nil, http.StatusOK, &got)
		return got.App.Role
	}
	withRole := func(id, role string) map[string]any {
		app := sleeper(id, 0)
		app["role"] = role
		return app
	}
	refused := func(method, path string, body any, wantPath string) {
		t.Helper()
		var verr marathon.ValidationError
		api.json(method, path, body, http.StatusUnprocessableEntity, &verr)
		want := "expected one of"
		if strings.HasSuffix(wantPath, "/enforceRole") {
			want = "can only be set for top-level groups"
		}
		if len(verr.Details) != 1 || verr.Details[0].Path != wantPath || !strings.Contains(verr.Details[0].Errors[0], want) {
			t.Errorf("%s %s: %+v, want %q at %s", method, path, verr, want, wantPath)
		}
	}

	api.json("POST", "/v2/groups", map[string]any{
		"id": "/dev", "enforceRole": true, "apps": []any{sleeper("a", 0)},
		"groups": []any{map[string]any{"id": "x", "apps": []any{sleeper("y", 0)}}},
	}, http.StatusCreated, nil)
	api.json("POST", "/v2/apps", sleeper("/dev/b", 0), http.StatusCreated, nil)
	api.json("POST", "/v2/apps", withRole("/dev/c", "dev"), http.StatusCreated, nil)
	for id, want := range map[string]string{"/dev/a": "dev", "/dev/x/y": "dev", "/dev/b": "dev", "/dev/c": "dev"} {
		if got := role(id); got != want {
			t.Errorf("%s: role %q, want %q", id, got, want)
		}
	}
	refused("POST", "/v2/apps", withRole("/dev/d", "*"), "/role")
	refused("POST", "/v2/apps", withRole("/dev/d", "ops"), "/role")
	refused("PUT", "/v2/apps/dev/a", map[string]any{"role": "*"}, "/role")
	refused("PUT", "/v2/apps", []any{sleeper("/dev/e", 0), withRole("/dev/f", "*")}, "/(1)/role")
	refused("PUT", "/v2/groups/dev", map[string]any{"apps": []any{sleeper("a", 0), withRole("g", "*")}}, "/apps(1)/role")
	refused("POST", "/v2/groups", map[string]any{"id": "/dev/sub", "enforceRole": true}, "/enforceRole")

	// The root group has the default role only; a group that does not enforce its role lets
	// its apps have either.
	refused("POST", "/v2/apps", withRole("/top", "dev"), "/role")
	api.json("POST", "/v2/apps", sleeper("/top", 0), http.StatusCreated, nil)
	api.json("POST", "/v2/apps", withRole("/ops/a", "ops"), http.StatusCreated, nil)
	api.json("POST", "/v2/apps", sleeper("/ops/b", 0), http.StatusCreated, nil)
	refused("POST", "/v2/apps", withRole("/ops/c", "dev"), "/role")
	for id, want := range map[string]string{"/top": "*", "/ops/a": "ops", "/ops/b": "*"} {
		if got := role(id); got != want {
			t.Errorf("%s: role %q, want %q", id, got, want)
		}
	}

	// PATCH turns enforcement on: new apps get the group's role, an app keeps the role it has.
	api.json("PATCH", "/v2/groups/ops", map[string]any{"enforceRole": true}, http.StatusOK, nil)
	api.json("POST", "/v2/apps", sleeper("/ops/d", 0), http.StatusCreated, nil)
	refused("POST", "/v2/apps", withRole("/ops/e", "*"), "/role")
	api.json("PUT", "/v2/apps/ops/b?force=true", map[string]any{"cmd": "sleep 9"}, http.StatusOK, nil)
	if got, got2 := role("/ops/d"), role("/ops/b"); got != "ops" || got2 != "*" {
		t.Errorf("with enforceRole: /ops/d role %q, /ops/b role %q; want ops, *", got, got2)
	}
	// and off again.
	api.json("PATCH", "/v2/groups/ops", map[string]any{"enforceRole": false}, http.StatusOK, nil)
	api.json("POST", "/v2/apps", withRole("/ops/e", "*"), http.StatusCreated, nil)
	api.json("POST", "/v2/apps", sleeper("/ops/f", 0), http.StatusCreated, nil)
	if got := role("/ops/f"); got != "*" {
		t.Errorf("without enforceRole: /ops/f role %q, want *", got)
	}
}
