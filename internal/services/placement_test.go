package services

import (
	"slices"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

func space(host string, attrs map[string]string, ports ...mesos.Range) *offerSpace {
	return &offerSpace{AgentID: "A-" + host, Hostname: host, Attributes: attrs, CPUs: 4, Mem: 1024, Disk: 100, Ports: ports}
}

func TestFitResources(t *testing.T) {
	tests := []struct {
		name string
		d    demand
		fits int // instances that fit one after the other
	}{
		{"small", demand{CPUs: 1, Mem: 128}, 4},
		{"memory bound", demand{CPUs: 0.1, Mem: 300}, 3},
		{"fractional cpus", demand{CPUs: 0.3, Mem: 1}, 13},
		{"too big", demand{CPUs: 5}, 0},
		{"disk", demand{CPUs: 0.1, Disk: 40}, 2},
		{"gpus", demand{CPUs: 0.1, GPUs: 1}, 0},
		{"ports", demand{CPUs: 0.1, Ports: []int{0, 0}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := space("h", nil, mesos.Range{Begin: 31000, End: 31003})
			n := 0
			for {
				if _, ok := fit(s, tt.d, nil); !ok {
					break
				}
				n++
			}
			if n != tt.fits {
				t.Errorf("fitted %d, want %d", n, tt.fits)
			}
		})
	}
}

func TestPickPorts(t *testing.T) {
	r := func(b, e uint64) mesos.Range { return mesos.Range{Begin: b, End: e} }
	tests := []struct {
		name    string
		avail   []mesos.Range
		want    []int
		require bool
		got     []int
		left    []mesos.Range
		ok      bool
	}{
		{"none", []mesos.Range{r(1, 5)}, nil, false, nil, []mesos.Range{r(1, 5)}, true},
		{"any", []mesos.Range{r(10, 12)}, []int{0, 0}, false, []int{10, 11}, []mesos.Range{r(12, 12)}, true},
		{"any across ranges", []mesos.Range{r(10, 10), r(20, 21)}, []int{0, 0}, false, []int{10, 20}, []mesos.Range{r(21, 21)}, true},
		{"fixed ignored without requirePorts", []mesos.Range{r(10, 12)}, []int{80}, false, []int{10}, []mesos.Range{r(11, 12)}, true},
		{"fixed", []mesos.Range{r(10, 12)}, []int{11}, true, []int{11}, []mesos.Range{r(10, 10), r(12, 12)}, true},
		{"fixed missing", []mesos.Range{r(10, 12)}, []int{13}, true, nil, []mesos.Range{r(10, 12)}, false},
		{"fixed before dynamic", []mesos.Range{r(10, 11)}, []int{0, 10}, true, []int{11, 10}, []mesos.Range{}, true},
		{"not enough", []mesos.Range{r(10, 10)}, []int{0, 0}, false, nil, []mesos.Range{r(10, 10)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, left, ok := pickPorts(tt.avail, tt.want, tt.require)
			if ok != tt.ok || !slices.Equal(got, tt.got) || (len(left) != 0 || len(tt.left) != 0) && !slices.Equal(left, tt.left) {
				t.Errorf("pickPorts = %v, %v, %v; want %v, %v, %v", got, left, ok, tt.got, tt.left, tt.ok)
			}
		})
	}
}

func TestConstraints(t *testing.T) {
	rack := func(r string) map[string]string { return map[string]string{"rack": r, "level": "3"} }
	on := func(host, r string) placed { return placed{Host: host, Attributes: rack(r)} }
	tests := []struct {
		name   string
		c      []string
		host   string
		rack   string
		others []placed
		ok     bool
	}{
		{"unique free", []string{"hostname", "UNIQUE"}, "a", "r1", []placed{on("b", "r1")}, true},
		{"unique taken", []string{"hostname", "UNIQUE"}, "a", "r1", []placed{on("a", "r1")}, false},
		{"unique attribute", []string{"rack", "UNIQUE"}, "a", "r1", []placed{on("b", "r1")}, false},
		{"cluster value", []string{"rack", "CLUSTER", "r1"}, "a", "r1", nil, true},
		{"cluster other value", []string{"rack", "CLUSTER", "r2"}, "a", "r1", nil, false},
		{"cluster follows first", []string{"rack", "CLUSTER"}, "a", "r2", []placed{on("b", "r1")}, false},
		{"cluster first", []string{"rack", "CLUSTER"}, "a", "r2", nil, true},
		{"like", []string{"hostname", "LIKE", "a.*"}, "abc", "r1", nil, true},
		{"like anchored", []string{"hostname", "LIKE", "b"}, "abc", "r1", nil, false},
		{"unlike", []string{"rack", "UNLIKE", "r[12]"}, "a", "r3", nil, true},
		{"unlike match", []string{"rack", "UNLIKE", "r[12]"}, "a", "r1", nil, false},
		{"missing attribute like", []string{"zone", "LIKE", ".*"}, "a", "r1", nil, false},
		{"missing attribute unlike", []string{"zone", "UNLIKE", "x"}, "a", "r1", nil, true},
		{"is", []string{"rack", "IS", "r1"}, "a", "r1", nil, true},
		{"is scalar", []string{"level", "IS", "3.0"}, "a", "r1", nil, true},
		{"is not", []string{"rack", "IS", "r2"}, "a", "r1", nil, false},
		{"max per below", []string{"rack", "MAX_PER", "2"}, "a", "r1", []placed{on("b", "r1")}, true},
		{"max per reached", []string{"rack", "MAX_PER", "2"}, "a", "r1", []placed{on("b", "r1"), on("c", "r1")}, false},
		{"group by new value", []string{"rack", "GROUP_BY"}, "a", "r2", []placed{on("b", "r1")}, true},
		{"group by larger group", []string{"rack", "GROUP_BY"}, "a", "r1", []placed{on("b", "r1"), on("c", "r2"), on("d", "r1")}, false},
		{"group by smallest group", []string{"rack", "GROUP_BY"}, "a", "r2", []placed{on("b", "r1"), on("c", "r2"), on("d", "r1")}, true},
		{"group by too few groups", []string{"rack", "GROUP_BY", "3"}, "a", "r1", []placed{on("b", "r1"), on("c", "r2")}, false},
		{"unknown operator", []string{"rack", "NEAR"}, "a", "r1", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := space(tt.host, rack(tt.rack))
			if got := meetsConstraints(s, [][]string{tt.c}, tt.others); got != tt.ok {
				t.Errorf("meetsConstraints(%v on %s/%s) = %v, want %v", tt.c, tt.host, tt.rack, got, tt.ok)
			}
		})
	}
}

