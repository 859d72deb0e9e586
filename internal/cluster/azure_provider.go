package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
)

// Azure's defaults for up and for its rollback: VMs take minutes to make, a resource group's
// deletion as long.
const (
	azureUpTimeout       = 30 * time.Minute
	azureRollbackTimeout = 30 * time.Minute
)

// Timeouts are up's defaults for Azure: minutes, not seconds.
func (a *Azure) Timeouts() (up, rollback time.Duration) {
	return azureUpTimeout, azureRollbackTimeout
}

// azureCallTimeout bounds the calls of Running and Logs, which take no context.
const azureCallTimeout = 2 * time.Minute

// networkStages are the resources Provision makes, stage by stage: each stage's resources
// are made in parallel, once the stage before is done.
func (a *Azure) networkStages(c *Cluster) [][]azureResource {
	second := []azureResource{a.nsgResource(c)}
	if a.availabilitySet() && len(c.Masters()) > 0 {
		second = append(second, a.avsetResource(c))
	}
	var nics []azureResource
	for _, n := range c.Nodes {
		if a.hasPublicIP(n) {
			second = append(second, a.pipResource(c, n))
		}
		nics = append(nics, a.nicResource(c, n))
	}
	return [][]azureResource{{a.groupResource(c)}, second, {a.vnetResource(c)}, nics}
}

// ensureAll makes the resources in parallel; errors from a node's resources name the node.
func (a *Azure) ensureAll(ctx context.Context, cl *azureClients, rs []azureResource, nodes []*Node) error {
	fns := make([]func(context.Context) error, len(rs))
	for i, r := range rs {
		fns[i] = func(ctx context.Context) error {
			_, err := a.ensure(ctx, r.kind, r.name,
				func(ctx context.Context) error { return r.get(ctx, cl) },
				func(ctx context.Context) error { return r.create(ctx, cl) })
			if err != nil && nodes != nil {
				return &NodeError{Node: nodes[i].Name, Err: err}
			}
			return err
		}
	}
	return parallel(ctx, fns...)
}

// Provision makes the cluster's resource group and network: the security group, the virtual
// network and subnet, the masters' availability set, public IPs where asked and every node's
// NIC on its static address. Existing resources are adopted.
func (a *Azure) Provision(ctx context.Context, c *Cluster) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	for _, stage := range a.networkStages(c) {
		if err := a.ensureAll(ctx, cl, stage, nil); err != nil {
			return err
		}
	}
	return nil
}

// Configure generates the cluster's credentials (token, CA, node certificates for the static
// addresses and the public ones) and each node's command line, and checks that every node's
// cloud-init renders. Nodes talk to each other on their private addresses; clients reach a node
// with a public IP there (through the security group, from allow-from), so its URL and the
// cluster's endpoints become the public ones.
func (a *Azure) Configure(_ context.Context, c *Cluster) error {
	if _, err := GenerateCredentials(c, a.now()); err != nil {
		return err
	}
	// Masters keep marina's default etcd timing and leader TTL, which suit a cloud network; each
	// node's credentials are where its cloud-init writes them.
	r := azureRemote(c)
	setNodeArgs(c, nodeCommand{credentialsDir: func(n *Node) string { return r.credentials(n.Name) }})
	for _, n := range c.Nodes {
		if _, err := a.userData(c, n); err != nil {
			return &NodeError{Node: n.Name, Err: err}
		}
	}
	for _, n := range c.Nodes {
		if n.PublicIP != "" {
			n.URL = "https://" + net.JoinHostPort(n.PublicIP, strconv.Itoa(n.Ports[0]))
		}
	}
	c.setEndpoints()
	return nil
}

