package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	api "github.com/marina-dcos/marina/internal/api/marathon"
)

// Finding a task's sandbox, as Mesos tools do: the services task names the agent (slaveId);
// the leading master's /master/state gives the agent's address (pid slave(1)@host:port) and the
// task's framework and executor; the agent's /state gives the executor's sandbox directory,
// which its /files API serves. Marina's agents keep a command task's sandbox at
// <work_dir>/sandboxes/<framework>/<task> and accept /files paths relative to the sandboxes
// directory: that is the fallback when the agent's /state does not name the directory.

// The parts of /master/state used here (Mesos' field names).
type masterState struct {
	PID                 string            `json:"pid"`
	Leader              string            `json:"leader"`
	Slaves              []masterAgent     `json:"slaves"`
	Frameworks          []masterFramework `json:"frameworks"`
	CompletedFrameworks []masterFramework `json:"completed_frameworks"`
}

type masterAgent struct {
	ID       string `json:"id"`
	PID      string `json:"pid"`
	Hostname string `json:"hostname"`
	Port     int    `json:"port"`
}

type masterFramework struct {
	ID               string       `json:"id"`
	Tasks            []masterTask `json:"tasks"`
	UnreachableTasks []masterTask `json:"unreachable_tasks"`
	CompletedTasks   []masterTask `json:"completed_tasks"`
}

type masterTask struct {
	ID          string `json:"id"`
	FrameworkID string `json:"framework_id"`
	ExecutorID  string `json:"executor_id"`
	SlaveID     string `json:"slave_id"`
}

// The parts of the agent's /state used here.
type agentState struct {
	Frameworks          []agentFramework `json:"frameworks"`
	CompletedFrameworks []agentFramework `json:"completed_frameworks"`
}

type agentFramework struct {
	ID                 string          `json:"id"`
	Executors          []agentExecutor `json:"executors"`
	CompletedExecutors []agentExecutor `json:"completed_executors"`
}

type agentExecutor struct {
	ID             string   `json:"id"`
	Directory      string   `json:"directory"`
	Tasks          []idOnly `json:"tasks"`
	QueuedTasks    []idOnly `json:"queued_tasks"`
	CompletedTasks []idOnly `json:"completed_tasks"`
}

type idOnly struct {
	ID string `json:"id"`
}

// sandbox is where a task's files are: the agent's URL and the directory to ask its /files for.
type sandbox struct {
	agent string
	dir   string
}

// locateSandbox finds the agent and sandbox directory of a task.
func (e *Env) locateSandbox(ctx context.Context, t *api.Task) (*sandbox, error) {
	st, masterURL, err := e.leaderState(ctx)
	if err != nil {
		return nil, err
	}
	fw, executor, agentID := "", t.ID, t.SlaveID
	if mt := st.task(t.ID); mt != nil {
		fw, agentID = mt.FrameworkID, cmpOr(agentID, mt.SlaveID)
		executor = cmpOr(mt.ExecutorID, t.ID)
	}
	if fw == "" {
		if info, err := e.Client.Info(ctx); err == nil {
			fw = info.FrameworkID
		}
	}
	var agentURL string
	for _, a := range st.Slaves {
		if a.ID == agentID {
			agentURL = pidURL(a.PID, schemeOf(masterURL))
			if agentURL == "" && a.Hostname != "" {
				agentURL = schemeOf(masterURL) + "://" + a.Hostname + ":" + strconv.Itoa(cmpInt(a.Port, 5051))
			}
		}
	}
	if agentURL == "" {
		return nil, notFoundf("task %s: agent %q is not registered with the leading master %s", t.ID, agentID, masterURL)
	}
	var as agentState
	if err := e.getJSON(ctx, agentURL+"/state", &as); err == nil {
		if dir := as.directory(fw, executor, t.ID); dir != "" {
			return &sandbox{agent: agentURL, dir: dir}, nil
		}
	}
	if fw == "" {
		return nil, notFoundf("task %s: its framework is unknown, so its sandbox cannot be found", t.ID)
	}
	return &sandbox{agent: agentURL, dir: fw + "/" + executor}, nil
}

// leaderState returns the leading master's /master/state and URL, asking each known master
// and following the leader it names.
func (e *Env) leaderState(ctx context.Context) (*masterState, string, error) {
	if len(e.Target.Masters) == 0 {
		return nil, "", usagef("task logs need a master: pass --master URL, or use a cluster from the client config")
	}
	var errs []error
	for _, m := range e.Target.Masters {
		var st masterState
		if err := e.getJSON(ctx, m+"/master/state", &st); err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Leader != "" && st.Leader == st.PID {
			return &st, m, nil
		}
		lu := pidURL(st.Leader, schemeOf(m))
		if lu == "" {
			errs = append(errs, fmt.Errorf("%s knows no leading master", m))
			continue
		}
		var ls masterState
		if err := e.getJSON(ctx, lu+"/master/state", &ls); err != nil {
			errs = append(errs, err)
			continue
		}
		if ls.Leader != "" && ls.Leader == ls.PID {
			return &ls, lu, nil
		}
		errs = append(errs, fmt.Errorf("%s names %s as leader, which does not lead", m, lu))
	}
	return nil, "", fmt.Errorf("no leading master found: %w", errors.Join(errs...))
}

// task returns the master's record of a task, or nil.
func (st *masterState) task(id string) *masterTask {
	for _, fws := range [][]masterFramework{st.Frameworks, st.CompletedFrameworks} {
		for _, f := range fws {
			for _, ts := range [][]masterTask{f.Tasks, f.UnreachableTasks, f.CompletedTasks} {
				for i := range ts {
					if ts[i].ID == id {
						t := ts[i]
						t.FrameworkID = cmpOr(t.FrameworkID, f.ID)
						return &t
					}
				}
			}
		}
	}
	return nil
}

// directory returns the sandbox directory of the executor (or the one that ran task) of
// framework fw ("": any framework).
func (as *agentState) directory(fw, executor, task string) string {
	for _, fws := range [][]agentFramework{as.Frameworks, as.CompletedFrameworks} {
		for _, f := range fws {
			if fw != "" && f.ID != fw {
				continue
			}
			for _, exs := range [][]agentExecutor{f.Executors, f.CompletedExecutors} {
				for _, ex := range exs {
					if ex.Directory != "" && (ex.ID == executor || ex.runs(task)) {
						return ex.Directory
					}
				}
			}
		}
	}
	return ""
}

func (ex *agentExecutor) runs(task string) bool {
	for _, ts := range [][]idOnly{ex.Tasks, ex.QueuedTasks, ex.CompletedTasks} {
		for _, t := range ts {
			if t.ID == task {
				return true
			}
		}
	}
	return false
}

// pidURL turns a libprocess pid ("master@10.0.0.1:5050", "slave(1)@10.0.0.2:5051") into a
// base URL, "" when it is not one.
func pidURL(pid, scheme string) string {
	_, hostport, ok := strings.Cut(pid, "@")
	if !ok || hostport == "" {
		return ""
	}
	return scheme + "://" + hostport
}

func schemeOf(u string) string {
	if pu, err := url.Parse(u); err == nil && pu.Scheme != "" {
		return pu.Scheme
	}
	return "http"
}

func cmpInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// sandboxFile joins a sandbox directory and a file name for /files.
func sandboxFile(dir, name string) string { return path.Join(dir, name) }
