package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
	"github.com/marina-dcos/marina/internal/testutil"
)

// masterProc is a `marina master` process started by a benchmark.
type masterProc struct {
	url  string
	args []string
	cmd  *exec.Cmd
	log  string
}

// startMasters starts n master processes forming one etcd cluster on 127.0.0.1.
func startMasters(b *testing.B, n int) []*masterProc {
	b.Helper()
	bin := marinaBinary(b)
	dir := b.TempDir()
	procs := make([]*masterProc, n)
	initial := make([]string, n)
	for i := range procs {
		port, cport, pport := testutil.FreePort(b), testutil.FreePort(b), testutil.FreePort(b)
		initial[i] = fmt.Sprintf("m%d=http://127.0.0.1:%d", i, pport)
		procs[i] = &masterProc{
			url: fmt.Sprintf("http://127.0.0.1:%d", port),
			log: filepath.Join(dir, fmt.Sprintf("master%d.log", i)),
			args: []string{"master", "--ip", "127.0.0.1", "--port", fmt.Sprint(port),
				"--work-dir", filepath.Join(dir, fmt.Sprintf("m%d", i)), "--etcd-name", fmt.Sprintf("m%d", i),
				"--etcd-client-port", fmt.Sprint(cport), "--etcd-peer-port", fmt.Sprint(pport),
				"--etcd-heartbeat-ms", "50", "--etcd-election-ms", "500", "--leader-ttl", "1s",
				"--no-services", "--log-level", "warn"},
		}
	}
	for i, p := range procs {
		p.args = append(p.args, "--etcd-initial-cluster", strings.Join(initial, ","))
		p.start(b, bin)
		b.Cleanup(func() { procs[i].kill() })
	}
	return procs
}

func (p *masterProc) start(b *testing.B, bin string) {
	b.Helper()
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	p.cmd = exec.Command(bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { p.cmd.Wait(); logf.Close() }()
}

func (p *masterProc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
}

// leaderOf asks each master where the leader is and returns the leader's URL.
func leaderOf(procs []*masterProc) (string, error) {
	client := &http.Client{Timeout: time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range procs {
		resp, err := client.Get(p.url + "/master/redirect")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusTemporaryRedirect && loc != "" {
			return "http:" + loc, nil
		}
	}
	return "", errors.New("no leader known")
}

// activeAgents returns how many agents the master at url reports active, and its running tasks.
func activeAgents(url string) (agents, running int, err error) {
	var state struct {
		Slaves []struct {
			Active bool `json:"active"`
		} `json:"slaves"`
		Frameworks []struct {
			Tasks []struct {
				State string `json:"state"`
			} `json:"tasks"`
		} `json:"frameworks"`
	}
	if err := getJSON(url+"/master/state", &state); err != nil {
		return 0, 0, err
	}
	for _, s := range state.Slaves {
		if s.Active {
			agents++
		}
	}
	for _, f := range state.Frameworks {
		for _, t := range f.Tasks {
			if t.State == string(mesos.TaskRunning) {
				running++
			}
		}
	}
	return agents, running, nil
}

func waitUntil(b *testing.B, timeout time.Duration, cond func() error) {
	b.Helper()
	testutil.WaitFor(b, timeout, cond)
}

// BenchmarkAgents measures, for 1,000 and 10,000 simulated agents speaking the real protocol to a
// master process: registration time, master RSS, the master's CPU while it only handles
// heartbeats, and offers per second to a framework that declines everything.
// Targets: 10,000 agents in <= 1 GiB RSS, heartbeats under a quarter of one core.
func BenchmarkAgents(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			m := startMasters(b, 1)[0]
			ctx := testutil.Context(b)
			waitUntil(b, 30*time.Second, func() error { _, err := leaderOf([]*masterProc{m}); return err })

			start := time.Now()
			sim := startSim(b, ctx, []string{m.url}, n)
			reg := time.Since(start)
			waitUntil(b, 60*time.Second, func() error {
				got, _, err := activeAgents(m.url)
				if err == nil && got != n {
					err = fmt.Errorf("%d of %d agents active", got, n)
				}
				return err
			})

			pid := m.cmd.Process.Pid
			time.Sleep(2 * time.Second) // let registration work settle before sampling
			_, cpu0, _ := procStats(pid)
			const window = 10 * time.Second
			time.Sleep(window)
			rss, cpu1, err := procStats(pid)
			if err != nil {
				b.Fatal(err)
			}
			idleCores := float64(cpu1-cpu0) / float64(window)

			offers := declineOffers(b, ctx, m.url, 5*time.Second)
			if sim.Tasks() != 0 {
				b.Fatalf("simulated agents run %d tasks; the decline benchmark launched none", sim.Tasks())
			}
			b.ReportMetric(reg.Seconds(), "register-s")
			b.ReportMetric(float64(rss)/(1<<20), "rss-MiB")
			b.ReportMetric(idleCores, "heartbeat-cores")
			b.ReportMetric(offers, "offers/s")
			fmt.Printf("%d agents: registered in %.2f s, master RSS %.0f MiB, heartbeat handling %.3f cores, %.0f offers/s\n",
				n, reg.Seconds(), float64(rss)/(1<<20), idleCores, offers)
		})
	}
}

