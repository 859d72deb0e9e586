package master

import (
	"encoding/binary"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/buildinfo"
)

// masterInfo describes this master, as SUBSCRIBED and REGISTERED carry it.
func (m *Master) masterInfo(st *leaderState) *mesos.MasterInfo {
	host, port := pidAddr(m.masterPID())
	mi := &mesos.MasterInfo{
		ID:       st.id,
		Port:     uint32(port),
		PID:      m.masterPID(),
		Hostname: m.cfg.Hostname,
		Version:  m.cfg.Version,
		Address:  &mesos.Address{Hostname: m.cfg.Hostname, IP: host, Port: int32(port)},
	}
	if ip := net.ParseIP(host).To4(); ip != nil {
		mi.IP = binary.LittleEndian.Uint32(ip) // network order, as Mesos writes it
	}
	return mi
}

// leaderPID returns the leader's pid ("master@host:port"), or "" when none is known.
func (m *Master) leaderPID() string {
	u, err := url.Parse(m.Leader())
	if err != nil || u.Host == "" {
		return ""
	}
	if m.IsLeader() {
		return m.masterPID()
	}
	return "master@" + u.Host
}

func (m *Master) handleState(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := requireGet(r); err != nil {
		return nil, err
	}
	out := stateJSON{
		Version:                m.cfg.Version,
		GitSHA:                 buildRevision(),
		BuildDate:              buildTime.UTC().Format("2006-01-02 15:04:05"),
		BuildTime:              seconds(buildTime),
		BuildUser:              "marina",
		StartTime:              seconds(m.started),
		ID:                     m.processID(),
		PID:                    m.masterPID(),
		Hostname:               m.cfg.Hostname,
		Leader:                 m.leaderPID(),
		Flags:                  m.flags(),
		Slaves:                 []agentJSON{},
		RecoveredSlaves:        []agentJSON{},
		Frameworks:             []frameworkJSON{},
		CompletedFrameworks:    []frameworkJSON{},
		OrphanTasks:            []mesos.TaskView{},
		UnregisteredFrameworks: []string{},
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	if st == nil {
		return out, nil
	}
	out.ID = st.id
	out.ElectedTime = seconds(st.elected)
	out.LeaderInfo = m.masterInfo(st)
	for _, a := range sortedAgents(st) {
		switch {
		case a.unreachable:
			out.UnreachableSlaves++
		case a.recovered:
			out.RecoveredSlaves = append(out.RecoveredSlaves, agentView(st, a))
		default:
			if a.active() {
				out.ActivatedSlaves++
			} else {
				out.DeactivatedSlaves++
			}
			out.Slaves = append(out.Slaves, agentView(st, a))
		}
	}
	for _, f := range sortedFrameworks(st) {
		out.Frameworks = append(out.Frameworks, frameworkView(f, true))
	}
	for _, f := range st.completedFrameworks {
		out.CompletedFrameworks = append(out.CompletedFrameworks, frameworkView(f, true))
	}
	return out, nil
}

// processID names a standby master in the operator API (a leader shows its term's master ID).
func (m *Master) processID() string { return "standby@" + m.ipPort }

func (m *Master) flags() map[string]string {
	return map[string]string{
		"hostname":                 m.cfg.Hostname,
		"port":                     strconv.Itoa(m.advertPort()),
		"advertise":                m.advert,
		"agent_ping_timeout":       m.cfg.AgentTimeout.String(),
		"agent_reregister_timeout": m.cfg.AgentReregisterTimeout.String(),
		"offer_timeout":            m.cfg.OfferTimeout.String(),
		"allocation_interval":      m.cfg.AllocationDelay.String(),
		"authenticate_http":        strconv.FormatBool(m.cfg.AuthToken != ""),
		"version":                  m.cfg.Version,
	}
}

func (m *Master) handleStateSummary(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := requireGet(r); err != nil {
		return nil, err
	}
	type agentSummary struct {
		agentJSON
		TaskCounts
		FrameworkIDs []string `json:"framework_ids"`
	}
	type frameworkSummary struct {
		frameworkJSON
		TaskCounts
		SlaveIDs []string `json:"slave_ids"`
	}
	out := struct {
		Hostname   string             `json:"hostname"`
		Cluster    string             `json:"cluster,omitempty"`
		Slaves     []agentSummary     `json:"slaves"`
		Frameworks []frameworkSummary `json:"frameworks"`
	}{Hostname: m.cfg.Hostname, Slaves: []agentSummary{}, Frameworks: []frameworkSummary{}}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	if st == nil {
		return out, nil
	}
	for _, a := range sortedAgents(st) {
		if a.unreachable || a.recovered {
			continue
		}
		s := agentSummary{agentJSON: agentView(st, a), FrameworkIDs: []string{}}
		seen := map[string]bool{}
		for _, t := range a.tasks {
			s.TaskCounts.add(t.state)
			if !seen[t.frameworkID] {
				seen[t.frameworkID] = true
				s.FrameworkIDs = append(s.FrameworkIDs, t.frameworkID)
			}
		}
		slices.Sort(s.FrameworkIDs)
		out.Slaves = append(out.Slaves, s)
	}
	for _, f := range sortedFrameworks(st) {
		s := frameworkSummary{frameworkJSON: frameworkView(f, false), SlaveIDs: []string{}}
		seen := map[string]bool{}
		for _, t := range f.tasks {
			s.TaskCounts.add(t.state)
			if !seen[t.agentID] {
				seen[t.agentID] = true
				s.SlaveIDs = append(s.SlaveIDs, t.agentID)
			}
		}
		for _, t := range f.completed {
			s.TaskCounts.add(t.state)
		}
		slices.Sort(s.SlaveIDs)
		out.Frameworks = append(out.Frameworks, s)
	}
	return out, nil
}

// TaskCounts are the per-state task counts of /master/state-summary.
type TaskCounts struct {
	Staging  int `json:"TASK_STAGING"`
	Starting int `json:"TASK_STARTING"`
	Running  int `json:"TASK_RUNNING"`
	Killing  int `json:"TASK_KILLING"`
	Finished int `json:"TASK_FINISHED"`
	Killed   int `json:"TASK_KILLED"`
	Failed   int `json:"TASK_FAILED"`
	Lost     int `json:"TASK_LOST"`
	Error    int `json:"TASK_ERROR"`
}

func (c *TaskCounts) add(s mesos.TaskState) {
	switch s {
	case mesos.TaskStaging:
		c.Staging++
	case mesos.TaskStarting:
		c.Starting++
	case mesos.TaskRunning:
		c.Running++
	case mesos.TaskKilling:
		c.Killing++
	case mesos.TaskFinished:
		c.Finished++
	case mesos.TaskKilled:
		c.Killed++
	case mesos.TaskFailed:
		c.Failed++
	case mesos.TaskLost:
		c.Lost++
	case mesos.TaskError:
		c.Error++
	}
}

func (m *Master) handleSlaves(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := requireGet(r); err != nil {
		return nil, err
	}
	out := struct {
		Slaves          []agentJSON `json:"slaves"`
		RecoveredSlaves []agentJSON `json:"recovered_slaves"`
	}{Slaves: []agentJSON{}, RecoveredSlaves: []agentJSON{}}
	want := r.URL.Query().Get("slave_id")
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	if st == nil {
		return out, nil
	}
	for _, a := range sortedAgents(st) {
		if a.unreachable || (want != "" && a.id != want) {
			continue
		}
		if a.recovered {
			out.RecoveredSlaves = append(out.RecoveredSlaves, agentView(st, a))
		} else {
			out.Slaves = append(out.Slaves, agentView(st, a))
		}
	}
	return out, nil
}

func (m *Master) handleFrameworks(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := requireGet(r); err != nil {
		return nil, err
	}
	out := struct {
		Frameworks             []frameworkJSON `json:"frameworks"`
		CompletedFrameworks    []frameworkJSON `json:"completed_frameworks"`
		UnregisteredFrameworks []string        `json:"unregistered_frameworks"`
	}{Frameworks: []frameworkJSON{}, CompletedFrameworks: []frameworkJSON{}, UnregisteredFrameworks: []string{}}
	want := r.URL.Query().Get("framework_id")
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	if st == nil {
		return out, nil
	}
	for _, f := range sortedFrameworks(st) {
		if want == "" || f.id == want {
			out.Frameworks = append(out.Frameworks, frameworkView(f, true))
		}
	}
	for _, f := range st.completedFrameworks {
		if want == "" || f.id == want {
			out.CompletedFrameworks = append(out.CompletedFrameworks, frameworkView(f, true))
		}
	}
	return out, nil
}

// handleTasks serves /master/tasks: live, unreachable and completed tasks, filtered by
// framework_id and task_id, paged by limit (default 100) and offset, ordered by order (asc or
// desc) of task id.
func (m *Master) handleTasks(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := requireGet(r); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	limit, offset := 100, 0
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			return nil, errorf(http.StatusBadRequest, "bad 'limit' %q", v)
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return nil, errorf(http.StatusBadRequest, "bad 'offset' %q", v)
		}
	}
	order := q.Get("order")
	if order != "" && order != "asc" && order != "desc" {
		return nil, errorf(http.StatusBadRequest, "bad 'order' %q: expecting asc or desc", order)
	}
	wantFW, wantTask := q.Get("framework_id"), q.Get("task_id")
	out := struct {
		Tasks []mesos.TaskView `json:"tasks"`
	}{Tasks: []mesos.TaskView{}}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	if st == nil {
		return out, nil
	}
	var all []*task
	add := func(f *framework) {
		if wantFW != "" && f.id != wantFW {
			return
		}
		for _, group := range [][]*task{sortedTasks(f.tasks), sortedTasks(f.unreachable), f.completed} {
			for _, t := range group {
				if wantTask == "" || t.info.TaskID.Value == wantTask {
					all = append(all, t)
				}
			}
		}
	}
	for _, f := range sortedFrameworks(st) {
		add(f)
	}
	for _, f := range st.completedFrameworks {
		add(f)
	}
	slices.SortStableFunc(all, func(x, y *task) int { return strings.Compare(x.info.TaskID.Value, y.info.TaskID.Value) })
	if order == "desc" {
		slices.Reverse(all)
	}
	if offset > len(all) {
		offset = len(all)
	}
	all = all[offset:]
	if limit < len(all) {
		all = all[:limit]
	}
	for _, t := range all {
		out.Tasks = append(out.Tasks, taskView(t))
	}
	return out, nil
}

// buildTime and buildRevision say what this binary was built from.
var buildTime = buildinfo.Time

func buildRevision() string { return buildinfo.Revision() }
