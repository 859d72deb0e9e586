package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// HostError is why a host's nodes could not be stopped and cleaned: the host did not answer,
// or the cleanup failed on it.
type HostError struct {
	Host  string   // user@address:port
	Nodes []string // the names of the nodes on the host
	Err   error
}

func (e *HostError) Error() string {
	// A dial error names the host already.
	msg := strings.TrimPrefix(e.Err.Error(), "ssh "+e.Host+": ")
	return fmt.Sprintf("%s (%s): %s", e.Host, strings.Join(e.Nodes, ", "), msg)
}

func (e *HostError) Unwrap() error { return e.Err }

// UncleanHostsError is a Destroy that stopped and cleaned some hosts but not others: Hosts are
// the ones it could not, Of how many hosts it tried.
type UncleanHostsError struct {
	Hosts []*HostError
	Of    int
}

func (e *UncleanHostsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "could not stop and clean %d of %d hosts", len(e.Hosts), e.Of)
	if len(e.Hosts) < e.Of {
		b.WriteString(" (the others are clean)")
	}
	b.WriteString(":")
	for _, h := range e.Hosts {
		b.WriteString("\n  " + h.Error())
	}
	return b.String()
}

func (e *UncleanHostsError) Unwrap() []error {
	errs := make([]error, len(e.Hosts))
	for i, h := range e.Hosts {
		errs[i] = h
	}
	return errs
}

// NodesLeft names the nodes of the hosts that were not cleaned.
func (e *UncleanHostsError) NodesLeft() []string {
	var out []string
	for _, h := range e.Hosts {
		out = append(out, h.Nodes...)
	}
	return out
}

// Destroy stops every node on every host, kills the tasks the agents started and removes
// their containers and cgroups, and removes the units and the remote directory; all hosts at
// once. A host that does not answer, or where this fails, does not stop the others: the error
// is then an *UncleanHostsError naming each such host, why, and its nodes.
func (s *SSH) Destroy(ctx context.Context, c *Cluster) error {
	nodes := c.Nodes
	if len(nodes) == 0 {
		// A cluster whose plan was never recorded: its hosts are still known from the settings.
		tmp := &Cluster{Name: c.Name, Spec: c.Spec, Dir: c.Dir}
		if s.Plan(tmp) == nil {
			nodes = tmp.Nodes
		}
	}
	groups := s.byHost(nodes)
	errs := make([]*HostError, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() {
			if err := s.destroyHost(ctx, c, g); err != nil {
				he := &HostError{Host: g.host.String(), Err: err}
				for _, n := range g.nodes {
					he.Nodes = append(he.Nodes, n.Name)
				}
				errs[i] = he
			}
		})
	}
	wg.Wait()
	for _, n := range nodes {
		s.remember(n, false)
	}
	ue := &UncleanHostsError{Of: len(groups)}
	for _, e := range errs {
		if e != nil {
			ue.Hosts = append(ue.Hosts, e)
		}
	}
	if len(ue.Hosts) > 0 {
		return ue
	}
	return nil
}

// destroyHost runs the destroy script for the nodes g on their host.
func (s *SSH) destroyHost(ctx context.Context, c *Cluster, g hostNodes) error {
	conn, err := s.pool.get(ctx, g.host)
	if err != nil {
		return err
	}
	units := make([]string, len(g.nodes))
	for i, n := range g.nodes {
		units[i] = unitName(c, n)
	}
	_, err = conn.run(ctx, destroyScript(s.remote(c), c.Name, units, s.dir == ""))
	return err
}