// Start makes the VMs of nodes, in parallel; each boots with its cloud-init, which installs
// marina and starts it. It returns once every VM runs (Azure reports it provisioned); the
// service's start is what up's waits then see.
func (a *Azure) Start(ctx context.Context, c *Cluster, nodes []*Node) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	rs := make([]azureResource, len(nodes))
	for i, n := range nodes {
		rs[i] = a.vmResource(c, n, func() ([]byte, error) { return a.userData(c, n) })
	}
	return a.ensureAll(ctx, cl, rs, nodes)
}

// Running reports whether node n's VM runs.
func (a *Azure) Running(c *Cluster, n *Node) bool {
	cl, err := a.client()
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), azureCallTimeout)
	defer cancel()
	iv, err := cl.vms.InstanceView(ctx, a.group(c), n.Name, nil)
	if err != nil {
		return false
	}
	for _, s := range iv.Statuses {
		if s.Code != nil && *s.Code == "PowerState/running" {
			return true
		}
	}
	return false
}

// Logs returns the last lines of node n's log, read on the VM through Azure's run command.
func (a *Azure) Logs(c *Cluster, n *Node, lines int) ([]string, error) {
	cl, err := a.client()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), azureCallTimeout)
	defer cancel()
	p, err := cl.vms.BeginRunCommand(ctx, a.group(c), n.Name, armcompute.RunCommandInput{
		CommandID: to.Ptr("RunShellScript"),
		Script:    []*string{to.Ptr(fmt.Sprintf("tail -n %d %s", max(lines, 1), n.LogFile))},
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("azure: logs of %s: %w", n.Name, err)
	}
	res, err := p.PollUntilDone(ctx, a.pollOptions())
	if err != nil {
		return nil, fmt.Errorf("azure: logs of %s: %w", n.Name, err)
	}
	var out strings.Builder
	for _, v := range res.Value {
		if v.Message != nil {
			out.WriteString(*v.Message)
		}
	}
	return runCommandStdout(out.String()), nil
}

// runCommandStdout picks the output lines out of a run command's message, which reads
// "Enable succeeded: \n[stdout]\n...\n[stderr]\n...".
func runCommandStdout(msg string) []string {
	if _, rest, ok := strings.Cut(msg, "[stdout]\n"); ok {
		msg = rest
	}
	msg, _, _ = strings.Cut(msg, "[stderr]")
	msg = strings.TrimRight(msg, "\n")
	if msg == "" {
		return nil
	}
	return strings.Split(msg, "\n")
}

// ConfirmDestroy says what Destroy deletes.
func (a *Azure) ConfirmDestroy(c *Cluster) string {
	return fmt.Sprintf("This deletes Azure resource group %q (subscription %s) and everything in it: %d VMs with their disks, NICs, public IPs and the virtual network.",
		a.group(c), a.s.subscription, len(c.Nodes))
}

// Destroy deletes the cluster's resource group and everything in it, when the group is this
// cluster's (tagged with its name); a missing group is fine.
func (a *Azure) Destroy(ctx context.Context, c *Cluster) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	rg := a.group(c)
	owner, exists, err := a.groupOwner(ctx, cl, c)
	switch {
	case err != nil:
		return fmt.Errorf("azure: resource group %s: %w", rg, err)
	case !exists:
		a.note("  = resource group %s does not exist", rg)
		return nil
	case owner != c.Name:
		return fmt.Errorf("azure: resource group %s is not cluster %q's (tag %s=%q): not deleted", rg, c.Name, azureClusterTag, owner)
	}
	start := a.now()
	a.note("  deleting resource group %s and everything in it (this takes minutes)", rg)
	p, err := cl.groups.BeginDelete(ctx, rg, nil)
	if err = awaitDone(ctx, a, p, err); err != nil && !isNotFound(err) {
		return fmt.Errorf("azure: delete resource group %s: %w", rg, err)
	}
	a.note("  - resource group %s deleted (%s)", rg, fmtSeconds(a.now().Sub(start)))
	return nil
}

// errNoCredentials is returned when cloud-init is asked for before Configure.
var errNoCredentials = errors.New("azure: the cluster has no credentials yet (Configure makes them)")
