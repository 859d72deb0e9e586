package coord_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/coord"
	"github.com/marina-dcos/marina/internal/testutil"
)

// startCluster starts n embedded members concurrently and returns them once a quorum serves.
func startCluster(t *testing.T, n int) []*coord.Coord {
	t.Helper()
	dir := t.TempDir()
	cfgs := make([]coord.Config, n)
	initial := ""
	for i := range cfgs {
		cfgs[i] = coord.Config{
			Name:       fmt.Sprintf("m%d", i+1),
			DataDir:    filepath.Join(dir, fmt.Sprintf("m%d", i+1)),
			ClientURL:  fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
			PeerURL:    fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
			TickMs:     50,
			ElectionMs: 500,
		}
		if i > 0 {
			initial += ","
		}
		initial += cfgs[i].Name + "=" + cfgs[i].PeerURL
	}
	out := make([]*coord.Coord, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range cfgs {
		cfgs[i].InitialCluster = initial
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = coord.Start(ctx, cfgs[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		t.Cleanup(func() { out[i].Close() })
	}
	return out
}

func TestElectionFailoverAndFencing(t *testing.T) {
	members := startCluster(t, 3)
	type candidate struct {
		el     *coord.Elector
		cancel context.CancelFunc
		terms  chan coord.Term
	}
	cands := make([]*candidate, len(members))
	for i, m := range members {
		ctx, cancel := context.WithCancel(context.Background())
		c := &candidate{
			el: coord.NewElector(m.Client, coord.ElectorConfig{
				Prefix: "/test/leader", Value: fmt.Sprintf("c%d", i), TTL: time.Second,
				Logger: testutil.Logger(t, fmt.Sprintf("c%d", i)),
			}),
			cancel: cancel,
			terms:  make(chan coord.Term, 4),
		}
		cands[i] = c
		c.el.Observe(ctx)
		go c.el.Run(ctx, func(term coord.Term) {
			c.terms <- term
			<-term.Ctx.Done()
		})
		t.Cleanup(func() { cancel(); c.el.Wait() })
	}

	var first coord.Term
	var leader int
	select {
	case first = <-cands[0].terms:
		leader = 0
	case first = <-cands[1].terms:
		leader = 1
	case first = <-cands[2].terms:
		leader = 2
	case <-time.After(10 * time.Second):
		t.Fatal("no leader elected")
	}
	if err := first.Put(context.Background(), "/test/data", "v1"); err != nil {
		t.Fatalf("leader write: %v", err)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		for i, c := range cands {
			if got := c.el.Leader(); got != fmt.Sprintf("c%d", leader) {
				return fmt.Errorf("candidate %d sees leader %q", i, got)
			}
		}
		return nil
	})

	// A graceful stop resigns: another candidate leads at once and the old term is fenced.
	start := time.Now()
	cands[leader].cancel()
	var second coord.Term
	select {
	case second = <-cands[(leader+1)%3].terms:
	case second = <-cands[(leader+2)%3].terms:
	case <-time.After(5 * time.Second):
		t.Fatal("no new leader after resignation")
	}
	t.Logf("handover after resignation took %v", time.Since(start))
	if err := first.Put(context.Background(), "/test/data", "stale"); !errors.Is(err, coord.ErrNotLeader) {
		t.Fatalf("deposed leader's write: got %v, want ErrNotLeader", err)
	}
	if err := second.Put(context.Background(), "/test/data", "v2"); err != nil {
		t.Fatalf("new leader write: %v", err)
	}
}

// A member whose peers never come gives up when its context ends, and releases its ports.
func TestStartWithoutQuorumGivesUp(t *testing.T) {
	dir := t.TempDir()
	peer := fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t))
	cfg := coord.Config{
		Name:           "m1",
		DataDir:        filepath.Join(dir, "m1"),
		ClientURL:      fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
		PeerURL:        peer,
		InitialCluster: fmt.Sprintf("m1=%s,m2=http://127.0.0.1:%d", peer, testutil.FreePort(t)),
		TickMs:         50,
		ElectionMs:     500,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		c, err := coord.Start(ctx, cfg)
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Start = %v, want a deadline error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Start still blocked 30s after its context ended")
	}
	// The member is gone: a second one can take its place.
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if _, err := coord.Start(ctx2, cfg); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Start = %v, want a deadline error (not a port in use)", err)
	}
}

// The member logs through the node's logger, and its stop is not reported as an error.
func TestEtcdLogsThroughSlog(t *testing.T) {
	var out testutil.Buffer
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := coord.Start(ctx, coord.Config{
		DataDir:      filepath.Join(dir, "m1"),
		ClientURL:    fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
		PeerURL:      fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
		EtcdLogLevel: "info",
		Logger:       log,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	fromEtcd := 0
	for line := range strings.Lines(out.String()) {
		var rec struct{ Level, Component, Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON record: %q", line)
		}
		if rec.Component == "etcd" {
			fromEtcd++
		}
		if rec.Level == "ERROR" {
			t.Errorf("logged an error: %s", line)
		}
	}
	if fromEtcd == 0 {
		t.Errorf("no record from etcd in:\n%s", out.String())
	}

	if _, err := coord.Start(ctx, coord.Config{DataDir: dir, ClientURL: "http://127.0.0.1:1", PeerURL: "http://127.0.0.1:2", EtcdLogLevel: "loud"}); err == nil || !strings.Contains(err.Error(), "log level") {
		t.Errorf("Start with a bad log level = %v, want a log level error", err)
	}
}
