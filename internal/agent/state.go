package agent

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// The agent's /state, in the shape of Mesos' agent state JSON. Each command task is its own
// executor (id = task id), as under Mesos' command executor.

type agentState struct {
	Version             string           `json:"version"`
	ID                  string           `json:"id"`
	PID                 string           `json:"pid"`
	Hostname            string           `json:"hostname"`
	StartTime           float64          `json:"start_time"`
	Resources           map[string]any   `json:"resources"`
	UnreservedResources map[string]any   `json:"unreserved_resources"`
	ReservedResources   map[string]any   `json:"reserved_resources"`
	Attributes          map[string]any   `json:"attributes"`
	Frameworks          []frameworkState `json:"frameworks"`
	CompletedFrameworks []frameworkState `json:"completed_frameworks"`
	Flags               map[string]any   `json:"flags"`
}

type frameworkState struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	User               string          `json:"user"`
	Hostname           string          `json:"hostname"`
	Role               string          `json:"role"`
	Roles              []string        `json:"roles"`
	Principal          string          `json:"principal,omitempty"`
	FailoverTimeout    float64         `json:"failover_timeout"`
	Checkpoint         bool            `json:"checkpoint"`
	Executors          []executorState `json:"executors"`
	CompletedExecutors []executorState `json:"completed_executors"`
}

type executorState struct {
	ID             string           `json:"id"`
	Name           string           `json:"name"`
	Source         string           `json:"source"`
	Container      string           `json:"container"`
	Directory      string           `json:"directory"`
	Type           string           `json:"type"`
	FrameworkID    string           `json:"framework_id"`
	Resources      map[string]any   `json:"resources"`
	Tasks          []mesos.TaskView `json:"tasks"`
	QueuedTasks    []mesos.TaskView `json:"queued_tasks"`
	CompletedTasks []mesos.TaskView `json:"completed_tasks"`
}

func (a *Agent) serveState(w http.ResponseWriter, r *http.Request) (any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.agentIDLocked()
	st := agentState{
		Version:             agentVersion,
		ID:                  id,
		PID:                 a.pid(),
		Hostname:            a.cfg.Hostname,
		StartTime:           float64(a.startTime.UnixNano()) / 1e9,
		Resources:           a.cfg.Resources.Flatten(),
		UnreservedResources: a.cfg.Resources.Flatten(),
		ReservedResources:   map[string]any{},
		Attributes:          mesos.FlattenAttributes(a.cfg.Attributes),
		Frameworks:          []frameworkState{},
		CompletedFrameworks: []frameworkState{},
		Flags: map[string]any{
			"work_dir":  a.cfg.WorkDir,
			"hostname":  a.cfg.Hostname,
			"port":      a.advertisePort(),
			"resources": a.cfg.Resources.String(),
		},
	}
	byFw := map[string]*frameworkState{}
	fwState := func(fw string) *frameworkState {
		if f, ok := byFw[fw]; ok {
			return f
		}
		f := &frameworkState{ID: fw, Roles: []string{}, Executors: []executorState{}, CompletedExecutors: []executorState{}}
		if info, ok := a.frameworks[fw]; ok {
			fillFramework(f, info.info)
		}
		byFw[fw] = f
		return f
	}
	for _, t := range a.sortedTasksLocked() {
		if t.rec.Phantom {
			continue
		}
		f := fwState(t.key.fw)
		ex := a.executorState(t, id)
		if t.state.Terminal() {
			ex.CompletedTasks = append(ex.CompletedTasks, ex.Tasks...)
			ex.Tasks = []mesos.TaskView{}
			f.CompletedExecutors = append(f.CompletedExecutors, ex)
		} else {
			f.Executors = append(f.Executors, ex)
		}
	}
	for _, t := range a.completed {
		if _, live := a.frameworks[t.key.fw]; !live {
			continue
		}
		ex := a.executorState(t, id)
		ex.CompletedTasks, ex.Tasks = ex.Tasks, []mesos.TaskView{}
		f := fwState(t.key.fw)
		f.CompletedExecutors = append(f.CompletedExecutors, ex)
	}
	for _, fw := range slices.Sorted(maps.Keys(byFw)) {
		st.Frameworks = append(st.Frameworks, *byFw[fw])
	}
	for _, info := range a.doneFws {
		f := frameworkState{Roles: []string{}, Executors: []executorState{}, CompletedExecutors: []executorState{}}
		fillFramework(&f, info)
		for _, t := range a.completed {
			if t.key.fw == f.ID {
				ex := a.executorState(t, id)
				ex.CompletedTasks, ex.Tasks = ex.Tasks, []mesos.TaskView{}
				f.CompletedExecutors = append(f.CompletedExecutors, ex)
			}
		}
		st.CompletedFrameworks = append(st.CompletedFrameworks, f)
	}
	return st, nil
}

func fillFramework(f *frameworkState, info mesos.FrameworkInfo) {
	if info.ID != nil {
		f.ID = info.ID.Value
	}
	f.Name, f.User, f.Hostname, f.Principal = info.Name, info.User, info.Hostname, info.Principal
	f.Role = info.Role
	if f.Role == "" {
		f.Role = "*"
	}
	f.Roles = info.EffectiveRoles()
	f.FailoverTimeout = info.FailoverTimeoutSeconds()
	f.Checkpoint = info.Checkpoint != nil && *info.Checkpoint
}

func (a *Agent) executorState(t *task, agentID string) executorState {
	ti := t.rec.Task
	ts := mesos.NewTaskView(&ti, t.key.fw, "", agentID, "", t.state, t.statuses)
	return executorState{
		ID:             ti.TaskID.Value,
		Name:           commandExecutorName(ti),
		Source:         ti.TaskID.Value,
		Container:      t.rec.ContainerID,
		Directory:      t.rec.Sandbox,
		Type:           "COMMAND",
		FrameworkID:    t.key.fw,
		Resources:      ti.Resources.Flatten(),
		Tasks:          []mesos.TaskView{ts},
		QueuedTasks:    []mesos.TaskView{},
		CompletedTasks: []mesos.TaskView{},
	}
}

func commandExecutorName(ti mesos.TaskInfo) string {
	name := "Command Executor (Task: " + ti.TaskID.Value + ")"
	if c := ti.Command; c != nil && c.Value != nil {
		cmd := *c.Value
		if c.IsShell() {
			cmd = "sh -c '" + cmd + "'"
		} else if len(c.Arguments) > 0 {
			cmd = strings.Join(c.Arguments, " ")
		}
		name += " (Command: " + cmd + ")"
	}
	return name
}
