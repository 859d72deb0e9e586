package allocator

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func res(t testing.TB, s string) mesos.Resources {
	t.Helper()
	r, err := mesos.ParseResources(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// cluster returns an allocator with n agents "a0".."a<n-1>" of the given resources.
func cluster(t testing.TB, opts Options, n int, resources string) *Allocator {
	t.Helper()
	a := New(opts)
	for i := range n {
		a.AddAgent(fmt.Sprintf("a%d", i), res(t, resources))
	}
	return a
}

// count returns how many offers each framework/role got.
func count(offers []Offer) map[string]int {
	m := map[string]int{}
	for _, o := range offers {
		m[o.FrameworkID+"/"+o.Role]++
	}
	return m
}

func TestDRF(t *testing.T) {
	tests := []struct {
		name    string
		weights map[string]float64
		agents  int
		setup   func(a *Allocator)
		want    map[string]int
	}{
		{
			name:   "two frameworks share equally",
			agents: 10,
			setup: func(a *Allocator) {
				a.AddFramework("f1", []string{"r"}, nil)
				a.AddFramework("f2", []string{"r"}, nil)
			},
			want: map[string]int{"f1/r": 5, "f2/r": 5},
		},
		{
			name:   "a framework already using more gets less",
			agents: 12,
			setup: func(a *Allocator) {
				a.AddAgent("big", mesos.Resources{mesos.ScalarResource("cpus", 40), mesos.ScalarResource("mem", 40960)})
				a.AddFramework("f1", []string{"r"}, nil)
				a.AddFramework("f2", []string{"r"}, nil)
				a.Allocate("big", "f1", "r", a.Total("big"))
			},
			want: map[string]int{"f2/r": 11, "f1/r": 1},
		},
		{
			name:    "weighted roles",
			weights: map[string]float64{"heavy": 2},
			agents:  9,
			setup: func(a *Allocator) {
				a.AddFramework("f1", []string{"heavy"}, nil)
				a.AddFramework("f2", []string{"light"}, nil)
			},
			want: map[string]int{"f1/heavy": 6, "f2/light": 3},
		},
		{
			name:   "roles first, then frameworks within a role",
			agents: 8,
			setup: func(a *Allocator) {
				a.AddFramework("f1", []string{"crowded"}, nil)
				a.AddFramework("f2", []string{"crowded"}, nil)
				a.AddFramework("f3", []string{"crowded"}, nil)
				a.AddFramework("f4", []string{"crowded"}, nil)
				a.AddFramework("f5", []string{"alone"}, nil)
			},
			want: map[string]int{"f1/crowded": 1, "f2/crowded": 1, "f3/crowded": 1, "f4/crowded": 1, "f5/alone": 4},
		},
		{
			name:   "a multi-role framework is a client in each role",
			agents: 4,
			setup: func(a *Allocator) {
				a.AddFramework("f1", []string{"x", "y"}, nil)
				a.AddFramework("f2", []string{"x"}, nil)
			},
			want: map[string]int{"f1/x": 1, "f2/x": 1, "f1/y": 2},
		},
		{
			name:   "default role",
			agents: 2,
			setup:  func(a *Allocator) { a.AddFramework("f1", nil, nil) },
			want:   map[string]int{"f1/*": 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := cluster(t, Options{RoleWeights: tt.weights}, tt.agents, "cpus:4;mem:4096;ports:[31000-31999]")
			tt.setup(a)
			got := count(a.Run(t0))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("offers = %v, want %v", got, tt.want)
			}
			checkInvariants(t, a, true)
		})
	}
}

func TestRunOffersAllFreeResources(t *testing.T) {
	a := cluster(t, Options{}, 1, "cpus:4;mem:4096;disk:100;ports:[31000-31999]")
	a.AddFramework("f1", []string{"web"}, nil)
	a.Allocate("a0", "f1", "web", res(t, "cpus:1;mem:1024;ports:[31000-31009]"))
	offers := a.Run(t0)
	if len(offers) != 1 {
		t.Fatalf("offers = %v, want one", offers)
	}
	o := offers[0]
	want := res(t, "cpus:3;mem:3072;disk:100;ports:[31010-31999]").WithAllocationRole("web")
	if o.FrameworkID != "f1" || o.AgentID != "a0" || o.Role != "web" || !reflect.DeepEqual(o.Resources, want) {
		t.Errorf("offer = %+v, want all free resources of a0 for f1 in web", o)
	}
	if !a.Free("a0").IsEmpty() || !a.Used("a0").Equal(a.Total("a0")) {
		t.Errorf("after the offer: free %v, used %v", a.Free("a0"), a.Used("a0"))
	}
	if offers := a.Run(t0); len(offers) != 0 {
		t.Errorf("second pass offered %v", offers)
	}
}

func TestMinimumAllocatable(t *testing.T) {
	tests := []struct {
		total string
		offer bool
	}{
		{"cpus:0.01", true},
		{"mem:32", true},
		{"cpus:0.009;mem:31.999;disk:1000;ports:[1-100]", false},
		{"ports:[1-100]", false},
	}
	for _, tt := range tests {
		t.Run(tt.total, func(t *testing.T) {
			a := cluster(t, Options{}, 1, tt.total)
			a.AddFramework("f1", nil, nil)
			if got := len(a.Run(t0)) == 1; got != tt.offer {
				t.Errorf("offered = %v, want %v", got, tt.offer)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	a := cluster(t, Options{}, 1, "cpus:1;mem:1024")
	a.AddFramework("f1", nil, nil)
	a.AddFramework("f2", nil, nil)
	a.Filter("f1", "*", "a0", t0.Add(5*time.Second))
	a.Filter("f2", "*", "a0", t0.Add(10*time.Second))
	a.Filter("f1", "*", "a0", t0.Add(time.Second)) // an earlier filter does not shorten a later one
	steps := []struct {
		at   time.Duration
		want map[string]int
	}{
		{0, map[string]int{}},
		{5*time.Second - 1, map[string]int{}},
		{5 * time.Second, map[string]int{"f1/*": 1}},
	}
	for _, s := range steps {
		got := count(a.Run(t0.Add(s.at)))
		if !reflect.DeepEqual(got, s.want) {
			t.Errorf("at +%v: offers = %v, want %v", s.at, got, s.want)
		}
	}
	a.Recover("a0", "f1", a.Total("a0"))
	if got := count(a.Run(t0.Add(9 * time.Second))); !reflect.DeepEqual(got, map[string]int{"f1/*": 1}) {
		t.Errorf("f2 still filtered: offers = %v", got)
	}
	a.Recover("a0", "f1", a.Total("a0"))
	a.Filter("f1", "*", "a0", t0.Add(time.Hour))
	if got := count(a.Run(t0.Add(10 * time.Second))); !reflect.DeepEqual(got, map[string]int{"f2/*": 1}) {
		t.Errorf("after f2's filter expired: offers = %v", got)
	}
}

// Filters hold an agent back in one role of a framework, and REVIVE clears those of the roles
// it names (all of them when it names none), as in Mesos.
func TestFiltersPerRole(t *testing.T) {
	a := cluster(t, Options{}, 1, "cpus:1;mem:1024")
	a.AddFramework("f1", []string{"x", "y"}, nil)
	run := func(want map[string]int) {
		t.Helper()
		if got := count(a.Run(t0)); !reflect.DeepEqual(got, want) {
			t.Fatalf("offers = %v, want %v", got, want)
		}
		if len(want) > 0 {
			a.Recover("a0", "f1", a.Total("a0"))
		}
	}
	a.Filter("f1", "x", "a0", t0.Add(time.Hour))
	run(map[string]int{"f1/y": 1})
	a.Filter("f1", "y", "a0", t0.Add(time.Hour))
	run(map[string]int{})
	a.Revive("f1", []string{"y"})
	run(map[string]int{"f1/y": 1})
	a.Filter("f1", "y", "a0", t0.Add(time.Hour))
	a.Revive("f1", nil)
	run(map[string]int{"f1/x": 1})
}

func TestSuppressRevive(t *testing.T) {
	a := cluster(t, Options{}, 2, "cpus:1;mem:1024")
	a.AddFramework("f1", []string{"x", "y"}, []string{"y"})
	if got := count(a.Run(t0)); !reflect.DeepEqual(got, map[string]int{"f1/x": 2}) {
		t.Fatalf("suppressed at subscription: offers = %v", got)
	}
	recoverAll(t, a, "f1")
	a.Suppress("f1", nil)
	if got := a.Run(t0); len(got) != 0 {
		t.Fatalf("all roles suppressed: offers = %v", got)
	}
	a.Filter("f1", "*", "a0", t0.Add(time.Hour))
	a.Revive("f1", []string{"y"})
	if got := count(a.Run(t0)); !reflect.DeepEqual(got, map[string]int{"f1/y": 2}) {
		t.Fatalf("revived y, filter cleared: offers = %v", got)
	}
	recoverAll(t, a, "f1")
	a.Revive("f1", nil)
	if got := count(a.Run(t0)); !reflect.DeepEqual(got, map[string]int{"f1/x": 1, "f1/y": 1}) {
		t.Fatalf("revived all: offers = %v", got)
	}
}

func recoverAll(t *testing.T, a *Allocator, frameworkID string) {
	t.Helper()
	for id := range a.agents {
		a.Recover(id, frameworkID, a.Total(id))
	}
	checkInvariants(t, a, true)
}

func TestDeactivate(t *testing.T) {
	a := cluster(t, Options{}, 2, "cpus:1;mem:1024")
	a.AddFramework("f1", nil, nil)
	a.AddFramework("f2", nil, nil)
	a.DeactivateAgent("a1")
	a.DeactivateFramework("f1")
	if got := count(a.Run(t0)); !reflect.DeepEqual(got, map[string]int{"f2/*": 1}) {
		t.Fatalf("offers = %v, want one to f2", got)
	}
	a.ActivateAgent("a1")
	a.ActivateFramework("f1")
	if got := count(a.Run(t0)); !reflect.DeepEqual(got, map[string]int{"f1/*": 1}) {
		t.Fatalf("after activation: offers = %v, want one to f1", got)
	}
	if !a.Used("a0").Equal(a.Total("a0")) {
		t.Error("deactivation lost an allocation")
	}
}

func TestRecoverAfterDecline(t *testing.T) {
	a := cluster(t, Options{}, 1, "cpus:4;mem:4096;ports:[31000-31099]")
	a.AddFramework("f1", nil, nil)
	a.AddFramework("f2", nil, nil)
	offers := a.Run(t0)
	if len(offers) != 1 || offers[0].FrameworkID != "f1" {
		t.Fatalf("offers = %v", offers)
	}
	// f1 launches a task with part of the offer and declines the rest.
	task := res(t, "cpus:1;mem:512;ports:[31000-31000]")
	a.Recover("a0", "f1", offers[0].Resources.Subtract(task).WithAllocationRole("*"))
	a.Filter("f1", "*", "a0", t0.Add(5*time.Second))
	if got, want := a.Used("a0"), task; !got.Equal(want) {
		t.Fatalf("used = %v, want %v", got, want)
	}
	offers = a.Run(t0)
	if len(offers) != 1 || offers[0].FrameworkID != "f2" || !offers[0].Resources.Equal(res(t, "cpus:3;mem:3584;ports:[31001-31099]")) {
		t.Fatalf("offers after decline = %v", offers)
	}
	a.Recover("a0", "f2", offers[0].Resources)
	a.Recover("a0", "f1", task) // the task ends
	a.Recover("a0", "f1", task) // recovering again changes nothing
	if !a.Used("a0").IsEmpty() || !a.Free("a0").Equal(a.Total("a0")) {
		t.Fatalf("after recovery: used %v, free %v", a.Used("a0"), a.Free("a0"))
	}
	checkInvariants(t, a, true)
}

func TestRecoverByAllocationRole(t *testing.T) {
	a := cluster(t, Options{}, 1, "cpus:4;mem:4096")
	a.AddFramework("f1", []string{"x", "y"}, nil)
	a.Allocate("a0", "f1", "x", res(t, "cpus:1;mem:1024"))
	a.Allocate("a0", "f1", "y", res(t, "cpus:2;mem:2048"))
	a.Recover("a0", "f1", res(t, "cpus:1;mem:1024").WithAllocationRole("y"))
	x, y := a.frameworks["f1"].clients["x"], a.frameworks["f1"].clients["y"]
	if got := a.agents["a0"].allocOf(x); !got.Equal(res(t, "cpus:1;mem:1024")) {
		t.Errorf("x holds %v", got)
	}
	if got := a.agents["a0"].allocOf(y); !got.Equal(res(t, "cpus:1;mem:1024")) {
		t.Errorf("y holds %v", got)
	}
	// Without AllocationInfo, and more than one role holds: taken from the roles in name order.
	a.Recover("a0", "f1", res(t, "cpus:1.5"))
	if got := a.Used("a0"); !got.Equal(res(t, "cpus:0.5;mem:2048")) {
		t.Errorf("used = %v", got)
	}
	checkInvariants(t, a, true)
}

func TestRemove(t *testing.T) {
	a := cluster(t, Options{}, 2, "cpus:4;mem:4096")
	a.AddFramework("f1", []string{"x"}, nil)
	a.AddFramework("f2", []string{"x"}, nil)
	a.Run(t0)
	if a.DominantShare("f1") != 0.5 || a.DominantShare("f2") != 0.5 {
		t.Fatalf("shares %v, %v", a.DominantShare("f1"), a.DominantShare("f2"))
	}
	a.Filter("f2", "x", "a0", t0.Add(time.Hour))
	a.RemoveAgent("a0")
	checkInvariants(t, a, true)
	if _, ok := a.frameworks["f2"].filters[filterKey{"x", "a0"}]; ok {
		t.Error("filter of a removed agent kept")
	}
	if a.Free("a0") != nil || a.Total("a0") != nil || a.Used("a0") != nil {
		t.Error("removed agent still reported")
	}
	a.RemoveFramework("f1")
	a.RemoveFramework("f2")
	checkInvariants(t, a, true)
	if len(a.roles) != 0 || a.DominantShare("f1") != 0 || !a.Used("a1").IsEmpty() {
		t.Errorf("frameworks left traces: roles %v, used %v", a.roles, a.Used("a1"))
	}
	a.AddFramework("f3", nil, nil)
	if got := count(a.Run(t0)); !reflect.DeepEqual(got, map[string]int{"f3/*": 1}) {
		t.Errorf("offers after removal = %v", got)
	}
}

func TestAddAgentAgain(t *testing.T) {
	a := cluster(t, Options{}, 1, "cpus:4;mem:4096")
	a.AddFramework("f1", nil, nil)
	a.Allocate("a0", "f1", "*", res(t, "cpus:1;mem:1024"))
	a.AddAgent("a0", res(t, "cpus:8;mem:8192"))
	if got := a.Free("a0"); !got.Equal(res(t, "cpus:7;mem:7168")) {
		t.Errorf("free = %v", got)
	}
	if got := a.DominantShare("f1"); got != 0.125 {
		t.Errorf("share = %v, want 0.125", got)
	}
	checkInvariants(t, a, true)
}

func TestAllocateBeyondFree(t *testing.T) {
	a := cluster(t, Options{}, 1, "cpus:1;mem:1024")
	a.Allocate("a0", "old", "web", res(t, "cpus:2;mem:512"))
	a.Allocate("missing-agent", "old", "web", res(t, "cpus:2"))
	if got := a.Used("a0"); !got.Equal(res(t, "cpus:2;mem:512")) {
		t.Errorf("used = %v", got)
	}
	if got := a.Free("a0"); !got.Equal(res(t, "mem:512")) {
		t.Errorf("free = %v", got)
	}
	a.AddFramework("f1", nil, nil)
	offers := a.Run(t0)
	if len(offers) != 1 || !offers[0].Resources.Equal(res(t, "mem:512")) {
		t.Errorf("offers = %v", offers)
	}
	if got := a.DominantShare("old"); got != 2 {
		t.Errorf("share of the unregistered framework = %v, want 2", got)
	}
	checkInvariants(t, a, false)
	a.RemoveFramework("old")
	checkInvariants(t, a, true)
}

func TestAgentOrderRotates(t *testing.T) {
	a := cluster(t, Options{}, 3, "cpus:1;mem:1024")
	a.AddFramework("f1", nil, nil)
	var firsts []string
	for range 4 {
		offers := a.Run(t0)
		firsts = append(firsts, offers[0].AgentID)
		recoverAll(t, a, "f1")
	}
	if want := []string{"a0", "a1", "a2", "a0"}; !reflect.DeepEqual(firsts, want) {
		t.Errorf("first agents = %v, want %v", firsts, want)
	}
}
