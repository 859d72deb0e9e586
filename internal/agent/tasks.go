package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"time"

	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/agent/internal/launchtrace"
	"github.com/marina-dcos/marina/internal/agent/process"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// dockerExecutor names the executor of DOCKER containers.
const dockerExecutor = "docker"

type taskKey struct{ fw, task string }

type framework struct {
	info mesos.FrameworkInfo
}

// maxStatuses bounds the statuses a task keeps for /state.
const maxStatuses = 16

// task is one task the agent runs, or ran and still has updates of to deliver. Guarded by
// Agent.mu.
type task struct {
	key taskKey
	rec taskRecord
	dir string // checkpoint directory

	state    mesos.TaskState
	statuses []mesos.TaskStatus // most recent last, bounded

	// Status updates not yet acknowledged, in order; the first is outstanding.
	pending []mesos.TaskStatus
	// terminalBatch is the checkpoint batch that makes the task's terminal update durable: the
	// update is sent only once it is (0: durable already, or no terminal update yet).
	terminalBatch uint64
	nextSend      time.Time
	backoff       time.Duration

	// checkpointed, when not nil, is closed once the launch has written the task's checkpoint
	// directory; see waitCheckpointed.
	checkpointed chan struct{}

	container executor.Container // nil until launched or recovered
	killing   bool               // a kill goroutine was started
	healthy   *bool              // health last reported, nil before the first result
}

// waitCheckpointed waits until the task's checkpoint directory is written: the launch writes it
// outside the agent's lock, without taking the lock first, so the wait is short and may be
// under the lock.
func (t *task) waitCheckpointed() {
	if t.checkpointed != nil {
		<-t.checkpointed
	}
}

func (t *task) latest() *mesos.TaskStatus {
	if len(t.statuses) == 0 {
		return nil
	}
	return &t.statuses[len(t.statuses)-1]
}

func (a *Agent) spec(t *task) executor.Spec {
	return executor.Spec{
		ContainerID: t.rec.ContainerID,
		FrameworkID: t.key.fw,
		AgentID:     a.agentIDLocked(),
		Hostname:    a.cfg.Hostname,
		Task:        t.rec.Task,
		Sandbox:     t.rec.Sandbox,
		StateDir:    filepath.Join(t.dir, executorDir),
	}
}

// agentIDLocked returns the id in use: confirmed in this process, else checkpointed.
func (a *Agent) agentIDLocked() string {
	if a.id != "" {
		return a.id
	}
	return a.savedID
}

func newContainerID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// executorFor picks the executor of a task by its container type.
func executorFor(ti *mesos.TaskInfo) string {
	if ti.Container != nil && ti.Container.Type == "DOCKER" {
		return dockerExecutor
	}
	return process.Name
}

