package mesos

// CallType names a scheduler API call.
type CallType string

// Scheduler API call types.
const (
	CallSubscribe   CallType = "SUBSCRIBE"
	CallTeardown    CallType = "TEARDOWN"
	CallAccept      CallType = "ACCEPT"
	CallDecline     CallType = "DECLINE"
	CallRevive      CallType = "REVIVE"
	CallSuppress    CallType = "SUPPRESS"
	CallKill        CallType = "KILL"
	CallShutdown    CallType = "SHUTDOWN"
	CallAcknowledge CallType = "ACKNOWLEDGE"
	CallReconcile   CallType = "RECONCILE"
	CallMessage     CallType = "MESSAGE"
)

// Call is the body of POST /api/v1/scheduler.
type Call struct {
	FrameworkID *ID          `json:"framework_id,omitempty"`
	Type        CallType     `json:"type"`
	Subscribe   *Subscribe   `json:"subscribe,omitempty"`
	Accept      *Accept      `json:"accept,omitempty"`
	Decline     *Decline     `json:"decline,omitempty"`
	Revive      *Revive      `json:"revive,omitempty"`
	Suppress    *Suppress    `json:"suppress,omitempty"`
	Kill        *Kill        `json:"kill,omitempty"`
	Shutdown    *Shutdown    `json:"shutdown,omitempty"`
	Acknowledge *Acknowledge `json:"acknowledge,omitempty"`
	Reconcile   *Reconcile   `json:"reconcile,omitempty"`
	Message     *Message     `json:"message,omitempty"`
}

// Subscribe registers a framework, or re-registers it when FrameworkInfo.ID is set.
type Subscribe struct {
	FrameworkInfo   FrameworkInfo `json:"framework_info"`
	SuppressedRoles []string      `json:"suppressed_roles,omitempty"`
}

// Accept uses offers for operations; what is left of them goes back under Filters.
type Accept struct {
	OfferIDs   []ID        `json:"offer_ids"`
	Operations []Operation `json:"operations,omitempty"`
	Filters    *Filters    `json:"filters,omitempty"`
}

// Operation types.
const (
	OperationLaunch      = "LAUNCH"
	OperationLaunchGroup = "LAUNCH_GROUP"
)

// Operation is one thing done with accepted offers.
type Operation struct {
	Type        string       `json:"type"`
	Launch      *Launch      `json:"launch,omitempty"`
	LaunchGroup *LaunchGroup `json:"launch_group,omitempty"`
}

// Launch starts tasks.
type Launch struct {
	TaskInfos []TaskInfo `json:"task_infos"`
}

// LaunchGroup starts a group of tasks under one executor.
type LaunchGroup struct {
	Executor  ExecutorInfo  `json:"executor"`
	TaskGroup TaskGroupInfo `json:"task_group"`
}

// Decline returns offers unused.
type Decline struct {
	OfferIDs []ID     `json:"offer_ids"`
	Filters  *Filters `json:"filters,omitempty"`
}

// Revive clears filters and resumes offers (for the given roles, or all).
type Revive struct {
	Roles []string `json:"roles,omitempty"`
}

// Suppress stops offers (for the given roles, or all) until Revive.
type Suppress struct {
	Roles []string `json:"roles,omitempty"`
}

// Kill kills a task.
type Kill struct {
	TaskID     ID          `json:"task_id"`
	AgentID    *ID         `json:"agent_id,omitempty"`
	KillPolicy *KillPolicy `json:"kill_policy,omitempty"`
}

// Shutdown stops an executor.
type Shutdown struct {
	ExecutorID ID `json:"executor_id"`
	AgentID    ID `json:"agent_id"`
}

// Acknowledge confirms receipt of a status update carrying a UUID.
type Acknowledge struct {
	AgentID ID     `json:"agent_id"`
	TaskID  ID     `json:"task_id"`
	UUID    []byte `json:"uuid"`
}

// Reconcile asks for the latest state of the listed tasks, or of all tasks when empty.
type Reconcile struct {
	Tasks []ReconcileTask `json:"tasks,omitempty"`
}

// ReconcileTask names one task to reconcile.
type ReconcileTask struct {
	TaskID  ID  `json:"task_id"`
	AgentID *ID `json:"agent_id,omitempty"`
}

// Message sends opaque data to an executor.
type Message struct {
	AgentID    ID     `json:"agent_id"`
	ExecutorID ID     `json:"executor_id"`
	Data       []byte `json:"data"`
}

// EventType names a scheduler API event.
type EventType string

// Scheduler API event types.
const (
	EventSubscribed EventType = "SUBSCRIBED"
	EventOffers     EventType = "OFFERS"
	EventRescind    EventType = "RESCIND"
	EventUpdate     EventType = "UPDATE"
	EventMessage    EventType = "MESSAGE"
	EventFailure    EventType = "FAILURE"
	EventError      EventType = "ERROR"
	EventHeartbeat  EventType = "HEARTBEAT"
)

// Event is one record of the SUBSCRIBE response stream.
type Event struct {
	Type       EventType     `json:"type"`
	Subscribed *Subscribed   `json:"subscribed,omitempty"`
	Offers     *OffersEvent  `json:"offers,omitempty"`
	Rescind    *Rescind      `json:"rescind,omitempty"`
	Update     *Update       `json:"update,omitempty"`
	Message    *MessageEvent `json:"message,omitempty"`
	Failure    *Failure      `json:"failure,omitempty"`
	Error      *ErrorEvent   `json:"error,omitempty"`
}

// Subscribed confirms a subscription.
type Subscribed struct {
	FrameworkID              ID          `json:"framework_id"`
	HeartbeatIntervalSeconds float64     `json:"heartbeat_interval_seconds,omitempty"`
	MasterInfo               *MasterInfo `json:"master_info,omitempty"`
}

// OffersEvent carries new offers.
type OffersEvent struct {
	Offers []Offer `json:"offers"`
}

// Rescind withdraws an offer.
type Rescind struct {
	OfferID ID `json:"offer_id"`
}

// Update carries a task status.
type Update struct {
	Status TaskStatus `json:"status"`
}

// MessageEvent carries data from an executor.
type MessageEvent struct {
	AgentID    ID     `json:"agent_id"`
	ExecutorID ID     `json:"executor_id"`
	Data       []byte `json:"data"`
}

// Failure reports a lost agent or a terminated executor.
type Failure struct {
	AgentID    *ID    `json:"agent_id,omitempty"`
	ExecutorID *ID    `json:"executor_id,omitempty"`
	Status     *int32 `json:"status,omitempty"`
}

// ErrorEvent reports an error after which the framework must re-subscribe.
type ErrorEvent struct {
	Message string `json:"message"`
}
