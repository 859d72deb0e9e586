package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Agent maintenance through the masters' v1 operator API (POST /api/v1): DEACTIVATE_AGENT,
// REACTIVATE_AGENT and DRAIN_AGENT. Any master will do: a standby redirects to the leader.

// AgentDrainOptions are agent drain's flags.
type AgentDrainOptions struct {
	Grace    time.Duration // upper bound of each task's kill grace period, when GraceSet
	GraceSet bool
	Wait     bool // wait until the agent is DRAINED
}

// opAgent is what the CLI reads of a GET_AGENTS entry.
type opAgent struct {
	AgentInfo struct {
		ID       struct{ Value string } `json:"id"`
		Hostname string                 `json:"hostname"`
	} `json:"agent_info"`
	Active      bool `json:"active"`
	Deactivated bool `json:"deactivated"`
	DrainInfo   *struct {
		State string `json:"state"`
	} `json:"drain_info"`
}

func (a *opAgent) id() string { return a.AgentInfo.ID.Value }

// drainState returns the agent's drain state, "" when it does not drain.
func (a *opAgent) drainState() string {
	if a.DrainInfo == nil {
		return ""
	}
	return a.DrainInfo.State
}

// AgentDeactivate stops the offers of an agent's resources; its tasks keep running.
func AgentDeactivate(ctx context.Context, e *Env, ref string) error {
	return e.agentCall(ctx, ref, "DEACTIVATE_AGENT", "deactivate_agent", nil, "Deactivated")
}

// AgentReactivate resumes the offers of an agent's resources and ends its drain.
func AgentReactivate(ctx context.Context, e *Env, ref string) error {
	return e.agentCall(ctx, ref, "REACTIVATE_AGENT", "reactivate_agent", nil, "Reactivated")
}

// AgentDrain deactivates an agent and kills its tasks; with Wait it returns once the agent is
// DRAINED, printing progress to stderr.
func AgentDrain(ctx context.Context, e *Env, ref string, o AgentDrainOptions) error {
	extra := map[string]any{}
	if o.GraceSet {
		if o.Grace < 0 {
			return usagef("--grace must not be negative")
		}
		extra["max_grace_period"] = map[string]int64{"nanoseconds": o.Grace.Nanoseconds()}
	}
	if err := e.agentCall(ctx, ref, "DRAIN_AGENT", "drain_agent", extra, "Draining"); err != nil {
		return err
	}
	if !o.Wait {
		return nil
	}
	return e.waitDrained(ctx, ref)
}

// agentCall resolves ref to an agent, sends the call naming it and prints "<verb> agent ...".
func (e *Env) agentCall(ctx context.Context, ref, typ, field string, extra map[string]any, verb string) error {
	a, err := e.findAgent(ctx, ref)
	if err != nil {
		return err
	}
	args := map[string]any{"agent_id": map[string]string{"value": a.id()}}
	for k, v := range extra {
		args[k] = v
	}
	if _, err := e.operatorCall(ctx, map[string]any{"type": typ, field: args}); err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "%s agent %s (%s)\n", verb, a.id(), a.AgentInfo.Hostname)
	return nil
}

// waitDrained polls GET_AGENTS every WaitPoll until the agent is DRAINED or ctx ends.
func (e *Env) waitDrained(ctx context.Context, ref string) error {
	last := ""
	for {
		a, err := e.findAgent(ctx, ref)
		if err != nil {
			return err
		}
		state := a.drainState()
		if state != last {
			fmt.Fprintf(e.Err, "agent %s: %s\n", a.id(), cmpOr(state, "not draining"))
			last = state
		}
		switch state {
		case "DRAINED":
			return nil
		case "":
			return fmt.Errorf("agent %s is no longer draining (reactivated?)", a.id())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(e.WaitPoll):
		}
	}
}

// findAgent returns the agent whose ID, or else hostname, is ref.
func (e *Env) findAgent(ctx context.Context, ref string) (*opAgent, error) {
	body, err := e.operatorCall(ctx, map[string]string{"type": "GET_AGENTS"})
	if err != nil {
		return nil, err
	}
	var resp struct {
		GetAgents struct {
			Agents []opAgent `json:"agents"`
		} `json:"get_agents"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("GET_AGENTS: %w", err)
	}
	return pickAgent(resp.GetAgents.Agents, ref)
}

// pickAgent returns the agent with ID ref, or else the only one with hostname ref.
func pickAgent(agents []opAgent, ref string) (*opAgent, error) {
	var byHost []*opAgent
	for i := range agents {
		a := &agents[i]
		if a.id() == ref {
			return a, nil
		}
		if a.AgentInfo.Hostname == ref {
			byHost = append(byHost, a)
		}
	}
	switch len(byHost) {
	case 0:
		return nil, notFoundf("no registered agent has the ID or hostname %s", ref)
	case 1:
		return byHost[0], nil
	}
	ids := make([]string, len(byHost))
	for i, a := range byHost {
		ids[i] = a.id()
	}
	return nil, usagef("%d agents have the hostname %s; name one by ID: %s", len(byHost), ref, strings.Join(ids, ", "))
}

// operatorCall posts call to the masters' /api/v1, trying each known master until one answers,
// and returns the answer's body. An answer other than 200 is an error with the master's
// message.
func (e *Env) operatorCall(ctx context.Context, call any) ([]byte, error) {
	if len(e.Target.Masters) == 0 {
		return nil, usagef("agent commands need a master: pass --master URL, or use a cluster from the client config")
	}
	body, err := json.Marshal(call)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, m := range e.Target.Masters {
		out, status, err := e.postOperator(ctx, strings.TrimSuffix(m, "/")+"/api/v1", body)
		switch {
		case err != nil && ctx.Err() == nil:
			errs = append(errs, err) // try the next master
			continue
		case err != nil:
			return nil, err
		case status == http.StatusOK:
			return out, nil
		case status == http.StatusServiceUnavailable:
			errs = append(errs, fmt.Errorf("%s: %s", m, strings.TrimSpace(string(out))))
			continue
		}
		msg := strings.TrimSpace(string(out))
		switch status {
		case http.StatusNotFound:
			return nil, notFoundf("%s", msg)
		case http.StatusBadRequest:
			return nil, invalidf("%s", msg)
		}
		return nil, fmt.Errorf("master answered %d %s: %s", status, http.StatusText(status), msg)
	}
	return nil, fmt.Errorf("no master answered: %w", errors.Join(errs...))
}

// postOperator posts body to u and returns the answer's body and status.
func (e *Env) postOperator(ctx context.Context, u string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, 0, UsageError(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if e.Target.Token != "" {
		req.Header.Set("Authorization", "Bearer "+e.Target.Token)
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxNodeAnswer))
	if err != nil {
		return nil, 0, fmt.Errorf("POST %s: %w", u, err)
	}
	return out, resp.StatusCode, nil
}
