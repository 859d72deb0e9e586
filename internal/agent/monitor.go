package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/internal/proc"
	"github.com/marina-dcos/marina/internal/agent/process"
	"github.com/marina-dcos/marina/internal/agent/supervisor"
)

// The agent's /monitor/statistics, in the shape of Mesos' agent endpoint: one entry per
// running task's container, its limits from the task's resources and its use from the task's
// cgroup, else from the processes of the task's process group. Docker tasks report their
// limits only.

// monitorEntry is one container's statistics.
type monitorEntry struct {
	ExecutorID   string             `json:"executor_id"`
	ExecutorName string             `json:"executor_name"`
	FrameworkID  string             `json:"framework_id"`
	Source       string             `json:"source"`
	Statistics   resourceStatistics `json:"statistics"`
}

// resourceStatistics holds the fields of Mesos' ResourceStatistics the agent can fill; those
// it cannot are left out, as Mesos leaves out what its isolators do not measure.
type resourceStatistics struct {
	Timestamp             float64  `json:"timestamp"`
	Processes             *int64   `json:"processes,omitempty"`
	CPUsLimit             float64  `json:"cpus_limit,omitempty"`
	CPUsUserTimeSecs      *float64 `json:"cpus_user_time_secs,omitempty"`
	CPUsSystemTimeSecs    *float64 `json:"cpus_system_time_secs,omitempty"`
	CPUsNrPeriods         *int64   `json:"cpus_nr_periods,omitempty"`
	CPUsNrThrottled       *int64   `json:"cpus_nr_throttled,omitempty"`
	CPUsThrottledTimeSecs *float64 `json:"cpus_throttled_time_secs,omitempty"`
	MemLimitBytes         int64    `json:"mem_limit_bytes,omitempty"`
	MemTotalBytes         *int64   `json:"mem_total_bytes,omitempty"`
	MemRSSBytes           *int64   `json:"mem_rss_bytes,omitempty"`
	MemAnonBytes          *int64   `json:"mem_anon_bytes,omitempty"`
	MemFileBytes          *int64   `json:"mem_file_bytes,omitempty"`
	MemCacheBytes         *int64   `json:"mem_cache_bytes,omitempty"`
}

// monitored is what the statistics of one task need, copied under the agent's lock.
type monitored struct {
	entry    monitorEntry
	executor string
	stateDir string
}

func (a *Agent) serveStatistics(w http.ResponseWriter, r *http.Request) (any, error) {
	list := a.monitoredTasks()
	out := make([]monitorEntry, 0, len(list))
	for _, m := range list {
		e := m.entry
		e.Statistics.Timestamp = float64(a.now().UnixNano()) / 1e9
		if m.executor != dockerExecutor {
			fillUsage(&e.Statistics, m.stateDir)
		}
		out = append(out, e)
	}
	return out, nil
}

// monitoredTasks lists the tasks that have a container running, with their limits.
func (a *Agent) monitoredTasks() []monitored {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []monitored
	for _, t := range a.sortedTasksLocked() {
		if t.rec.Phantom || t.state.Terminal() || t.container == nil {
			continue
		}
		ti := t.rec.Task
		l := process.LimitsOf(ti.Resources)
		out = append(out, monitored{
			entry: monitorEntry{
				ExecutorID:   ti.TaskID.Value,
				ExecutorName: commandExecutorName(ti),
				FrameworkID:  t.key.fw,
				Source:       ti.TaskID.Value,
				Statistics:   resourceStatistics{CPUsLimit: l.CPUs, MemLimitBytes: l.MemoryBytes},
			},
			executor: t.rec.Executor,
			stateDir: filepath.Join(t.dir, executorDir),
		})
	}
	return out
}

// fillUsage adds to s what the task's cgroup accounts, and what its process group uses when
// the cgroup is gone or does not account CPU time.
func fillUsage(s *resourceStatistics, stateDir string) {
	cg, err := taskCgroup(stateDir).Stats()
	if err == nil {
		fillCgroup(s, cg)
		if cg.HasCPUTime {
			return
		}
	}
	pg, ok := groupUsage(stateDir)
	if !ok {
		return
	}
	s.Processes = &pg.processes
	s.CPUsUserTimeSecs, s.CPUsSystemTimeSecs = &pg.userSecs, &pg.systemSecs
	if err != nil {
		s.MemRSSBytes = &pg.rssBytes
	}
}

func fillCgroup(s *resourceStatistics, cg cgroups.Stats) {
	if cg.HasCPUTime {
		s.CPUsUserTimeSecs, s.CPUsSystemTimeSecs = &cg.CPUUserSecs, &cg.CPUSystemSecs
	}
	s.CPUsNrPeriods, s.CPUsNrThrottled, s.CPUsThrottledTimeSecs = &cg.CPUPeriods, &cg.CPUThrottled, &cg.CPUThrottledSecs
	s.MemTotalBytes, s.MemRSSBytes, s.MemAnonBytes = &cg.MemTotalBytes, &cg.MemRSSBytes, &cg.MemRSSBytes
	s.MemFileBytes, s.MemCacheBytes = &cg.MemFileBytes, &cg.MemFileBytes
	if cg.MemLimitBytes > 0 {
		s.MemLimitBytes = cg.MemLimitBytes
	}
}

// taskCgroup returns the cgroup the process executor recorded in the task's state directory
// (cgroup.json), or nil.
func taskCgroup(stateDir string) *cgroups.Group {
	b, err := os.ReadFile(filepath.Join(stateDir, "cgroup.json"))
	if err != nil {
		return nil
	}
	var g cgroups.Group
	if json.Unmarshal(b, &g) != nil || len(g.Dirs) == 0 {
		return nil
	}
	return &g
}

// usage is what the processes of a task's process group use.
type usage struct {
	processes            int64
	userSecs, systemSecs float64
	rssBytes             int64
}

// clockTicks is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100 on Linux.
const clockTicks = 100

// groupUsage sums the use of the live processes of the task's process group, as the
// supervisor recorded it, unless the group is gone or its id reused.
func groupUsage(stateDir string) (usage, bool) {
	g := supervisor.ReadTaskGroup(stateDir)
	if g.PID <= 1 {
		return usage{}, false
	}
	if st, err := proc.ReadStat(g.PID); err == nil && g.StartTime != 0 && st.StartTime != g.StartTime {
		return usage{}, false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return usage{}, false
	}
	var u usage
	page := int64(os.Getpagesize())
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		ps, err := parseProcStat(b)
		if err != nil || ps.pgrp != g.PID {
			continue
		}
		u.processes++
		u.userSecs += float64(ps.utime) / clockTicks
		u.systemSecs += float64(ps.stime) / clockTicks
		u.rssBytes += ps.rssPages * page
	}
	return u, u.processes > 0
}

type procStat struct {
	pgrp         int
	utime, stime int64
	rssPages     int64
}

// parseProcStat reads the process group, CPU times and resident pages of a /proc/<pid>/stat.
func parseProcStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, errors.New("malformed stat")
	}
	f := bytes.Fields(b[i+2:])
	if len(f) < 22 {
		return procStat{}, errors.New("short stat")
	}
	var ps procStat
	var errs [4]error
	ps.pgrp, errs[0] = strconv.Atoi(string(f[2]))
	ps.utime, errs[1] = strconv.ParseInt(string(f[11]), 10, 64)
	ps.stime, errs[2] = strconv.ParseInt(string(f[12]), 10, 64)
	ps.rssPages, errs[3] = strconv.ParseInt(string(f[21]), 10, 64)
	return ps, errors.Join(errs[:]...)
}
