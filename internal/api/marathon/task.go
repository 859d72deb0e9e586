package marathon

// Task is a task as GET /v2/tasks, /v2/apps/{id}/tasks and embed=apps.tasks return it
// (RAML task.Task).
type Task struct {
	ID                 string              `json:"id"`
	AppID              string              `json:"appId"`
	Host               string              `json:"host"`
	State              string              `json:"state"` // a Mesos task state: TASK_RUNNING...
	Ports              []int               `json:"ports,omitzero"`
	ServicePorts       []int               `json:"servicePorts,omitzero"`
	IPAddresses        []IPAddr            `json:"ipAddresses,omitzero"`
	StagedAt           string              `json:"stagedAt,omitempty"`
	StartedAt          string              `json:"startedAt,omitempty"`
	Version            string              `json:"version,omitempty"`
	SlaveID            string              `json:"slaveId,omitempty"`
	HealthCheckResults []HealthCheckResult `json:"healthCheckResults,omitzero"`
	CheckResult        *CheckStatus        `json:"checkResult,omitempty"`
	LocalVolumes       []LocalVolumeID     `json:"localVolumes,omitzero"`
	Region             string              `json:"region,omitempty"`
	Zone               string              `json:"zone,omitempty"`
	Role               string              `json:"role,omitempty"`
}

// IPAddr is one IP address of a task (RAML task.IpAddr).
type IPAddr struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"` // IPv4 or IPv6
}

// HealthCheckResult is one health check's state for a task (RAML healthCheck.Health).
type HealthCheckResult struct {
	Alive               bool   `json:"alive"`
	ConsecutiveFailures int    `json:"consecutiveFailures"`
	FirstSuccess        string `json:"firstSuccess,omitempty"`
	InstanceID          string `json:"instanceId,omitempty"`
	TaskID              string `json:"taskId,omitempty"` // Marathon before 1.4
	LastSuccess         string `json:"lastSuccess,omitempty"`
	LastFailure         string `json:"lastFailure,omitempty"`
	LastFailureCause    string `json:"lastFailureCause,omitempty"`
}

// CheckStatus is the last result of an app's check (RAML check.CheckStatus).
type CheckStatus struct {
	HTTP *struct {
		StatusCode int `json:"statusCode"`
	} `json:"http,omitempty"`
	TCP *struct {
		Succeeded bool `json:"succeeded"`
	} `json:"tcp,omitempty"`
	Command *struct {
		ExitCode int `json:"exitCode"`
	} `json:"command,omitempty"`
}

// LocalVolumeID names a persistent local volume a resident task uses.
type LocalVolumeID struct {
	RunSpecID     string `json:"runSpecId"`
	ContainerPath string `json:"containerPath"`
	UUID          string `json:"uuid"`
	PersistenceID string `json:"persistenceId"`
}

// TaskList is the body of GET /v2/tasks and /v2/apps/{id}/tasks.
type TaskList struct {
	Tasks []Task `json:"tasks"`
}

// TaskSingle is a body with one task (DELETE /v2/apps/{id}/tasks/{taskId}).
type TaskSingle struct {
	Task Task `json:"task"`
}

// TaskFailure describes the last failed task of an app (embed=apps.lastTaskFailure).
type TaskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId"`
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
	SlaveID   string `json:"slaveId,omitempty"`
}

// TaskCounts counts an app's tasks by state.
type TaskCounts struct {
	Staged    int `json:"staged"`
	Running   int `json:"running"`
	Healthy   int `json:"healthy"`
	Unhealthy int `json:"unhealthy"`
}

// TaskLifeTime summarizes how long tasks lived.
type TaskLifeTime struct {
	AverageSeconds float64 `json:"averageSeconds"`
	MedianSeconds  float64 `json:"medianSeconds"`
}

// TaskStats are the counts and lifetimes of a set of an app's tasks.
type TaskStats struct {
	Counts   TaskCounts    `json:"counts"`
	LifeTime *TaskLifeTime `json:"lifeTime,omitempty"`
}

// Stats wraps TaskStats as Marathon nests them.
type Stats struct {
	Stats TaskStats `json:"stats"`
}

// TaskStatsByVersion groups task statistics by config version (embed=apps.taskStats).
type TaskStatsByVersion struct {
	StartedAfterLastScaling *Stats `json:"startedAfterLastScaling,omitempty"`
	WithLatestConfig        *Stats `json:"withLatestConfig,omitempty"`
	WithOutdatedConfig      *Stats `json:"withOutdatedConfig,omitempty"`
	TotalSummary            *Stats `json:"totalSummary,omitempty"`
}

// TaskReadinessCheckResult is one readiness check's state for a task during a deployment.
type TaskReadinessCheckResult struct {
	Name         string                      `json:"name"`
	TaskID       string                      `json:"taskId"`
	Ready        bool                        `json:"ready"`
	LastResponse *ReadinessCheckHTTPResponse `json:"lastResponse,omitempty"`
}

// ReadinessCheckHTTPResponse is the last response a readiness check received.
type ReadinessCheckHTTPResponse struct {
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	Body        string `json:"body"`
}

// DeleteTasks is the body of POST /v2/tasks/delete.
type DeleteTasks struct {
	IDs []string `json:"ids"`
}
