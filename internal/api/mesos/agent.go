package mesos

// The master<->agent stream. An agent opens one long-lived, full-duplex HTTP/1.1 request to the
// leading master, POST /api/v1/agent: it writes AgentCall records (RecordIO) into the request body
// and reads AgentEvent records (RecordIO) from the response body. The first call must be REGISTER;
// the master answers REGISTERED first. Either side treats a stream silent for longer than the
// agent timeout as dead; the agent then finds the leader again and re-registers with its tasks.

// AgentCallType names an agent-to-master call.
type AgentCallType string

// Agent call types.
const (
	AgentCallRegister  AgentCallType = "REGISTER"
	AgentCallUpdate    AgentCallType = "UPDATE"
	AgentCallHeartbeat AgentCallType = "HEARTBEAT"
)

// AgentCall is one record an agent sends to the master.
type AgentCall struct {
	Type     AgentCallType  `json:"type"`
	Register *AgentRegister `json:"register,omitempty"`
	Update   *AgentUpdate   `json:"update,omitempty"`
}

// AgentRegister registers an agent (Info.ID unset) or re-registers it (Info.ID set) with the tasks
// it runs and the frameworks they belong to.
type AgentRegister struct {
	Info       AgentInfo       `json:"agent_info"`
	Version    string          `json:"version,omitempty"`
	Tasks      []AgentTask     `json:"tasks,omitempty"`
	Frameworks []FrameworkInfo `json:"frameworks,omitempty"`
}

// AgentTask is a task an agent runs, with its latest known state.
type AgentTask struct {
	FrameworkID ID          `json:"framework_id"`
	Task        TaskInfo    `json:"task"`
	State       TaskState   `json:"state"`
	Status      *TaskStatus `json:"status,omitempty"`
}

// AgentUpdate forwards a task's status update (with a UUID) to the master.
type AgentUpdate struct {
	FrameworkID ID         `json:"framework_id"`
	Status      TaskStatus `json:"status"`
}

// AgentEventType names a master-to-agent event.
type AgentEventType string

// Agent event types.
const (
	AgentEventRegistered        AgentEventType = "REGISTERED"
	AgentEventLaunch            AgentEventType = "LAUNCH"
	AgentEventKill              AgentEventType = "KILL"
	AgentEventAcknowledged      AgentEventType = "ACKNOWLEDGED"
	AgentEventShutdownFramework AgentEventType = "SHUTDOWN_FRAMEWORK"
	AgentEventHeartbeat         AgentEventType = "HEARTBEAT"
	AgentEventError             AgentEventType = "ERROR"
)

// AgentEvent is one record the master sends to an agent.
type AgentEvent struct {
	Type              AgentEventType     `json:"type"`
	Registered        *AgentRegistered   `json:"registered,omitempty"`
	Launch            *AgentLaunch       `json:"launch,omitempty"`
	Kill              *AgentKill         `json:"kill,omitempty"`
	Acknowledged      *AgentAcknowledged `json:"acknowledged,omitempty"`
	ShutdownFramework *AgentShutdown     `json:"shutdown_framework,omitempty"`
	Error             *ErrorEvent        `json:"error,omitempty"`
}

// AgentRegistered confirms (re-)registration and gives the agent its id.
type AgentRegistered struct {
	AgentID                  ID          `json:"agent_id"`
	MasterInfo               *MasterInfo `json:"master_info,omitempty"`
	HeartbeatIntervalSeconds float64     `json:"heartbeat_interval_seconds"`
}

// AgentLaunch asks the agent to launch tasks of a framework. With Group set the tasks form one
// task group under Executor (LAUNCH_GROUP).
type AgentLaunch struct {
	Framework FrameworkInfo `json:"framework"`
	Tasks     []TaskInfo    `json:"tasks"`
	Group     bool          `json:"group,omitempty"`
	Executor  *ExecutorInfo `json:"executor,omitempty"`
}

// AgentKill asks the agent to kill a task.
type AgentKill struct {
	FrameworkID ID          `json:"framework_id"`
	TaskID      ID          `json:"task_id"`
	KillPolicy  *KillPolicy `json:"kill_policy,omitempty"`
}

// AgentAcknowledged tells the agent a framework acknowledged a status update.
type AgentAcknowledged struct {
	FrameworkID ID     `json:"framework_id"`
	TaskID      ID     `json:"task_id"`
	UUID        []byte `json:"uuid"`
}

// AgentShutdown asks the agent to kill every task of a framework and forget it.
type AgentShutdown struct {
	FrameworkID ID `json:"framework_id"`
}
