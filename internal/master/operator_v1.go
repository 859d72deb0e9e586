package master

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// The v1 operator API (POST /api/v1): the JSON form of mesos.v1.master.Call, Response and
// Event. Field names and enum values are those of Mesos' master.proto.

// OperatorCallType is the type of a v1 operator call.
type OperatorCallType string

// Operator calls Marina answers.
const (
	OpGetHealth     OperatorCallType = "GET_HEALTH"
	OpGetFlags      OperatorCallType = "GET_FLAGS"
	OpGetVersion    OperatorCallType = "GET_VERSION"
	OpGetMetrics    OperatorCallType = "GET_METRICS"
	OpGetState      OperatorCallType = "GET_STATE"
	OpGetAgents     OperatorCallType = "GET_AGENTS"
	OpGetFrameworks OperatorCallType = "GET_FRAMEWORKS"
	OpGetExecutors  OperatorCallType = "GET_EXECUTORS"
	OpGetTasks      OperatorCallType = "GET_TASKS"
	OpGetRoles      OperatorCallType = "GET_ROLES"
	OpGetWeights    OperatorCallType = "GET_WEIGHTS"
	OpGetMaster     OperatorCallType = "GET_MASTER"
	OpSubscribe     OperatorCallType = "SUBSCRIBE"

	OpDrainAgent      OperatorCallType = "DRAIN_AGENT"
	OpDeactivateAgent OperatorCallType = "DEACTIVATE_AGENT"
	OpReactivateAgent OperatorCallType = "REACTIVATE_AGENT"
)

// answered lists the calls Marina serves; local ones describe the master process itself and
// are answered by standbys too, as Mesos does.
var answered = map[OperatorCallType]bool{
	OpGetHealth: true, OpGetFlags: true, OpGetVersion: true, OpGetMetrics: true,
	OpGetState: false, OpGetAgents: false, OpGetFrameworks: false, OpGetExecutors: false,
	OpGetTasks: false, OpGetRoles: false, OpGetWeights: false, OpGetMaster: false, OpSubscribe: false,
	OpDrainAgent: false, OpDeactivateAgent: false, OpReactivateAgent: false,
}

// unimplemented lists the Mesos master calls Marina knows but does not serve (501).
var unimplemented = map[OperatorCallType]bool{
	"GET_LOGGING_LEVEL": true, "SET_LOGGING_LEVEL": true, "LIST_FILES": true, "READ_FILE": true,
	"UPDATE_WEIGHTS": true, "RESERVE_RESOURCES": true, "UNRESERVE_RESOURCES": true,
	"CREATE_VOLUMES": true, "DESTROY_VOLUMES": true, "GROW_VOLUME": true, "SHRINK_VOLUME": true,
	"GET_MAINTENANCE_STATUS": true, "GET_MAINTENANCE_SCHEDULE": true, "UPDATE_MAINTENANCE_SCHEDULE": true,
	"START_MAINTENANCE": true, "STOP_MAINTENANCE": true, "GET_QUOTA": true, "SET_QUOTA": true, "REMOVE_QUOTA": true,
	"UPDATE_QUOTA": true, "TEARDOWN": true, "MARK_AGENT_GONE": true, "GET_OPERATIONS": true,
}

// OperatorCall is a v1 operator call. GET_METRICS' timeout is accepted and ignored: the
// snapshot is immediate.
type OperatorCall struct {
	Type       OperatorCallType `json:"type"`
	GetMetrics *struct {
		Timeout *mesos.DurationInfo `json:"timeout,omitempty"`
	} `json:"get_metrics,omitempty"`
	DrainAgent      *DrainAgent `json:"drain_agent,omitempty"`
	DeactivateAgent *AgentRef   `json:"deactivate_agent,omitempty"`
	ReactivateAgent *AgentRef   `json:"reactivate_agent,omitempty"`
}

// errUnimplemented marks a known Mesos call that Marina does not serve.
var errUnimplemented = errors.New("not implemented")

