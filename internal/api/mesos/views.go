package mesos

// TaskView is a task as the operator endpoints show it: the master's /master/state and
// /master/tasks, and the agent's /state. Resources are flattened (see Resources.Flatten).
type TaskView struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	FrameworkID string         `json:"framework_id"`
	ExecutorID  string         `json:"executor_id"`
	SlaveID     string         `json:"slave_id"`
	State       TaskState      `json:"state"`
	Resources   map[string]any `json:"resources"`
	Role        string         `json:"role"`
	Statuses    []StatusView   `json:"statuses"`
	Labels      []Label        `json:"labels,omitempty"`
	Discovery   *DiscoveryInfo `json:"discovery,omitempty"`
	Container   *ContainerInfo `json:"container,omitempty"`
	HealthCheck *HealthCheck   `json:"health_check,omitempty"`
}

// StatusView is one status of a TaskView's history.
type StatusView struct {
	State           TaskState        `json:"state"`
	Timestamp       float64          `json:"timestamp"`
	Labels          []Label          `json:"labels,omitempty"`
	ContainerStatus *ContainerStatus `json:"container_status,omitempty"`
	Healthy         *bool            `json:"healthy,omitempty"`
}

// NewTaskView returns the view of task info of framework frameworkID on agent agentID, in state
// with the status history statuses (oldest first).
func NewTaskView(info *TaskInfo, frameworkID, executorID, agentID, role string, state TaskState, statuses []TaskStatus) TaskView {
	v := TaskView{
		ID:          info.TaskID.Value,
		Name:        info.Name,
		FrameworkID: frameworkID,
		ExecutorID:  executorID,
		SlaveID:     agentID,
		State:       state,
		Resources:   info.Resources.Flatten(),
		Role:        role,
		Statuses:    make([]StatusView, 0, len(statuses)),
		Discovery:   info.Discovery,
		Container:   info.Container,
		HealthCheck: info.HealthCheck,
	}
	if info.Labels != nil {
		v.Labels = info.Labels.Labels
	}
	for _, s := range statuses {
		sv := StatusView{State: s.State, Timestamp: s.Timestamp, ContainerStatus: s.ContainerStatus, Healthy: s.Healthy}
		if s.Labels != nil {
			sv.Labels = s.Labels.Labels
		}
		v.Statuses = append(v.Statuses, sv)
	}
	return v
}
