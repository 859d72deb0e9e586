package clustertest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/cluster"
)

// Run checks provider p against what Up, Status and Down rely on, with a cluster of spec
// (keep it small: 1 master and 1 agent will do) whose state lives under stateDir. It fails t on
// the first broken promise and destroys whatever it made, even then.
func Run(t *testing.T, p cluster.Provider, spec cluster.Spec, stateDir string) {
	t.Helper()
	spec.Default()
	if err := spec.Validate(); err != nil {
		t.Fatalf("spec: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := cluster.ClusterDir(stateDir, spec.Name)
	c := &cluster.Cluster{Name: spec.Name, Provider: p.Name(), Spec: spec, Dir: dir}

	// Plan lays out every node and has no side effects.
	if err := p.Plan(c); err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if got, want := len(c.Masters()), spec.Masters; got != want {
		t.Fatalf("Plan: %d masters, want %d", got, want)
	}
	if got, want := len(c.Agents()), spec.Agents.Count(); got != want {
		t.Fatalf("Plan: %d agents, want %d", got, want)
	}
	names := map[string]bool{}
	for _, n := range c.Nodes {
		if n.Name == "" || names[n.Name] || n.URL == "" || len(n.Ports) == 0 || n.LogFile == "" {
			t.Fatalf("Plan: node %+v lacks a unique name, a URL, ports or a log file", n)
		}
		names[n.Name] = true
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Plan made %s", dir)
	}

	if err := p.Preflight(ctx, c); err != nil {
		t.Fatalf("Preflight of a free cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Destroy(context.Background(), c); err != nil {
			t.Errorf("cleanup: Destroy: %v", err)
		}
	})
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := p.Provision(ctx, c); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	for _, n := range c.Nodes {
		if n.IP == "" {
			t.Fatalf("Provision left %s without an address", n.Name)
		}
	}
	if err := p.Configure(ctx, c); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	for _, n := range c.Nodes {
		if len(n.Args) == 0 {
			t.Fatalf("Configure left %s without a command line", n.Name)
		}
	}

	// Started nodes run, make a healthy cluster, and report logs.
	if err := p.Start(ctx, c, c.Masters()); err != nil {
		t.Fatalf("Start masters: %v", err)
	}
	if err := p.Start(ctx, c, c.Agents()); err != nil {
		t.Fatalf("Start agents: %v", err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if !p.Running(c, n) {
			t.Fatalf("Running(%s) = false after Start", n.Name)
		}
	}
	// Another process sees the same: Status and Down work from the state file.
	loaded, err := cluster.LoadCluster(stateDir, c.Name)
	if err != nil {
		t.Fatalf("LoadCluster: %v", err)
	}
	var rep *cluster.Report
	deadline := time.Now().Add(30 * time.Second)
	for {
		rep = cluster.Inspect(ctx, p, loaded)
		if rep.Healthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy 30s after Start: %v", rep.Problems)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rep.Leader == "" {
		t.Fatal("a healthy cluster without a leader")
	}
	for _, n := range c.Nodes {
		if _, err := p.Logs(c, n, 20); err != nil {
			t.Errorf("Logs(%s): %v", n.Name, err)
		}
	}
	if err := p.Preflight(ctx, c); err == nil {
		t.Error("Preflight passes while the cluster runs")
	}

	// Destroy stops everything, frees every port, and may be repeated.
	if err := p.Destroy(ctx, loaded); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	for _, n := range loaded.Nodes {
		if p.Running(loaded, n) {
			t.Errorf("Running(%s) = true after Destroy", n.Name)
		}
	}
	if err := p.Preflight(ctx, c); err != nil {
		t.Errorf("Preflight after Destroy: %v", err)
	}
	if err := p.Destroy(ctx, loaded); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}
