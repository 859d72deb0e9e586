package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// BenchmarkSilentLeaderDeath measures a failover after the leading master's machine dies
// without closing a socket (testcluster.KillMasterSilently), with production timing (agent
// timeout 15 s, election TTL 2 s) on 3 masters with the services role and 2 real agents running
// one instance of an app: the time from the death to a new leader, to both agents re-registered
// with it, and to a second instance, asked for right after the death, RUNNING.
func BenchmarkSilentLeaderDeath(b *testing.B) {
	c := testcluster.New(b, testcluster.Options{
		Masters: 3, Agents: 2, Services: true, SilentDeath: true,
		AgentTimeout: 15 * time.Second, LeaderTTL: 2 * time.Second,
	})
	old := c.WaitForLeader(20 * time.Second)
	servicesLeader := c.WaitForServicesLeader(20 * time.Second)
	survivor := c.Masters()[(old+1)%3].ServicesURL
	servicesPost(b, survivor, map[string]any{"id": "/silent", "cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": 1})
	testutil.WaitFor(b, time.Minute, func() error { return servesInstances(survivor, "/silent", 1) })

	start := time.Now()
	c.KillMasterSilently(old)
	var elected, reregistered, scaled time.Duration
	scaleAsked := false
	deadline := start.Add(3 * time.Minute)
	for scaled == 0 || reregistered == 0 {
		if time.Now().After(deadline) {
			b.Fatalf("no recovery within 3 minutes: elected %v, agents %v, scaled %v", elected, reregistered, scaled)
		}
		if elected == 0 && c.LeaderIndex() >= 0 {
			elected = time.Since(start)
		}
		if elected > 0 && reregistered == 0 && c.AgentsActive() == nil {
			reregistered = time.Since(start)
		}
		if !scaleAsked {
			scaleAsked = tryScale(survivor, "/silent", 2) == nil
		} else if scaled == 0 && servesInstances(survivor, "/silent", 2) == nil {
			scaled = time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	where := "another node"
	if servicesLeader == old {
		where = "the dead node"
	}
	fmt.Printf("silent death of the leading master (services leader on %s): new leader after %v, "+
		"both agents re-registered after %v, scaled instance RUNNING after %v\n",
		where, elected.Round(time.Millisecond), reregistered.Round(time.Millisecond), scaled.Round(time.Millisecond))
	b.ReportMetric(ms(elected), "elected-ms")
	b.ReportMetric(ms(reregistered), "reregistered-ms")
	b.ReportMetric(ms(scaled), "scaled-ms")
}

// tryScale asks a services instance once to scale an app.
func tryScale(base, appID string, n int) error {
	body, _ := json.Marshal(map[string]any{"instances": n})
	req, err := http.NewRequest(http.MethodPut, base+"/v2/apps"+appID, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	cl := http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errors.New(resp.Status)
	}
	return nil
}
