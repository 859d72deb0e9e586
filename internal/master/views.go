package master

import (
	"slices"
	"strings"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// The operator API's JSON shapes, as Mesos' /master/state emits them (see
// compat/mesos/STATE.md): tools such as mesos-dns read these field names.

type stateJSON struct {
	Version                string            `json:"version"`
	GitSHA                 string            `json:"git_sha,omitempty"`
	BuildDate              string            `json:"build_date"`
	BuildTime              float64           `json:"build_time"`
	BuildUser              string            `json:"build_user"`
	StartTime              float64           `json:"start_time"`
	ElectedTime            float64           `json:"elected_time,omitempty"`
	ID                     string            `json:"id"`
	PID                    string            `json:"pid"`
	Hostname               string            `json:"hostname"`
	Leader                 string            `json:"leader,omitempty"`
	LeaderInfo             *mesos.MasterInfo `json:"leader_info,omitempty"`
	ActivatedSlaves        int               `json:"activated_slaves"`
	DeactivatedSlaves      int               `json:"deactivated_slaves"`
	UnreachableSlaves      int               `json:"unreachable_slaves"`
	Flags                  map[string]string `json:"flags"`
	Slaves                 []agentJSON       `json:"slaves"`
	RecoveredSlaves        []agentJSON       `json:"recovered_slaves"`
	Frameworks             []frameworkJSON   `json:"frameworks"`
	CompletedFrameworks    []frameworkJSON   `json:"completed_frameworks"`
	OrphanTasks            []mesos.TaskView  `json:"orphan_tasks"`
	UnregisteredFrameworks []string          `json:"unregistered_frameworks"`
}

type agentJSON struct {
	ID                  string         `json:"id"`
	PID                 string         `json:"pid"`
	Hostname            string         `json:"hostname"`
	Port                int32          `json:"port"`
	RegisteredTime      float64        `json:"registered_time,omitempty"`
	ReregisteredTime    float64        `json:"reregistered_time,omitempty"`
	Resources           map[string]any `json:"resources"`
	UsedResources       map[string]any `json:"used_resources"`
	OfferedResources    map[string]any `json:"offered_resources"`
	ReservedResources   map[string]any `json:"reserved_resources"`
	UnreservedResources map[string]any `json:"unreserved_resources"`
	Attributes          map[string]any `json:"attributes"`
	Active              bool           `json:"active"`
	Deactivated         bool           `json:"deactivated"`
	DrainInfo           *drainInfo     `json:"drain_info,omitempty"`
	Version             string         `json:"version"`
	Capabilities        []string       `json:"capabilities"`
}

type frameworkJSON struct {
	ID               string           `json:"id"`
	Name             string           `json:"name"`
	PID              string           `json:"pid"`
	Hostname         string           `json:"hostname"`
	User             string           `json:"user"`
	Principal        string           `json:"principal,omitempty"`
	WebuiURL         string           `json:"webui_url"`
	Role             string           `json:"role"`
	Roles            []string         `json:"roles"`
	Active           bool             `json:"active"`
	Connected        bool             `json:"connected"`
	Recovered        bool             `json:"recovered"`
	FailoverTimeout  float64          `json:"failover_timeout"`
	Checkpoint       bool             `json:"checkpoint"`
	Capabilities     []string         `json:"capabilities"`
	RegisteredTime   float64          `json:"registered_time,omitempty"`
	ReregisteredTime float64          `json:"reregistered_time,omitempty"`
	UnregisteredTime float64          `json:"unregistered_time,omitempty"`
	Resources        map[string]any   `json:"resources"`
	UsedResources    map[string]any   `json:"used_resources"`
	OfferedResources map[string]any   `json:"offered_resources"`
	Labels           []mesos.Label    `json:"labels,omitempty"`
	Tasks            []mesos.TaskView `json:"tasks"`
	UnreachableTasks []mesos.TaskView `json:"unreachable_tasks"`
	CompletedTasks   []mesos.TaskView `json:"completed_tasks"`
	Offers           []offerJSON      `json:"offers"`
	Executors        []executorJSON   `json:"executors"`
}

type offerJSON struct {
	ID             string                `json:"id"`
	FrameworkID    string                `json:"framework_id"`
	SlaveID        string                `json:"slave_id"`
	Resources      map[string]any        `json:"resources"`
	AllocationInfo *mesos.AllocationInfo `json:"allocation_info,omitempty"`
}

type executorJSON struct {
	ExecutorID  string             `json:"executor_id"`
	Name        string             `json:"name"`
	FrameworkID string             `json:"framework_id"`
	SlaveID     string             `json:"slave_id"`
	Type        string             `json:"type,omitempty"`
	Command     *mesos.CommandInfo `json:"command,omitempty"`
	Resources   map[string]any     `json:"resources"`
}

func sortedAgents(st *leaderState) []*agent {
	out := make([]*agent, 0, len(st.agents))
	for _, a := range st.agents {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y *agent) int { return strings.Compare(x.id, y.id) })
	return out
}

