package services

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// What GET answers embed in apps.
type embeds struct {
	tasks, counts, deployments, lastTaskFailure, taskStats, readiness bool
}

// parseEmbeds reads embed parameters with the given prefix ("apps." or "app."). def is used
// when none is given.
func parseEmbeds(values []string, prefix string, def embeds) embeds {
	if len(values) == 0 {
		return def
	}
	var e embeds
	for _, v := range values {
		switch strings.TrimPrefix(v, prefix) {
		case "tasks":
			e.tasks, e.deployments = true, true
		case "counts", "count":
			e.counts = true
		case "deployments":
			e.deployments = true
		case "lastTaskFailure":
			e.lastTaskFailure = true
		case "failures":
			e.tasks, e.counts, e.deployments, e.lastTaskFailure = true, true, true, true
		case "taskStats":
			e.taskStats = true
		case "readiness":
			e.readiness = true
		}
	}
	return e
}

// appJSON returns an app as GET shows it, encoded, from the app's cache when it can. l.mu
// must be held (for reading).
func (l *leader) appJSON(a *app, e embeds) ([]byte, error) {
	a.viewMu.Lock()
	b, ok := a.views[e]
	a.viewMu.Unlock()
	if ok {
		return b, nil
	}
	b, err := json.Marshal(l.appView(a, e))
	if err != nil || e.taskStats {
		return b, err // task lifetimes change by the second: not cached
	}
	a.viewMu.Lock()
	if a.views == nil {
		a.views = map[embeds][]byte{}
	}
	a.views[e] = b
	a.viewMu.Unlock()
	return b, nil
}

// appView returns an app as GET shows it. The definition is shared, not copied: it is never
// changed once stored, and the view only sets read-only fields of its own copy. l.mu must be
// held (for reading).
func (l *leader) appView(a *app, e embeds) *marathon.App {
	v := *a.spec
	insts := l.byApp[v.ID]
	if e.counts {
		var staged, running, healthy, unhealthy int
		for _, in := range insts {
			if in.Kill && in.State.Terminal() {
				continue
			}
			switch in.State {
			case mesos.TaskStaging, mesos.TaskStarting:
				staged++
			case mesos.TaskRunning:
				running++
				if in.Healthy != nil {
					if *in.Healthy {
						healthy++
					} else {
						unhealthy++
					}
				}
			}
		}
		v.TasksStaged, v.TasksRunning, v.TasksHealthy, v.TasksUnhealthy = &staged, &running, &healthy, &unhealthy
	}
	if e.deployments {
		v.Deployments = []marathon.DeploymentRef{}
		if d := l.deployOf[v.ID]; d != nil {
			v.Deployments = append(v.Deployments, marathon.DeploymentRef{ID: d.ID})
		}
	}
	if e.tasks {
		v.Tasks = make([]marathon.Task, 0, len(insts))
		for _, in := range l.appInstances(v.ID) {
			v.Tasks = append(v.Tasks, in.task(a.spec))
		}
	}
	if e.readiness {
		v.ReadinessCheckResults = l.readinessResults(v.ID)
	}
	if e.taskStats {
		v.TaskStats = taskStats(a.spec, l.appInstances(v.ID), l.s.now())
	}
	if e.lastTaskFailure && a.lastFailure != nil {
		f := *a.lastFailure
		v.LastTaskFailure = &f
	}
	return &v
}

// task returns an instance as GET shows a task; spec is its app's current definition (nil
// when the app is gone).
func (in *instance) task(spec *marathon.App) marathon.Task {
	t := marathon.Task{
		ID:          in.TaskID,
		AppID:       in.AppID,
		Host:        in.Host,
		State:       string(in.State),
		Ports:       slices.Clone(in.Ports),
		IPAddresses: in.ipAddrs(),
		StagedAt:    timestamp(in.StagedAt),
		Version:     in.Version,
		SlaveID:     in.AgentID,
		Role:        in.role(),
	}
	if t.Ports == nil {
		t.Ports = []int{}
	}
	if !in.Unreachable.IsZero() {
		t.State = string(mesos.TaskUnreachable)
	}
	if !in.StartedAt.IsZero() {
		t.StartedAt = timestamp(in.StartedAt)
	}
	if spec != nil {
		t.ServicePorts = servicePorts(spec)
	}
	if in.Healthy != nil {
		t.HealthCheckResults = []marathon.HealthCheckResult{in.Health.result(*in.Healthy, in.TaskID)}
	}
	return t
}

// taskStats returns Marathon's task statistics of an app's live instances at now: counts and
// the lifetimes of the running ones, over every instance, those started after the last scaling,
// and those of the latest and of older configurations. A set without instances is left out.
func taskStats(spec *marathon.App, insts []*instance, now time.Time) *marathon.TaskStatsByVersion {
	var scaledAt time.Time
	if spec.VersionInfo != nil {
		scaledAt, _ = time.Parse(time.RFC3339Nano, spec.VersionInfo.LastScalingAt)
	}
	config := configVersion(spec)
	var all, afterScaling, latest, outdated []*instance
	for _, in := range insts {
		if in.Kill && in.State.Terminal() {
			continue
		}
		all = append(all, in)
		if !in.StagedAt.Before(scaledAt) {
			afterScaling = append(afterScaling, in)
		}
		if in.ConfigVersion == config {
			latest = append(latest, in)
		} else {
			outdated = append(outdated, in)
		}
	}
	return &marathon.TaskStatsByVersion{
		StartedAfterLastScaling: statsOf(afterScaling, now),
		WithLatestConfig:        statsOf(latest, now),
		WithOutdatedConfig:      statsOf(outdated, now),
		TotalSummary:            statsOf(all, now),
	}
}

// statsOf counts instances by state and health and measures how long the running ones have
// run; nil for none.
func statsOf(insts []*instance, now time.Time) *marathon.Stats {
	if len(insts) == 0 {
		return nil
	}
	var st marathon.TaskStats
	var lives []float64
	for _, in := range insts {
		switch in.State {
		case mesos.TaskStaging, mesos.TaskStarting:
			st.Counts.Staged++
		case mesos.TaskRunning:
			st.Counts.Running++
			if in.Healthy != nil && *in.Healthy {
				st.Counts.Healthy++
			} else if in.Healthy != nil {
				st.Counts.Unhealthy++
			}
			if !in.StartedAt.IsZero() {
				lives = append(lives, now.Sub(in.StartedAt).Seconds())
			}
		}
	}
	if len(lives) > 0 {
		slices.Sort(lives)
		sum := 0.0
		for _, x := range lives {
			sum += x
		}
		median := lives[len(lives)/2]
		if len(lives)%2 == 0 {
			median = (lives[len(lives)/2-1] + median) / 2
		}
		st.LifeTime = &marathon.TaskLifeTime{AverageSeconds: sum / float64(len(lives)), MedianSeconds: median}
	}
	return &marathon.Stats{Stats: st}
}