// TestFitSeveralPerOffer checks that instances placed in one round count for the next.
func TestFitSeveralPerOffer(t *testing.T) {
	s := space("a", nil, mesos.Range{Begin: 1, End: 100})
	d := demand{CPUs: 0.1, Mem: 1, Constraints: [][]string{{"hostname", "MAX_PER", "3"}}}
	var others []placed
	n := 0
	for {
		if _, ok := fit(s, d, others); !ok {
			break
		}
		others = append(others, placed{Host: "a"})
		n++
	}
	if n != 3 {
		t.Errorf("placed %d, want 3", n)
	}
}

func TestBackoff(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := backoffPolicy{Seconds: 1, Factor: 2, MaxSeconds: 5}
	tests := []struct {
		name string
		prev time.Duration
		ran  time.Duration
		want time.Duration
	}{
		{"first failure", 0, 0, time.Second},
		{"second", time.Second, 0, 2 * time.Second},
		{"third", 2 * time.Second, time.Second, 4 * time.Second},
		{"capped", 4 * time.Second, 0, 5 * time.Second},
		{"stays capped", 5 * time.Second, 0, 5 * time.Second},
		{"reset after a long run", 5 * time.Second, time.Minute, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := backoff{Delay: tt.prev}.failed(p, t0, tt.ran, 30*time.Second)
			if b.Delay != tt.want || !b.LaunchAfter.Equal(t0.Add(tt.want)) {
				t.Errorf("delay %v launchAfter %v, want %v", b.Delay, b.LaunchAfter.Sub(t0), tt.want)
			}
			if b.ready(t0.Add(tt.want-time.Millisecond)) || !b.ready(t0.Add(tt.want)) {
				t.Error("ready does not follow launchAfter")
			}
		})
	}
	// Factor below 1 never shrinks the delay; a zero max forbids waiting.
	if b := (backoff{Delay: time.Second}).failed(backoffPolicy{Seconds: 1, Factor: 0.5, MaxSeconds: 10}, t0, 0, 0); b.Delay != time.Second {
		t.Errorf("factor 0.5: %v", b.Delay)
	}
	if b := (backoff{}).failed(backoffPolicy{Seconds: 1, Factor: 2, MaxSeconds: 0}, t0, 0, 0); b.Delay != 0 {
		t.Errorf("max 0: %v", b.Delay)
	}
}

