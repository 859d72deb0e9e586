package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Azure is the azure provider: every node is an Azure VM, all of a cluster's resources in one
// resource group named after the cluster (tagged marina-cluster=<name>, so that down never
// deletes a group it did not make). Masters and agents get static private addresses in one
// subnet, known at Plan, so that every node's configuration (and certificate) is written
// before any VM exists. Nodes boot with cloud-init custom data that installs the marina binary
// from binary-url (or binary-blob, with a managed identity), writes the node's credentials and runs it as a systemd service (the ssh
// provider's unit and file layout).
//
// Provision makes the resource group, the network security group, the virtual network, the
// masters' availability set (when no zones are given), public IPs where asked and the NICs;
// Start makes the VMs. Every resource is looked up first and adopted when it exists, so a
// second up makes nothing new; creation runs in parallel with a line per resource; the SDK's
// retry policy retries throttling (429) and transient errors with backoff.
//
// Settings (provider.settings in a spec, or `--setting name=value`): azureSettingNames, and
// docs/azure.md for what each means.
type Azure struct {
	s azureSettings

	// cred and clientOptions reach Azure; tests put the SDK's fake servers behind them.
	cred          azcore.TokenCredential
	clientOptions arm.ClientOptions
	// pollEvery is how often a long-running operation is polled; conflictBackoff is the first
	// wait before a creation that met a conflict Azure clears by itself is tried again.
	pollEvery       time.Duration
	conflictBackoff time.Duration
	now             func() time.Time

	progressNotes // each resource as it is made

	mu      sync.Mutex
	clients *azureClients
}

var (
	_ Provider         = (*Azure)(nil)
	_ PlanPrinter      = (*Azure)(nil)
	_ ProgressReporter = (*Azure)(nil)
	_ DestroyConfirmer = (*Azure)(nil)
	_ SlowProvider     = (*Azure)(nil)
)

func init() {
	providers["azure"] = func(s map[string]string) (Provider, error) { return NewAzure(s) }
}

// Files on an Azure node besides those of its layout (azureRemote).
const (
	azureURLFile   = "/etc/marina/binary-url"
	azureInstaller = "/usr/local/lib/marina/install-marina"
)

// azureRemote lays a node's files out as the ssh provider lays out a host's: the binary,
// work dir, log and credentials under /var/lib/marina/<cluster>.
func azureRemote(c *Cluster) nodeFiles { return nodeFiles{root: path.Join("/var/lib/marina", c.Name)} }

// azureClusterTag marks the resource group that a cluster owns.
const azureClusterTag = "marina-cluster"

// Where masters and agents start in the subnet: Azure keeps the first four addresses.
const (
	azureFirstMaster = 4
	azureFirstAgent  = 10
)

// azureSettings are an Azure provider's settings, checked.
type azureSettings struct {
	subscription  string
	location      string
	resourceGroup string // default: the cluster's name
	addressSpace  netip.Prefix
	subnet        netip.Prefix
	masterSize    string
	agentSize     string
	zones         []string
	publicIP      string // none, masters or all
	allowFrom     []netip.Prefix
	image         azureImage
	adminUser     string
	sshKey        string // path of the public key
	binaryURL     string // secret: may carry a SAS token; never logged or saved
	binaryBlob    string // a blob's URL, read with identity's token instead of a SAS
	identity      string // resource id of a user-assigned managed identity the VMs carry
	binarySHA256  string
	diskGB        int32
	diskType      string
}

// azureImage is a marketplace image, publisher:offer:sku:version.
type azureImage struct{ publisher, offer, sku, version string }

func (i azureImage) String() string {
	return i.publisher + ":" + i.offer + ":" + i.sku + ":" + i.version
}

// azureSettingNames are the azure provider's settings (docs/azure.md says what each means).
var azureSettingNames = []string{
	"address-space", "admin-user", "agent-size", "allow-from", "binary-blob", "binary-sha256", "binary-url",
	"identity", "image", "location", "master-size", "os-disk-gb", "os-disk-type", "public-ip", "resource-group", "ssh-key",
	"subnet", "subscription", "zones",
}

