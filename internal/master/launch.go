package master

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// accept uses offers for LAUNCH and LAUNCH_GROUP operations. Bad offers fail every task with
// TASK_DROPPED (TASK_LOST for frameworks that are not partition-aware) and REASON_INVALID_OFFERS;
// an invalid task fails alone with TASK_ERROR and REASON_TASK_INVALID. What the launched tasks do
// not use goes back to the allocator, filtered for the accept's refuse_seconds.
func (m *Master) accept(st *leaderState, f *framework, acc *mesos.Accept, now time.Time) {
	var offers []*offer
	offerErr := ""
	if len(acc.OfferIDs) == 0 {
		offerErr = "No offers specified"
	}
	seen := map[string]bool{}
	for _, id := range acc.OfferIDs {
		o := st.offers[id.Value]
		switch {
		case seen[id.Value]:
			offerErr = "Duplicate offer " + id.Value + " in ACCEPT"
		case o == nil:
			offerErr = "Offer " + id.Value + " is no longer valid"
		case o.frameworkID != f.id:
			offerErr = "Offer " + id.Value + " was not made to framework " + f.id
		default:
			if len(offers) > 0 && o.agentID != offers[0].agentID {
				offerErr = "Aggregated offers must belong to one single agent"
			}
			offers = append(offers, o)
		}
		seen[id.Value] = true
	}
	for _, o := range offers {
		m.removeOffer(st, o, false)
	}
	var a *agent
	if offerErr == "" {
		if a = st.agents[offers[0].agentID]; a == nil || !a.active() {
			offerErr = "Agent " + offers[0].agentID + " is not connected"
		}
	}
	if offerErr != "" {
		for _, o := range offers {
			if oa := st.agents[o.agentID]; oa != nil && oa.inAllocator() {
				st.alloc.Recover(o.agentID, f.id, o.resources)
			}
		}
		m.failOperations(st, f, acc.Operations, offerErr, now)
		m.triggerAllocation(st)
		return
	}

	role := offers[0].role
	var available mesos.Resources
	for _, o := range offers {
		available = available.Add(o.resources)
	}
	launched := map[string]bool{}
	var tasks []mesos.TaskInfo
	for _, op := range acc.Operations {
		switch op.Type {
		case mesos.OperationLaunch:
			if op.Launch == nil {
				continue
			}
			for _, ti := range op.Launch.TaskInfos {
				res, err := validateTask(f, a, &ti, available, launched)
				if err != nil {
					m.taskError(st, f, ti, a.id, err, now)
					continue
				}
				available = available.Subtract(res)
				launched[ti.TaskID.Value] = true
				tasks = append(tasks, m.addTask(st, f, a, ti, role, nil, false))
			}
		case mesos.OperationLaunchGroup:
			if op.LaunchGroup != nil {
				available = m.launchGroup(st, f, a, op.LaunchGroup, role, available, launched, now)
			}
		default:
			m.log.Warn("unsupported offer operation ignored", "framework_id", f.id, "type", op.Type)
		}
	}
	if len(tasks) > 0 {
		a.conn.send(mesos.AgentEvent{Type: mesos.AgentEventLaunch, Launch: &mesos.AgentLaunch{Framework: f.info, Tasks: tasks}})
	}
	if !available.IsEmpty() {
		st.alloc.Recover(a.id, f.id, available.WithAllocationRole(role))
		m.filter(st, f, role, a.id, refuseDuration(acc.Filters), now)
	}
	m.triggerAllocation(st)
}

// launchGroup validates and launches a task group; one invalid task fails the whole group. It
// returns what is left available.
func (m *Master) launchGroup(st *leaderState, f *framework, a *agent, lg *mesos.LaunchGroup, role string, available mesos.Resources, launched map[string]bool, now time.Time) mesos.Resources {
	exec := lg.Executor
	left := available
	var err error
	switch {
	case exec.ExecutorID.Value == "":
		err = errors.New("executor ID of the task group is missing")
	case len(lg.TaskGroup.Tasks) == 0:
		err = errors.New("task group is empty")
	case exec.Resources.Validate() != nil:
		err = fmt.Errorf("executor uses invalid resources: %v", exec.Resources.Validate())
	case !left.Contains(exec.Resources):
		err = fmt.Errorf("executor uses more resources %s than available %s", exec.Resources, left)
	}
	if err == nil {
		left = left.Subtract(exec.Resources)
		seen := maps.Clone(launched)
		for i := range lg.TaskGroup.Tasks {
			ti := lg.TaskGroup.Tasks[i]
			if ti.Executor != nil {
				err = fmt.Errorf("task %s in a task group must not have an executor", ti.TaskID.Value)
				break
			}
			var res mesos.Resources
			if res, err = validateTask(f, a, &ti, left, seen); err != nil {
				break
			}
			left = left.Subtract(res)
			seen[ti.TaskID.Value] = true
		}
	}
	if err != nil {
		for _, ti := range lg.TaskGroup.Tasks {
			m.taskError(st, f, ti, a.id, err, now)
		}
		return available
	}
	exec.FrameworkID = &mesos.ID{Value: f.id}
	exec.Resources = exec.Resources.WithAllocationRole(role)
	var tasks []mesos.TaskInfo
	for i, ti := range lg.TaskGroup.Tasks {
		// The first task holds the executor's resources in the allocator.
		tasks = append(tasks, m.addTask(st, f, a, ti, role, &exec, i == 0))
		launched[ti.TaskID.Value] = true
	}
	a.conn.send(mesos.AgentEvent{Type: mesos.AgentEventLaunch, Launch: &mesos.AgentLaunch{
		Framework: f.info, Tasks: tasks, Group: true, Executor: &exec,
	}})
	return left
}

