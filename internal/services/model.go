package services

import (
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// instance is one task of an app as the services role tracks it, and as it is persisted at
// /marina/services/instances/<task id>. An instance exists from the moment a launch is decided
// (it is written before the ACCEPT) until its task is terminal or expunged.
type instance struct {
	TaskID        string            `json:"taskId"`
	AppID         string            `json:"appId"`
	Version       string            `json:"version"`       // the app version it was launched from
	ConfigVersion string            `json:"configVersion"` // that version's lastConfigChangeAt
	AgentID       string            `json:"agentId"`
	Host          string            `json:"host"`
	Attributes    map[string]string `json:"attributes,omitempty"` // the agent's, for constraints
	Ports         []int             `json:"ports,omitempty"`
	Role          string            `json:"role,omitempty"` // the role its task runs under; "" for "*"
	State         mesos.TaskState   `json:"state"`
	IPAddresses   []ipAddress       `json:"ipAddresses,omitempty"`
	StagedAt      time.Time         `json:"stagedAt"`
	StartedAt     time.Time         `json:"startedAt,omitzero"`
	Unreachable   time.Time         `json:"unreachableSince,omitzero"`
	Healthy       *bool             `json:"healthy,omitempty"`
	Health        healthRecord      `json:"health,omitzero"` // the check results reported so far
	// Kill is set once the instance is to go: it no longer counts toward its app, and it is killed
	// (again, after a while) until its task is terminal.
	Kill bool `json:"kill,omitempty"`
	// Ready is set once every readiness check of the instance's app passed (readiness.go).
	Ready bool `json:"ready,omitempty"`

	// In memory only.
	killSentAt     time.Time                           // last KILL sent
	reconciled     bool                                // the master answered for it since the last subscription
	readyCheckedAt time.Time                           // readiness checks last sent
	readiness      []marathon.TaskReadinessCheckResult // their results
}

type ipAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"`
}

// running reports whether the task runs (a RUNNING task whose health is not known bad).
func (in *instance) running() bool { return in.State == mesos.TaskRunning }

// healthy reports whether the instance counts as healthy during a deployment: running, and
// reported healthy by its health check when the app has one (else not reported unhealthy).
func (in *instance) healthy(checked bool) bool {
	if !in.running() || !in.Unreachable.IsZero() {
		return false
	}
	if checked {
		return in.Healthy != nil && *in.Healthy
	}
	return in.Healthy == nil || *in.Healthy
}

// serving reports whether the instance serves toward the goal: healthy, and ready when it
// runs the goal's configuration and the app has readiness checks.
func (in *instance) serving(g goal) bool {
	return in.healthy(g.Checked) && (!g.Readiness || in.Ready || in.ConfigVersion != g.Config)
}

// healthRecord sums up the health check results an instance's status updates reported, as
// Marathon's healthCheckResults show them.
type healthRecord struct {
	FirstSuccess        time.Time `json:"firstSuccess,omitzero"`
	LastSuccess         time.Time `json:"lastSuccess,omitzero"`
	LastFailure         time.Time `json:"lastFailure,omitzero"`
	LastFailureCause    string    `json:"lastFailureCause,omitempty"`
	ConsecutiveFailures int       `json:"consecutiveFailures,omitempty"`
}

// record adds one result reported at.
func (h *healthRecord) record(healthy bool, at time.Time, cause string) {
	if healthy {
		if h.FirstSuccess.IsZero() {
			h.FirstSuccess = at
		}
		h.LastSuccess, h.ConsecutiveFailures = at, 0
		return
	}
	h.LastFailure, h.LastFailureCause = at, cause
	h.ConsecutiveFailures++
}

// result returns the record as Marathon's healthCheckResults entry of an instance.
func (h healthRecord) result(alive bool, taskID string) marathon.HealthCheckResult {
	r := marathon.HealthCheckResult{Alive: alive, ConsecutiveFailures: h.ConsecutiveFailures, InstanceID: taskID, TaskID: taskID, LastFailureCause: h.LastFailureCause}
	for _, f := range []struct {
		t   time.Time
		out *string
	}{{h.FirstSuccess, &r.FirstSuccess}, {h.LastSuccess, &r.LastSuccess}, {h.LastFailure, &r.LastFailure}} {
		if !f.t.IsZero() {
			*f.out = timestamp(f.t)
		}
	}
	return r
}

