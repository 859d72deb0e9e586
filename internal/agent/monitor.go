package agent

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/internal/proc"
	"github.com/marina-dcos/marina/internal/agent/process"
	"github.com/marina-dcos/marina/internal/agent/supervisor"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/buildinfo"
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
	cg, err := process.LoadGroup(stateDir).Stats()
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

// usage is what the processes of a task's process group use.
type usage struct {
	processes            int64
	userSecs, systemSecs float64
	rssBytes             int64
}

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
		ps, err := proc.ReadStat(pid)
		if err != nil || ps.PGID != g.PID {
			continue
		}
		u.processes++
		u.userSecs += float64(ps.UserTicks) / proc.ClockTicks
		u.systemSecs += float64(ps.SystemTicks) / proc.ClockTicks
		u.rssBytes += ps.RSSPages * page
	}
	return u, u.processes > 0
}

// The agent's /metrics/snapshot: the Mesos agent metrics monitoring tools read, those the
// agent can compute. Task counters count the terminal updates of this agent process, and
// reset when it restarts, as Mesos' do.

// taskCounters counts terminal task updates by state. Guarded by Agent.mu; the zero value is
// ready.
type taskCounters struct {
	byState map[mesos.TaskState]uint64
}

func (c *taskCounters) count(s mesos.TaskState) {
	if !s.Terminal() {
		return
	}
	if c.byState == nil {
		c.byState = map[mesos.TaskState]uint64{}
	}
	c.byState[s]++
}

// Task states reported as gauges (tasks now in the state) and as counters.
var (
	gaugeStates   = []mesos.TaskState{mesos.TaskStaging, mesos.TaskStarting, mesos.TaskRunning, mesos.TaskKilling}
	counterStates = []mesos.TaskState{mesos.TaskFinished, mesos.TaskFailed, mesos.TaskKilled, mesos.TaskLost,
		mesos.TaskError, mesos.TaskDropped, mesos.TaskGone, mesos.TaskGoneByOperator, mesos.TaskUnreachable}
)

// taskMetric names a state's metric: TASK_RUNNING is slave/tasks_running.
func taskMetric(s mesos.TaskState) string {
	return "slave/tasks_" + strings.ToLower(strings.TrimPrefix(string(s), "TASK_"))
}

func (a *Agent) serveMetrics(w http.ResponseWriter, r *http.Request) (any, error) {
	m := a.agentMetrics()
	addSystemMetrics(m)
	return m, nil
}

// agentMetrics returns the slave/ metrics.
func (a *Agent) agentMetrics() map[string]float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := map[string]float64{}
	for _, s := range gaugeStates {
		m[taskMetric(s)] = 0
	}
	for _, s := range counterStates {
		m[taskMetric(s)] = float64(a.counters.byState[s])
	}
	var used mesos.Resources
	executors, frameworks := 0, map[string]bool{}
	for _, t := range a.tasks {
		if t.rec.Phantom || t.state.Terminal() {
			continue
		}
		if slices.Contains(gaugeStates, t.state) {
			m[taskMetric(t.state)]++
		}
		used = used.Add(t.rec.Task.Resources)
		executors++
		frameworks[t.key.fw] = true
	}
	m["slave/executors_running"] = float64(executors)
	m["slave/frameworks_active"] = float64(len(frameworks))
	total := a.cfg.Resources
	for _, r := range []string{mesos.ResourceCPUs, mesos.ResourceMem, mesos.ResourceDisk} {
		t, u := total.Scalar(r), used.Scalar(r)
		m["slave/"+r+"_total"], m["slave/"+r+"_used"] = t, u
		m["slave/"+r+"_percent"] = 0
		if t > 0 {
			m["slave/"+r+"_percent"] = u / t
		}
	}
	m["slave/registered"] = 0
	if a.sess != nil && a.sess.isRegistered() {
		m["slave/registered"] = 1
	}
	m["slave/uptime_secs"] = a.now().Sub(a.startTime).Seconds()
	return m
}

// addSystemMetrics adds the system/ metrics of the host: load averages, CPUs and memory.
func addSystemMetrics(m map[string]float64) {
	m["system/cpus_total"] = float64(runtime.NumCPU())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		for i, name := range []string{"system/load_1min", "system/load_5min", "system/load_15min"} {
			if f := strings.Fields(string(b)); len(f) > i {
				if v, err := strconv.ParseFloat(f[i], 64); err == nil {
					m[name] = v
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		total, okT := meminfo(b, "MemTotal")
		free, okF := meminfo(b, "MemAvailable")
		if !okF {
			free, okF = meminfo(b, "MemFree")
		}
		if okT && okF {
			m["system/mem_total_bytes"], m["system/mem_free_bytes"] = total, free
		}
	}
}

// meminfo returns a /proc/meminfo value in bytes.
func meminfo(b []byte, key string) (float64, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0, false
		}
		n, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, false
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		return n, true
	}
	return 0, false
}

// serveVersion answers /version as the master does, with the Mesos version the agent speaks.
func (a *Agent) serveVersion(w http.ResponseWriter, r *http.Request) (any, error) {
	return buildinfo.Version(agentVersion), nil
}

// serveFlags answers /flags with the agent's settings under Mesos' flag names where there is
// one, as strings as Mesos gives them. The auth token is never shown.
func (a *Agent) serveFlags(w http.ResponseWriter, r *http.Request) (any, error) {
	c := a.cfg
	containerizers := c.Containerizers
	if containerizers == nil {
		containerizers = slices.Sorted(maps.Keys(a.executors))
	}
	flags := map[string]string{
		"master":                      strings.Join(c.Masters, ","),
		"work_dir":                    c.WorkDir,
		"hostname":                    c.Hostname,
		"port":                        strconv.Itoa(int(a.advertisePort())),
		"advertise":                   a.advertise,
		"listen":                      c.Listen,
		"resources":                   c.Resources.String(),
		"containerizers":              strings.Join(containerizers, ","),
		"authenticate_http_readonly":  strconv.FormatBool(c.AuthToken != ""),
		"authenticate_http_readwrite": strconv.FormatBool(c.AuthToken != ""),
		"docker_allow_privileged":     strconv.FormatBool(c.DockerAllowPrivileged),
		"heartbeat_interval":          c.HeartbeatInterval.String(),
		"timeout":                     c.Timeout.String(),
	}
	if a.cgroups != nil {
		flags["cgroups"] = a.cgroups.String()
	}
	var attrs []string
	for k, v := range mesos.FlattenAttributes(c.Attributes) {
		attrs = append(attrs, fmt.Sprintf("%s:%v", k, v))
	}
	slices.Sort(attrs)
	flags["attributes"] = strings.Join(attrs, ";")
	return map[string]any{"flags": flags}, nil
}
