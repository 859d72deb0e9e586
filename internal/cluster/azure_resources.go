package cluster

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
)

// azureResource is one Azure resource of a cluster: what the plan shows, how to find it and
// how to make it. The same definitions drive Provision, Start and PrintPlan.
type azureResource struct {
	kind, name string
	detail     string // sizes, addresses, rules: what the plan shows
	get        func(ctx context.Context, cl *azureClients) error
	create     func(ctx context.Context, cl *azureClients) error
}

// Names of a cluster's resources inside its group.
const (
	azureNSG    = "nsg"
	azureVNet   = "vnet"
	azureSubnet = "nodes"
	azureAvSet  = "masters"
)

// azureOperatorPorts are the ports admitted from allow-from: ssh, the master's API and console,
// the agents' API and the services API.
var azureOperatorPorts = []int{22, masterPort, agentPort, servicesPort}

func (a *Azure) tags(c *Cluster) map[string]*string {
	return map[string]*string{azureClusterTag: to.Ptr(c.Name)}
}

// id is the resource id of name of type typ ("Microsoft.Network/virtualNetworks").
func (a *Azure) id(c *Cluster, typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s", a.s.subscription, a.group(c), typ, name)
}

func (a *Azure) groupResource(c *Cluster) azureResource {
	rg := a.group(c)
	return azureResource{
		kind: "resource group", name: rg,
		detail: fmt.Sprintf("%s, tag %s=%s", a.s.location, azureClusterTag, c.Name),
		get: func(ctx context.Context, cl *azureClients) error {
			_, err := cl.groups.Get(ctx, rg, nil)
			return err
		},
		create: func(ctx context.Context, cl *azureClients) error {
			_, err := cl.groups.CreateOrUpdate(ctx, rg, armresources.ResourceGroup{Location: to.Ptr(a.s.location), Tags: a.tags(c)}, nil)
			return err
		},
	}
}

func (a *Azure) nsgResource(c *Cluster) azureResource {
	var rules []*armnetwork.SecurityRule
	detail := "inbound from the virtual network only"
	if len(a.s.allowFrom) > 0 {
		var from, ports []*string
		var shown []string
		for _, p := range a.s.allowFrom {
			from = append(from, to.Ptr(p.String()))
			shown = append(shown, p.String())
		}
		for _, p := range azureOperatorPorts {
			ports = append(ports, to.Ptr(strconv.Itoa(p)))
		}
		rules = append(rules, &armnetwork.SecurityRule{
			Name: to.Ptr("operator"),
			Properties: &armnetwork.SecurityRulePropertiesFormat{
				Priority:                 to.Ptr[int32](100),
				Direction:                to.Ptr(armnetwork.SecurityRuleDirectionInbound),
				Access:                   to.Ptr(armnetwork.SecurityRuleAccessAllow),
				Protocol:                 to.Ptr(armnetwork.SecurityRuleProtocolTCP),
				SourceAddressPrefixes:    from,
				SourcePortRange:          to.Ptr("*"),
				DestinationAddressPrefix: to.Ptr("*"),
				DestinationPortRanges:    ports,
				Description:              to.Ptr("ssh, consoles and APIs from the operator"),
			},
		})
		detail = fmt.Sprintf("tcp %s from %s; otherwise inbound from the virtual network only", joinInts(azureOperatorPorts), strings.Join(shown, ","))
	}
	return azureResource{
		kind: "network security group", name: azureNSG, detail: detail,
		get: func(ctx context.Context, cl *azureClients) error {
			_, err := cl.nsgs.Get(ctx, a.group(c), azureNSG, nil)
			return err
		},
		create: func(ctx context.Context, cl *azureClients) error {
			p, err := cl.nsgs.BeginCreateOrUpdate(ctx, a.group(c), azureNSG, armnetwork.SecurityGroup{
				Location: to.Ptr(a.s.location), Tags: a.tags(c),
				Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: rules},
			}, nil)
			return awaitDone(ctx, a, p, err)
		},
	}
}

func (a *Azure) vnetResource(c *Cluster) azureResource {
	return azureResource{
		kind: "virtual network", name: azureVNet,
		detail: fmt.Sprintf("%s, subnet %s %s behind %s", a.s.addressSpace, azureSubnet, a.s.subnet, azureNSG),
		get: func(ctx context.Context, cl *azureClients) error {
			_, err := cl.vnets.Get(ctx, a.group(c), azureVNet, nil)
			return err
		},
		create: func(ctx context.Context, cl *azureClients) error {
			p, err := cl.vnets.BeginCreateOrUpdate(ctx, a.group(c), azureVNet, armnetwork.VirtualNetwork{
				Location: to.Ptr(a.s.location), Tags: a.tags(c),
				Properties: &armnetwork.VirtualNetworkPropertiesFormat{
					AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr(a.s.addressSpace.String())}},
					Subnets: []*armnetwork.Subnet{{
						Name: to.Ptr(azureSubnet),
						Properties: &armnetwork.SubnetPropertiesFormat{
							AddressPrefix:         to.Ptr(a.s.subnet.String()),
							NetworkSecurityGroup:  &armnetwork.SecurityGroup{ID: to.Ptr(a.id(c, "Microsoft.Network/networkSecurityGroups", azureNSG))},
							DefaultOutboundAccess: to.Ptr(true), // nodes download the binary and packages
						},
					}},
				},
			}, nil)
			return awaitDone(ctx, a, p, err)
		},
	}
}