// validateTask checks a task to launch with the resources still available on the offers; it
// returns what the task (and its executor) use.
func validateTask(f *framework, a *agent, ti *mesos.TaskInfo, available mesos.Resources, launched map[string]bool) (mesos.Resources, error) {
	id := ti.TaskID.Value
	if err := validateID(id); err != nil {
		return nil, fmt.Errorf("task ID is invalid: %w", err)
	}
	if f.tasks[id] != nil || f.unreachable[id] != nil || launched[id] {
		return nil, fmt.Errorf("task has duplicate ID: %s", id)
	}
	if ti.AgentID.Value != a.id {
		return nil, fmt.Errorf("task uses invalid agent: %s (the offers are of agent %s)", ti.AgentID.Value, a.id)
	}
	if ti.Command == nil && ti.Executor == nil && ti.Container == nil {
		return nil, errors.New("task should have at least one of CommandInfo, ExecutorInfo or ContainerInfo present")
	}
	if ti.Command != nil && ti.Executor != nil {
		return nil, errors.New("task should have at least one (but not both) of CommandInfo or ExecutorInfo present")
	}
	if err := ti.Resources.Validate(); err != nil {
		return nil, fmt.Errorf("task uses invalid resources: %w", err)
	}
	res := ti.Resources.Add(nil)
	if ti.Executor != nil {
		if err := ti.Executor.Resources.Validate(); err != nil {
			return nil, fmt.Errorf("executor uses invalid resources: %w", err)
		}
		res = res.Add(ti.Executor.Resources)
	}
	if res.IsEmpty() {
		return nil, errors.New("task uses no resources")
	}
	if !available.Contains(res) {
		return nil, fmt.Errorf("task uses more resources %s than available %s", res, available.Add(nil))
	}
	return res, nil
}

// validateID checks an ID as Mesos does: non-empty, printable ASCII, no '/', not "." or "..".
func validateID(id string) error {
	switch {
	case id == "":
		return errors.New("must not be empty")
	case id == "." || id == "..":
		return errors.New("'.' and '..' are disallowed")
	case len(id) > 1024:
		return errors.New("must be at most 1024 characters long")
	}
	for _, c := range []byte(id) {
		if c < 0x20 || c > 0x7e || c == '/' {
			return fmt.Errorf("%q contains invalid characters", id)
		}
	}
	return nil
}

// addTask records a valid task as TASK_STAGING and returns the TaskInfo to send to the agent,
// its resources carrying the offer's role.
func (m *Master) addTask(st *leaderState, f *framework, a *agent, ti mesos.TaskInfo, role string, groupExec *mesos.ExecutorInfo, chargeExec bool) mesos.TaskInfo {
	ti.Resources = ti.Resources.WithAllocationRole(role)
	if ti.Executor != nil {
		ex := *ti.Executor
		ex.FrameworkID = &mesos.ID{Value: f.id}
		ex.Resources = ex.Resources.WithAllocationRole(role)
		ti.Executor = &ex
	}
	t := newTask(ti, f, a.id, mesos.TaskStaging)
	t.executor = groupExec
	if chargeExec {
		t.resources = t.resources.Add(groupExec.Resources).WithAllocationRole(role)
	}
	f.tasks[ti.TaskID.Value] = t
	a.tasks[taskKey{f.id, ti.TaskID.Value}] = t
	st.publishTaskAdded(t)
	m.metrics.tasksLaunched.Inc()
	return ti
}

// taskError reports an invalid task with TASK_ERROR.
func (m *Master) taskError(st *leaderState, f *framework, ti mesos.TaskInfo, agentID string, err error, now time.Time) {
	t := &task{info: ti, frameworkID: f.id, agentID: agentID}
	m.log.Info("invalid task", "framework_id", f.id, "task_id", ti.TaskID.Value, "err", err)
	st.terminal[mesos.TaskError]++
	m.sendUpdate(f, masterStatus(t, mesos.TaskError, mesos.ReasonTaskInvalid, err.Error(), now))
}

// failOperations fails every task of an ACCEPT whose offers are invalid.
func (m *Master) failOperations(st *leaderState, f *framework, ops []mesos.Operation, msg string, now time.Time) {
	state := mesos.TaskLost
	if f.partitionAware() {
		state = mesos.TaskDropped
	}
	fail := func(ti mesos.TaskInfo) {
		t := &task{info: ti, frameworkID: f.id, agentID: ti.AgentID.Value}
		st.terminal[state]++
		m.sendUpdate(f, masterStatus(t, state, mesos.ReasonInvalidOffers, msg, now))
	}
	for _, op := range ops {
		switch {
		case op.Launch != nil:
			for _, ti := range op.Launch.TaskInfos {
				fail(ti)
			}
		case op.LaunchGroup != nil:
			for _, ti := range op.LaunchGroup.TaskGroup.Tasks {
				fail(ti)
			}
		}
	}
}