// DecodeOperatorCall decodes a v1 operator call from JSON and checks its type.
func DecodeOperatorCall(body []byte) (*OperatorCall, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var c OperatorCall
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("failed to parse body into Call: %w", err)
	}
	if dec.More() {
		return nil, errors.New("failed to parse body into Call: trailing data after the JSON object")
	}
	switch _, ok := answered[c.Type]; {
	case ok:
		return &c, nil
	case c.Type == "":
		return nil, errors.New("expecting 'type' to be present")
	case unimplemented[c.Type]:
		return nil, fmt.Errorf("call type %s: %w by this master", c.Type, errUnimplemented)
	default:
		return nil, fmt.Errorf("failed to parse body into Call: unknown call type %q", c.Type)
	}
}

// handleOperator serves POST /api/v1.
func (m *Master) handleOperator(w http.ResponseWriter, r *http.Request) (any, error) {
	body, err := readCall(w, r)
	if err != nil {
		return nil, err
	}
	call, err := DecodeOperatorCall(body)
	switch {
	case errors.Is(err, errUnimplemented):
		return nil, errorf(http.StatusNotImplemented, "%v", err)
	case err != nil:
		return nil, errorf(http.StatusBadRequest, "%v", err)
	}
	if local := answered[call.Type]; !local && !m.IsLeader() {
		return nil, m.notLeader(r)
	}
	switch call.Type {
	case OpSubscribe:
		return m.operatorSubscribe(w, r)
	case OpGetHealth:
		return opResponse{Type: call.Type, GetHealth: &opGetHealth{Healthy: true}}, nil
	case OpGetFlags:
		return opResponse{Type: call.Type, GetFlags: m.opFlags()}, nil
	case OpGetVersion:
		return opResponse{Type: call.Type, GetVersion: m.opVersion()}, nil
	case OpGetMetrics:
		return opResponse{Type: call.Type, GetMetrics: m.opMetrics()}, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	if st == nil {
		return nil, m.notLeader(r)
	}
	out := opResponse{Type: call.Type}
	switch call.Type {
	case OpGetState:
		out.GetState = opState(st)
	case OpGetAgents:
		out.GetAgents = opAgents(st)
	case OpGetFrameworks:
		out.GetFrameworks = opFrameworks(st)
	case OpGetExecutors:
		out.GetExecutors = opExecutors(st)
	case OpGetTasks:
		out.GetTasks = opTasks(st)
	case OpGetRoles:
		out.GetRoles = m.opRoles(st)
	case OpGetWeights:
		out.GetWeights = m.opWeights()
	case OpGetMaster:
		out.GetMaster = &opGetMaster{MasterInfo: m.masterInfo(st), StartTime: seconds(m.started), ElectedTime: seconds(st.elected)}
	case OpDrainAgent, OpDeactivateAgent, OpReactivateAgent:
		return nil, m.maintainAgent(st, call)
	}
	return out, nil
}

// opResponse is mesos.v1.master.Response.
type opResponse struct {
	Type          OperatorCallType `json:"type"`
	GetHealth     *opGetHealth     `json:"get_health,omitempty"`
	GetFlags      *opGetFlags      `json:"get_flags,omitempty"`
	GetVersion    *opGetVersion    `json:"get_version,omitempty"`
	GetMetrics    *opGetMetrics    `json:"get_metrics,omitempty"`
	GetState      *opGetState      `json:"get_state,omitempty"`
	GetAgents     *opGetAgents     `json:"get_agents,omitempty"`
	GetFrameworks *opGetFrameworks `json:"get_frameworks,omitempty"`
	GetExecutors  *opGetExecutors  `json:"get_executors,omitempty"`
	GetTasks      *opGetTasks      `json:"get_tasks,omitempty"`
	GetRoles      *opGetRoles      `json:"get_roles,omitempty"`
	GetWeights    *opGetWeights    `json:"get_weights,omitempty"`
	GetMaster     *opGetMaster     `json:"get_master,omitempty"`
}

type opGetHealth struct {
	Healthy bool `json:"healthy"`
}

type opFlag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type opGetFlags struct {
	Flags []opFlag `json:"flags"`
}

type opVersionInfo struct {
	Version   string  `json:"version"`
	BuildDate string  `json:"build_date,omitempty"`
	BuildTime float64 `json:"build_time,omitempty"`
	BuildUser string  `json:"build_user,omitempty"`
	GitSHA    string  `json:"git_sha,omitempty"`
}

type opGetVersion struct {
	VersionInfo opVersionInfo `json:"version_info"`
}

type opMetric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

type opGetMetrics struct {
	Metrics []opMetric `json:"metrics"`
}

type opGetState struct {
	GetTasks      *opGetTasks      `json:"get_tasks"`
	GetExecutors  *opGetExecutors  `json:"get_executors"`
	GetFrameworks *opGetFrameworks `json:"get_frameworks"`
	GetAgents     *opGetAgents     `json:"get_agents"`
}

// opAgent is Response.GetAgents.Agent.
type opAgent struct {
	AgentInfo          mesos.AgentInfo    `json:"agent_info"`
	Active             bool               `json:"active"`
	Deactivated        bool               `json:"deactivated"`
	DrainInfo          *drainInfo         `json:"drain_info,omitempty"`
	Version            string             `json:"version"`
	PID                string             `json:"pid,omitempty"`
	RegisteredTime     *mesos.TimeInfo    `json:"registered_time,omitempty"`
	ReregisteredTime   *mesos.TimeInfo    `json:"reregistered_time,omitempty"`
	TotalResources     mesos.Resources    `json:"total_resources"`
	AllocatedResources mesos.Resources    `json:"allocated_resources"`
	OfferedResources   mesos.Resources    `json:"offered_resources"`
	Capabilities       []opTypeCapability `json:"capabilities"`
}

type opTypeCapability struct {
	Type string `json:"type"`
}

type opGetAgents struct {
	Agents          []opAgent         `json:"agents"`
	RecoveredAgents []mesos.AgentInfo `json:"recovered_agents"`
}

// opFramework is Response.GetFrameworks.Framework.
type opFramework struct {
	FrameworkInfo      mesos.FrameworkInfo `json:"framework_info"`
	Active             bool                `json:"active"`
	Connected          bool                `json:"connected"`
	Recovered          bool                `json:"recovered"`
	RegisteredTime     *mesos.TimeInfo     `json:"registered_time,omitempty"`
	ReregisteredTime   *mesos.TimeInfo     `json:"reregistered_time,omitempty"`
	UnregisteredTime   *mesos.TimeInfo     `json:"unregistered_time,omitempty"`
	Offers             []mesos.Offer       `json:"offers"`
	AllocatedResources mesos.Resources     `json:"allocated_resources"`
	OfferedResources   mesos.Resources     `json:"offered_resources"`
}

type opGetFrameworks struct {
	Frameworks          []opFramework `json:"frameworks"`
	CompletedFrameworks []opFramework `json:"completed_frameworks"`
}

type opExecutor struct {
	ExecutorInfo mesos.ExecutorInfo `json:"executor_info"`
	AgentID      mesos.ID           `json:"agent_id"`
}

type opGetExecutors struct {
	Executors []opExecutor `json:"executors"`
}

// opTask is mesos.v1.Task.
type opTask struct {
	Name        string               `json:"name"`
	TaskID      mesos.ID             `json:"task_id"`
	FrameworkID mesos.ID             `json:"framework_id"`
	ExecutorID  *mesos.ID            `json:"executor_id,omitempty"`
	AgentID     mesos.ID             `json:"agent_id"`
	State       mesos.TaskState      `json:"state"`
	Resources   mesos.Resources      `json:"resources"`
	Statuses    []mesos.TaskStatus   `json:"statuses"`
	Labels      *mesos.Labels        `json:"labels,omitempty"`
	Discovery   *mesos.DiscoveryInfo `json:"discovery,omitempty"`
	Container   *mesos.ContainerInfo `json:"container,omitempty"`
	HealthCheck *mesos.HealthCheck   `json:"health_check,omitempty"`
	KillPolicy  *mesos.KillPolicy    `json:"kill_policy,omitempty"`
	// StatusUpdateState is the state of the latest status, as Mesos reports it.
	StatusUpdateState mesos.TaskState `json:"status_update_state,omitempty"`
}

type opGetTasks struct {
	PendingTasks     []opTask `json:"pending_tasks"`
	Tasks            []opTask `json:"tasks"`
	UnreachableTasks []opTask `json:"unreachable_tasks"`
	CompletedTasks   []opTask `json:"completed_tasks"`
}

type opRole struct {
	Name       string          `json:"name"`
	Weight     float64         `json:"weight"`
	Frameworks []mesos.ID      `json:"frameworks"`
	Resources  mesos.Resources `json:"resources"`
	Allocated  mesos.Resources `json:"allocated"`
	Offered    mesos.Resources `json:"offered"`
}

type opGetRoles struct {
	Roles []opRole `json:"roles"`
}

type opWeightInfo struct {
	Weight float64 `json:"weight"`
	Role   string  `json:"role"`
}

type opGetWeights struct {
	WeightInfos []opWeightInfo `json:"weight_infos"`
}

type opGetMaster struct {
	MasterInfo  *mesos.MasterInfo `json:"master_info"`
	StartTime   float64           `json:"start_time,omitempty"`
	ElectedTime float64           `json:"elected_time,omitempty"`
}

func (m *Master) opFlags() *opGetFlags {
	out := &opGetFlags{Flags: []opFlag{}}
	for name, v := range m.flags() {
		out.Flags = append(out.Flags, opFlag{Name: name, Value: v})
	}
	slices.SortFunc(out.Flags, func(a, b opFlag) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (m *Master) opVersion() *opGetVersion {
	return &opGetVersion{VersionInfo: opVersionInfo{
		Version:   m.cfg.Version,
		BuildDate: buildTime.UTC().Format("2006-01-02 15:04:05"),
		BuildTime: seconds(buildTime),
		BuildUser: "marina",
		GitSHA:    buildRevision(),
	}}
}

func (m *Master) opMetrics() *opGetMetrics {
	out := &opGetMetrics{Metrics: []opMetric{}}
	for name, v := range m.snapshot() {
		out.Metrics = append(out.Metrics, opMetric{Name: name, Value: v})
	}
	slices.SortFunc(out.Metrics, func(a, b opMetric) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// timeInfo returns t as a TimeInfo, nil when t is zero.
func timeInfo(t time.Time) *mesos.TimeInfo {
	if t.IsZero() {
		return nil
	}
	return &mesos.TimeInfo{Nanoseconds: t.UnixNano()}
}

// opState returns the whole state, as GET_STATE and SUBSCRIBED carry it. m.mu must be held.
func opState(st *leaderState) *opGetState {
	return &opGetState{
		GetTasks:      opTasks(st),
		GetExecutors:  opExecutors(st),
		GetFrameworks: opFrameworks(st),
		GetAgents:     opAgents(st),
	}
}

func opAgents(st *leaderState) *opGetAgents {
	out := &opGetAgents{Agents: []opAgent{}, RecoveredAgents: []mesos.AgentInfo{}}
	for _, a := range sortedAgents(st) {
		switch {
		case a.unreachable:
		case a.recovered:
			out.RecoveredAgents = append(out.RecoveredAgents, a.info)
		default:
			out.Agents = append(out.Agents, opAgentOf(a))
		}
	}
	return out
}

// opAgentOf returns an agent as Response.GetAgents.Agent. m.mu must be held.
func opAgentOf(a *agent) opAgent {
	var allocated []*task
	for _, t := range a.tasks {
		allocated = append(allocated, t)
	}
	var offers mesos.Resources
	for _, o := range a.offers {
		offers = append(offers, o.resources...)
	}
	return opAgent{
		AgentInfo:          a.info,
		Active:             a.active(),
		Deactivated:        a.deactivated,
		DrainInfo:          a.drain.clone(),
		Version:            a.version,
		PID:                a.pid,
		RegisteredTime:     timeInfo(a.registeredTime),
		ReregisteredTime:   timeInfo(a.reregisteredTime),
		TotalResources:     nonNilResources(a.info.Resources.Clone()),
		AllocatedResources: byRole(allocated),
		OfferedResources:   nonNilResources(mergeByRole(offers)),
		Capabilities:       []opTypeCapability{{Type: "MULTI_ROLE"}, {Type: "HIERARCHICAL_ROLE"}},
	}
}

// byRole returns what tasks hold, summed per role, with AllocationInfo.
func byRole(tasks []*task) mesos.Resources {
	var all mesos.Resources
	for _, t := range tasks {
		all = append(all, t.resources...)
	}
	return nonNilResources(mergeByRole(all))
}

// mergeByRole sums resources that carry the same allocation role; the result keeps the role.
func mergeByRole(rs mesos.Resources) mesos.Resources {
	groups := map[string]mesos.Resources{}
	var roles []string
	for _, r := range rs {
		role := ""
		if r.AllocationInfo != nil {
			role = r.AllocationInfo.Role
		}
		if _, ok := groups[role]; !ok {
			roles = append(roles, role)
		}
		groups[role] = append(groups[role], r)
	}
	slices.Sort(roles)
	var out mesos.Resources
	for _, role := range roles {
		sum := groups[role].Add(nil)
		if role != "" {
			sum = sum.WithAllocationRole(role)
		}
		out = append(out, sum...)
	}
	return out
}

func nonNilResources(rs mesos.Resources) mesos.Resources {
	if rs == nil {
		return mesos.Resources{}
	}
	return rs
}

func opFrameworks(st *leaderState) *opGetFrameworks {
	out := &opGetFrameworks{Frameworks: []opFramework{}, CompletedFrameworks: []opFramework{}}
	for _, f := range sortedFrameworks(st) {
		out.Frameworks = append(out.Frameworks, opFrameworkOf(f))
	}
	for _, f := range st.completedFrameworks {
		out.CompletedFrameworks = append(out.CompletedFrameworks, opFrameworkOf(f))
	}
	return out
}

// opFrameworkOf returns a framework as Response.GetFrameworks.Framework. m.mu must be held.
func opFrameworkOf(f *framework) opFramework {
	var tasks []*task
	for _, t := range f.tasks {
		tasks = append(tasks, t)
	}
	var offered mesos.Resources
	offers := []mesos.Offer{}
	for _, o := range f.sortedOffers() {
		offered = append(offered, o.resources...)
		offers = append(offers, mesos.Offer{
			ID: mesos.ID{Value: o.id}, FrameworkID: mesos.ID{Value: o.frameworkID}, AgentID: mesos.ID{Value: o.agentID},
			Resources: o.resources.Clone(), AllocationInfo: &mesos.AllocationInfo{Role: o.role},
		})
	}
	info := f.info
	info.ID = &mesos.ID{Value: f.id}
	return opFramework{
		FrameworkInfo:      info,
		Active:             f.connected(),
		Connected:          f.connected(),
		Recovered:          f.recovered,
		RegisteredTime:     timeInfo(f.registeredTime),
		ReregisteredTime:   timeInfo(f.reregisteredTime),
		UnregisteredTime:   timeInfo(f.unregisteredTime),
		Offers:             offers,
		AllocatedResources: byRole(tasks),
		OfferedResources:   nonNilResources(mergeByRole(offered)),
	}
}

func opExecutors(st *leaderState) *opGetExecutors {
	out := &opGetExecutors{Executors: []opExecutor{}}
	seen := map[string]bool{}
	for _, f := range sortedFrameworks(st) {
		for _, t := range sortedTasks(f.tasks) {
			ex := t.executor
			if ex == nil {
				ex = t.info.Executor
			}
			key := t.agentID + "/" + f.id
			if ex == nil || seen[key+"/"+ex.ExecutorID.Value] {
				continue
			}
			seen[key+"/"+ex.ExecutorID.Value] = true
			info := *ex
			info.FrameworkID = &mesos.ID{Value: f.id}
			out.Executors = append(out.Executors, opExecutor{ExecutorInfo: info, AgentID: mesos.ID{Value: t.agentID}})
		}
	}
	return out
}

func opTasks(st *leaderState) *opGetTasks {
	out := &opGetTasks{PendingTasks: []opTask{}, Tasks: []opTask{}, UnreachableTasks: []opTask{}, CompletedTasks: []opTask{}}
	add := func(f *framework) {
		for _, t := range sortedTasks(f.tasks) {
			out.Tasks = append(out.Tasks, opTaskOf(t))
		}
		for _, t := range sortedTasks(f.unreachable) {
			out.UnreachableTasks = append(out.UnreachableTasks, opTaskOf(t))
		}
		for _, t := range f.completed {
			out.CompletedTasks = append(out.CompletedTasks, opTaskOf(t))
		}
	}
	for _, f := range sortedFrameworks(st) {
		add(f)
	}
	for _, f := range st.completedFrameworks {
		add(f)
	}
	return out
}

// opTaskOf returns a task as mesos.v1.Task. m.mu must be held; the result shares nothing
// mutable with the task.
func opTaskOf(t *task) opTask {
	out := opTask{
		Name:        t.info.Name,
		TaskID:      t.info.TaskID,
		FrameworkID: mesos.ID{Value: t.frameworkID},
		AgentID:     mesos.ID{Value: t.agentID},
		State:       t.state,
		Resources:   nonNilResources(t.info.Resources.Clone()),
		Statuses:    slices.Clone(t.statuses),
		Labels:      t.info.Labels,
		Discovery:   t.info.Discovery,
		Container:   t.info.Container,
		HealthCheck: t.info.HealthCheck,
		KillPolicy:  t.info.KillPolicy,
	}
	if out.Statuses == nil {
		out.Statuses = []mesos.TaskStatus{}
	}
	if t.info.Executor != nil {
		out.ExecutorID = &mesos.ID{Value: t.info.Executor.ExecutorID.Value}
	} else if t.executor != nil {
		out.ExecutorID = &mesos.ID{Value: t.executor.ExecutorID.Value}
	}
	if l := t.latest(); l != nil {
		out.StatusUpdateState = l.State
	}
	return out
}

// opRoles lists the roles of frameworks and of configured weights. m.mu must be held.
func (m *Master) opRoles(st *leaderState) *opGetRoles {
	type acc struct {
		frameworks []mesos.ID
		allocated  []*task
		offered    mesos.Resources
	}
	roles := map[string]*acc{}
	get := func(r string) *acc {
		if roles[r] == nil {
			roles[r] = &acc{frameworks: []mesos.ID{}}
		}
		return roles[r]
	}
	for r := range m.cfg.RoleWeights {
		get(r)
	}
	for _, f := range sortedFrameworks(st) {
		for _, r := range f.info.EffectiveRoles() {
			a := get(r)
			a.frameworks = append(a.frameworks, mesos.ID{Value: f.id})
		}
		for _, t := range f.tasks {
			get(t.role).allocated = append(get(t.role).allocated, t)
		}
		for _, o := range f.offers {
			get(o.role).offered = append(get(o.role).offered, o.resources...)
		}
	}
	out := &opGetRoles{Roles: []opRole{}}
	for name, a := range roles {
		alloc := byRole(a.allocated)
		out.Roles = append(out.Roles, opRole{
			Name: name, Weight: m.roleWeight(name), Frameworks: a.frameworks,
			Resources: alloc, Allocated: alloc, Offered: nonNilResources(mergeByRole(a.offered)),
		})
	}
	slices.SortFunc(out.Roles, func(a, b opRole) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (m *Master) roleWeight(role string) float64 {
	if w, ok := m.cfg.RoleWeights[role]; ok && w > 0 {
		return w
	}
	return 1
}

func (m *Master) opWeights() *opGetWeights {
	out := &opGetWeights{WeightInfos: []opWeightInfo{}}
	for r, w := range m.cfg.RoleWeights {
		out.WeightInfos = append(out.WeightInfos, opWeightInfo{Role: r, Weight: w})
	}
	slices.SortFunc(out.WeightInfos, func(a, b opWeightInfo) int { return strings.Compare(a.Role, b.Role) })
	return out
}
