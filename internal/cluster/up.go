package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// UpOptions configure Up.
type UpOptions struct {
	Spec     *Spec  // defaulted and validated by Up
	StateDir string // default DefaultStateDir()
	// Retain keeps what was made when a step fails.
	Retain bool
	// Wait for a leader and for every agent to register; without it Up returns once the
	// processes run.
	Wait bool
	// Timeout bounds the whole bring-up; default 60s, or the provider's (a SlowProvider).
	Timeout time.Duration
	Out     io.Writer // progress and endpoints; default os.Stdout
	Logger  *slog.Logger
	// Provider overrides the one the spec names (tests).
	Provider Provider
	// DryRun prints the provider's full plan (a PlanPrinter) and returns without making
	// anything, the state dir included.
	DryRun bool
}

// PlanPrinter is a provider that shows its plan in full, for `up --dry-run`.
type PlanPrinter interface {
	PrintPlan(w io.Writer, c *Cluster) error
}

// SlowProvider is a provider whose nodes take minutes to make and remove (cloud VMs): its
// Timeouts replace up's defaults for the bring-up and for a rollback.
type SlowProvider interface {
	Timeouts() (up, rollback time.Duration)
}

// ProgressReporter is a provider that reports progress of its own within up's steps (one line
// per cloud resource); Up hands it the progress its steps print to.
type ProgressReporter interface {
	SetProgress(Progress)
}

// LogTailLines is how much of a failing node's log up prints.
const LogTailLines = 20

// pollEvery is how often up polls the nodes while waiting.
const pollEvery = 25 * time.Millisecond

