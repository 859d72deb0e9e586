package cluster

import (
	"fmt"
	"io"
	"path"
	"text/tabwriter"
)

// PrintPlan writes the full plan of c, as Plan laid it out: every Azure resource in the order
// it is made, with sizes and addresses, and every node. It calls nothing. The Azure SDK for Go
// exposes no prices, so the plan shows sizes, not cost.
func (a *Azure) PrintPlan(w io.Writer, c *Cluster) error {
	sub := a.s.subscription
	if sub == "" {
		sub = "(none yet: set AZURE_SUBSCRIPTION_ID or --setting subscription=<id>)"
	}
	fmt.Fprintf(w, "Plan of cluster %q on Azure (dry run: nothing is made, Azure is not called)\n", c.Name)
	fmt.Fprintf(w, "  subscription:    %s\n", sub)
	fmt.Fprintf(w, "  location:        %s\n", a.s.location)
	fmt.Fprintf(w, "  resource group:  %s\n", a.group(c))
	fmt.Fprintf(w, "  image:           %s, admin user %s (ssh key only)\n", a.s.image, a.s.adminUser)
	binary := "binary-url (not shown)"
	switch {
	case a.s.binaryBlob != "":
		binary = a.s.binaryBlob + ", read with managed identity " + path.Base(a.s.identity)
	case a.s.binaryURL == "":
		binary = "binary-url: not set yet (required to make the cluster)"
	}
	fmt.Fprintf(w, "  marina binary:   %s\n\n", binary)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tRESOURCE\tNAME\tDETAILS")
	step := func(name string, rs []azureResource) {
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, r.kind, r.name, r.detail)
		}
	}
	for _, stage := range a.networkStages(c) {
		step("provision nodes", stage)
	}
	for _, group := range [][]*Node{c.Masters(), c.Agents()} {
		var vms []azureResource
		for _, n := range group {
			vms = append(vms, a.vmResource(c, n, nil))
		}
		if len(group) > 0 {
			step("start "+string(group[0].Role)+"s", vms)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tPUBLIC IP\tZONE\tSIZE\tAPI")
	for _, n := range c.Nodes {
		pub, zone := "-", a.zone(n)
		if a.hasPublicIP(n) {
			pub = pipName(n)
		}
		if zone == "" {
			zone = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.IP, pub, zone, a.size(n), httpsURL(n.URL))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nCost: not shown (the Azure SDK exposes no prices): %s.\n", a.sizeSummary(c))
	fmt.Fprintln(w, "Nodes get generated credentials: an API token, a cluster CA and node certificates (mutual TLS).")
	return nil
}

// sizeSummary counts the VMs of each size: "3 x Standard_D2s_v5, 3 x Standard_D4s_v5".
func (a *Azure) sizeSummary(c *Cluster) string {
	var order []string
	count := map[string]int{}
	for _, n := range c.Nodes {
		s := a.size(n)
		if count[s] == 0 {
			order = append(order, s)
		}
		count[s]++
	}
	out := ""
	for i, s := range order {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%d x %s", count[s], s)
	}
	if out == "" {
		return "no VMs"
	}
	return out
}
