package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Provider makes the nodes of a cluster somewhere: local processes, docker containers, ssh
// hosts, cloud VMs. Up drives it through its steps; status and down use it to look at and remove
// what it made. Every method but Plan may be called on a cluster loaded from its state file by
// another process, so a provider keeps whatever it needs in the Cluster (Node fields, Cluster
// Dir), never in memory only.
type Provider interface {
	// Name is the provider's name in specs and state files ("local").
	Name() string
	// Plan lays out the nodes of c.Spec (names, roles, addresses, ports, work dirs, log files)
	// and sets c.Nodes. It has no side effects: a provider that learns addresses only once nodes
	// exist fills them in during Provision.
	Plan(c *Cluster) error
	// Preflight checks, before anything is made, that the nodes can be: addresses usable,
	// ports free. It reports every problem.
	Preflight(ctx context.Context, c *Cluster) error
	// Provision creates the nodes (local: their directories) and makes sure every node's
	// address is known.
	Provision(ctx context.Context, c *Cluster) error
	// Configure generates each node's configuration (its command line, and later credentials and
	// certificates).
	Configure(ctx context.Context, c *Cluster) error
	// Start starts the given nodes and returns once each one's process runs (not once it
	// serves).
	Start(ctx context.Context, c *Cluster, nodes []*Node) error
	// Running reports whether node n's process runs.
	Running(c *Cluster, n *Node) bool
	// Logs returns the last lines of node n's log.
	Logs(c *Cluster, n *Node, lines int) ([]string, error)
	// Destroy stops every node and whatever the nodes left running (tasks), and removes what
	// Provision made except c.Dir itself. It is idempotent: a half-made, stopped or destroyed
	// cluster is fine.
	Destroy(ctx context.Context, c *Cluster) error
}

// ErrUnsupportedProvider is returned for a provider name that Marina knows but does not
// implement yet, or does not know.
var ErrUnsupportedProvider = errors.New("provider not supported")

// providers maps each implemented provider's name to its constructor; each provider's file adds
// itself in an init func. plannedProviders are the names on the roadmap (see DESIGN.md); those
// not in providers yet are refused as not supported yet.
var (
	providers        = map[string]func(settings map[string]string) (Provider, error){}
	plannedProviders = []string{"docker", "ssh", "azure"}
)

func init() {
	providers["local"] = func(s map[string]string) (Provider, error) { return NewLocal(s) }
}

// NewProvider returns the provider called name, configured with settings.
func NewProvider(name string, settings map[string]string) (Provider, error) {
	if newProvider, ok := providers[name]; ok {
		return newProvider(settings)
	}
	known := slices.Sorted(maps.Keys(providers))
	if slices.Contains(plannedProviders, name) {
		return nil, fmt.Errorf("provider %q: %w yet (available: %s)", name, ErrUnsupportedProvider, strings.Join(known, ", "))
	}
	for _, p := range plannedProviders {
		if !slices.Contains(known, p) {
			known = append(known, p)
		}
	}
	return nil, fmt.Errorf("provider %q: %w (known: %s)", name, ErrUnsupportedProvider, strings.Join(known, ", "))
}

// NodeError is a failure that belongs to one node; up prints the tail of that node's log.
type NodeError struct {
	Node string
	Err  error
}

func (e *NodeError) Error() string { return e.Node + ": " + e.Err.Error() }
func (e *NodeError) Unwrap() error { return e.Err }
