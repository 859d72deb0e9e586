package master

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// A master that wins an election tells every agent of its registry that has not re-registered
// yet to find the leader again: POST /detect on the agent, with the cluster's token and TLS
// client certificate, as the agent proxy calls agents. When the old leader's machine died
// without closing its sockets (a power loss, a killed VM or container, a partition), its agents'
// streams just go silent and would otherwise last until the agents' own silence timeout (15 s by
// default); told, they re-register within a round trip of the election. The call carries no
// data: each agent asks its configured masters who leads and moves only when another master
// does, so a forged or stale call costs a detection, never a wrong leader.
//
// The cost is one short HTTP call per agent and election, made by announceWorkers at a time,
// never on a healthy cluster: heartbeats keep their interval.

const (
	// announceWorkers bounds the calls in flight.
	announceWorkers = 64
	// announceTimeout bounds one call: the agent answers once it has asked the masters.
	announceTimeout = 3 * time.Second
)

// announceLeadership calls POST /detect on every agent of st's registry that has not
// re-registered, until every one was called or ctx (the term) ends.
func (m *Master) announceLeadership(ctx context.Context, st *leaderState) {
	m.mu.Lock()
	var ids []string
	for id, a := range st.agents {
		if a.recovered {
			ids = append(ids, id)
		}
	}
	m.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	start := time.Now()
	client := m.agentClient()
	client.Transport.(*http.Transport).DisableKeepAlives = true // one call per agent
	work := make(chan string)
	var called, failed atomic.Int64
	var wg sync.WaitGroup
	for range min(announceWorkers, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				base, ok := m.recoveredAgentURL(st, id)
				if !ok {
					continue // re-registered meanwhile
				}
				called.Add(1)
				if err := m.callDetect(ctx, client, base); err != nil {
					failed.Add(1)
					m.log.Debug("telling an agent of the new leader", "agent_id", id, "err", err)
				}
			}
		}()
	}
feed:
	for _, id := range ids {
		select {
		case work <- id:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	m.log.Info("told the registry's agents of the new leader", "agents", len(ids),
		"called", called.Load(), "failed", failed.Load(), "took", time.Since(start))
}

// recoveredAgentURL returns the base URL of agent id while it has not re-registered with st.
func (m *Master) recoveredAgentURL(st *leaderState, id string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := st.agents[id]
	if m.st != st || a == nil || !a.recovered {
		return "", false
	}
	return m.agentBase(a)
}

// callDetect sends POST /detect to the agent at base.
func (m *Master) callDetect(ctx context.Context, client *http.Client, base string) error {
	ctx, cancel := context.WithTimeout(ctx, announceTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/detect", nil)
	if err != nil {
		return err
	}
	if m.cfg.AuthToken != "" {
		req.Header.Set("Authorization", "Bearer "+m.cfg.AuthToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the agent answered %s", resp.Status)
	}
	return nil
}