// declineOffers subscribes a framework that declines every offer without a filter and returns the
// offers per second it received over d.
func declineOffers(b *testing.B, ctx context.Context, url string, d time.Duration) float64 {
	b.Helper()
	cl := scheduler.New(scheduler.Config{Masters: []string{url}, Framework: framework("bench-decline")})
	s, err := cl.Subscribe(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	refuseNone := 0.0
	count := 0
	start := time.Now()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-s.Events:
			if !ok {
				b.Fatalf("stream ended: %v", s.Err())
			}
			if ev.Type != mesos.EventOffers {
				continue
			}
			ids := make([]mesos.ID, len(ev.Offers.Offers))
			for i, o := range ev.Offers.Offers {
				ids[i] = o.ID
			}
			count += len(ids)
			if err := s.Decline(ctx, ids, &mesos.Filters{RefuseSeconds: &refuseNone}); err != nil {
				b.Fatal(err)
			}
		case <-deadline:
			return float64(count) / time.Since(start).Seconds()
		}
	}
}

// BenchmarkMasterFailover kills the leading master process (SIGKILL) of three, with 100 simulated
// agents running 100 tasks, and measures the time until a new leader serves /master/state with
// every agent re-registered and every task running. Target: <= 3 s, zero tasks lost.
func BenchmarkMasterFailover(b *testing.B) {
	const agents, tasks, rounds = 100, 100, 3
	procs := startMasters(b, 3)
	ctx := testutil.Context(b)
	waitUntil(b, 30*time.Second, func() error { _, err := leaderOf(procs); return err })
	urls := make([]string, len(procs))
	for i, p := range procs {
		urls[i] = p.url
	}
	startSim(b, ctx, urls, agents)
	launchTasks(b, ctx, urls, tasks)

	bin := marinaBinary(b)
	var times []time.Duration
	for r := range rounds {
		leader, err := leaderOf(procs)
		if err != nil {
			b.Fatal(err)
		}
		var victim *masterProc
		for _, p := range procs {
			if p.url == leader {
				victim = p
			}
		}
		start := time.Now()
		victim.kill()
		var lost int
		waitUntil(b, 30*time.Second, func() error {
			l, err := leaderOf(procs)
			if err != nil || l == leader {
				return fmt.Errorf("no new leader yet")
			}
			got, running, err := activeAgents(l)
			if err != nil {
				return err
			}
			if got != agents || running != tasks {
				lost = tasks - running
				return fmt.Errorf("new leader %s has %d/%d agents, %d/%d tasks running", l, got, agents, running, tasks)
			}
			lost = 0
			return nil
		})
		d := time.Since(start)
		times = append(times, d)
		fmt.Printf("failover round %d: %.2f s to a new leader with %d agents and %d tasks running (%d lost)\n", r+1, d.Seconds(), agents, tasks, lost)
		victim.start(b, bin)
		waitUntil(b, 30*time.Second, func() error {
			resp, err := http.Get(victim.url + "/health")
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		})
	}
	p50, _ := percentiles(times)
	worst := times[0]
	for _, t := range times {
		worst = max(worst, t)
	}
	b.ReportMetric(p50.Seconds(), "p50-s")
	b.ReportMetric(worst.Seconds(), "max-s")
	fmt.Printf("master failover over %d rounds: median %.2f s, worst %.2f s (target <= 3 s)\n", rounds, p50.Seconds(), worst.Seconds())
}

// launchTasks launches n long-running tasks through a framework that stays subscribed (and
// re-subscribes after failovers) for the rest of the benchmark.
func launchTasks(b *testing.B, ctx context.Context, masters []string, n int) {
	b.Helper()
	cl := scheduler.New(scheduler.Config{Masters: masters, Framework: framework("bench-failover")})
	var launched int // touched only by the framework goroutine until done closes
	done := make(chan struct{})
	go func() {
		for ctx.Err() == nil {
			s, err := cl.Subscribe(ctx)
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for ev := range s.Events {
				switch ev.Type {
				case mesos.EventOffers:
					for _, o := range ev.Offers.Offers {
						if launched >= n {
							_ = s.Decline(ctx, []mesos.ID{o.ID}, &mesos.Filters{})
							continue
						}
						id := fmt.Sprintf("task-%d", launched)
						launched++
						cmd := "sleep 3600"
						_ = s.Launch(ctx, o.ID, mesos.TaskInfo{Name: id, TaskID: mesos.ID{Value: id}, AgentID: o.AgentID,
							Command:   &mesos.CommandInfo{Value: &cmd},
							Resources: mesos.Resources{mesos.ScalarResource("cpus", 0.1), mesos.ScalarResource("mem", 32)}})
						if launched == n {
							close(done)
						}
					}
				case mesos.EventUpdate:
					_ = s.Acknowledge(ctx, ev.Update.Status)
				}
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Fatalf("could not launch %d tasks within 30 s", n)
	}
	waitUntil(b, 30*time.Second, func() error {
		l, err := leaderOf(procsFor(masters))
		if err != nil {
			return err
		}
		if _, running, err := activeAgents(l); err != nil || running != n {
			return fmt.Errorf("%d of %d tasks running (%v)", running, n, err)
		}
		return nil
	})
}

func procsFor(urls []string) []*masterProc {
	procs := make([]*masterProc, len(urls))
	for i, u := range urls {
		procs[i] = &masterProc{url: u}
	}
	return procs
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
