package marathon_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon/marathontest"
)

func TestAppsDecodesTheExampleAndSendsFilters(t *testing.T) {
	srv := marathontest.New(t)
	srv.Reply("GET", "/v2/apps", 200, marathontest.Example(t, "app_list.json"))
	apps, err := newClient(t, srv.URL).Apps(context.Background(), marathon.AppFilter{
		ID: "my", Cmd: "sleep", Label: "env==prod", Embed: []string{"apps.counts", "apps.deployments"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 || apps[0].ID != "/myapp" || *apps[0].Instances != 3 || *apps[0].TasksRunning != 0 ||
		len(apps[0].Deployments) != 1 || apps[0].Deployments[0].ID != "9538079c-3898-4e32-aa31-799bf9097f74" {
		t.Fatalf("apps = %+v", apps)
	}
	req, _ := srv.Last("GET", "/v2/apps")
	want := map[string][]string{"id": {"my"}, "cmd": {"sleep"}, "label": {"env==prod"}, "embed": {"apps.counts", "apps.deployments"}}
	if !reflect.DeepEqual(map[string][]string(req.Query), want) {
		t.Errorf("query = %v, want %v", req.Query, want)
	}
}

func TestAppWithEmbeds(t *testing.T) {
	srv := marathontest.New(t)
	var app json.RawMessage = marathontest.Example(t, "app.json")
	srv.ReplyJSON("GET", "/v2/apps/prod/web", 200, map[string]any{"app": app})
	got, err := newClient(t, srv.URL).App(context.Background(), "/prod/web", "app.tasks")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "/foo" || got.Cmd == nil || *got.Cmd != "sleep 1000" || got.Container == nil {
		t.Errorf("app = %+v", got)
	}
	if req, _ := srv.Last("GET", "/v2/apps/prod/web"); req.Query.Get("embed") != "app.tasks" {
		t.Errorf("query = %v", req.Query)
	}
}

func TestCreateApp(t *testing.T) {
	srv := marathontest.New(t)
	def := marathontest.Example(t, "app.json")
	srv.Reply("POST", "/v2/apps", 201, def, "Marathon-Deployment-Id", "dep-1")
	c := newClient(t, srv.URL)

	res, err := c.CreateAppJSON(context.Background(), def)
	if err != nil {
		t.Fatal(err)
	}
	if res.DeploymentID != "dep-1" || res.App == nil || res.App.ID != "/foo" {
		t.Errorf("result = %+v", res)
	}
	if req, _ := srv.Last("POST", "/v2/apps"); string(req.Body) != string(def) || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("the definition was not sent unchanged")
	}

	// A typed app goes without the fields GET adds; without the header the id comes from the
	// app's deployments.
	srv.Reply("POST", "/v2/apps", 201, []byte(`{"id":"/web","version":"v1","deployments":[{"id":"dep-2"}]}`))
	app, err := api.DecodeAppInfo([]byte(`{"id":"/web","cmd":"sleep 1","tasksRunning":3,"version":"old"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err = c.CreateApp(context.Background(), app)
	if err != nil || res.DeploymentID != "dep-2" || res.Version != "v1" {
		t.Fatalf("CreateApp = %+v, %v", res, err)
	}
	req, _ := srv.Last("POST", "/v2/apps")
	if _, err := api.DecodeApp(req.Body); err != nil {
		t.Errorf("sent body is not a valid POST body: %v: %s", err, req.Body)
	}
}

func TestDeployableChanges(t *testing.T) {
	result := marathontest.Example(t, "deployments_result.json")
	const depID = "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"
	cases := []struct {
		name      string
		method    string
		path      string
		call      func(*marathon.Client) (*marathon.Result, error)
		wantQuery map[string][]string
		wantBody  string
	}{
		{"scale", "PUT", "/v2/apps/prod/web", func(c *marathon.Client) (*marathon.Result, error) {
			return c.ScaleApp(context.Background(), "/prod/web", 7, true)
		}, map[string][]string{"force": {"true"}}, `{"instances":7}`},
		{"update json", "PUT", "/v2/apps/web", func(c *marathon.Client) (*marathon.Result, error) {
			return c.UpdateAppJSON(context.Background(), "web", []byte(`{"cmd":"x"}`), false)
		}, map[string][]string{}, `{"cmd":"x"}`},
		{"update typed", "PUT", "/v2/apps/web", func(c *marathon.Client) (*marathon.Result, error) {
			cmd := "x"
			return c.UpdateApp(context.Background(), &api.App{ID: "/web", Cmd: &cmd}, false)
		}, map[string][]string{"partialUpdate": {"false"}}, ""},
		{"restart", "POST", "/v2/apps/web/restart", func(c *marathon.Client) (*marathon.Result, error) {
			return c.RestartApp(context.Background(), "/web", true)
		}, map[string][]string{"force": {"true"}}, ""},
		{"delete", "DELETE", "/v2/apps/web", func(c *marathon.Client) (*marathon.Result, error) {
			return c.DeleteApp(context.Background(), "/web", false)
		}, map[string][]string{}, ""},
		{"kill with scale", "DELETE", "/v2/apps/web/tasks/web.1", func(c *marathon.Client) (*marathon.Result, error) {
			return c.KillTask(context.Background(), "/web", "web.1", true, false)
		}, map[string][]string{"scale": {"true"}}, ""},
		{"rollback", "DELETE", "/v2/deployments/" + depID, func(c *marathon.Client) (*marathon.Result, error) {
			return c.RollbackDeployment(context.Background(), depID, false)
		}, map[string][]string{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := marathontest.New(t)
			srv.Reply(tc.method, tc.path, 200, result)
			res, err := tc.call(newClient(t, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if res.DeploymentID != depID || res.Version != "2015-09-29T15:59:51.164Z" {
				t.Errorf("result = %+v", res)
			}
			req, ok := srv.Last(tc.method, tc.path)
			if !ok {
				t.Fatal("no request")
			}
			if !reflect.DeepEqual(map[string][]string(req.Query), tc.wantQuery) {
				t.Errorf("query = %v, want %v", req.Query, tc.wantQuery)
			}
			if tc.wantBody != "" && string(req.Body) != tc.wantBody {
				t.Errorf("body = %s, want %s", req.Body, tc.wantBody)
			}
		})
	}
}

func TestAppVersions(t *testing.T) {
	srv := marathontest.New(t)
	srv.Reply("GET", "/v2/apps/web/versions", 200, []byte(`{ "versions": [ "2014-03-01T23:42:20.938Z" ] }`))
	srv.Reply("GET", "/v2/apps/web/versions/2014-03-01T23:42:20.938Z", 200, marathontest.Example(t, "app.json"))
	c := newClient(t, srv.URL)
	vs, err := c.AppVersions(context.Background(), "/web")
	if err != nil || len(vs) != 1 {
		t.Fatalf("AppVersions = %v, %v", vs, err)
	}
	app, err := c.AppVersion(context.Background(), "/web", vs[0])
	if err != nil || app.ID != "/foo" {
		t.Fatalf("AppVersion = %v, %v", app, err)
	}
}