func sortedFrameworks(st *leaderState) []*framework {
	out := make([]*framework, 0, len(st.frameworks))
	for _, f := range st.frameworks {
		out = append(out, f)
	}
	slices.SortFunc(out, func(x, y *framework) int { return strings.Compare(x.id, y.id) })
	return out
}

func agentView(st *leaderState, a *agent) agentJSON {
	var used, offered mesos.Resources
	for _, t := range a.tasks {
		used = used.Add(t.resources)
	}
	for _, o := range a.offers {
		offered = offered.Add(o.resources)
	}
	return agentJSON{
		ID:                  a.id,
		PID:                 a.pid,
		Hostname:            a.info.Hostname,
		Port:                cmpOr(a.info.Port, 5051),
		RegisteredTime:      seconds(a.registeredTime),
		ReregisteredTime:    seconds(a.reregisteredTime),
		Resources:           a.info.Resources.Flatten(),
		UsedResources:       used.Flatten(),
		OfferedResources:    offered.Flatten(),
		ReservedResources:   map[string]any{},
		UnreservedResources: a.info.Resources.Flatten(),
		Attributes:          mesos.FlattenAttributes(a.info.Attributes),
		Active:              a.active(),
		Deactivated:         !a.active(),
		DrainInfo:           a.drain.clone(),
		Version:             a.version,
		Capabilities:        []string{"MULTI_ROLE", "HIERARCHICAL_ROLE"},
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func frameworkView(f *framework, withTasks bool) frameworkJSON {
	roles := f.info.EffectiveRoles()
	caps := make([]string, 0, len(f.info.Capabilities))
	for _, c := range f.info.Capabilities {
		caps = append(caps, c.Type)
	}
	var used, offered mesos.Resources
	for _, t := range f.tasks {
		used = used.Add(t.resources)
	}
	for _, o := range f.offers {
		offered = offered.Add(o.resources)
	}
	out := frameworkJSON{
		ID:               f.id,
		Name:             f.info.Name,
		PID:              f.pid,
		Hostname:         f.info.Hostname,
		User:             f.info.User,
		Principal:        f.info.Principal,
		WebuiURL:         f.info.WebuiURL,
		Role:             roles[0],
		Roles:            roles,
		Active:           f.connected(),
		Connected:        f.connected(),
		Recovered:        f.recovered,
		FailoverTimeout:  f.info.FailoverTimeoutSeconds(),
		Checkpoint:       f.info.Checkpoint != nil && *f.info.Checkpoint,
		Capabilities:     caps,
		RegisteredTime:   seconds(f.registeredTime),
		ReregisteredTime: seconds(f.reregisteredTime),
		UnregisteredTime: seconds(f.unregisteredTime),
		Resources:        used.Add(offered).Flatten(),
		UsedResources:    used.Flatten(),
		OfferedResources: offered.Flatten(),
		Tasks:            []mesos.TaskView{},
		UnreachableTasks: []mesos.TaskView{},
		CompletedTasks:   []mesos.TaskView{},
		Offers:           []offerJSON{},
		Executors:        []executorJSON{},
	}
	if f.info.Labels != nil {
		out.Labels = f.info.Labels.Labels
	}
	if !withTasks {
		return out
	}
	seenExec := map[string]bool{}
	for _, t := range sortedTasks(f.tasks) {
		out.Tasks = append(out.Tasks, taskView(t))
		ex := t.executor
		if ex == nil {
			ex = t.info.Executor
		}
		if ex != nil && !seenExec[t.agentID+"/"+ex.ExecutorID.Value] {
			seenExec[t.agentID+"/"+ex.ExecutorID.Value] = true
			out.Executors = append(out.Executors, executorJSON{
				ExecutorID: ex.ExecutorID.Value, Name: ex.Name, FrameworkID: f.id, SlaveID: t.agentID,
				Type: ex.Type, Command: ex.Command, Resources: ex.Resources.Flatten(),
			})
		}
	}
	for _, t := range sortedTasks(f.unreachable) {
		out.UnreachableTasks = append(out.UnreachableTasks, taskView(t))
	}
	for _, t := range f.completed {
		out.CompletedTasks = append(out.CompletedTasks, taskView(t))
	}
	for _, o := range f.sortedOffers() {
		out.Offers = append(out.Offers, offerJSON{
			ID: o.id, FrameworkID: o.frameworkID, SlaveID: o.agentID,
			Resources: o.resources.Flatten(), AllocationInfo: &mesos.AllocationInfo{Role: o.role},
		})
	}
	return out
}

func sortedTasks(ts map[string]*task) []*task {
	out := make([]*task, 0, len(ts))
	for _, t := range ts {
		out = append(out, t)
	}
	slices.SortFunc(out, func(x, y *task) int { return strings.Compare(x.info.TaskID.Value, y.info.TaskID.Value) })
	return out
}

func taskView(t *task) mesos.TaskView {
	exec := ""
	if t.info.Executor != nil {
		exec = t.info.Executor.ExecutorID.Value
	} else if t.executor != nil {
		exec = t.executor.ExecutorID.Value
	}
	return mesos.NewTaskView(&t.info, t.frameworkID, exec, t.agentID, t.role, t.state, t.statuses)
}
