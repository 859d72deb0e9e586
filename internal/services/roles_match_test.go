package services

import (
	"slices"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

func TestOfferRole(t *testing.T) {
	cpus := mesos.ScalarResource("cpus", 1)
	tests := []struct {
		name  string
		offer mesos.Offer
		want  string
	}{
		{"allocation info", mesos.Offer{AllocationInfo: &mesos.AllocationInfo{Role: "dev"}, Resources: mesos.Resources{cpus}}, "dev"},
		{"resources' allocation info", mesos.Offer{Resources: mesos.Resources{cpus}.WithAllocationRole("ops")}, "ops"},
		{"none", mesos.Offer{Resources: mesos.Resources{cpus}}, "*"},
	}
	for _, tt := range tests {
		if got := offerRole(tt.offer); got != tt.want {
			t.Errorf("%s: role %q, want %q", tt.name, got, tt.want)
		}
	}
}

// roleOffer returns an offer of an agent's resources allocated to role.
func roleOffer(id, agent, role string) mesos.Offer {
	res := mesos.Resources{mesos.ScalarResource("cpus", 4), mesos.ScalarResource("mem", 4096)}
	return mesos.Offer{
		ID: mesos.ID{Value: id}, AgentID: mesos.ID{Value: agent}, Hostname: agent,
		AllocationInfo: &mesos.AllocationInfo{Role: role}, Resources: res.WithAllocationRole(role),
	}
}

// TestMatchByRole places each app only on offers allocated to its role, with that role on its
// task's resources and instance, and reports the other offers as UnfulfilledRole.
func TestMatchByRole(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	spec := func(id, role string) *marathon.App {
		return &marathon.App{ID: id, Cmd: new("sleep 1"), CPUs: 0.5, Mem: 64, Instances: new(2), Role: role, Version: "2026-01-01T00:00:00Z"}
	}
	l := &leader{
		apps: map[string]*app{
			"/web":     {spec: spec("/web", "*"), queued: 2},
			"/dev/api": {spec: spec("/dev/api", "dev"), queued: 2},
			"/ops/db":  {spec: spec("/ops/db", "ops"), queued: 1},
		},
		byApp: map[string]map[string]*instance{},
	}
	offers := []mesos.Offer{roleOffer("O1", "a1", "*"), roleOffer("O2", "a2", "dev"), roleOffer("O3", "a3", "dev")}
	launches, created := l.match(offers, now)

	want := map[string][]string{"/web": {"a1", "a1"}, "/dev/api": {"a2", "a3"}}
	got := map[string][]string{}
	for _, in := range created {
		got[in.AppID] = append(got[in.AppID], in.AgentID)
		if r := appRole(l.apps[in.AppID].spec); in.role() != r {
			t.Errorf("instance %s has role %q, want %q", in.TaskID, in.role(), r)
		}
	}
	for id, agents := range want {
		slices.Sort(got[id])
		if !slices.Equal(got[id], agents) {
			t.Errorf("%s placed on %v, want %v", id, got[id], agents)
		}
	}
	if len(got["/ops/db"]) > 0 {
		t.Errorf("/ops/db placed on %v with no offer of role ops", got["/ops/db"])
	}
	for i, tasks := range launches {
		role := offerRole(offers[i])
		for _, ti := range tasks {
			for _, r := range ti.Resources {
				if r.AllocationInfo == nil || r.AllocationInfo.Role != role {
					t.Errorf("task %s on offer %s: resource %s allocated to %+v, want role %q", ti.TaskID.Value, offers[i].ID.Value, r.Name, r.AllocationInfo, role)
				}
			}
		}
	}
	sum := l.apps["/ops/db"].offerLog.summary()
	if len(sum.RejectSummaryLastOffers) == 0 || sum.RejectSummaryLastOffers[0].Reason != "UnfulfilledRole" || sum.RejectSummaryLastOffers[0].Declined != 3 {
		t.Errorf("/ops/db reject summary %+v, want the 3 offers declined as UnfulfilledRole", sum.RejectSummaryLastOffers)
	}
}

func TestFrameworkRoles(t *testing.T) {
	l := &leader{
		apps: map[string]*app{
			"/web":     {spec: &marathon.App{ID: "/web", Role: "*"}},
			"/dev/api": {spec: &marathon.App{ID: "/dev/api", Role: "dev"}},
			"/old":     {spec: &marathon.App{ID: "/old"}},
		},
		instances: map[string]*instance{
			"ops_db.1":  {TaskID: "ops_db.1", Role: "ops", State: mesos.TaskRunning},
			"gone.1":    {TaskID: "gone.1", Role: "gone", State: mesos.TaskFinished},
			"legacy.1":  {TaskID: "legacy.1", State: mesos.TaskRunning},
			"dev_api.1": {TaskID: "dev_api.1", Role: "dev", State: mesos.TaskStaging},
		},
	}
	if got, want := l.frameworkRoles(), []string{"*", "dev", "ops"}; !slices.Equal(got, want) {
		t.Errorf("frameworkRoles %v, want %v (a live task's role kept, a finished one's dropped)", got, want)
	}
	if got := l.missingRole([]string{"*", "dev"}); got != "" {
		t.Errorf("missingRole with every app's role: %q", got)
	}
	if got := l.missingRole([]string{"*"}); got != "dev" {
		t.Errorf("missingRole without dev: %q, want dev", got)
	}
}
