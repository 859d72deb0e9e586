package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DownOptions configure Down.
type DownOptions struct {
	Name     string
	StateDir string
	Out      io.Writer
	Logger   *slog.Logger
	// Yes skips the confirmation a DestroyConfirmer provider asks for; In is where the answer
	// is read (default os.Stdin).
	Yes bool
	In  io.Reader
}

// DestroyConfirmer is a provider whose Destroy deletes what cannot be got back (cloud
// resources): ConfirmDestroy says what, and Down asks before it goes on, unless Yes.
type DestroyConfirmer interface {
	ConfirmDestroy(c *Cluster) string
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
		if found, err := destroyLeftovers(ctx, opts.Name, dir, opts.Out); err != nil || found {
			return errors.Join(err, removeFromClientConfig(opts.StateDir, opts.Name))
		}
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
	lost := err != nil // no state says what was made
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
	if dc, ok := prov.(DestroyConfirmer); ok && !opts.Yes {
		if err := confirm(opts, dc.ConfirmDestroy(c)); err != nil {
			return err
		}
	}
	if pr, ok := prov.(ProgressReporter); ok {
		progress := NewLineProgress(opts.Out)
		defer progress.Close()
		pr.SetProgress(progress)
	}
	if err := prov.Destroy(ctx, c); err != nil {
		return destroyFailed(c, err, lost)
	}
	if lost { // also remove what providers find by the cluster's name
		if _, err := destroyLeftovers(ctx, c.Name, dir, opts.Out); err != nil {
			return fmt.Errorf("cluster %q: %w (run down again)", c.Name, err)
		}
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

// NodesLeftError is an error of a Destroy that stopped and cleaned some of a cluster's nodes
// and could not reach or clean the others (UncleanHostsError): NodesLeft names those.
type NodesLeftError interface {
	error
	NodesLeft() []string
}

// destroyFailed is Down's error for a failed Destroy of c. The state is kept, so that down can
// run again; after a Destroy that left only some nodes (NodesLeftError), the state file keeps
// only those, so that the next down goes back to them alone.
func destroyFailed(c *Cluster, err error, lost bool) error {
	var nl NodesLeftError
	if lost || !errors.As(err, &nl) || len(c.Nodes) == 0 {
		return fmt.Errorf("cluster %q: %w (state kept in %s; run down again)", c.Name, err, c.Dir)
	}
	left := nl.NodesLeft()
	c.Nodes = slices.DeleteFunc(c.Nodes, func(n *Node) bool { return !slices.Contains(left, n.Name) })
	if serr := c.Save(); serr != nil {
		return fmt.Errorf("cluster %q: %w (and recording the nodes left: %w; state kept in %s; run down again)", c.Name, err, serr, c.Dir)
	}
	return fmt.Errorf("cluster %q: %w\n%s keeps the nodes left (%s): run `marina down --name %s` again once their hosts answer",
		c.Name, err, filepath.Join(c.Dir, clusterFile), strings.Join(left, ", "), c.Name)
}

// confirm asks the question on opts.Out and reads the answer from opts.In: only "y" or "yes"
// goes on.
func confirm(opts DownOptions, question string) error {
	in := opts.In
	if in == nil {
		in = os.Stdin
	}
	fmt.Fprintf(opts.Out, "%s\nType yes to go on: ", question)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	fmt.Fprintln(opts.Out)
	return errors.New("not confirmed: nothing was deleted (--yes skips the question)")
}

// LeftoverFinder is a provider that finds what it made for a cluster from the cluster's name
// alone (labelled containers and networks), so that down cleans up after a lost state file.
type LeftoverFinder interface {
	// DestroyLeftovers removes what it finds of cluster name, whose state dir was dir, and
	// says what it removed ("" for nothing). Where the provider cannot look (no engine), it
	// finds nothing.
	DestroyLeftovers(ctx context.Context, name, dir string) (string, error)
}

// destroyLeftovers runs DestroyLeftovers of every provider that has it, printing what each
// removed; found reports whether any removed something.
func destroyLeftovers(ctx context.Context, name, dir string, out io.Writer) (found bool, err error) {
	var errs []error
	for _, pn := range slices.Sorted(maps.Keys(providers)) {
		prov, perr := providers[pn](nil)
		lf, ok := prov.(LeftoverFinder)
		if perr != nil || !ok {
			continue
		}
		what, err := lf.DestroyLeftovers(ctx, name, dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s provider: %w", pn, err))
		}
		if what != "" {
			found = true
			fmt.Fprintf(out, "Cluster %q had no state left; %s.\n", name, what)
		}
	}
	return found, errors.Join(errs...)
}
