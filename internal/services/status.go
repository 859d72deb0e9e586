package services

import (
	"cmp"
	"strings"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
)

// launchTimeout is how long an instance may stay STAGING before it is killed and replaced.
const launchTimeout = 5 * time.Minute

// backoffReset is how long a task must have run for its failure to restart the app's backoff.
const backoffReset = 5 * time.Minute

// gone reports whether a state means the task will never run (again): terminal, or unknown to
// Mesos.
func gone(s mesos.TaskState) bool { return s.Terminal() || s == mesos.TaskUnknown }

// handleUpdates applies status updates, persists them in one go, then acknowledges them: an
// update is acknowledged only once what it changed is in etcd, so a new leader never misses it.
func (l *leader) handleUpdates(st *scheduler.Stream, updates []mesos.TaskStatus) error {
	now := l.s.now()
	l.mu.Lock()
	o := &ops{}
	touched := map[string]bool{}
	for _, u := range updates {
		if id := l.applyStatus(u, now, o); id != "" {
			touched[id] = true
		}
	}
	for id := range touched {
		l.converge(id, now, o)
	}
	err := l.commitOrResync(o)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	l.s.metrics.statusUpdates.Add(float64(len(updates)))
	l.parallel(len(updates), func(i int) {
		if err := st.Acknowledge(l.ctx, updates[i]); err != nil && l.ctx.Err() == nil {
			l.log.Debug("acknowledge", "task_id", updates[i].TaskID.Value, "err", err)
		}
	})
	return nil
}

// applyStatus applies one update and returns the id of the app it concerns ("" for none).
// l.mu must be held.
func (l *leader) applyStatus(u mesos.TaskStatus, now time.Time, o *ops) string {
	in := l.instances[u.TaskID.Value]
	if in == nil {
		if gone(u.State) {
			o.emit(newEvent(evUnknownEnded, marathon.UnknownInstanceTerminatedEvent{
				EventMeta:  marathon.EventMeta{EventType: evUnknownEnded, Timestamp: timestamp(now)},
				InstanceID: u.TaskID.Value, RunSpecID: appIDOfTask(u.TaskID.Value), Condition: marathonCondition(u.State),
			}))
		}
		// Not ours (any more): a task that still runs is killed.
		if !gone(u.State) && u.State != mesos.TaskUnreachable && u.AgentID != nil {
			l.log.Info("killing an unknown task of this framework", "task_id", u.TaskID.Value, "state", u.State)
			l.strays[u.TaskID.Value] = u.AgentID.Value
			l.poke()
		}
		return ""
	}
	in.reconciled = true
	at := now
	if u.Timestamp > 0 {
		at = time.Unix(0, int64(u.Timestamp*1e9))
	}
	changed := u.State != in.State
	before := in.condition()
	if gone(u.State) {
		l.unindex(in)
		o.delInstance(in)
		if a := l.apps[in.AppID]; a != nil && !in.Kill {
			l.taskFailed(a, in, u, now, o)
		}
		o.emit(l.statusEvent(in, u, now))
		o.emit(instanceEvent(in, now, marathonCondition(u.State)))
		if !in.Kill && u.Healthy != nil && !*u.Healthy {
			// The agent killed it for failing its health check.
			o.emit(newEvent(evUnhealthyKill, marathon.UnhealthyKillEvent{
				EventMeta: marathon.EventMeta{EventType: evUnhealthyKill, Timestamp: timestamp(now)},
				AppID:     in.AppID, TaskID: in.TaskID, InstanceID: in.TaskID, Version: in.Version,
				Reason: cmp.Or(u.Message, "health check failed"), Host: in.Host, SlaveID: in.AgentID,
			}))
		}
		return in.AppID
	}
	switch u.State {
	case mesos.TaskUnreachable:
		if in.Unreachable.IsZero() {
			in.Unreachable = now
			if u.UnreachableTime != nil {
				in.Unreachable = time.Unix(0, u.UnreachableTime.Nanoseconds)
			}
			changed = true
		}
	default:
		if !in.Unreachable.IsZero() {
			in.Unreachable = time.Time{}
			changed = true
		}
		in.State = u.State
		if u.State == mesos.TaskRunning && in.StartedAt.IsZero() {
			in.StartedAt = at
			changed = true
		}
	}
	if ips := statusIPs(u); len(ips) > 0 && !sameIPs(ips, in.IPAddresses) {
		in.IPAddresses = ips
		changed = true
	}
	healthChanged := u.Healthy != nil && (in.Healthy == nil || *in.Healthy != *u.Healthy)
	if u.Healthy != nil {
		// The agent reports a check's result when the health changes.
		in.Health.record(*u.Healthy, at, u.Message)
	}
	if healthChanged {
		in.Healthy = u.Healthy
		changed = true
	}
	if !changed {
		return ""
	}
	o.putInstance(in)
	o.emit(l.statusEvent(in, u, now))
	if after := in.condition(); after != before {
		o.emit(instanceEvent(in, now, after))
	}
	if healthChanged {
		l.healthEvents(in, now, o)
	}
	return in.AppID
}