func TestDockerAppsNeedADockerAgent(t *testing.T) {
	app := &marathon.App{ID: "/d", CPUs: 0.1, Mem: 16, Container: &marathon.Container{
		Type: "DOCKER", Docker: &marathon.DockerContainer{Image: "busybox"},
	}}
	d := demandOf(app)
	for _, tt := range []struct {
		attrs map[string]string
		fits  bool
	}{
		{map[string]string{}, false},
		{map[string]string{"docker": "true"}, true},
	} {
		s := &offerSpace{Role: "*", CPUs: 1, Mem: 64, Attributes: tt.attrs}
		if _, ok := fit(s, d, nil); ok != tt.fits {
			t.Errorf("docker app on an agent with attributes %v: fits %v, want %v", tt.attrs, ok, tt.fits)
		}
	}
}

func TestHealthCheckDelay(t *testing.T) {
	ten := 10
	tests := []struct {
		name  string
		check marathon.HealthCheck
		want  float64
	}{
		{"marathon http starts at once", marathon.HealthCheck{Protocol: marathon.ProtocolHTTP}, 0},
		{"marathon tcp starts at once", marathon.HealthCheck{Protocol: marathon.ProtocolTCP}, 0},
		{"explicit delay kept", marathon.HealthCheck{Protocol: marathon.ProtocolHTTP, DelaySeconds: &ten}, 10},
		{"mesos http waits the default", marathon.HealthCheck{Protocol: marathon.ProtocolMesosHTTP}, marathon.DefaultHealthDelaySeconds},
	}
	for _, tt := range tests {
		app := &marathon.App{ID: "/a", HealthChecks: []marathon.HealthCheck{tt.check}}
		hc := healthCheck(app, &instance{Ports: []int{31000}})
		if hc == nil || hc.DelaySeconds == nil || *hc.DelaySeconds != tt.want {
			t.Errorf("%s: delay %v, want %v", tt.name, hc, tt.want)
		}
	}
}

func TestHealthCheckPort(t *testing.T) {
	idx := func(i int) *int { return &i }
	mappings := func(hostPorts ...*int) *marathon.Container {
		c := &marathon.Container{Type: "DOCKER"}
		for i, hp := range hostPorts {
			c.PortMappings = append(c.PortMappings, marathon.PortMapping{ContainerPort: 8080 + i, HostPort: hp})
		}
		return c
	}
	tests := []struct {
		name      string
		container *marathon.Container
		ports     []int // the instance's host ports
		check     marathon.HealthCheck
		want      uint32
	}{
		{"port definition", nil, []int{31000, 31001}, marathon.HealthCheck{PortIndex: idx(1)}, 31001},
		{"fixed port", nil, []int{31000}, marathon.HealthCheck{Port: idx(9000)}, 9000},
		{"index beyond the ports", nil, []int{31000}, marathon.HealthCheck{PortIndex: idx(2)}, 0},
		{"bridge mapping", mappings(idx(0), idx(0)), []int{31000, 31001}, marathon.HealthCheck{PortIndex: idx(1)}, 31001},
		{"container network: the container port", mappings(nil, nil), nil, marathon.HealthCheck{PortIndex: idx(1)}, 8081},
		{"mixed: after a mapping without host port", mappings(nil, idx(0)), []int{31000}, marathon.HealthCheck{PortIndex: idx(1)}, 31000},
		{"mixed: the mapping without host port", mappings(idx(0), nil), []int{31000}, marathon.HealthCheck{PortIndex: idx(1)}, 8081},
		{"mesos tcp on a container port", mappings(nil), nil, marathon.HealthCheck{Protocol: marathon.ProtocolMesosTCP, PortIndex: idx(0)}, 8080},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.check.Protocol == "" {
				tt.check.Protocol = marathon.ProtocolMesosHTTP
			}
			app := &marathon.App{ID: "/a", Container: tt.container, HealthChecks: []marathon.HealthCheck{tt.check}}
			hc := healthCheck(app, &instance{Ports: tt.ports})
			var got uint32
			switch {
			case hc == nil:
				t.Fatal("no health check")
			case hc.HTTP != nil:
				got = hc.HTTP.Port
			case hc.TCP != nil:
				got = hc.TCP.Port
			}
			if got != tt.want {
				t.Errorf("port %d, want %d", got, tt.want)
			}
		})
	}
}