// availabilitySet reports whether masters go in an availability set (no zones given).
func (a *Azure) availabilitySet() bool { return len(a.s.zones) == 0 }

func (a *Azure) avsetResource(c *Cluster) azureResource {
	return azureResource{
		kind: "availability set", name: azureAvSet, detail: "masters, 2 fault domains, 5 update domains, aligned (managed disks)",
		get: func(ctx context.Context, cl *azureClients) error {
			_, err := cl.avsets.Get(ctx, a.group(c), azureAvSet, nil)
			return err
		},
		create: func(ctx context.Context, cl *azureClients) error {
			_, err := cl.avsets.CreateOrUpdate(ctx, a.group(c), azureAvSet, armcompute.AvailabilitySet{
				Location: to.Ptr(a.s.location), Tags: a.tags(c),
				SKU: &armcompute.SKU{Name: to.Ptr("Aligned")},
				Properties: &armcompute.AvailabilitySetProperties{
					PlatformFaultDomainCount:  to.Ptr[int32](2),
					PlatformUpdateDomainCount: to.Ptr[int32](5),
				},
			}, nil)
			return err
		},
	}
}

// hasPublicIP reports whether node n gets a public IP.
func (a *Azure) hasPublicIP(n *Node) bool {
	return a.s.publicIP == "all" || a.s.publicIP == "masters" && n.Role == RoleMaster
}

// zone returns node n's availability zone, "" without zones: nodes of a role are spread over
// the zones in turn.
func (a *Azure) zone(n *Node) string {
	if len(a.s.zones) == 0 {
		return ""
	}
	return a.s.zones[(n.Index-1)%len(a.s.zones)]
}

func (a *Azure) zones(n *Node) []*string {
	if z := a.zone(n); z != "" {
		return []*string{to.Ptr(z)}
	}
	return nil
}

func pipName(n *Node) string { return n.Name + "-ip" }
func nicName(n *Node) string { return n.Name + "-nic" }

func (a *Azure) pipResource(c *Cluster, n *Node) azureResource {
	name := pipName(n)
	return azureResource{
		kind: "public ip", name: name, detail: "static, standard SKU" + zoneDetail(a.zone(n)),
		get: func(ctx context.Context, cl *azureClients) error {
			r, err := cl.pips.Get(ctx, a.group(c), name, nil)
			if err == nil {
				a.setPublicIP(n, r.Properties)
			}
			return err
		},
		create: func(ctx context.Context, cl *azureClients) error {
			p, err := cl.pips.BeginCreateOrUpdate(ctx, a.group(c), name, armnetwork.PublicIPAddress{
				Location: to.Ptr(a.s.location), Tags: a.tags(c), Zones: a.zones(n),
				SKU: &armnetwork.PublicIPAddressSKU{Name: to.Ptr(armnetwork.PublicIPAddressSKUNameStandard)},
				Properties: &armnetwork.PublicIPAddressPropertiesFormat{
					PublicIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic),
				},
			}, nil)
			if err != nil {
				return err
			}
			r, err := p.PollUntilDone(ctx, a.pollOptions())
			if err == nil {
				a.setPublicIP(n, r.Properties)
			}
			return err
		},
	}
}

// setPublicIP records node n's public address (its certificate will carry it) and reports it.
func (a *Azure) setPublicIP(n *Node, p *armnetwork.PublicIPAddressPropertiesFormat) {
	if p != nil && p.IPAddress != nil {
		n.PublicIP = *p.IPAddress
		a.note("  %s: public address %s", n.Name, n.PublicIP)
	}
}

func zoneDetail(z string) string {
	if z == "" {
		return ""
	}
	return ", zone " + z
}

func (a *Azure) nicResource(c *Cluster, n *Node) azureResource {
	name := nicName(n)
	ipc := &armnetwork.InterfaceIPConfigurationPropertiesFormat{
		Primary:                   to.Ptr(true),
		PrivateIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodStatic),
		PrivateIPAddress:          to.Ptr(n.IP),
		Subnet:                    &armnetwork.Subnet{ID: to.Ptr(a.id(c, "Microsoft.Network/virtualNetworks", azureVNet+"/subnets/"+azureSubnet))},
	}
	detail := n.IP + " static"
	if a.hasPublicIP(n) {
		ipc.PublicIPAddress = &armnetwork.PublicIPAddress{ID: to.Ptr(a.id(c, "Microsoft.Network/publicIPAddresses", pipName(n)))}
		detail += ", public ip " + pipName(n)
	}
	return azureResource{
		kind: "network interface", name: name, detail: detail,
		get: func(ctx context.Context, cl *azureClients) error {
			_, err := cl.nics.Get(ctx, a.group(c), name, nil)
			return err
		},
		create: func(ctx context.Context, cl *azureClients) error {
			p, err := cl.nics.BeginCreateOrUpdate(ctx, a.group(c), name, armnetwork.Interface{
				Location: to.Ptr(a.s.location), Tags: a.tags(c),
				Properties: &armnetwork.InterfacePropertiesFormat{
					IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{Name: to.Ptr("ipconfig"), Properties: ipc}},
				},
			}, nil)
			return awaitDone(ctx, a, p, err)
		},
	}
}

