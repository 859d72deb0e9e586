package marathon

import (
	"encoding/json"
	"fmt"
)

// Event types of the /v2/events stream, each the eventType field of its payload.
const (
	EventStreamAttachedType        = "event_stream_attached"
	EventStreamDetachedType        = "event_stream_detached"
	EventSubscribeType             = "subscribe_event"
	EventUnsubscribeType           = "unsubscribe_event"
	EventAPIPostType               = "api_post_event"
	EventStatusUpdateType          = "status_update_event"
	EventFrameworkMessageType      = "framework_message_event"
	EventSchedulerRegisteredType   = "scheduler_registered_event"
	EventSchedulerReregisteredType = "scheduler_reregistered_event"
	EventSchedulerDisconnectedType = "scheduler_disconnected_event"
	EventAddHealthCheckType        = "add_health_check_event"
	EventRemoveHealthCheckType     = "remove_health_check_event"
	EventFailedHealthCheckType     = "failed_health_check_event"
	EventHealthStatusChangedType   = "health_status_changed_event"
	EventInstanceHealthChangedType = "instance_health_changed_event"
	EventUnhealthyTaskKillType     = "unhealthy_task_kill_event"
	EventUnhealthyInstanceKillType = "unhealthy_instance_kill_event"
	EventGroupChangeSuccessType    = "group_change_success"
	EventGroupChangeFailedType     = "group_change_failed"
	EventDeploymentSuccessType     = "deployment_success"
	EventDeploymentFailedType      = "deployment_failed"
	EventDeploymentInfoType        = "deployment_info"
	EventDeploymentStepSuccessType = "deployment_step_success"
	EventDeploymentStepFailureType = "deployment_step_failure"
	EventAppTerminatedType         = "app_terminated_event"
	EventInstanceChangedType       = "instance_changed_event"
	EventUnknownInstanceTermType   = "unknown_instance_terminated_event"
	EventPodCreatedType            = "pod_created_event"
	EventPodUpdatedType            = "pod_updated_event"
	EventPodDeletedType            = "pod_deleted_event"
)

// Event is any event-stream payload.
type Event interface {
	// Type is the payload's eventType.
	Type() string
}

// EventMeta is the part every payload has. Timestamp is RFC 3339 with milliseconds, UTC.
type EventMeta struct {
	EventType string `json:"eventType"`
	Timestamp string `json:"timestamp"`
}

// Type returns the eventType.
func (m EventMeta) Type() string { return m.EventType }

// EventStreamAttached (and detached) report an /v2/events subscriber.
type EventStreamAttached struct {
	EventMeta
	RemoteAddress string `json:"remoteAddress"`
}

// SubscribeEvent (and unsubscribe) report an HTTP callback subscription.
type SubscribeEvent struct {
	EventMeta
	ClientIP    string `json:"clientIp"`
	CallbackURL string `json:"callbackUrl"`
}

// APIPostEvent reports an API request that changed an app.
type APIPostEvent struct {
	EventMeta
	ClientIP      string `json:"clientIp"`
	URI           string `json:"uri"`
	AppDefinition *App   `json:"appDefinition"`
}

// StatusUpdateEvent reports a task status update from Mesos.
type StatusUpdateEvent struct {
	EventMeta
	SlaveID     string   `json:"slaveId"`
	TaskID      string   `json:"taskId"`
	TaskStatus  string   `json:"taskStatus"`
	Message     string   `json:"message"`
	AppID       string   `json:"appId"`
	Host        string   `json:"host"`
	IPAddresses []IPAddr `json:"ipAddresses,omitzero"`
	Ports       []int    `json:"ports"`
	Version     string   `json:"version"`
}

// FrameworkMessageEvent relays a message from an executor.
type FrameworkMessageEvent struct {
	EventMeta
	SlaveID    string `json:"slaveId"`
	ExecutorID string `json:"executorId"`
	Message    string `json:"message"` // base64
}

// SchedulerEvent reports the framework's registration with the master: registered (FrameworkID
// and Master set), reregistered (Master set) or disconnected.
type SchedulerEvent struct {
	EventMeta
	FrameworkID string `json:"frameworkId,omitempty"`
	Master      string `json:"master,omitempty"`
}

// HealthCheckEvent reports a health check added to, removed from or failed for an app.
type HealthCheckEvent struct {
	EventMeta
	AppID       string       `json:"appId"`
	TaskID      string       `json:"taskId,omitempty"`
	InstanceID  string       `json:"instanceId,omitempty"`
	Version     string       `json:"version,omitempty"`
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
}

// HealthStatusChangedEvent reports a task turning healthy or unhealthy.
type HealthStatusChangedEvent struct {
	EventMeta
	AppID      string `json:"appId"`
	TaskID     string `json:"taskId,omitempty"`
	InstanceID string `json:"instanceId,omitempty"`
	Version    string `json:"version"`
	Alive      bool   `json:"alive"`
}

// InstanceHealthChangedEvent reports an instance turning healthy or unhealthy; Healthy is nil
// while unknown.
type InstanceHealthChangedEvent struct {
	EventMeta
	InstanceID     string `json:"instanceId"`
	RunSpecID      string `json:"runSpecId"`
	RunSpecVersion string `json:"runSpecVersion"`
	Healthy        *bool  `json:"healthy"`
}

// UnhealthyKillEvent reports a task (or instance) killed for failing its health checks.
type UnhealthyKillEvent struct {
	EventMeta
	AppID      string `json:"appId"`
	TaskID     string `json:"taskId"`
	InstanceID string `json:"instanceId,omitempty"`
	Version    string `json:"version"`
	Reason     string `json:"reason"`
	Host       string `json:"host"`
	SlaveID    string `json:"slaveId,omitempty"`
}

