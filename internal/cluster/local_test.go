package cluster

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/api/mesos"
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
	assertMachineShared(t, a[:2])
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
	if i := slices.Index(a[0].Args, "--resources"); i < 0 || a[0].Args[i+1] != a[0].Resources {
		t.Errorf("agent-1 args %q do not offer its share %q", a[0].Args, a[0].Resources)
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

func TestAgentShare(t *testing.T) {
	tests := []struct {
		name          string
		cpus          int
		memMB, diskMB float64
		agents        int
		want          string
	}{
		{name: "3 agents on 2 cores", cpus: 2, memMB: 24105, diskMB: 50000, agents: 3, want: "cpus:1;mem:7693;disk:16666"},
		{name: "one agent gets the machine less the masters' memory", cpus: 4, memMB: 8192, diskMB: 20480, agents: 1, want: "cpus:4;mem:7168;disk:20480"},
		{name: "no agents counts as one", cpus: 2, memMB: 4096, diskMB: 4096, agents: 0, want: "cpus:2;mem:3072;disk:4096"},
		{name: "thirds of cpus round down", cpus: 8, memMB: 4096, diskMB: 9000, agents: 3, want: "cpus:2.666;mem:1024;disk:3000"},
		{name: "at least one cpu", cpus: 1, memMB: 4096, diskMB: 9000, agents: 3, want: "cpus:1;mem:1024;disk:3000"},
		{name: "even shares", cpus: 8, memMB: 17408, diskMB: 40960, agents: 4, want: "cpus:2;mem:4096;disk:10240"},
		{name: "many agents get the minimums", cpus: 2, memMB: 2048, diskMB: 10240, agents: 200, want: "cpus:1;mem:256;disk:1024"},
		{name: "less memory than the masters keep", cpus: 2, memMB: 512, diskMB: 10240, agents: 1, want: "cpus:2;mem:256;disk:10240"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := agentShare(tt.cpus, tt.memMB, tt.diskMB, tt.agents)
			if got != tt.want {
				t.Errorf("agentShare(%d, %v, %v, %d) = %q, want %q", tt.cpus, tt.memMB, tt.diskMB, tt.agents, got, tt.want)
			}
			if _, err := mesos.ParseResources(got); err != nil {
				t.Errorf("%q does not parse: %v", got, err)
			}
		})
	}
}

// assertMachineShared checks that agents planned on this machine with the default resources
// offer no more memory together than the machine has, and no more CPUs than it has or one
// each, each with ports of its own.
func assertMachineShared(t *testing.T, agents []*Node) {
	t.Helper()
	mem, err := totalMemoryMB()
	if err != nil {
		t.Fatal(err)
	}
	var sum mesos.Resources
	var ports []mesos.Range
	for _, n := range agents {
		r, err := mesos.ParseResources(n.Resources)
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		if r.Scalar(mesos.ResourceCPUs) <= 0 || r.Scalar(mesos.ResourceMem) <= 0 {
			t.Errorf("%s offers %q", n.Name, n.Resources)
		}
		sum = sum.Add(r)
		for _, pr := range r.RangesOf(mesos.ResourcePorts) {
			for _, o := range ports {
				if pr.Begin <= o.End && o.Begin <= pr.End {
					t.Errorf("%s's ports %v overlap another agent's %v", n.Name, pr, o)
				}
			}
			ports = append(ports, pr)
		}
	}
	// CPUs are shared: each agent offers its share, but at least one.
	if got, most := sum.Scalar(mesos.ResourceCPUs), max(float64(runtime.NumCPU()), float64(len(agents))); got > most {
		t.Errorf("%d agents offer %v cpus together; the machine has %d", len(agents), got, runtime.NumCPU())
	}
	if got := sum.Scalar(mesos.ResourceMem); got > mem-mastersMemMB {
		t.Errorf("%d agents offer %v MB of memory together; the machine has %v, less %d for the masters", len(agents), got, mem, mastersMemMB)
	}
}
