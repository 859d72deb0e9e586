package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agentsim"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

var simResources = mesos.Resources{
	mesos.ScalarResource("cpus", 8),
	mesos.ScalarResource("mem", 16384),
	mesos.ScalarResource("disk", 102400),
	mesos.RangesResource("ports", mesos.Range{Begin: 31000, End: 32000}),
}

func framework(name string) mesos.FrameworkInfo {
	timeout := 3600.0
	return mesos.FrameworkInfo{User: "root", Name: name, FailoverTimeout: &timeout}
}

func startSim(b *testing.B, ctx context.Context, masters []string, n int) *agentsim.Sim {
	b.Helper()
	sim := agentsim.New(agentsim.Config{Masters: masters, Count: n, Resources: simResources, Logger: testutil.Logger(b, "sim")})
	if err := sim.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sim.Close)
	if err := sim.WaitRegistered(ctx); err != nil {
		b.Fatal(err)
	}
	return sim
}

// BenchmarkSubscribeToOffers measures SUBSCRIBE -> first OFFERS event on a master with 10
// simulated agents. Target: <= 10 ms.
func BenchmarkSubscribeToOffers(b *testing.B) {
	c := testcluster.New(b, testcluster.Options{Masters: 1})
	ctx := testutil.Context(b)
	startSim(b, ctx, c.MasterURLs(), 10)
	const samples = 100
	var lat []time.Duration
	for i := range samples {
		cl := scheduler.New(scheduler.Config{Masters: c.MasterURLs(), Framework: framework(fmt.Sprintf("bench-%d", i))})
		start := time.Now()
		s, err := cl.Subscribe(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for ev := range s.Events {
			if ev.Type == mesos.EventOffers {
				lat = append(lat, time.Since(start))
				break
			}
		}
		if err := s.Teardown(ctx); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	p50, p99 := percentiles(lat)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	fmt.Printf("subscribe->offers over %d subscriptions: p50 %.2f ms, p99 %.2f ms (target <= 10 ms)\n", samples, ms(p50), ms(p99))
}

// BenchmarkLaunchToRunning measures ACCEPT(LAUNCH) -> TASK_RUNNING for a command that exits at
// once, on one real agent running real processes. Target: p99 <= 50 ms. Built with
// -tags launchtrace, it also prints where the agent's share of each launch went, phase by phase.
func BenchmarkLaunchToRunning(b *testing.B) {
	trace := filepath.Join(b.TempDir(), "launch.trace")
	b.Setenv("LAUNCH_TRACE_FILE", trace) // see internal/agent/internal/launchtrace
	c := testcluster.New(b, testcluster.Options{Masters: 1, Agents: 1})
	launchLatency(b, c.MasterURLs(), "real agent")
	if err := printLaunchPhases(trace); err != nil {
		b.Fatal(err)
	}
}

// printLaunchPhases prints, for each pair of consecutive phases the launch trace recorded, the
// p50, p90 and p99 of the time between them over the launches, the phases ordered as they
// happened. Without a trace (the agent built without -tags launchtrace) it prints nothing.
func printLaunchPhases(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	marks := map[string]map[string]time.Time{} // task -> phase -> first time
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if marks[f[1]] == nil {
			marks[f[1]] = map[string]time.Time{}
		}
		if _, ok := marks[f[1]][f[2]]; !ok {
			marks[f[1]][f[2]] = time.Unix(0, ns)
		}
	}
	cold := 0
	for _, m := range marks {
		if _, ok := m["cold"]; ok { // launchtrace.Cold
			cold++
			delete(m, "cold")
		}
	}
	// Order the phases by their median offset from each launch's first mark.
	offsets := map[string][]time.Duration{}
	for _, m := range marks {
		first := slices.MinFunc(slices.Collect(maps.Values(m)), time.Time.Compare)
		for p, t := range m {
			offsets[p] = append(offsets[p], t.Sub(first))
		}
	}
	phases := slices.Collect(maps.Keys(offsets))
	median := func(p string) time.Duration { m, _ := percentiles(offsets[p]); return m }
	slices.SortFunc(phases, func(x, y string) int { return cmp.Compare(median(x), median(y)) })
	fmt.Printf("launch phases over %d launches, %d of them without an idle supervisor (ms):  p50     p90     p99\n", len(marks), cold)
	between := func(from, to string) {
		var ds []time.Duration
		for _, m := range marks {
			t0, ok1 := m[from]
			t1, ok2 := m[to]
			if ok1 && ok2 {
				ds = append(ds, t1.Sub(t0))
			}
		}
		if len(ds) == 0 {
			return
		}
		s := slices.Sorted(slices.Values(ds))
		at := func(q float64) float64 { return ms(s[min(len(s)-1, int(q*float64(len(s))))]) }
		fmt.Printf("  %-12s -> %-12s %7.2f %7.2f %7.2f\n", from, to, at(0.5), at(0.9), at(0.99))
	}
	for i := 1; i < len(phases); i++ {
		between(phases[i-1], phases[i])
	}
	// The agent's share: from the LAUNCH read to TASK_RUNNING on its way to the master.
	if len(phases) > 0 && slices.Contains(phases, "sent") {
		fmt.Println("  in all:")
		between(phases[0], "sent")
	}
	return nil
}

// BenchmarkLaunchToRunningSimulated measures the same path with a simulated agent that reports
// TASK_RUNNING the moment LAUNCH arrives: the master's and the scheduler API's share of the
// latency, without starting a process.
func BenchmarkLaunchToRunningSimulated(b *testing.B) {
	c := testcluster.New(b, testcluster.Options{Masters: 1})
	startSim(b, testutil.Context(b), c.MasterURLs(), 1)
	launchLatency(b, c.MasterURLs(), "simulated agent")
}

// launchLatency launches 200 tasks one at a time, so the figure is latency, not queueing: the
// framework declines everything else with a long filter and revives when it wants the next offer.
func launchLatency(b *testing.B, masters []string, what string) {
	ctx := testutil.Context(b)
	cl := scheduler.New(scheduler.Config{Masters: masters, Framework: framework("bench-launch")})
	s, err := cl.Subscribe(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const samples = 200
	refuseLong := 60.0
	filters := &mesos.Filters{RefuseSeconds: &refuseLong}
	var (
		lat     []time.Duration
		started time.Time
		want    = true
	)
	for ev := range s.Events {
		switch ev.Type {
		case mesos.EventOffers:
			for _, o := range ev.Offers.Offers {
				if !want {
					_ = s.Decline(ctx, []mesos.ID{o.ID}, filters)
					continue
				}
				want = false
				id := fmt.Sprintf("t%d", len(lat))
				cmd := "true"
				task := mesos.TaskInfo{
					Name: id, TaskID: mesos.ID{Value: id}, AgentID: o.AgentID,
					Command:   &mesos.CommandInfo{Value: &cmd},
					Resources: mesos.Resources{mesos.ScalarResource("cpus", 0.01), mesos.ScalarResource("mem", 8)},
				}
				op := mesos.Operation{Type: mesos.OperationLaunch, Launch: &mesos.Launch{TaskInfos: []mesos.TaskInfo{task}}}
				started = time.Now()
				if err := s.Accept(ctx, []mesos.ID{o.ID}, []mesos.Operation{op}, filters); err != nil {
					b.Fatal(err)
				}
			}
		case mesos.EventUpdate:
			st := ev.Update.Status
			_ = s.Acknowledge(ctx, st)
			if st.State != mesos.TaskRunning {
				continue
			}
			lat = append(lat, time.Since(started))
			if len(lat) < samples {
				want = true
				if err := s.Revive(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		if len(lat) == samples {
			break
		}
	}
	p50, p99 := percentiles(lat)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	fmt.Printf("accept(launch)->TASK_RUNNING, %s, over %d tasks: p50 %.2f ms, p99 %.2f ms (target p99 <= 50 ms)\n", what, samples, ms(p50), ms(p99))
}
