package mesos

// TaskState is the state of a task as Mesos names it.
type TaskState string

// Task states.
const (
	TaskStaging        TaskState = "TASK_STAGING"
	TaskStarting       TaskState = "TASK_STARTING"
	TaskRunning        TaskState = "TASK_RUNNING"
	TaskKilling        TaskState = "TASK_KILLING"
	TaskFinished       TaskState = "TASK_FINISHED"
	TaskFailed         TaskState = "TASK_FAILED"
	TaskKilled         TaskState = "TASK_KILLED"
	TaskError          TaskState = "TASK_ERROR"
	TaskLost           TaskState = "TASK_LOST"
	TaskDropped        TaskState = "TASK_DROPPED"
	TaskUnreachable    TaskState = "TASK_UNREACHABLE"
	TaskGone           TaskState = "TASK_GONE"
	TaskGoneByOperator TaskState = "TASK_GONE_BY_OPERATOR"
	TaskUnknown        TaskState = "TASK_UNKNOWN"
)

// Terminal reports whether a task in this state will never run again.
func (s TaskState) Terminal() bool {
	switch s {
	case TaskFinished, TaskFailed, TaskKilled, TaskError, TaskLost, TaskDropped, TaskGone, TaskGoneByOperator:
		return true
	}
	return false
}

// Status update sources.
const (
	SourceMaster   = "SOURCE_MASTER"
	SourceAgent    = "SOURCE_AGENT"
	SourceExecutor = "SOURCE_EXECUTOR"
)

// Status update reasons Marina emits (a subset of Mesos' TaskStatus.Reason).
const (
	ReasonAgentRemoved           = "REASON_AGENT_REMOVED"
	ReasonAgentUnknown           = "REASON_AGENT_UNKNOWN"
	ReasonAgentDisconnected      = "REASON_AGENT_DISCONNECTED"
	ReasonAgentRestarted         = "REASON_AGENT_RESTARTED"
	ReasonCommandExecutorFailed  = "REASON_COMMAND_EXECUTOR_FAILED"
	ReasonContainerLaunchFailed  = "REASON_CONTAINER_LAUNCH_FAILED"
	ReasonContainerLimitation    = "REASON_CONTAINER_LIMITATION_MEMORY"
	ReasonExecutorTerminated     = "REASON_EXECUTOR_TERMINATED"
	ReasonFrameworkRemoved       = "REASON_FRAMEWORK_REMOVED"
	ReasonHealthCheckFailed      = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED"
	ReasonInvalidOffers          = "REASON_INVALID_OFFERS"
	ReasonReconciliation         = "REASON_RECONCILIATION"
	ReasonTaskInvalid            = "REASON_TASK_INVALID"
	ReasonTaskKilledDuringLaunch = "REASON_TASK_KILLED_DURING_LAUNCH"
	ReasonTaskUnknown            = "REASON_TASK_UNKNOWN"
	ReasonMasterDisconnected     = "REASON_MASTER_DISCONNECTED"
)

// TaskStatus is one status update of a task.
type TaskStatus struct {
	TaskID          ID               `json:"task_id"`
	State           TaskState        `json:"state"`
	Message         string           `json:"message,omitempty"`
	Source          string           `json:"source,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	Data            []byte           `json:"data,omitempty"`
	AgentID         *ID              `json:"agent_id,omitempty"`
	ExecutorID      *ID              `json:"executor_id,omitempty"`
	Timestamp       float64          `json:"timestamp,omitempty"`
	UUID            []byte           `json:"uuid,omitempty"`
	Healthy         *bool            `json:"healthy,omitempty"`
	Labels          *Labels          `json:"labels,omitempty"`
	ContainerStatus *ContainerStatus `json:"container_status,omitempty"`
	UnreachableTime *TimeInfo        `json:"unreachable_time,omitempty"`
}

// ContainerStatus carries what the agent knows of a task's container, its IPs above all.
type ContainerStatus struct {
	ContainerID  *ID           `json:"container_id,omitempty"`
	NetworkInfos []NetworkInfo `json:"network_infos,omitempty"`
	ExecutorPID  *uint32       `json:"executor_pid,omitempty"`
}
