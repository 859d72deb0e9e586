package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
)

// Report is what status shows about a cluster.
type Report struct {
	Name      string         `json:"name"`
	Provider  string         `json:"provider"`
	Healthy   bool           `json:"healthy"`
	Problems  []string       `json:"problems,omitempty"`
	Leader    string         `json:"leader"` // the leading master's URL, "" when none
	Masters   []MasterReport `json:"masters"`
	Agents    []AgentReport  `json:"agents"`
	Endpoints ReportEndpoint `json:"endpoints"`
	StateDir  string         `json:"state_dir"`
}

// ReportEndpoint is where clients reach the cluster now.
type ReportEndpoint struct {
	Master  string   `json:"master"`
	Masters []string `json:"masters"`
	// Services is the Marathon-compatible API on the leader; the services role is not served by
	// nodes yet, so this is where it will be.
	Services string `json:"services"`
}

// NodeReport is the state of one node.
type NodeReport struct {
	Name    string `json:"name"`
	Address string `json:"address"` // host:port of its API
	URL     string `json:"url"`
	PID     int    `json:"pid,omitempty"`
	Running bool   `json:"running"` // its process (container, VM) runs
	Healthy bool   `json:"healthy"` // GET /health answered 200
	Error   string `json:"error,omitempty"`
}

// MasterReport is the state of one master.
type MasterReport struct {
	NodeReport
	Leader bool `json:"leader"`
}

// AgentReport is the state of one agent, as the leader sees it too.
type AgentReport struct {
	NodeReport
	ID         string         `json:"id,omitempty"`
	Registered bool           `json:"registered"` // known to the leader and active
	Resources  map[string]any `json:"resources,omitempty"`
	Used       map[string]any `json:"used_resources,omitempty"`
}

// Inspect looks at every node of c: process, health, leadership and the leader's view of the
// agents.
func Inspect(ctx context.Context, prov Provider, c *Cluster) *Report {
	ctx = withAuth(ctx, c)
	r := &Report{Name: c.Name, Provider: c.Provider, StateDir: c.Dir}
	masters, agents := c.Masters(), c.Agents()
	node := func(n *Node) NodeReport {
		nr := NodeReport{Name: n.Name, Address: strings.TrimPrefix(strings.TrimPrefix(n.URL, "http://"), "https://"), URL: n.URL, PID: n.PID}
		nr.Running = prov.Running(c, n)
		if err := checkHealth(ctx, n.URL); err != nil {
			nr.Error = oneLine(err)
		} else {
			nr.Healthy = true
		}
		return nr
	}
	r.Masters = make([]MasterReport, len(masters))
	r.Agents = make([]AgentReport, len(agents))
	var views []masterView
	var wg sync.WaitGroup
	for i, m := range masters {
		wg.Go(func() { r.Masters[i].NodeReport = node(m) })
	}
	for i, a := range agents {
		wg.Go(func() { r.Agents[i].NodeReport = node(a) })
	}
	wg.Go(func() { views = viewMasters(ctx, masters) })
	wg.Wait()

	leader, lerr := leaderOf(masters, views)
	if leader >= 0 {
		r.Masters[leader].Leader = true
		r.Leader = masters[leader].URL
		r.Endpoints.Master = r.Leader
		r.Endpoints.Services = servicesURLFor(masters[leader])
	}
	if lerr != nil {
		r.Problems = append(r.Problems, lerr.Error())
	}
	r.Endpoints.Masters = c.MasterURLs()
	if r.Leader != "" {
		var st masterState
		if err := getJSON(ctx, r.Leader+"/master/state", &st); err != nil {
			r.Problems = append(r.Problems, "leader state: "+oneLine(err))
		} else {
			for i, a := range agents {
				if info := st.agentFor(a.IP); info != nil {
					r.Agents[i].ID = info.ID
					r.Agents[i].Registered = info.Active
					r.Agents[i].Resources = info.Resources
					r.Agents[i].Used = info.UsedResources
				}
			}
		}
	}
	for _, m := range r.Masters {
		r.Problems = append(r.Problems, nodeProblems(m.NodeReport)...)
	}
	for _, a := range r.Agents {
		r.Problems = append(r.Problems, nodeProblems(a.NodeReport)...)
		if r.Leader != "" && a.Healthy && !a.Registered {
			r.Problems = append(r.Problems, a.Name+" is not registered and active on the leader")
		}
	}
	r.Healthy = len(r.Problems) == 0
	return r
}

