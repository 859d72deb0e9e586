package cluster

import (
	"fmt"
	"io"
	"text/tabwriter"
)

var _ PlanPrinter = (*SSH)(nil)

// PrintPlan shows, for `up --dry-run`, which host runs which node and what goes where on them.
// It connects to no host.
func (s *SSH) PrintPlan(w io.Writer, c *Cluster) error {
	r := s.remote(c)
	arch := "(not a Linux executable: see below)"
	a, archErr := binaryArch(c.Binary)
	if archErr == nil {
		arch = a
	}
	fmt.Fprintf(w, "Plan of cluster %q on existing hosts over SSH (dry run: nothing is made)\n", c.Name)
	fmt.Fprintf(w, "  binary:    %s (%s), uploaded to %s\n", c.Binary, arch, r.binary())
	fmt.Fprintf(w, "  on hosts:  %s (work dirs, logs, credentials); a unit %s per node where systemd runs\n",
		r.root, unitDir+"/"+unitName(c, &Node{Name: "<node>"}))
	fmt.Fprintf(w, "  nodes get: a generated token and TLS certificates of a cluster CA, kept in %s\n\n", c.Dir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSSH\tADDRESS\tAPI\tRESOURCES")
	for _, n := range c.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Name, s.hostOf(n), n.IP, httpsURL(n.URL), planResources(n))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if archErr != nil {
		fmt.Fprintf(w, "\n%v\n", archErr)
	}
	return nil
}