var (
	azureSizeRE  = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	azureUserRE  = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	azureSHA256  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	azureGroupRE = regexp.MustCompile(`^[-\w._()]{1,90}$`)
	// azureIdentityRE is a user-assigned managed identity's resource id.
	azureIdentityRE = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+$`)
)

// NewAzure returns an azure provider with settings, checked. Credentials are found when
// Azure is first called (never for a dry run): the environment (AZURE_CLIENT_ID and friends),
// then the Azure CLI's login, then the managed identity of the machine.
func NewAzure(settings map[string]string) (*Azure, error) {
	s := azureSettings{
		subscription: os.Getenv("AZURE_SUBSCRIPTION_ID"),
		location:     "westeurope",
		addressSpace: netip.MustParsePrefix("10.42.0.0/16"),
		subnet:       netip.MustParsePrefix("10.42.1.0/24"),
		masterSize:   "Standard_D2s_v5",
		agentSize:    "Standard_D4s_v5",
		publicIP:     "none",
		image:        azureImage{"Debian", "debian-12", "12-gen2", "latest"},
		adminUser:    "marina",
		diskGB:       64,
		diskType:     "StandardSSD_LRS",
	}
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("provider.settings.%s: "+format, append([]any{k}, args...)...))
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		v := strings.TrimSpace(settings[k])
		switch k {
		case "subscription":
			s.subscription = v
		case "location":
			s.location = v
		case "resource-group":
			if !azureGroupRE.MatchString(v) || strings.HasSuffix(v, ".") {
				bad(k, "%q is not a resource group name", v)
			}
			s.resourceGroup = v
		case "address-space", "subnet":
			p, err := netip.ParsePrefix(v)
			if err != nil || !p.Addr().Is4() || p != p.Masked() {
				bad(k, "%q is not an IPv4 network like 10.42.0.0/16", v)
			} else if k == "subnet" {
				s.subnet = p
			} else {
				s.addressSpace = p
			}
		case "master-size", "agent-size":
			if !azureSizeRE.MatchString(v) {
				bad(k, "%q is not a VM size like Standard_D2s_v5", v)
			}
			if k == "master-size" {
				s.masterSize = v
			} else {
				s.agentSize = v
			}
		case "zones":
			s.zones = nil
			for z := range strings.SplitSeq(v, ",") {
				if z = strings.TrimSpace(z); z != "" {
					if n, err := strconv.Atoi(z); err != nil || n < 1 || n > 3 {
						bad(k, "zone %q: want 1, 2 or 3", z)
					}
					s.zones = append(s.zones, z)
				}
			}
		case "public-ip":
			if !slices.Contains([]string{"none", "masters", "all"}, v) {
				bad(k, "%q: want none, masters or all", v)
			}
			s.publicIP = v
		case "allow-from":
			s.allowFrom = nil
			for c := range strings.SplitSeq(v, ",") {
				if c = strings.TrimSpace(c); c == "" {
					continue
				}
				p, err := parseAllowFrom(c)
				if err != nil {
					bad(k, "%v", err)
					continue
				}
				s.allowFrom = append(s.allowFrom, p)
			}
		case "image":
			f := strings.Split(v, ":")
			if len(f) != 4 || slices.Contains(f, "") {
				bad(k, "%q: want publisher:offer:sku:version", v)
			} else {
				s.image = azureImage{f[0], f[1], f[2], f[3]}
			}
		case "admin-user":
			if !azureUserRE.MatchString(v) {
				bad(k, "%q is not a Linux user name", v)
			}
			s.adminUser = v
		case "ssh-key":
			s.sshKey = v
		case "binary-url":
			if !strings.HasPrefix(v, "https://") && v != redacted {
				bad(k, "want an https URL") // the value is secret: not repeated
			}
			s.binaryURL = v
		case "binary-blob":
			if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" {
				bad(k, "want the https URL of a blob, without a SAS (identity reads it)") // not repeated: it may hold a SAS
			}
			s.binaryBlob = v
		case "identity":
			if !azureIdentityRE.MatchString(v) {
				bad(k, "%q is not the resource id of a user-assigned managed identity", v)
			}
			s.identity = v
		case "binary-sha256":
			if v = strings.ToLower(v); !azureSHA256.MatchString(v) {
				bad(k, "%q is not a SHA-256 in hex", v)
			}
			s.binarySHA256 = v
		case "os-disk-gb":
			n, err := strconv.Atoi(v)
			if err != nil || n < 30 || n > 4095 {
				bad(k, "%q: want 30 to 4095 GiB", v)
			}
			s.diskGB = int32(n)
		case "os-disk-type":
			if !slices.Contains([]string{"Standard_LRS", "StandardSSD_LRS", "Premium_LRS", "StandardSSD_ZRS", "Premium_ZRS"}, v) {
				bad(k, "%q: want Standard_LRS, StandardSSD_LRS, Premium_LRS, StandardSSD_ZRS or Premium_ZRS", v)
			}
			s.diskType = v
		default:
			bad(k, "unknown setting of the azure provider (known: %s)", strings.Join(azureSettingNames, ", "))
		}
	}
	if s.location == "" {
		errs = append(errs, errors.New("provider.settings.location: empty"))
	}
	if s.subnet.IsValid() && s.addressSpace.IsValid() && (!s.addressSpace.Contains(s.subnet.Addr()) || s.subnet.Bits() < s.addressSpace.Bits()) {
		errs = append(errs, fmt.Errorf("provider.settings.subnet: %s is not inside address-space %s", s.subnet, s.addressSpace))
	}
	if s.subnet.Bits() > 28 {
		errs = append(errs, fmt.Errorf("provider.settings.subnet: %s is too small for a cluster (/28 at most)", s.subnet))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Azure{
		s:               s,
		pollEvery:       5 * time.Second,
		conflictBackoff: 5 * time.Second,
		now:             time.Now,
		clientOptions: arm.ClientOptions{ClientOptions: policy.ClientOptions{
			Retry: policy.RetryOptions{MaxRetries: 8, RetryDelay: 2 * time.Second, MaxRetryDelay: time.Minute},
		}},
	}, nil
}

// parseAllowFrom reads one CIDR (or a bare address, taken as /32) an operator admits.
func parseAllowFrom(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return netip.PrefixFrom(a, 32), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 address or CIDR", s)
	}
	return p.Masked(), nil
}

// redacted replaces a secret setting in what is saved.
const redacted = "<redacted>"

// Name returns "azure".
func (a *Azure) Name() string { return "azure" }

// group returns the cluster's resource group.
func (a *Azure) group(c *Cluster) string {
	if a.s.resourceGroup != "" {
		return a.s.resourceGroup
	}
	return c.Name
}

// Plan lays out the nodes on static addresses of the subnet (masters from .4, agents from
// .10), with the paths they have on their VMs. The binary URL is redacted from the spec that
// is saved, and the subscription recorded in it.
func (a *Azure) Plan(c *Cluster) error {
	agents := c.Spec.Agents.Expand()
	masterAt := func(i int) (netip.Addr, error) { return subnetHost(a.s.subnet, azureFirstMaster+i) }
	agentAt := func(i int) (netip.Addr, error) { return subnetHost(a.s.subnet, azureFirstAgent+i) }
	if _, err := agentAt(len(agents) - 1); len(agents) > 0 && err != nil {
		return fmt.Errorf("azure provider: %d agents do not fit in subnet %s: %w", len(agents), a.s.subnet, err)
	}
	// What is saved: the binary URL redacted, and the subscription even when it came from the
	// environment, so that status and down find the cluster from any shell.
	saved := maps.Clone(c.Spec.Provider.Settings)
	if saved == nil {
		saved = map[string]string{}
	}
	if saved["binary-url"] != "" {
		saved["binary-url"] = redacted
	}
	if a.s.subscription != "" {
		saved["subscription"] = a.s.subscription
	}
	c.Spec.Provider.Settings = saved
	r := azureRemote(c)
	c.Binary = r.binary()
	c.Nodes = nil
	node := func(role Role, i int, ip netip.Addr, port int, ports ...int) *Node {
		return planNode(role, i, ip.String(), r, port, ports...)
	}
	for i := range c.Spec.Masters {
		ip, err := masterAt(i)
		if err != nil {
			return fmt.Errorf("azure provider: subnet %s: %w", a.s.subnet, err)
		}
		c.Nodes = append(c.Nodes, node(RoleMaster, i+1, ip, masterPort, etcdClient, etcdPeer, servicesPort))
	}
	for i, spec := range agents {
		ip, _ := agentAt(i)
		n := node(RoleAgent, i+1, ip, agentPort)
		n.Resources, n.Attributes = spec.Resources, spec.Attributes
		c.Nodes = append(c.Nodes, n)
	}
	c.setEndpoints()
	return nil
}

// subnetHost returns the i-th address of subnet p, which must be below its broadcast address.
func subnetHost(p netip.Prefix, i int) (netip.Addr, error) {
	a := p.Addr()
	for range i {
		a = a.Next()
	}
	size := 1 << (32 - p.Bits())
	if i >= size-1 {
		return netip.Addr{}, fmt.Errorf("address %d is beyond its last usable one (%d)", i, size-2)
	}
	return a, nil
}

// Preflight checks what provisioning needs and Plan did not: a subscription, the binary URL,
// the admin's ssh key, an allow-from for public IPs, credentials that Azure accepts, and that
// the resource group, when it exists, belongs to this cluster.
func (a *Azure) Preflight(ctx context.Context, c *Cluster) error {
	var errs []error
	if a.s.subscription == "" {
		errs = append(errs, errors.New("azure: no subscription: set AZURE_SUBSCRIPTION_ID or --setting subscription=<id>"))
	}
	switch url := a.s.binaryURL != "" && a.s.binaryURL != redacted; {
	case url && a.s.binaryBlob != "":
		errs = append(errs, errors.New("azure: binary-url and binary-blob both set: nodes download marina from one"))
	case !url && a.s.binaryBlob == "":
		errs = append(errs, errors.New("azure: no binary-url or binary-blob: nodes download marina from it (--setting binary-url=https://...)"))
	case a.s.binaryBlob != "" && a.s.identity == "":
		errs = append(errs, errors.New("azure: binary-blob needs identity, a user-assigned managed identity allowed to read the blob (Storage Blob Data Reader)"))
	}
	if a.s.publicIP != "none" && len(a.s.allowFrom) == 0 {
		errs = append(errs, errors.New("azure: public-ip needs allow-from, the operator's address: the consoles and APIs are admitted from there only"))
	}
	if _, err := a.sshPublicKey(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	owner, exists, err := a.groupOwner(ctx, cl, c)
	if err != nil {
		return fmt.Errorf("azure: resource group %s: %w", a.group(c), err)
	}
	if exists && owner != c.Name {
		return fmt.Errorf("azure: resource group %s exists and is not cluster %q's (tag %s=%q): choose another resource-group", a.group(c), c.Name, azureClusterTag, owner)
	}
	return nil
}

// sshPublicKey reads the admin's public key.
func (a *Azure) sshPublicKey() (string, error) {
	paths := []string{a.s.sshKey}
	if a.s.sshKey == "" {
		home, _ := os.UserHomeDir()
		paths = []string{filepath.Join(home, ".ssh", "id_ed25519.pub"), filepath.Join(home, ".ssh", "id_rsa.pub")}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil && strings.HasPrefix(string(b), "ssh-") {
			return strings.TrimSpace(string(b)), nil
		}
		if err == nil {
			return "", fmt.Errorf("azure: ssh-key %s is not an ssh public key", p)
		}
	}
	return "", fmt.Errorf("azure: no ssh public key for the VMs' admin user (tried %s): set --setting ssh-key=<file.pub>", strings.Join(paths, ", "))
}