// GroupChangeEvent reports a group change that succeeded, or failed with Reason.
type GroupChangeEvent struct {
	EventMeta
	GroupID string `json:"groupId"`
	Version string `json:"version"`
	Reason  string `json:"reason,omitempty"`
}

// DeploymentEvent reports a deployment that succeeded or failed.
type DeploymentEvent struct {
	EventMeta
	ID     string          `json:"id"`
	Plan   *DeploymentPlan `json:"plan,omitempty"`
	Reason string          `json:"reason,omitempty"`
}

// DeploymentStepEvent reports a deployment's progress: a step started (deployment_info),
// succeeded or failed.
type DeploymentStepEvent struct {
	EventMeta
	Plan        DeploymentPlan `json:"plan"`
	CurrentStep DeploymentStep `json:"currentStep"`
}

// AppTerminatedEvent reports that an app's last task is gone after it was deleted.
type AppTerminatedEvent struct {
	EventMeta
	AppID string `json:"appId"`
}

// InstanceChangedEvent reports an instance's new condition.
type InstanceChangedEvent struct {
	EventMeta
	InstanceID     string `json:"instanceId"`
	Condition      string `json:"condition"`
	RunSpecID      string `json:"runSpecId"`
	AgentID        string `json:"agentId"`
	Host           string `json:"host"`
	RunSpecVersion string `json:"runSpecVersion"`
	Goal           string `json:"goal,omitempty"`
}

// UnknownInstanceTerminatedEvent reports the end of an instance Marathon did not know.
type UnknownInstanceTerminatedEvent struct {
	EventMeta
	InstanceID string `json:"instanceId"`
	RunSpecID  string `json:"runSpecId"`
	Condition  string `json:"condition"`
}

// PodEvent reports a pod created, updated or deleted through the API.
type PodEvent struct {
	EventMeta
	ClientIP string `json:"clientIp"`
	URI      string `json:"uri"`
}

// eventTypes maps every eventType to a constructor of its payload type.
var eventTypes = map[string]func() Event{
	EventStreamAttachedType:        func() Event { return new(EventStreamAttached) },
	EventStreamDetachedType:        func() Event { return new(EventStreamAttached) },
	EventSubscribeType:             func() Event { return new(SubscribeEvent) },
	EventUnsubscribeType:           func() Event { return new(SubscribeEvent) },
	EventAPIPostType:               func() Event { return new(APIPostEvent) },
	EventStatusUpdateType:          func() Event { return new(StatusUpdateEvent) },
	EventFrameworkMessageType:      func() Event { return new(FrameworkMessageEvent) },
	EventSchedulerRegisteredType:   func() Event { return new(SchedulerEvent) },
	EventSchedulerReregisteredType: func() Event { return new(SchedulerEvent) },
	EventSchedulerDisconnectedType: func() Event { return new(SchedulerEvent) },
	EventAddHealthCheckType:        func() Event { return new(HealthCheckEvent) },
	EventRemoveHealthCheckType:     func() Event { return new(HealthCheckEvent) },
	EventFailedHealthCheckType:     func() Event { return new(HealthCheckEvent) },
	EventHealthStatusChangedType:   func() Event { return new(HealthStatusChangedEvent) },
	EventInstanceHealthChangedType: func() Event { return new(InstanceHealthChangedEvent) },
	EventUnhealthyTaskKillType:     func() Event { return new(UnhealthyKillEvent) },
	EventUnhealthyInstanceKillType: func() Event { return new(UnhealthyKillEvent) },
	EventGroupChangeSuccessType:    func() Event { return new(GroupChangeEvent) },
	EventGroupChangeFailedType:     func() Event { return new(GroupChangeEvent) },
	EventDeploymentSuccessType:     func() Event { return new(DeploymentEvent) },
	EventDeploymentFailedType:      func() Event { return new(DeploymentEvent) },
	EventDeploymentInfoType:        func() Event { return new(DeploymentStepEvent) },
	EventDeploymentStepSuccessType: func() Event { return new(DeploymentStepEvent) },
	EventDeploymentStepFailureType: func() Event { return new(DeploymentStepEvent) },
	EventAppTerminatedType:         func() Event { return new(AppTerminatedEvent) },
	EventInstanceChangedType:       func() Event { return new(InstanceChangedEvent) },
	EventUnknownInstanceTermType:   func() Event { return new(UnknownInstanceTerminatedEvent) },
	EventPodCreatedType:            func() Event { return new(PodEvent) },
	EventPodUpdatedType:            func() Event { return new(PodEvent) },
	EventPodDeletedType:            func() Event { return new(PodEvent) },
}

// EventTypes lists every eventType DecodeEvent knows.
func EventTypes() []string { return sortedMapKeys(eventTypes) }

// DecodeEvent decodes one event payload (an SSE "data:" line) into the type its eventType names,
// strictly. The result is a pointer, such as *StatusUpdateEvent.
func DecodeEvent(data []byte) (Event, error) {
	var head struct {
		EventType string `json:"eventType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		if _, perr := parseGeneric(data); perr != nil {
			return nil, perr
		}
		return nil, fmt.Errorf("event: %w", err)
	}
	mk, ok := eventTypes[head.EventType]
	if !ok {
		return nil, fmt.Errorf("event: unknown eventType %q", head.EventType)
	}
	ev := mk()
	if err := decodeStrict(data, ev, true); err != nil {
		return nil, fmt.Errorf("event %s: %w", head.EventType, err)
	}
	return ev, nil
}