// healthEvents announces an instance's new health, as Marathon does: health_status_changed_event
// and instance_health_changed_event, and failed_health_check_event when it failed. l.mu must be
// held.
func (l *leader) healthEvents(in *instance, now time.Time, o *ops) {
	alive := *in.Healthy
	o.emit(newEvent(evHealthChanged, marathon.HealthStatusChangedEvent{
		EventMeta: marathon.EventMeta{EventType: evHealthChanged, Timestamp: timestamp(now)},
		AppID:     in.AppID, TaskID: in.TaskID, InstanceID: in.TaskID, Version: in.Version, Alive: alive,
	}))
	o.emit(newEvent(evInstanceHealth, marathon.InstanceHealthChangedEvent{
		EventMeta:  marathon.EventMeta{EventType: evInstanceHealth, Timestamp: timestamp(now)},
		InstanceID: in.TaskID, RunSpecID: in.AppID, RunSpecVersion: in.Version, Healthy: new(alive),
	}))
	if alive {
		return
	}
	var check *marathon.HealthCheck
	if a := l.apps[in.AppID]; a != nil && len(a.spec.HealthChecks) > 0 {
		check = &a.spec.HealthChecks[0]
	}
	o.emit(newEvent(evHealthFailed, marathon.HealthCheckEvent{
		EventMeta: marathon.EventMeta{EventType: evHealthFailed, Timestamp: timestamp(now)},
		AppID:     in.AppID, TaskID: in.TaskID, InstanceID: in.TaskID, Version: in.Version, HealthCheck: check,
	}))
}

// taskFailed records an unexpected end of an instance: the app's last failure and its backoff.
func (l *leader) taskFailed(a *app, in *instance, u mesos.TaskStatus, now time.Time, o *ops) {
	ran := time.Duration(0)
	if !in.StartedAt.IsZero() {
		ran = now.Sub(in.StartedAt)
	}
	s := a.spec
	a.backoff = a.backoff.failed(backoffPolicy{Seconds: deref(s.BackoffSeconds, 1), Factor: deref(s.BackoffFactor, 1.15), MaxSeconds: deref(s.MaxLaunchDelaySeconds, 300)}, now, ran, backoffReset)
	if u.State != mesos.TaskFinished {
		a.lastFailure = &marathon.TaskFailure{
			AppID:     in.AppID,
			Host:      in.Host,
			Message:   u.Message,
			State:     string(u.State),
			TaskID:    in.TaskID,
			Timestamp: timestamp(now),
			Version:   in.Version,
			SlaveID:   in.AgentID,
		}
		o.put(appFailureKey(in.AppID), a.lastFailure)
	}
	l.s.metrics.taskFailures.Inc()
}

