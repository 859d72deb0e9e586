package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// DownOptions configure Down.
type DownOptions struct {
	Name     string
	StateDir string
	Out      io.Writer
	Logger   *slog.Logger
}

// Down stops every node of the cluster and every task its agents left running, then removes
// the cluster's state directory and its entry in the client config. Down of a cluster that does
// not exist says so and succeeds. A state directory left without a state file (an up that
// crashed) is cleaned up as a local cluster.
func Down(ctx context.Context, opts DownOptions) error {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir()
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if !nameRE.MatchString(opts.Name) {
		return fmt.Errorf("%q is not a valid cluster name", opts.Name)
	}
	dir := ClusterDir(opts.StateDir, opts.Name)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(opts.Out, "Cluster %q does not exist (no %s): nothing to do.\n", opts.Name, dir)
		return removeFromClientConfig(opts.StateDir, opts.Name)
	}
	unlock, err := lockCluster(opts.StateDir, opts.Name)
	if err != nil {
		return err
	}
	defer unlock()

	start := time.Now()
	c, err := LoadCluster(opts.StateDir, opts.Name)
	switch {
	case errors.Is(err, ErrNoCluster):
		c = &Cluster{Name: opts.Name, Provider: "local", Dir: dir}
	case err != nil:
		opts.Logger.Warn("unreadable cluster state; cleaning up as a local cluster", "err", err)
		c = &Cluster{Name: opts.Name, Provider: "local", Dir: dir}
	}
	prov, err := NewProvider(c.Provider, c.Spec.Provider.Settings)
	if err != nil {
		return err
	}
	if err := prov.Destroy(ctx, c); err != nil {
		return fmt.Errorf("cluster %q: %w (state kept in %s; run down again)", c.Name, err, dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if err := removeFromClientConfig(opts.StateDir, c.Name); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(opts.StateDir, locksDir, c.Name+".lock"))
	fmt.Fprintf(opts.Out, "Cluster %q is down: %d nodes stopped, state removed (%s).\n",
		c.Name, len(c.Nodes), fmtSeconds(time.Since(start)))
	return nil
}
