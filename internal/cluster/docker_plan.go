package cluster

import (
	"fmt"
	"io"
	"text/tabwriter"
)

var _ PlanPrinter = (*Docker)(nil)

// PrintPlan writes the plan of c, as Plan laid it out: the image, the network and every node's
// container, address and resources. It makes nothing; the image is named only when the binary
// and busybox can be read.
func (d *Docker) PrintPlan(w io.Writer, c *Cluster) error {
	subnet, err := parseSubnet(c.Spec.Provider.Settings["subnet"])
	if err != nil {
		return err
	}
	image := "(cannot be made: see below)"
	img, imgErr := d.nodeImage(c)
	if imgErr == nil {
		image = img.ref + ", from " + c.Binary + " and " + d.busybox
	}
	fmt.Fprintf(w, "Plan of cluster %q on Docker (dry run: nothing is made)\n", c.Name)
	fmt.Fprintf(w, "  image:     %s\n", image)
	fmt.Fprintf(w, "  network:   %s, bridge, %s, gateway %s (where the engine publishes docker tasks' ports; agents relay them)\n", networkName(c.Name), subnet, gatewayOf(subnet))
	fmt.Fprintf(w, "  state:     %s (work dirs and logs bind-mounted at the same paths)\n", c.Dir)
	fmt.Fprintf(w, "  nodes get: a generated token and TLS certificates of a cluster CA\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tCONTAINER\tADDRESS\tAPI\tRESOURCES")
	for _, n := range c.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Name, containerName(c, n), n.IP, httpsURL(n.URL), planResources(n))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if imgErr != nil {
		fmt.Fprintf(w, "\n%v\n", imgErr)
	}
	return nil
}