func deref(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

func (l *leader) statusEvent(in *instance, u mesos.TaskStatus, now time.Time) event {
	ports := in.Ports
	if ports == nil {
		ports = []int{}
	}
	return newEvent(evStatusUpdate, marathon.StatusUpdateEvent{
		EventMeta:   marathon.EventMeta{EventType: evStatusUpdate, Timestamp: timestamp(now)},
		SlaveID:     in.AgentID,
		TaskID:      in.TaskID,
		TaskStatus:  string(u.State),
		Message:     u.Message,
		AppID:       in.AppID,
		Host:        in.Host,
		IPAddresses: in.ipAddrs(),
		Ports:       ports,
		Version:     in.Version,
	})
}

// instanceEvent returns the instance_changed_event of an instance that came to condition.
func instanceEvent(in *instance, now time.Time, condition string) event {
	goal := "Running"
	if in.Kill {
		goal = "Decommissioned"
	}
	return newEvent(evInstance, marathon.InstanceChangedEvent{
		EventMeta:  marathon.EventMeta{EventType: evInstance, Timestamp: timestamp(now)},
		InstanceID: in.TaskID, Condition: condition, RunSpecID: in.AppID, AgentID: in.AgentID,
		Host: in.Host, RunSpecVersion: in.Version, Goal: goal,
	})
}

// condition names the instance's state as Marathon's instance conditions do.
func (in *instance) condition() string {
	if !in.Unreachable.IsZero() {
		return "Unreachable"
	}
	return marathonCondition(in.State)
}

// marathonCondition names a task state as Marathon's instance conditions do: TASK_RUNNING is
// Running, TASK_UNREACHABLE Unreachable.
func marathonCondition(st mesos.TaskState) string {
	words := strings.Split(strings.TrimPrefix(string(st), "TASK_"), "_")
	for i, w := range words {
		if w != "" {
			words[i] = w[:1] + strings.ToLower(w[1:])
		}
	}
	return strings.Join(words, "")
}

func statusIPs(u mesos.TaskStatus) []ipAddress {
	if u.ContainerStatus == nil {
		return nil
	}
	var out []ipAddress
	for _, ni := range u.ContainerStatus.NetworkInfos {
		for _, ip := range ni.IPAddresses {
			proto := ip.Protocol
			if proto == "" {
				proto = "IPv4"
			}
			out = append(out, ipAddress{IPAddress: ip.IPAddress, Protocol: proto})
		}
	}
	return out
}

func sameIPs(a, b []ipAddress) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// tick does the timed work of one housekeeping round.
func (l *leader) tick(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := &ops{}
	touched := map[string]bool{}
	for _, in := range l.instances {
		if in.State == mesos.TaskStaging && !in.Kill && now.Sub(in.StagedAt) >= launchTimeout {
			// Launched long ago and never started: give up on it, as Marathon's task_launch_timeout.
			l.log.Warn("an instance did not start in time; killing it", "task_id", in.TaskID, "staged", in.StagedAt)
			l.kill(in)
			o.putInstance(in)
			touched[in.AppID] = true
			continue
		}
		if in.Unreachable.IsZero() {
			continue
		}
		a := l.apps[in.AppID]
		touched[in.AppID] = true
		if a == nil || a.spec.UnreachableStrategy == nil || a.spec.UnreachableStrategy.Disabled {
			continue
		}
		expunge := time.Duration(a.spec.UnreachableStrategy.ExpungeAfterSeconds) * time.Second
		if now.Sub(in.Unreachable) >= expunge {
			l.log.Info("expunging an unreachable instance", "task_id", in.TaskID, "since", in.Unreachable)
			l.unindex(in)
			o.delInstance(in)
		}
	}
	for id, a := range l.apps {
		if a.queued > 0 && !a.backoff.LaunchAfter.IsZero() && a.backoff.ready(now) {
			// The backoff just ended: launches are wanted again.
			a.backoff.LaunchAfter = time.Time{}
			l.demandSeq++
		}
		if touched[id] {
			l.converge(id, now, o)
		}
	}
	if err := l.commitOrResync(o); err != nil {
		l.log.Warn("housekeeping", "err", err)
	}
}