func TestUnfit(t *testing.T) {
	space := func() *offerSpace {
		return &offerSpace{Hostname: "a", CPUs: 1, Mem: 64, Disk: 10, Ports: []mesos.Range{{Begin: 31000, End: 31000}}}
	}
	tests := []struct {
		name   string
		d      demand
		others []placed
		want   []string
	}{
		{"fits", demand{CPUs: 1, Mem: 64, Ports: []int{0}}, nil, nil},
		{"cpus and memory", demand{CPUs: 2, Mem: 128}, nil, []string{"InsufficientCpus", "InsufficientMemory"}},
		{"disk and gpus", demand{Disk: 20, GPUs: 1}, nil, []string{"InsufficientDisk", "InsufficientGpus"}},
		{"ports", demand{Ports: []int{0, 0}}, nil, []string{"InsufficientPorts"}},
		{"required port", demand{Ports: []int{80}, RequirePorts: true}, nil, []string{"InsufficientPorts"}},
		{"constraint first", demand{CPUs: 2, Constraints: [][]string{{"hostname", "UNIQUE"}}}, []placed{{Host: "a"}}, []string{"UnfulfilledConstraint", "InsufficientCpus"}},
	}
	for _, tt := range tests {
		if got := unfit(space(), tt.d, tt.others); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	zero := 0
	bridge := &marathon.Container{Type: "DOCKER", PortMappings: []marathon.PortMapping{
		{ContainerPort: 80, HostPort: &zero, Name: "web"}, {ContainerPort: 9000, Name: "admin"},
	}}
	defs := []marathon.PortDefinition{{Name: "web"}, {Name: "admin"}}
	in := &instance{Host: "agent-1", Ports: []int{31000, 31001}, IPAddresses: []ipAddress{{IPAddress: "172.17.0.5", Protocol: "IPv4"}}}
	tests := []struct {
		name      string
		app       *marathon.App
		in        *instance
		port      string
		wantHost  string
		wantPort  int
		wantIndex int
	}{
		{"port definition", &marathon.App{PortDefinitions: defs}, in, "admin", "agent-1", 31001, 1},
		{"mapping with a host port", &marathon.App{Container: bridge}, in, "web", "agent-1", 31000, 0},
		{"mapping without a host port", &marathon.App{Container: bridge}, in, "admin", "172.17.0.5", 9000, 1},
		{"container address not known yet", &marathon.App{Container: bridge}, &instance{Host: "agent-1", Ports: []int{31000}}, "admin", "", 0, 1},
		{"no such name", &marathon.App{PortDefinitions: defs}, in, "metrics", "", 0, -1},
	}
	for _, tt := range tests {
		i := portIndex(tt.app, tt.port)
		host, port := endpoint(tt.app, tt.in, i)
		if i != tt.wantIndex || host != tt.wantHost || port != tt.wantPort {
			t.Errorf("%s: index %d, %s:%d, want %d, %s:%d", tt.name, i, host, port, tt.wantIndex, tt.wantHost, tt.wantPort)
		}
	}
}

func TestAppIDOfTask(t *testing.T) {
	for _, id := range []string{"/web", "/prod/web", "/a/b/c"} {
		if got := appIDOfTask(newTaskID(id)); got != id {
			t.Errorf("app of a task of %s: %s", id, got)
		}
	}
	if got := appIDOfTask("no-dot"); got != "" {
		t.Errorf("app of a task id without a dot: %q", got)
	}
}