// app is an app as the leader holds it: its current definition and what is derived from it.
type app struct {
	spec     *marathon.App // the current version, defaults applied
	versions []string      // every stored version, oldest first

	backoff     backoff
	lastFailure *marathon.TaskFailure
	queued      int // instances waiting for an offer, as the last plan said
	offerLog    offerLog

	// stored is the JSON of storedOf, the definition as group versions store it (storedTree),
	// encoded once per definition; it is read and filled under the leader's write lock.
	storedOf *marathon.App
	stored   json.RawMessage

	// views caches the app's JSON as GET shows it, per set of embeds. Readers fill it under
	// the leader's read lock, hence its own mutex; every change of the app or its instances
	// clears it (invalidate, under the leader's write lock).
	viewMu sync.Mutex
	views  map[embeds][]byte
}

// invalidate forgets the cached views of the app.
func (a *app) invalidate() {
	a.viewMu.Lock()
	a.views = nil
	a.viewMu.Unlock()
}

// instances returns the app's wanted instance count.
func (a *app) instances() int {
	if a.spec.Instances == nil {
		return 1
	}
	return *a.spec.Instances
}

// configVersion returns the version of the app's last configuration change: instances launched
// from an older one are replaced by a restart.
func (a *app) configVersion() string { return configVersion(a.spec) }

func configVersion(s *marathon.App) string {
	if s.VersionInfo != nil && s.VersionInfo.LastConfigChangeAt != "" {
		return s.VersionInfo.LastConfigChangeAt
	}
	return s.Version
}

// Deployment actions, as Marathon names them.
const (
	actionStart   = "StartApplication"
	actionStop    = "StopApplication"
	actionScale   = "ScaleApplication"
	actionRestart = "RestartApplication"
)

// action is one action of a deployment step on one app.
type action struct {
	Action string `json:"action"`
	App    string `json:"app"`
}

// deployment is one change of one or more apps in progress, persisted at
// /marina/services/deployments/<id> until it ends. Its steps run one after the other, the
// actions of a step together.
type deployment struct {
	ID          string                   `json:"id"`
	Version     string                   `json:"version"`
	GroupID     string                   `json:"groupId,omitempty"` // the group a /v2/groups change named
	Plan        [][]action               `json:"plan"`
	CurrentStep int                      `json:"currentStep"`        // 1-based; steps before it are done
	Original    map[string]*marathon.App `json:"original,omitempty"` // app id -> definition before; absent: no app
	Target      map[string]*marathon.App `json:"target,omitempty"`   // app id -> definition after; absent: stopped
	Started     time.Time                `json:"started"`
}

// actions returns the actions of the current step.
func (d *deployment) actions() []action {
	if d.CurrentStep < 1 || d.CurrentStep > len(d.Plan) {
		return nil
	}
	return d.Plan[d.CurrentStep-1]
}

// apps returns the ids of the apps the deployment changes, sorted.
func (d *deployment) apps() []string {
	var out []string
	for _, step := range d.Plan {
		for _, a := range step {
			if !slices.Contains(out, a.App) {
				out = append(out, a.App)
			}
		}
	}
	slices.Sort(out)
	return out
}

// held reports whether the deployment holds an app back: the app's first action that moves
// instances (scale, restart, stop) lies in a step after the current one. A held app keeps its
// instances as they are until its step comes.
func (d *deployment) held(appID string) bool {
	for i, step := range d.Plan {
		for _, a := range step {
			if a.App == appID && a.Action != actionStart {
				return i+1 > d.CurrentStep
			}
		}
	}
	return false
}

// group is a group created or changed through /v2/groups, or the root group, persisted at
// /marina/services/groups/<name> (store.go). Other groups that only contain apps exist
// implicitly. The root always exists: every change records a version of it.
type group struct {
	ID           string   `json:"id"`
	Dependencies []string `json:"dependencies,omitempty"`
	Version      string   `json:"version"`
	EnforceRole  *bool    `json:"enforceRole,omitempty"`

	versions []string // every stored version of the group's tree, oldest first
}

func (in *instance) ipAddrs() []marathon.IPAddr {
	out := make([]marathon.IPAddr, len(in.IPAddresses))
	for i, ip := range in.IPAddresses {
		out[i] = marathon.IPAddr{IPAddress: ip.IPAddress, Protocol: ip.Protocol}
	}
	return out
}
