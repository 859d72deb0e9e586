package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// masterState is what the agent maintenance test reads of /master/state.
type masterState struct {
	Slaves []struct {
		ID       string `json:"id"`
		Hostname string `json:"hostname"`
		Active   bool   `json:"active"`
	} `json:"slaves"`
	Frameworks []struct {
		Tasks []struct {
			ID      string `json:"id"`
			State   string `json:"state"`
			SlaveID string `json:"slave_id"`
		} `json:"tasks"`
	} `json:"frameworks"`
}

// runningAgents returns the agents running a task.
func (st *masterState) runningAgents() []string {
	var out []string
	for _, f := range st.Frameworks {
		for _, tk := range f.Tasks {
			if tk.State == "TASK_RUNNING" {
				out = append(out, tk.SlaveID)
			}
		}
	}
	return out
}

// TestAgentDrainCLI drains, with the CLI, the agent of an app's only instance on a real
// two-agent cluster: the services role replaces the instance on the other agent.
func TestAgentDrainCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := testcluster.New(t, testcluster.Options{Masters: 1, Agents: 2, Services: true})
	c.WaitForServicesLeader(20 * time.Second)
	flags := []string{"--services=" + strings.Join(c.ServicesURLs(), ","), "--master=" + strings.Join(c.MasterURLs(), ",")}
	cli := func(args ...string) result {
		t.Helper()
		return run(t, "", append(args, flags...)...)
	}
	def := writeFile(t, "sleeper.json", []byte(`{"id": "/sleeper", "cmd": "sleep 3600", "cpus": 0.1, "mem": 16, "instances": 1}`))
	cli("app", "create", "-f", def, "--wait").expect(t, 0, nil, []string{"succeeded"})

	var st masterState
	testutil.WaitFor(t, 10*time.Second, func() error {
		if err := c.GetJSON("/master/state", &st); err != nil {
			return err
		}
		if n := len(st.runningAgents()); n != 1 {
			return fmt.Errorf("%d running tasks", n)
		}
		return nil
	})
	from := st.runningAgents()[0]
	host := ""
	for _, s := range st.Slaves {
		if s.ID == from {
			host = s.Hostname
		}
	}

	cli("agent", "drain", host, "--grace", "1s", "--wait").expect(t, 0,
		[]string{"Draining agent " + from + " (" + host + ")"}, []string{"DRAINED"})
	testutil.WaitFor(t, 20*time.Second, func() error {
		if err := c.GetJSON("/master/state", &st); err != nil {
			return err
		}
		if got := st.runningAgents(); len(got) != 1 || got[0] == from {
			return fmt.Errorf("running on %v, drained %s", got, from)
		}
		return nil
	})
	for _, s := range st.Slaves {
		if s.ID == from && s.Active {
			t.Errorf("drained agent %s active in /master/state", from)
		}
	}

	cli("agent", "reactivate", from).expect(t, 0, []string{"Reactivated agent " + from}, nil)
	cli("agent", "deactivate", "nope").expect(t, 3, nil, []string{"no registered agent has the ID or hostname nope"})
	cli("agent", "drain", from, "--grace", "-1s").expect(t, 2, nil, []string{"--grace must not be negative"})
}