// handleLaunch starts the tasks of a LAUNCH event.
func (a *Agent) handleLaunch(l *mesos.AgentLaunch) {
	fw := ""
	if l.Framework.ID != nil {
		fw = l.Framework.ID.Value
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := checkID(fw); err != nil {
		a.log.Error("launch: bad framework id", "err", err)
		for _, ti := range l.Tasks {
			a.sendUnreliableLocked(fw, mesos.TaskStatus{TaskID: ti.TaskID, State: mesos.TaskError,
				Source: mesos.SourceAgent, Reason: mesos.ReasonTaskInvalid, Message: err.Error()})
		}
		return
	}
	if f, ok := a.frameworks[fw]; !ok || !reflect.DeepEqual(f.info, l.Framework) {
		a.frameworks[fw] = &framework{info: l.Framework}
		if _, err := a.checkpointJSON(filepath.Join(a.dir.framework(fw), frameworkFile), l.Framework); err != nil {
			a.log.Error("checkpoint framework", "framework", fw, "err", err)
		}
	}
	for _, ti := range l.Tasks {
		a.launchLocked(fw, ti)
	}
}

func (a *Agent) launchLocked(fw string, ti mesos.TaskInfo) {
	id := ti.TaskID.Value
	log := a.log.With("framework", fw, "task", id)
	if err := checkID(id); err != nil {
		log.Error("launch: bad task id", "err", err)
		a.sendUnreliableLocked(fw, mesos.TaskStatus{TaskID: ti.TaskID, State: mesos.TaskError,
			Source: mesos.SourceAgent, Reason: mesos.ReasonTaskInvalid, Message: err.Error()})
		return
	}
	key := taskKey{fw, id}
	if _, ok := a.tasks[key]; ok {
		// As Mesos does: the master rejects duplicate ids; one that slips through must not
		// disturb the task that has the id.
		log.Warn("launch: duplicate task id ignored")
		return
	}
	t := &task{
		key:   key,
		dir:   a.dir.task(fw, id),
		state: mesos.TaskStaging,
		rec: taskRecord{
			FrameworkID: fw,
			Task:        ti,
			ContainerID: newContainerID(),
			Executor:    executorFor(&ti),
			Sandbox:     a.dir.sandbox(fw, id),
		},
		checkpointed: make(chan struct{}),
	}
	a.tasks[key] = t
	ex := a.executors[t.rec.Executor]
	rec, spec := t.rec, a.spec(t)
	log.Info("launching task", "container", t.rec.ContainerID, "executor", t.rec.Executor)
	a.goTracked(func() { a.launch(t, rec, ex, spec) })
}

// launch writes a new task's checkpoint and sandbox, outside the agent's lock, and runs the
// task. Whatever else would write to the checkpoint meanwhile (a kill, an update) waits for it.
func (a *Agent) launch(t *task, rec taskRecord, ex executor.Executor, spec executor.Spec) {
	log := a.log.With("framework", t.key.fw, "task", t.key.task)
	if err := os.MkdirAll(filepath.Join(t.dir, executorDir), 0o700); err == nil {
		if _, err := a.checkpointJSON(filepath.Join(t.dir, taskFile), rec); err != nil {
			log.Error("checkpoint task", "err", err)
		}
	} else {
		log.Error("checkpoint task", "err", err)
	}
	sandboxErr := os.MkdirAll(rec.Sandbox, 0o755)
	close(t.checkpointed)
	launchtrace.Mark(t.key.task, launchtrace.Checkpointed)
	if sandboxErr != nil || ex == nil {
		msg := "No " + rec.Executor + " executor on this agent"
		if sandboxErr != nil {
			msg = "Failed to create sandbox: " + sandboxErr.Error()
		}
		a.mu.Lock()
		a.failLocked(t, mesos.ReasonContainerLaunchFailed, msg)
		a.mu.Unlock()
		return
	}
	a.runTask(t, ex, spec, true)
}

// failLocked ends a task that never ran with TASK_FAILED (TASK_KILLED when a kill was asked).
func (a *Agent) failLocked(t *task, reason, msg string) {
	st := mesos.TaskStatus{State: mesos.TaskFailed, Reason: reason, Message: msg, Source: mesos.SourceAgent}
	if t.rec.KillRequested {
		st.State, st.Reason = mesos.TaskKilled, mesos.ReasonTaskKilledDuringLaunch
	}
	a.enqueueLocked(t, st)
}

// runTask launches (fresh) or recovers a task's container and reports it running and ended.
func (a *Agent) runTask(t *task, ex executor.Executor, spec executor.Spec, fresh bool) {
	ctx := a.ctx
	log := a.log.With("framework", t.key.fw, "task", t.key.task)
	var c executor.Container
	var err error
	if fresh {
		c, err = ex.Launch(ctx, spec)
		launchtrace.Mark(t.key.task, launchtrace.Handed)
	} else {
		c, err = ex.Recover(ctx, spec)
	}
	if err != nil {
		if ctx.Err() != nil && !fresh {
			return
		}
		log.Warn("task did not start", "fresh", fresh, "err", err)
		if cerr := ex.Cleanup(context.WithoutCancel(ctx), spec); cerr != nil {
			log.Warn("cleanup", "err", cerr)
		}
		a.mu.Lock()
		switch {
		case fresh:
			a.failLocked(t, mesos.ReasonContainerLaunchFailed, "Failed to launch task: "+err.Error())
		case errors.Is(err, executor.ErrNotFound):
			a.failLocked(t, mesos.ReasonAgentRestarted, "Task launch interrupted by an agent restart")
		default:
			a.failLocked(t, mesos.ReasonExecutorTerminated, "Executor terminated: "+err.Error())
		}
		a.mu.Unlock()
		return
	}

	// A fresh launch learns whether its task runs before it takes the agent's lock, and takes
	// it once: on a busy host each wait for the lock can cost milliseconds. A kill that came
	// meanwhile starts then, as one that came during the launch does.
	var started error
	if fresh {
		started = c.Started(ctx)
		if ctx.Err() != nil {
			return
		}
	}
	a.mu.Lock()
	t.container = c
	if t.rec.KillRequested {
		a.startKillLocked(t)
	}
	startedBefore := t.state == mesos.TaskRunning || t.state == mesos.TaskKilling
	if fresh && started == nil {
		launchtrace.Mark(t.key.task, launchtrace.Told)
		a.reportRunningLocked(t, c)
	}
	a.mu.Unlock()

	if !fresh && !startedBefore {
		err := c.Started(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			a.mu.Lock()
			a.reportRunningLocked(t, c)
			a.mu.Unlock()
		}
	}

	stopHealth := a.startHealthCheck(ctx, t, spec)
	exit, err := c.Wait(ctx)
	stopHealth()
	if err != nil {
		return // the agent is closing; the next one recovers the task
	}
	// Release the container before reporting, so the report never precedes the cleanup a
	// restarted agent would otherwise have to redo.
	if err := ex.Cleanup(ctx, spec); err != nil {
		log.Warn("cleanup", "err", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	st := terminalStatus(exit, t.rec.KillRequested)
	if t.rec.KillRequested && t.rec.HealthKilled {
		// As Mesos: a task killed for failing its health check ends TASK_KILLED, unhealthy.
		st.Message, st.Healthy = "health check failed", new(false)
	}
	st.ContainerStatus = a.containerStatus(c)
	log.Info("task ended", "state", st.State, "message", st.Message)
	a.enqueueLocked(t, st)
}

// reportRunningLocked queues TASK_RUNNING for a task seen started, unless it is being killed or
// was reported running already.
func (a *Agent) reportRunningLocked(t *task, c executor.Container) {
	if !t.rec.KillRequested && !t.state.Terminal() && t.state != mesos.TaskRunning {
		a.enqueueLocked(t, mesos.TaskStatus{State: mesos.TaskRunning, Source: mesos.SourceExecutor,
			ContainerStatus: a.containerStatus(c)})
	}
}

// terminalStatus turns an exit into the task's last status.
func terminalStatus(e executor.Exit, killed bool) mesos.TaskStatus {
	st := mesos.TaskStatus{Source: mesos.SourceExecutor, Message: e.String()}
	switch {
	case killed:
		st.State = mesos.TaskKilled
	case e.LaunchError != "":
		st.State, st.Reason = mesos.TaskFailed, mesos.ReasonContainerLaunchFailed
	case e.Lost:
		st.State, st.Reason, st.Source = mesos.TaskFailed, mesos.ReasonExecutorTerminated, mesos.SourceAgent
	case e.OOM:
		st.State, st.Reason = mesos.TaskFailed, mesos.ReasonContainerLimitation
	case e.Success():
		st.State = mesos.TaskFinished
	default:
		st.State = mesos.TaskFailed
	}
	return st
}

// containerStatus describes a task's container for its updates: the executor's view plus the
// agent's address, which command tasks share.
func (a *Agent) containerStatus(c executor.Container) *mesos.ContainerStatus {
	st := c.Status()
	if st == nil {
		st = &mesos.ContainerStatus{}
	}
	if len(st.NetworkInfos) == 0 {
		if ip := a.advertiseIP(); ip != "" {
			proto := "IPv4"
			if !isIPv4(ip) {
				proto = "IPv6"
			}
			st.NetworkInfos = []mesos.NetworkInfo{{IPAddresses: []mesos.IPAddress{{Protocol: proto, IPAddress: ip}}}}
		}
	}
	return st
}

// handleKill kills a task, or reports an unknown one lost.
func (a *Agent) handleKill(k *mesos.AgentKill) {
	fw, id := k.FrameworkID.Value, k.TaskID.Value
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tasks[taskKey{fw, id}]
	if t == nil {
		a.reportUnknownLocked(fw, k.TaskID)
		return
	}
	a.killLocked(t, k.KillPolicy)
}

// reportUnknownLocked answers a kill of a task the agent does not have with a reliable
// TASK_LOST, as Mesos does.
func (a *Agent) reportUnknownLocked(fw string, id mesos.ID) {
	st := mesos.TaskStatus{TaskID: id, State: mesos.TaskLost, Source: mesos.SourceAgent,
		Reason: mesos.ReasonTaskUnknown, Message: "Task unknown to the agent"}
	if checkID(fw) != nil || checkID(id.Value) != nil {
		a.sendUnreliableLocked(fw, st)
		return
	}
	t := &task{
		key:   taskKey{fw, id.Value},
		dir:   a.dir.task(fw, id.Value),
		state: mesos.TaskLost,
		rec:   taskRecord{FrameworkID: fw, Task: mesos.TaskInfo{TaskID: id}, Phantom: true},
	}
	if _, err := a.checkpointJSON(filepath.Join(t.dir, taskFile), t.rec); err != nil {
		a.log.Error("checkpoint task", "task", id.Value, "err", err)
	}
	a.tasks[t.key] = t
	a.log.Info("kill of an unknown task: reporting it lost", "framework", fw, "task", id.Value)
	a.enqueueLocked(t, st)
}

func (a *Agent) killLocked(t *task, policy *mesos.KillPolicy) {
	if t.rec.Phantom || t.state.Terminal() {
		return
	}
	if !t.rec.KillRequested {
		t.rec.KillRequested = true
		t.rec.KillGrace = killGrace(policy, t.rec.Task.KillPolicy)
		t.waitCheckpointed()
		if _, err := a.checkpointJSON(filepath.Join(t.dir, taskFile), t.rec); err != nil {
			a.log.Error("checkpoint task", "task", t.key.task, "err", err)
		}
		a.log.Info("killing task", "framework", t.key.fw, "task", t.key.task, "grace", t.rec.KillGrace)
	}
	if t.state != mesos.TaskKilling {
		st := mesos.TaskStatus{State: mesos.TaskKilling, Source: mesos.SourceExecutor}
		if t.container != nil {
			st.ContainerStatus = a.containerStatus(t.container)
		}
		a.enqueueLocked(t, st)
	}
	a.startKillLocked(t)
}

// killGrace returns the grace period of a kill: the kill's policy, else the task's, else 3s.
func killGrace(policies ...*mesos.KillPolicy) time.Duration {
	for _, p := range policies {
		if p != nil && p.GracePeriod != nil {
			return max(time.Duration(p.GracePeriod.Nanoseconds), 0)
		}
	}
	return DefaultKillGrace
}

// startKillLocked starts killing a launched task once; a task still launching is killed by
// runTask when its launch returns.
func (a *Agent) startKillLocked(t *task) {
	if t.container == nil || t.killing {
		return
	}
	t.killing = true
	c, grace := t.container, t.rec.KillGrace
	key := t.key
	a.goTracked(func() {
		if err := c.Kill(a.ctx, grace); err != nil && a.ctx.Err() == nil {
			a.log.Warn("kill", "framework", key.fw, "task", key.task, "err", err)
		}
	})
}

// handleShutdown kills every task of a framework.
func (a *Agent) handleShutdown(s *mesos.AgentShutdown) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.log.Info("shutting down framework", "framework", s.FrameworkID.Value)
	for _, t := range a.tasks {
		if t.key.fw == s.FrameworkID.Value {
			a.killLocked(t, nil)
		}
	}
}

// removeTaskLocked forgets a task whose terminal update was acknowledged: its checkpoint goes,
// its sandbox stays.
func (a *Agent) removeTaskLocked(t *task) {
	a.discardLocked(t.dir)
	delete(a.tasks, t.key)
	delete(a.pendingSet, t.key)
	if !t.rec.Phantom {
		a.completed = appendBounded(a.completed, t, maxCompleted)
	}
	for _, o := range a.tasks {
		if o.key.fw == t.key.fw {
			return
		}
	}
	if f, ok := a.frameworks[t.key.fw]; ok {
		a.doneFws = appendBounded(a.doneFws, f.info, maxCompleted)
		delete(a.frameworks, t.key.fw)
	}
	a.discardLocked(a.dir.framework(t.key.fw))
}

// discardLocked moves a checkpoint directory to the trash, one rename under the agent's lock,
// and removes it from there in the background: removing a task's dozen files under the lock
// would hold up the launches and updates waiting for it. A task launched again under the same
// id starts with a fresh directory; the next agent empties the trash.
func (a *Agent) discardLocked(dir string) {
	a.trashed++
	trash := filepath.Join(a.dir.trash(), strconv.FormatUint(a.trashed, 10))
	if err := os.Rename(dir, trash); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			a.log.Warn("discard checkpoint", "dir", dir, "err", err)
		}
		return
	}
	a.goTracked(func() {
		if err := os.RemoveAll(trash); err != nil {
			a.log.Warn("empty trash", "dir", trash, "err", err)
		}
	})
}

func appendBounded[T any](s []T, v T, n int) []T {
	s = append(s, v)
	if len(s) > n {
		s = append(s[:0], s[len(s)-n:]...)
	}
	return s
}
