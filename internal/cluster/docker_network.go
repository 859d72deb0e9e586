package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// subnetPool is where the docker provider picks a cluster network's /24 from when the spec does
// not name one: 10.77.0.0/24, 10.77.1.0/24, ... the first that overlaps no Docker network and no
// address of this machine.
var subnetPool = netip.MustParsePrefix("10.77.0.0/16")

// Labels of what the docker provider makes: every container and network carries the cluster's
// name, so that down finds them without the state file.
const (
	labelCluster = "marina.cluster"
	labelNode    = "marina.node"
	labelRole    = "marina.role"
	labelDir     = "marina.state_dir"
)

// absDir returns c's state directory as an absolute path, as labels and mounts name it.
func absDir(c *Cluster) string {
	if d, err := filepath.Abs(c.Dir); err == nil {
		return d
	}
	return c.Dir
}

// networkName is the name of cluster name's network.
func networkName(name string) string { return "marina-" + name }

// clusterFilter selects what carries cluster name's label.
func clusterFilter(name string) filters.Args {
	return filters.NewArgs(filters.Arg("label", labelCluster+"="+name))
}

// freeSubnet returns the first /24 of pool that overlaps none of used.
func freeSubnet(pool netip.Prefix, used []netip.Prefix) (netip.Prefix, error) {
	if !pool.Addr().Is4() || pool.Bits() > 24 {
		return netip.Prefix{}, fmt.Errorf("pool %s: want an IPv4 prefix of /24 or wider", pool)
	}
	n := 1 << (24 - pool.Bits())
	a := pool.Masked().Addr().As4()
	start := binary.BigEndian.Uint32(a[:])
	for i := range n {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], start+uint32(i)<<8)
		cand := netip.PrefixFrom(netip.AddrFrom4(b), 24)
		if !overlapsAny(cand, used) {
			return cand, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("every /24 of %s is taken by a Docker network or an address of this machine: set provider.settings.subnet", pool)
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if p.Overlaps(u) {
			return true
		}
	}
	return false
}

// usedSubnets lists the IPv4 subnets of the engine's networks and of this machine's interfaces.
func usedSubnets(ctx context.Context, cli *client.Client) ([]netip.Prefix, error) {
	nets, err := cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list docker networks: %w", err)
	}
	var used []netip.Prefix
	for _, n := range nets {
		for _, c := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(c.Subnet); err == nil && p.Addr().Is4() {
				used = append(used, p.Masked())
			}
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if p, err := netip.ParsePrefix(ipn.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
				used = append(used, p.Masked())
			}
		}
	}
	return used, nil
}

// gatewayOf returns the first address of subnet: the host's side of the cluster network.
func gatewayOf(subnet netip.Prefix) netip.Addr { return subnet.Masked().Addr().Next() }

// nthAddr returns the address i after subnet's first (network) address.
func nthAddr(subnet netip.Prefix, i int) netip.Addr {
	a := subnet.Masked().Addr()
	for range i {
		a = a.Next()
	}
	return a
}

// createNetwork creates cluster c's bridge network on subnet, labelled with the cluster, unless
// it exists already.
func createNetwork(ctx context.Context, cli *client.Client, c *Cluster, subnet netip.Prefix) error {
	name := networkName(c.Name)
	if _, err := cli.NetworkInspect(ctx, name, network.InspectOptions{}); err == nil {
		return nil
	} else if !client.IsErrNotFound(err) {
		return fmt.Errorf("inspect network %s: %w", name, err)
	}
	_, err := cli.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: "bridge",
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{
			Subnet:  subnet.String(),
			Gateway: gatewayOf(subnet).String(),
		}}},
		Labels: map[string]string{labelCluster: c.Name, labelDir: absDir(c)},
	})
	if err != nil {
		return fmt.Errorf("create network %s on %s: %w", name, subnet, err)
	}
	return nil
}

// removeNetworks removes every network labelled with cluster name.
func removeNetworks(ctx context.Context, cli *client.Client, name string) error {
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: clusterFilter(name)})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	var errs []error
	for _, n := range nets {
		if err := cli.NetworkRemove(ctx, n.ID); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}
