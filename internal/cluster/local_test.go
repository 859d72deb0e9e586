package cluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestLocalPlan(t *testing.T) {
	l, err := NewLocal(map[string]string{"binary": "/bin/true"})
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Masters: 3, Agents: AgentGroups{{Count: 2}, {Resources: "cpus:1;mem:512;ports:[40000-40010]", Attributes: "rack:b"}}}
	spec.Default()
	c := &Cluster{Spec: spec, Dir: "/state/marina"}
	if err := l.Plan(c); err != nil {
		t.Fatal(err)
	}
	got := nodeURLs(c)
	want := []string{
		"master-1@http://127.0.0.2:5050", "master-2@http://127.0.0.3:5050", "master-3@http://127.0.0.4:5050",
		"agent-1@http://127.0.0.11:5051", "agent-2@http://127.0.0.12:5051", "agent-3@http://127.0.0.13:5051",
	}
	if !slices.Equal(got, want) {
		t.Errorf("nodes = %v, want %v", got, want)
	}
	a := c.Agents()
	if !strings.HasSuffix(a[0].Resources, "ports:[31000-31199]") || !strings.HasSuffix(a[1].Resources, "ports:[31200-31399]") {
		t.Errorf("default agents' ports: %q, %q", a[0].Resources, a[1].Resources)
	}
	if a[2].Resources != "cpus:1;mem:512;ports:[40000-40010]" || a[2].Attributes != "rack:b" {
		t.Errorf("agent-3 = %+v", a[2])
	}
	if m := c.Masters()[0]; !slices.Equal(m.Ports, []int{5050, 2379, 2380, 8080}) || m.WorkDir != "/state/marina/nodes/master-1" || m.LogFile != "/state/marina/logs/master-1.log" {
		t.Errorf("master-1 = %+v", m)
	}
	if err := l.Configure(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	args := strings.Join(c.Masters()[1].Args, " ")
	for _, w := range []string{"--ip 127.0.0.3", "--masters 127.0.0.2,127.0.0.3,127.0.0.4", "--etcd-heartbeat-ms 50", "--leader-ttl 1s"} {
		if !strings.Contains(args, w) {
			t.Errorf("master-2 args %q lack %q", args, w)
		}
	}
	args = strings.Join(a[2].Args, " ")
	for _, w := range []string{"--listen 127.0.0.13:5051", "--hostname 127.0.0.13", "--master http://127.0.0.2:5050,http://127.0.0.3:5050,http://127.0.0.4:5050", "--attributes rack:b"} {
		if !strings.Contains(args, w) {
			t.Errorf("agent-3 args %q lack %q", args, w)
		}
	}
}

// nodeURLs lists c's nodes as name@URL.
func nodeURLs(c *Cluster) []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Name+"@"+n.URL)
	}
	return out
}

func TestAgentPortRangesStayBelowEphemeral(t *testing.T) {
	for _, n := range []int{1, 3, 8, 9, 50, 200} {
		rs := agentPortRanges(n)
		if len(rs) != n {
			t.Fatalf("%d agents: %d ranges", n, len(rs))
		}
		last := rs[n-1]
		var lo, hi int
		if _, err := fmtSscanf(last, &lo, &hi); err != nil || hi >= 32768 || lo > hi {
			t.Errorf("%d agents: last range %s", n, last)
		}
	}
}

func fmtSscanf(r string, lo, hi *int) (int, error) { return fmt.Sscanf(r, "[%d-%d]", lo, hi) }