// size returns node n's VM size.
func (a *Azure) size(n *Node) string {
	if n.Role == RoleMaster {
		return a.s.masterSize
	}
	return a.s.agentSize
}

// computerName is node n's host name: the cluster's name and the node's.
func computerName(c *Cluster, n *Node) string { return c.Name + "-" + n.Name }

// vmResource is node n's VM; create makes it with the cloud-init custom data userData returns.
func (a *Azure) vmResource(c *Cluster, n *Node, userData func() ([]byte, error)) azureResource {
	placement := zoneDetail(a.zone(n))
	if n.Role == RoleMaster && a.availabilitySet() {
		placement = ", availability set " + azureAvSet
	}
	return azureResource{
		kind: "virtual machine", name: n.Name,
		detail: fmt.Sprintf("%s, %s %d GiB OS disk, %s%s", a.size(n), a.s.diskType, a.s.diskGB, a.s.image, placement),
		get: func(ctx context.Context, cl *azureClients) error {
			_, err := cl.vms.Get(ctx, a.group(c), n.Name, nil)
			return err
		},
		create: func(ctx context.Context, cl *azureClients) error {
			ud, err := userData()
			if err != nil {
				return err
			}
			key, err := a.sshPublicKey()
			if err != nil {
				return err
			}
			vm := a.vm(c, n, key, ud)
			p, err := cl.vms.BeginCreateOrUpdate(ctx, a.group(c), n.Name, vm, nil)
			return awaitDone(ctx, a, p, err)
		},
	}
}

// vm is node n's VM definition.
func (a *Azure) vm(c *Cluster, n *Node, sshKey string, userData []byte) armcompute.VirtualMachine {
	props := &armcompute.VirtualMachineProperties{
		HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes(a.size(n)))},
		StorageProfile: &armcompute.StorageProfile{
			ImageReference: &armcompute.ImageReference{
				Publisher: to.Ptr(a.s.image.publisher), Offer: to.Ptr(a.s.image.offer),
				SKU: to.Ptr(a.s.image.sku), Version: to.Ptr(a.s.image.version),
			},
			OSDisk: &armcompute.OSDisk{
				Name:         to.Ptr(n.Name + "-osdisk"),
				CreateOption: to.Ptr(armcompute.DiskCreateOptionTypesFromImage),
				DeleteOption: to.Ptr(armcompute.DiskDeleteOptionTypesDelete),
				DiskSizeGB:   to.Ptr(a.s.diskGB),
				ManagedDisk:  &armcompute.ManagedDiskParameters{StorageAccountType: to.Ptr(armcompute.StorageAccountTypes(a.s.diskType))},
			},
		},
		OSProfile: &armcompute.OSProfile{
			ComputerName:  to.Ptr(computerName(c, n)),
			AdminUsername: to.Ptr(a.s.adminUser),
			CustomData:    to.Ptr(base64.StdEncoding.EncodeToString(userData)),
			LinuxConfiguration: &armcompute.LinuxConfiguration{
				DisablePasswordAuthentication: to.Ptr(true),
				SSH: &armcompute.SSHConfiguration{PublicKeys: []*armcompute.SSHPublicKey{{
					Path:    to.Ptr("/home/" + a.s.adminUser + "/.ssh/authorized_keys"),
					KeyData: to.Ptr(sshKey),
				}}},
			},
		},
		NetworkProfile: &armcompute.NetworkProfile{NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{
			ID:         to.Ptr(a.id(c, "Microsoft.Network/networkInterfaces", nicName(n))),
			Properties: &armcompute.NetworkInterfaceReferenceProperties{Primary: to.Ptr(true)},
		}}},
	}
	if n.Role == RoleMaster && a.availabilitySet() {
		props.AvailabilitySet = &armcompute.SubResource{ID: to.Ptr(a.id(c, "Microsoft.Compute/availabilitySets", azureAvSet))}
	}
	vm := armcompute.VirtualMachine{Location: to.Ptr(a.s.location), Tags: a.tags(c), Zones: a.zones(n), Properties: props}
	if a.s.identity != "" {
		vm.Identity = &armcompute.VirtualMachineIdentity{
			Type:                   to.Ptr(armcompute.ResourceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armcompute.UserAssignedIdentitiesValue{a.s.identity: {}},
		}
	}
	return vm
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