func nodeProblems(n NodeReport) []string {
	switch {
	case !n.Running:
		return []string{n.Name + " is not running"}
	case !n.Healthy:
		return []string{n.Name + " is not healthy: " + n.Error}
	}
	return nil
}

// StatusOptions configure Status.
type StatusOptions struct {
	Name     string
	StateDir string
	JSON     bool
	Out      io.Writer
}

// ErrUnhealthy is returned by Status for a cluster that exists but is not healthy.
var ErrUnhealthy = errors.New("cluster is not healthy")

// Status prints the state of a cluster, as a table or as JSON. It returns ErrNoCluster when
// the cluster does not exist and ErrUnhealthy when it is not healthy, after printing.
func Status(ctx context.Context, opts StatusOptions) (*Report, error) {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir()
	}
	c, err := LoadCluster(opts.StateDir, opts.Name)
	if err != nil {
		return nil, err
	}
	prov, err := NewProvider(c.Provider, c.Spec.Provider.Settings)
	if err != nil {
		return nil, err
	}
	r := Inspect(ctx, prov, c)
	if opts.JSON {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(opts.Out, string(b))
	} else {
		printReport(opts.Out, r)
	}
	if !r.Healthy {
		return r, fmt.Errorf("%w: %s", ErrUnhealthy, strings.Join(r.Problems, "; "))
	}
	return r, nil
}

func printReport(w io.Writer, r *Report) {
	health := "healthy"
	if !r.Healthy {
		health = "NOT HEALTHY"
	}
	fmt.Fprintf(w, "Cluster %q (%s provider): %s\n", r.Name, r.Provider, health)
	leader := r.Leader
	if leader == "" {
		leader = "(none)"
	}
	fmt.Fprintf(w, "  leader:    %s\n  services:  %s (once the services role runs)\n\n", leader, r.Endpoints.Services)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tADDRESS\tPID\tPROCESS\tHEALTH\tDETAIL")
	yes := func(b bool, y, n string) string {
		if b {
			return y
		}
		return n
	}
	for _, m := range r.Masters {
		fmt.Fprintf(tw, "%s\tmaster\t%s\t%d\t%s\t%s\t%s\n", m.Name, m.Address, m.PID,
			yes(m.Running, "running", "gone"), yes(m.Healthy, "ok", "down"), yes(m.Leader, "leader", "standby"))
	}
	for _, a := range r.Agents {
		detail := "not registered"
		if a.Registered {
			detail = "cpus " + usage(a.Used, a.Resources, "cpus") + "  mem " + usage(a.Used, a.Resources, "mem") +
				"  disk " + usage(a.Used, a.Resources, "disk")
		}
		fmt.Fprintf(tw, "%s\tagent\t%s\t%d\t%s\t%s\t%s\n", a.Name, a.Address, a.PID,
			yes(a.Running, "running", "gone"), yes(a.Healthy, "ok", "down"), detail)
	}
	tw.Flush()
	if len(r.Problems) > 0 {
		sort.Strings(r.Problems)
		fmt.Fprintln(w, "\nProblems:")
		for _, p := range r.Problems {
			fmt.Fprintln(w, "  - "+p)
		}
	}
}

// usage formats "used/total" of a scalar resource from /master/state's flattened resources.
func usage(used, total map[string]any, name string) string {
	f := func(m map[string]any) float64 {
		v, _ := m[name].(float64)
		return v
	}
	return fmt.Sprintf("%g/%g", f(used), f(total))
}
