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
	"github.com/marina-dcos/marina/internal/client/sandbox"
)

// Finding a task's sandbox (see package sandbox): the services task names the agent
// (slaveId); the leading master's /master/state gives the agent's address (pid
// slave(1)@host:port) and the task's framework and executor; the agent's /state gives the
// executor's sandbox directory, which its /files API serves.

// located is where a task's files are: the agent's URL and the directory to ask its /files for.
type located struct {
	agent string
	dir   string
}

// locateSandbox finds the agent and sandbox directory of a task.
func (e *Env) locateSandbox(ctx context.Context, t *api.Task) (*located, error) {
	st, masterURL, err := e.leaderState(ctx)
	if err != nil {
		return nil, err
	}
	fw, executor, agentID := "", t.ID, t.SlaveID
	if p, ok := st.Locate(t.ID); ok {
		fw, executor, agentID = p.Framework, p.Executor, cmpOr(agentID, p.Agent)
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
	var as sandbox.AgentState
	if err := e.getJSON(ctx, agentURL+"/state", &as); err == nil {
		if dir := as.Directory(fw, executor, t.ID); dir != "" {
			return &located{agent: agentURL, dir: dir}, nil
		}
	}
	if fw == "" {
		return nil, notFoundf("task %s: its framework is unknown, so its sandbox cannot be found", t.ID)
	}
	return &located{agent: agentURL, dir: sandbox.Dir(fw, executor)}, nil
}

// leaderState returns the leading master's /master/state and URL, asking each known master
// and following the leader it names.
func (e *Env) leaderState(ctx context.Context) (*sandbox.MasterState, string, error) {
	if len(e.Target.Masters) == 0 {
		return nil, "", usagef("task logs need a master: pass --master URL, or use a cluster from the client config")
	}
	var errs []error
	for _, m := range e.Target.Masters {
		var st sandbox.MasterState
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
		var ls sandbox.MasterState
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