// Up brings the cluster of opts.Spec up as an ordered list of steps, printing one line per step.
// When a step fails, or ctx is cancelled (Ctrl-C), it prints why and the tail of the failing
// node's log, and rolls back unless opts.Retain. A cluster of the same name that already runs
// healthy is reported as it is; a broken one is an error.
func Up(ctx context.Context, opts UpOptions) (*Cluster, error) {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir()
	}
	spec := *opts.Spec
	spec.Default()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	prov := opts.Provider
	if prov == nil {
		var err error
		if prov, err = NewProvider(spec.Provider.Name, spec.Provider.Settings); err != nil {
			return nil, err
		}
	}
	var rollbackTimeout time.Duration
	if sp, ok := prov.(SlowProvider); ok {
		var up time.Duration
		up, rollbackTimeout = sp.Timeouts()
		if opts.Timeout <= 0 {
			opts.Timeout = up
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.DryRun {
		pp, ok := prov.(PlanPrinter)
		if !ok {
			return nil, fmt.Errorf("provider %q: --dry-run is not supported", prov.Name())
		}
		c := &Cluster{Name: spec.Name, Provider: prov.Name(), Spec: spec, Dir: ClusterDir(opts.StateDir, spec.Name)}
		if err := prov.Plan(c); err != nil {
			return nil, err
		}
		return c, pp.PrintPlan(opts.Out, c)
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	unlock, err := lockCluster(opts.StateDir, spec.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if done, c, err := existing(ctx, opts, prov, spec.Name); done {
		return c, err
	}

	c := &Cluster{
		Name:     spec.Name,
		Provider: prov.Name(),
		Spec:     spec,
		Dir:      ClusterDir(opts.StateDir, spec.Name),
		Created:  time.Now().UTC(),
	}
	if err := prov.Plan(c); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	progress := NewLineProgress(opts.Out)
	defer progress.Close()
	if pr, ok := prov.(ProgressReporter); ok {
		pr.SetProgress(progress)
	}
	fmt.Fprintf(opts.Out, "Bringing up cluster %q: %d masters, %d agents, %s provider\n",
		c.Name, len(c.Masters()), len(c.Agents()), c.Provider)
	runner := &Runner{
		Progress:        progress,
		Retain:          opts.Retain,
		OnFailure:       func(e *StepError) { reportFailure(opts.Out, prov, c, e) },
		RollbackTimeout: rollbackTimeout,
	}
	start := time.Now()
	if err := runner.Run(ctx, upSteps(opts, prov, c)); err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
			err = fmt.Errorf("%w (--timeout %v)", err, opts.Timeout)
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			err = fmt.Errorf("interrupted: %w", err)
		}
		return nil, err
	}
	progress.Close()
	fmt.Fprintf(opts.Out, "\nCluster %q is up (%s).\n", c.Name, fmtSeconds(time.Since(start)))
	printEndpoints(opts.Out, c)
	opts.Logger.Debug("cluster up", "name", c.Name, "elapsed", time.Since(start))
	return c, nil
}

// upSteps is the bring-up, in order.
func upSteps(opts UpOptions, prov Provider, c *Cluster) []Step {
	save := func(context.Context) error { return c.Save() }
	steps := []Step{
		{Name: "check addresses and ports", Run: func(ctx context.Context) error { return prov.Preflight(ctx, c) }},
		{
			Name: "prepare state dir",
			Run: func(context.Context) error {
				if err := os.MkdirAll(c.Dir, 0o700); err != nil {
					return err
				}
				return c.Save()
			},
			Undo: func(context.Context) error { return os.RemoveAll(c.Dir) },
		},
		{
			Name: "provision nodes",
			Run:  func(ctx context.Context) error { return then(prov.Provision(ctx, c), save, ctx) },
			Undo: func(ctx context.Context) error { return prov.Destroy(ctx, c) },
		},
		{Name: "generate config", Run: func(ctx context.Context) error { return then(prov.Configure(ctx, c), save, ctx) }},
		{Name: "start masters", Run: func(ctx context.Context) error {
			return then(prov.Start(ctx, c, c.Masters()), save, ctx)
		}},
	}
	if opts.Wait {
		steps = append(steps, Step{Name: "wait for etcd quorum and a leader", Run: func(ctx context.Context) error {
			return waitLeader(ctx, prov, c)
		}})
	}
	if len(c.Agents()) > 0 {
		steps = append(steps, Step{Name: "start agents", Run: func(ctx context.Context) error {
			return then(prov.Start(ctx, c, c.Agents()), save, ctx)
		}})
		if opts.Wait {
			steps = append(steps, Step{Name: "wait for agents to register", Run: func(ctx context.Context) error {
				return waitAgents(ctx, prov, c)
			}})
		}
	}
	if opts.Wait {
		steps = append(steps, Step{Name: "wait for the services leader", Run: func(ctx context.Context) error {
			return waitServices(ctx, prov, c)
		}})
	}
	steps = append(steps,
		Step{
			Name: "write client config",
			Run: func(context.Context) error {
				c.Ready = opts.Wait
				if err := c.Save(); err != nil {
					return err
				}
				return addToClientConfig(filepath.Dir(c.Dir), c)
			},
			Undo: func(context.Context) error { return removeFromClientConfig(filepath.Dir(c.Dir), c.Name) },
		},
		// The endpoints are printed after the step lines, once the runner is done.
		Step{Name: "print endpoints", Run: func(context.Context) error {
			if c.Endpoints.Master == "" {
				return errors.New("no master endpoint")
			}
			return nil
		}},
	)
	return steps
}

// then runs next when err is nil.
func then(err error, next func(context.Context) error, ctx context.Context) error {
	if err != nil {
		return err
	}
	return next(ctx)
}

// waitLeader waits until exactly one master leads and every master knows it.
func waitLeader(ctx context.Context, prov Provider, c *Cluster) error {
	ctx = withAuth(ctx, c)
	masters := c.Masters()
	for {
		if err := exited(prov, c, masters); err != nil {
			return err
		}
		views := viewMasters(ctx, masters)
		i, err := leaderOf(masters, views)
		if err == nil {
			c.Endpoints.Master = masters[i].URL
			c.Endpoints.Services = servicesURLFor(masters[i])
			return c.Save()
		}
		if err := sleep(ctx, pollEvery); err != nil {
			return &NodeError{Node: laggingMaster(masters, views), Err: fmt.Errorf("%w: %v", err, leaderProblem(masters, views))}
		}
	}
}

// leaderProblem says what is still missing for a leader.
func leaderProblem(masters []*Node, views []masterView) error {
	_, err := leaderOf(masters, views)
	var unreachable []string
	for i, v := range views {
		if v.Err != nil {
			unreachable = append(unreachable, masters[i].Name+" ("+shortErr(v.Err)+")")
		}
	}
	if len(unreachable) > 0 {
		return fmt.Errorf("%v; not answering: %s", err, strings.Join(unreachable, ", "))
	}
	return err
}

// laggingMaster names the master whose log best explains a missing leader: the first one not
// answering, else the first.
func laggingMaster(masters []*Node, views []masterView) string {
	for i, v := range views {
		if v.Err != nil {
			return masters[i].Name
		}
	}
	return masters[0].Name
}

// waitAgents waits until every agent is registered and active on the leader.
func waitAgents(ctx context.Context, prov Provider, c *Cluster) error {
	ctx = withAuth(ctx, c)
	agents := c.Agents()
	var missing *Node
	var lastErr error
	for {
		if err := exited(prov, c, c.Nodes); err != nil {
			return err
		}
		var st masterState
		lastErr = getJSON(ctx, c.Endpoints.Master+"/master/state", &st)
		if lastErr == nil {
			missing = nil
			for _, a := range agents {
				if info := st.agentFor(a.IP); info == nil || !info.Active {
					missing = a
					break
				}
			}
			if missing == nil {
				return nil
			}
		}
		if err := sleep(ctx, pollEvery); err != nil {
			if missing != nil {
				return &NodeError{Node: missing.Name, Err: fmt.Errorf("%w: not registered with the leader %s", err, c.Endpoints.Master)}
			}
			return fmt.Errorf("%w: leader %s: %v", err, c.Endpoints.Master, lastErr)
		}
	}
}

// exited returns a NodeError for the first of nodes whose process is gone.
func exited(prov Provider, c *Cluster, nodes []*Node) error {
	for _, n := range nodes {
		if n.PID != 0 && !prov.Running(c, n) {
			why := errors.New("process exited")
			if ee, ok := prov.(interface{ ExitError(*Node) error }); ok && ee.ExitError(n) != nil {
				why = fmt.Errorf("process exited: %w", ee.ExitError(n))
			}
			return &NodeError{Node: n.Name, Err: why}
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reportFailure prints the tail of the failing node's log; which step failed and why is the
// error Up returns.
func reportFailure(w io.Writer, prov Provider, c *Cluster, e *StepError) {
	var ne *NodeError
	if !errors.As(e.Err, &ne) {
		return
	}
	n := c.Node(ne.Node)
	if n == nil || n.LogFile == "" {
		return
	}
	lines, err := prov.Logs(c, n, LogTailLines)
	if err != nil || len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "last %d lines of %s (%s):\n", len(lines), n.Name, n.LogFile)
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
	fmt.Fprintln(w)
}

// existing handles a cluster of the same name that exists: done is true when Up must return
// (c, err) at once.
func existing(ctx context.Context, opts UpOptions, prov Provider, name string) (done bool, c *Cluster, err error) {
	dir := ClusterDir(opts.StateDir, name)
	c, err = LoadCluster(opts.StateDir, name)
	if errors.Is(err, ErrNoCluster) {
		if _, serr := os.Stat(dir); serr == nil {
			return true, nil, fmt.Errorf("%s exists but holds no cluster state (an interrupted up?): run `marina down --name %s` first", dir, name)
		}
		return false, nil, nil
	}
	if err != nil {
		return true, nil, fmt.Errorf("cluster %q: %w: run `marina down --name %s` first", name, err, name)
	}
	if c.Provider != prov.Name() {
		prov, err = NewProvider(c.Provider, c.Spec.Provider.Settings)
		if err != nil {
			return true, nil, err
		}
	}
	rep := Inspect(ctx, prov, c)
	if rep.Healthy {
		fmt.Fprintf(opts.Out, "Cluster %q is already running.\n", name)
		c.Endpoints.Master, c.Endpoints.Services, c.Ready = rep.Endpoints.Master, rep.Endpoints.Services, true
		printEndpoints(opts.Out, c)
		return true, c, nil
	}
	return true, nil, fmt.Errorf("cluster %q exists but is not healthy (%s): run `marina down --name %s`, then up again", name, strings.Join(rep.Problems, "; "), name)
}

// printEndpoints prints how to reach the cluster.
func printEndpoints(w io.Writer, c *Cluster) {
	role := "leader; any master redirects to it"
	if !c.Ready {
		role = "not waited for: the leader may be another master"
	}
	fmt.Fprintf(w, "  master:    %s  (%s)\n", c.Endpoints.Master, role)
	fmt.Fprintf(w, "  masters:   %s\n", strings.Join(c.Endpoints.Masters, " "))
	fmt.Fprintf(w, "  services:  %s  (the Marathon-compatible API; every master serves it)\n", c.Endpoints.Services)
	fmt.Fprintf(w, "  consoles:  %s  %s\n", strings.TrimSuffix(c.Endpoints.Master, "/")+"/console/", strings.TrimSuffix(c.Endpoints.Services, "/")+"/ui/")
	if cr := c.Credentials; cr != nil {
		fmt.Fprintf(w, "  login:     the API token in %s (consoles: paste it at the login form; API: Authorization: Bearer)\n", cr.TokenFile)
		fmt.Fprintf(w, "  CA:        %s (the nodes' TLS certificates)\n", cr.CAFile)
	}
	fmt.Fprintf(w, "  client:    %s (the CLI finds this cluster and its credentials there)\n", filepath.Join(filepath.Dir(c.Dir), configFile))
	fmt.Fprintf(w, "  state:     %s\n", c.Dir)
	fmt.Fprintf(w, "  logs:      %s\n", c.Dir+"/logs")
	fmt.Fprintf(w, "Next: marina status --name %s   |   marina down --name %s\n", c.Name, c.Name)
}

// shortErr says why a probe failed in a few words.
func shortErr(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return oneLine(err)
}
