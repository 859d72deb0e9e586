package services

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

func planApp(id string, instances int, cmd string, deps ...string) *marathon.App {
	return &marathon.App{ID: id, Instances: new(instances), Cmd: new(cmd), Dependencies: deps}
}

// stepsString renders a plan as "Start /a,Start /b | Scale /a": steps split by "|".
func stepsString(plan [][]action) string {
	var steps []string
	for _, step := range plan {
		var acts []string
		for _, a := range step {
			acts = append(acts, strings.TrimSuffix(a.Action, "Application")+" "+a.App)
		}
		steps = append(steps, strings.Join(acts, ","))
	}
	return strings.Join(steps, " | ")
}

func TestPlanSteps(t *testing.T) {
	db := planApp("/shop/db", 1, "db")
	web := planApp("/shop/web", 2, "web", "/shop/db")
	lb := planApp("/shop/lb", 1, "lb", "web") // relative: /shop/web
	other := planApp("/other", 1, "other")
	apps := func(as ...*marathon.App) map[string]*marathon.App {
		m := map[string]*marathon.App{}
		for _, a := range as {
			m[a.ID] = a
		}
		return m
	}
	with := func(a *marathon.App, instances int, cmd string) *marathon.App {
		c := a.Clone()
		c.Instances, c.Cmd = new(instances), new(cmd)
		return c
	}
	tests := []struct {
		name     string
		before   map[string]*marathon.App // the whole state before
		after    map[string]*marathon.App // the whole state after
		groups   map[string][]string      // group dependencies, both states
		want     string
		wantFail bool
	}{
		{
			name:  "create in dependency order",
			after: apps(lb, web, db, other),
			want:  "Start /other,Start /shop/db,Start /shop/lb,Start /shop/web | Scale /other,Scale /shop/db | Scale /shop/web | Scale /shop/lb",
		},
		{
			name:   "stop dependents first",
			before: apps(lb, web, db, other),
			after:  apps(other),
			want:   "Stop /shop/lb | Stop /shop/web | Stop /shop/db",
		},
		{
			name:   "scale and restart by level, unchanged apps left out",
			before: apps(lb, web, db, other),
			after:  apps(lb, with(web, 4, "web"), with(db, 1, "db2"), other),
			want:   "Restart /shop/db | Scale /shop/web",
		},
		{
			name:   "group dependencies order every app of the group",
			after:  apps(db, planApp("/front/a", 1, "a"), planApp("/front/b", 1, "b")),
			groups: map[string][]string{"/front": {"/shop"}},
			want:   "Start /front/a,Start /front/b,Start /shop/db | Scale /shop/db | Scale /front/a,Scale /front/b",
		},
		{
			name:     "a cycle is refused",
			after:    apps(planApp("/a", 1, "a", "/b"), planApp("/b", 1, "b", "/c"), planApp("/c", 1, "c", "/a")),
			wantFail: true,
		},
		{
			name:  "unknown dependencies are ignored",
			after: apps(planApp("/a", 1, "a", "/nowhere")),
			want:  "Start /a | Scale /a",
		},
		{
			name:  "no instances: started, not scaled",
			after: apps(planApp("/a", 0, "a")),
			want:  "Start /a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := map[string]*marathon.App{}, map[string]*marathon.App{}
			for id, a := range tt.before {
				if b := tt.after[id]; b == nil || !reflect.DeepEqual(a, b) {
					from[id], to[id] = a, b
				}
			}
			for id, a := range tt.after {
				if tt.before[id] == nil {
					to[id] = a
				}
			}
			plan, err := planSteps(from, to, dependencyGraph(tt.before, tt.groups), dependencyGraph(tt.after, tt.groups))
			if tt.wantFail {
				var ae *apiError
				if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(ae.Body), "cyclic") {
					t.Fatalf("err = %v, want a 422 naming the cycle", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := stepsString(plan); got != tt.want {
				t.Errorf("plan\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestHeld(t *testing.T) {
	d := &deployment{CurrentStep: 2, Plan: [][]action{
		{{actionStart, "/a"}, {actionStart, "/b"}},
		{{actionScale, "/a"}},
		{{actionScale, "/b"}},
	}}
	for app, want := range map[string]bool{"/a": false, "/b": true, "/c": false} {
		if got := d.held(app); got != want {
			t.Errorf("held(%s) = %v, want %v", app, got, want)
		}
	}
}

func TestScaledBy(t *testing.T) {
	for _, tt := range []struct {
		n      int
		factor float64
		want   int
	}{{1, 2, 2}, {3, 1.5, 5}, {4, 0.5, 2}, {3, 0, 0}, {0, 10, 0}, {10, 1.1, 11}, {2, 1e300, math.MaxInt32}} {
		if got := scaledBy(tt.n, tt.factor); got != tt.want {
			t.Errorf("scaledBy(%d, %v) = %d, want %d", tt.n, tt.factor, got, tt.want)
		}
	}
}

func TestMergedGroup(t *testing.T) {
	a, b := planApp("/g/a", 1, "a"), planApp("/g/b", 1, "b")
	sub := &marathon.Group{ID: "/g/sub", Apps: []*marathon.App{planApp("/g/sub/c", 1, "c")}}
	cur := &marathon.Group{ID: "/g", Apps: []*marathon.App{a, b}, Groups: []*marathon.Group{sub}, Dependencies: []string{"/x"}}

	// Apps listed replace the group's; groups not listed stay; dependencies stay.
	got := merged(cur, &marathon.Group{ID: "/g", Apps: []*marathon.App{a}})
	if len(got.Apps) != 1 || len(got.Groups) != 1 || len(got.Dependencies) != 1 {
		t.Errorf("apps only: %+v", got)
	}
	// Groups listed replace the group's, merged when they exist; apps not listed stay.
	got = merged(cur, &marathon.Group{ID: "/g", Groups: []*marathon.Group{{ID: "/g/sub", Dependencies: []string{"/y"}}, {ID: "/g/new"}}})
	if len(got.Apps) != 2 || len(got.Groups) != 2 || len(got.Groups[0].Apps) != 1 || got.Groups[0].Dependencies[0] != "/y" {
		t.Errorf("groups only: %+v", got)
	}
	if cur.Groups[0].Dependencies != nil {
		t.Error("merged changed the current group")
	}
}

// FuzzDecodeGroup checks that a group body from the network never panics the way to a plan:
// decoding, validation, defaults, merging into a group, scaling and planning its deployment.
func FuzzDecodeGroup(f *testing.F) {
	for _, s := range []string{
		`{"id":"shop","apps":[{"id":"db","cmd":"x"},{"id":"web","cmd":"x","dependencies":["db"]}]}`,
		`{"id":"/a","groups":[{"id":"b","dependencies":["/a/c"],"apps":[{"id":"x","cmd":"x","instances":3}]},{"id":"c"}]}`,
		`{"id":"a","apps":[{"id":"x","cmd":"x","dependencies":["y"]},{"id":"y","cmd":"y","dependencies":["x"]}]}`,
		`{"scaleBy":1.5}`, `{"version":"2020-01-01T00:00:00.000Z"}`, `{"id":"../..","apps":[{"id":"../x"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := decodeGroup(data, "/base")
		if err != nil {
			return
		}
		cur := &marathon.Group{ID: g.ID, Apps: []*marathon.App{planApp(g.ID+"/old", 2, "old")}}
		target := merged(cur, g)
		if g.ScaleBy != nil {
			target = scaled(cur, *g.ScaleBy)
		}
		apps, groups := map[string]*marathon.App{}, map[string]*marathon.Group{}
		flatten(target, apps, groups)
		deps := map[string][]string{}
		for id, sg := range groups {
			deps[id] = sg.Dependencies
		}
		to := maps.Clone(apps)
		if _, err := planSteps(map[string]*marathon.App{}, to, appDeps{}, dependencyGraph(apps, deps)); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity {
				t.Fatalf("planning failed with %v, want a 422", err)
			}
		}
	})
}
