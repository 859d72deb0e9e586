package services

import (
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

func TestTaskStats(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	now := t0.Add(100 * time.Second)
	spec := &marathon.App{ID: "/a", Version: timestamp(t0.Add(50 * time.Second)), VersionInfo: &marathon.VersionInfo{
		LastConfigChangeAt: timestamp(t0.Add(20 * time.Second)), LastScalingAt: timestamp(t0.Add(50 * time.Second)),
	}}
	yes, no := true, false
	oldConfig, newConfig := timestamp(t0), timestamp(t0.Add(20*time.Second))
	run := func(cfg string, staged, started time.Duration, healthy *bool) *instance {
		return &instance{State: mesos.TaskRunning, ConfigVersion: cfg, StagedAt: t0.Add(staged), StartedAt: t0.Add(started), Healthy: healthy}
	}
	insts := []*instance{
		run(oldConfig, 0, 1*time.Second, &yes),               // outdated, runs 99 s
		run(newConfig, 20*time.Second, 21*time.Second, &yes), // latest, runs 79 s
		run(newConfig, 60*time.Second, 61*time.Second, &no),  // latest, after scaling, runs 39 s
		{State: mesos.TaskStaging, ConfigVersion: newConfig, StagedAt: t0.Add(90 * time.Second)},
		{State: mesos.TaskKilled, Kill: true, ConfigVersion: oldConfig, StagedAt: t0}, // gone: not counted
	}
	got := taskStats(spec, insts, now)
	tests := []struct {
		name        string
		stats       *marathon.Stats
		counts      marathon.TaskCounts
		avg, median float64
	}{
		{"total", got.TotalSummary, marathon.TaskCounts{Staged: 1, Running: 3, Healthy: 2, Unhealthy: 1}, 72.33, 79},
		{"latest config", got.WithLatestConfig, marathon.TaskCounts{Staged: 1, Running: 2, Healthy: 1, Unhealthy: 1}, 59, 59},
		{"outdated config", got.WithOutdatedConfig, marathon.TaskCounts{Running: 1, Healthy: 1}, 99, 99},
		{"after scaling", got.StartedAfterLastScaling, marathon.TaskCounts{Staged: 1, Running: 1, Unhealthy: 1}, 39, 39},
	}
	for _, tt := range tests {
		if tt.stats == nil {
			t.Errorf("%s: no stats", tt.name)
			continue
		}
		s := tt.stats.Stats
		if s.Counts != tt.counts {
			t.Errorf("%s: counts %+v, want %+v", tt.name, s.Counts, tt.counts)
		}
		if s.LifeTime == nil || s.LifeTime.AverageSeconds < tt.avg-0.01 || s.LifeTime.AverageSeconds > tt.avg+0.01 || s.LifeTime.MedianSeconds != tt.median {
			t.Errorf("%s: lifetime %+v, want average %.2f, median %.0f", tt.name, s.LifeTime, tt.avg, tt.median)
		}
	}
	if empty := taskStats(spec, nil, now); empty.TotalSummary != nil || empty.WithLatestConfig != nil {
		t.Errorf("stats of no instances: %+v", empty)
	}
}

func TestHealthRecord(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	var h healthRecord
	h.record(true, t0, "")
	h.record(false, t0.Add(time.Second), "connection refused")
	h.record(false, t0.Add(2*time.Second), "timeout")
	r := h.result(false, "t1")
	want := marathon.HealthCheckResult{Alive: false, ConsecutiveFailures: 2, InstanceID: "t1", TaskID: "t1",
		FirstSuccess: timestamp(t0), LastSuccess: timestamp(t0), LastFailure: timestamp(t0.Add(2 * time.Second)), LastFailureCause: "timeout"}
	if r != want {
		t.Errorf("after a success and two failures: %+v, want %+v", r, want)
	}
	h.record(true, t0.Add(3*time.Second), "")
	if r := h.result(true, "t1"); r.ConsecutiveFailures != 0 || r.FirstSuccess != timestamp(t0) || r.LastSuccess != timestamp(t0.Add(3*time.Second)) {
		t.Errorf("after a new success: %+v", r)
	}
}
