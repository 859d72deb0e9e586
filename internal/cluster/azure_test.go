package cluster

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"

	"github.com/marina-dcos/marina/internal/cloudinit"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// secretURL is a binary URL with a SAS token that must never show.
const secretURL = "https://acct.blob.core.windows.net/bin/marina?sv=2024&sig=SECRET-SAS-TOKEN"

// A blob read with a user-assigned managed identity, instead of a SAS URL.
const (
	testBlob     = "https://acct.blob.core.windows.net/bin/marina"
	testIdentity = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ops/providers/Microsoft.ManagedIdentity/userAssignedIdentities/marina-nodes"
)

// azureSettings returns the settings of a test cluster, with an ssh key of its own.
func testAzureSettings(t *testing.T, extra ...string) map[string]string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "id.pub")
	if err := os.WriteFile(key, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests test@marina\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := map[string]string{
		"subscription": "00000000-0000-0000-0000-000000000001",
		"location":     "westeurope",
		"ssh-key":      key,
		"binary-url":   secretURL,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		s[extra[i]] = extra[i+1]
		if extra[i+1] == "" {
			delete(s, extra[i])
		}
	}
	return s
}

func azureSpec(name string, masters, agents int, settings map[string]string) *Spec {
	return &Spec{Name: name, Masters: masters, Agents: UniformAgents(agents), Provider: ProviderSpec{Name: "azure", Settings: settings}}
}

// upAzure runs up through the provider registry (faked) without waiting for the nodes, whose
// private addresses are never probed.
func upAzure(t *testing.T, spec *Spec, stateDir string) (*Cluster, string, error) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Up(ctx, UpOptions{Spec: spec, StateDir: stateDir, Out: &out, Timeout: time.Minute})
	return c, out.String(), err
}

func TestAzureUpCreatesInOrderWithStaticAddresses(t *testing.T) {
	f := newFakeAzure()
	f.install(t)
	settings := testAzureSettings(t, "public-ip", "masters", "allow-from", "198.51.100.7")
	state := t.TempDir()
	c, out, err := upAzure(t, azureSpec("demo", 3, 2, settings), state)
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	made := f.madeList()
	t.Logf("made: %v", made)
	// Each resource once, dependencies first.
	before := func(a, b string) {
		t.Helper()
		ia, ib := slices.Index(made, a), slices.Index(made, b)
		if ia < 0 || ib < 0 || ia > ib {
			t.Errorf("%q (at %d) not made before %q (at %d)", a, ia, b, ib)
		}
	}
	before("group ", "nsg nsg")
	before("group ", "avset masters")
	before("nsg nsg", "vnet vnet")
	before("pip master-1-ip", "nic master-1-nic")
	before("vnet vnet", "nic agent-2-nic")
	for _, n := range []string{"master-1", "master-2", "master-3"} {
		before("nic "+n+"-nic", "vm "+n)
		for _, a := range []string{"agent-1", "agent-2"} {
			before("vm "+n, "vm "+a)
		}
	}
	if want := 1 + 1 + 1 + 1 + 3 + 5 + 5; len(made) != want { // group, nsg, vnet, avset, 3 pips, 5 nics, 5 vms
		t.Errorf("%d resources made, want %d: %v", len(made), want, made)
	}
	if slices.Contains(made, "pip agent-1-ip") {
		t.Error("an agent got a public IP with public-ip=masters")
	}

	// Static private addresses, as planned, before any VM existed.
	for i, n := range c.Nodes {
		nic := f.resource("nic", "demo", n.Name+"-nic").(armnetwork.Interface)
		ipc := nic.Properties.IPConfigurations[0].Properties
		if *ipc.PrivateIPAllocationMethod != armnetwork.IPAllocationMethodStatic || *ipc.PrivateIPAddress != n.IP {
			t.Errorf("%s: NIC %s %s, want static %s", n.Name, *ipc.PrivateIPAllocationMethod, *ipc.PrivateIPAddress, n.IP)
		}
		want := []string{"10.42.1.4", "10.42.1.5", "10.42.1.6", "10.42.1.10", "10.42.1.11"}[i]
		if n.IP != want {
			t.Errorf("%s at %s, want %s", n.Name, n.IP, want)
		}
		vm := f.resource("vm", "demo", n.Name).(armcompute.VirtualMachine)
		if n.Role == RoleMaster && (vm.Properties.AvailabilitySet == nil || !strings.HasSuffix(*vm.Properties.AvailabilitySet.ID, "/availabilitySets/masters")) {
			t.Errorf("%s not in the masters' availability set", n.Name)
		}
		if got := *vm.Properties.StorageProfile.OSDisk.ManagedDisk.StorageAccountType; got != armcompute.StorageAccountTypesStandardSSDLRS {
			t.Errorf("%s: OS disk %s", n.Name, got)
		}
		// Each VM carries its node's cloud-init: its own command line, with the masters' addresses.
		ud, err := base64.StdEncoding.DecodeString(*vm.Properties.OSProfile.CustomData)
		if err != nil {
			t.Fatal(err)
		}
		ci, err := cloudinit.Parse(ud)
		if err != nil {
			t.Fatalf("%s: custom data: %v", n.Name, err)
		}
		unit := ci.File("/etc/systemd/system/" + unitName(c, n))
		if unit == nil || !strings.Contains(string(unit.Content), `"--ip" "`+n.IP+`"`) && !strings.Contains(string(unit.Content), `"--listen" "`+n.IP+`:5051"`) {
			t.Errorf("%s: unit does not run the node's command line: %+v", n.Name, unit)
		}
	}

	// The security group admits the operator's address only; never the whole internet.
	nsg := f.resource("nsg", "demo", "nsg").(armnetwork.SecurityGroup)
	if len(nsg.Properties.SecurityRules) != 1 {
		t.Fatalf("rules: %+v", nsg.Properties.SecurityRules)
	}
	rule := nsg.Properties.SecurityRules[0].Properties
	if got := vals(rule.SourceAddressPrefixes); !slices.Equal(got, []string{"198.51.100.7/32"}) {
		t.Errorf("operator rule admits %v", got)
	}
	group := f.resource("group", "demo", "").(armresources.ResourceGroup)
	if *group.Tags[azureClusterTag] != "demo" {
		t.Errorf("group tags %v", group.Tags)
	}

	// Progress per resource, public addresses shown, and the SAS URL nowhere.
	for _, want := range []string{"+ virtual network vnet created", "+ virtual machine agent-2 created", "master-1: public address 203.0.113."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	saved, err := os.ReadFile(filepath.Join(state, "demo", clusterFile))
	if err != nil {
		t.Fatal(err)
	}
	for what, b := range map[string][]byte{"output": []byte(out), "state file": saved} {
		if bytes.Contains(b, []byte("SECRET-SAS-TOKEN")) {
			t.Errorf("the binary URL's SAS token is in the %s", what)
		}
	}
	if c.Spec.Provider.Settings["binary-url"] != redacted || settings["binary-url"] != secretURL {
		t.Errorf("binary-url: saved %q, caller's %q", c.Spec.Provider.Settings["binary-url"], settings["binary-url"])
	}
	// Clients reach the masters on their public addresses, which their certificates carry;
	// nodes reach each other on the private ones.
	for _, n := range c.Nodes {
		want := "https://" + n.IP + ":" + strconv.Itoa(n.Ports[0])
		if n.Role == RoleMaster {
			if !strings.HasPrefix(n.PublicIP, "203.0.113.") {
				t.Errorf("%s: public IP %q", n.Name, n.PublicIP)
			}
			want = "https://" + n.PublicIP + ":5050"
			if !certCovers(t, filepath.Join(c.Credentials.NodeDir(n.Name), NodeCertFile), n.PublicIP, n.IP) {
				t.Errorf("%s: certificate not valid for %s and %s", n.Name, n.PublicIP, n.IP)
			}
		} else if n.PublicIP != "" {
			t.Errorf("%s: public IP %q with public-ip=masters", n.Name, n.PublicIP)
		}
		if n.URL != want {
			t.Errorf("%s: URL %s, want %s", n.Name, n.URL, want)
		}
		if n.Role == RoleAgent && !slices.Contains(n.Args, "https://10.42.1.4:5050,https://10.42.1.5:5050,https://10.42.1.6:5050") {
			t.Errorf("%s: agent not pointed at the masters' private addresses: %q", n.Name, n.Args)
		}
	}
	if m := c.Masters()[0]; c.Endpoints.Master != m.URL || c.Endpoints.Services != "https://"+m.PublicIP+":8080" {
		t.Errorf("endpoints %+v", c.Endpoints)
	}

	// A later process (status, down) finds the VMs running and reads logs through run command.
	loaded, err := LoadCluster(state, "demo")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProvider("azure", loaded.Spec.Provider.Settings)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Running(loaded, loaded.Nodes[0]) {
		t.Error("Running(master-1) = false")
	}
	lines, err := p.Logs(loaded, loaded.Nodes[0], 5)
	if err != nil || len(lines) != 2 || !strings.Contains(lines[0], "tail -n 5 "+loaded.Nodes[0].LogFile) {
		t.Errorf("Logs = %q, %v", lines, err)
	}
}

func TestAzureSecondUpCreatesNothing(t *testing.T) {
	f := newFakeAzure()
	f.install(t)
	settings := testAzureSettings(t, "zones", "1,2,3", "public-ip", "all", "allow-from", "198.51.100.0/24")
	if _, out, err := upAzure(t, azureSpec("again", 3, 3, settings), t.TempDir()); err != nil {
		t.Fatalf("first up: %v\n%s", err, out)
	}
	first := len(f.madeList())
	// Another machine, or a lost state dir: the same cluster up again adopts every resource.
	_, out, err := upAzure(t, azureSpec("again", 3, 3, settings), t.TempDir())
	if err != nil {
		t.Fatalf("second up: %v\n%s", err, out)
	}
	if made := f.madeList(); len(made) != first {
		t.Errorf("second up made %v", made[first:])
	}
	if strings.Contains(out, " created") || !strings.Contains(out, "= virtual machine agent-3 exists") {
		t.Errorf("second up's output:\n%s", out)
	}
	// Zones instead of an availability set: nodes spread over them.
	if f.resource("avset", "again", "masters") != nil {
		t.Error("an availability set with zones")
	}
	for name, zone := range map[string]string{"master-1": "1", "master-2": "2", "master-3": "3", "agent-1": "1", "agent-3": "3"} {
		vm := f.resource("vm", "again", name).(armcompute.VirtualMachine)
		if got := vals(vm.Zones); !slices.Equal(got, []string{zone}) {
			t.Errorf("%s in zones %v, want %s", name, got, zone)
		}
	}
}

func TestAzureThrottlingIsRetried(t *testing.T) {
	f := newFakeAzure()
	f.install(t)
	f.throttle["/virtualNetworks/vnet"] = 2
	f.throttle["/virtualMachines/master-1"] = 1
	f.throttle["/resourcegroups/throttled"] = 1
	f.throttle["/networkSecurityGroups/nsg"] = 0
	f.conflicts["nic agent-1-nic"] = 2 // a conflict Azure clears by itself: tried again
	_, out, err := upAzure(t, azureSpec("throttled", 1, 1, testAzureSettings(t)), t.TempDir())
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	// The SDK's retry policy sent each throttled PUT again; the fake saw each creation once.
	for k, want := range map[string]int{"/virtualNetworks/vnet": 3, "/virtualMachines/master-1": 2, "/resourcegroups/throttled": 2, "/networkSecurityGroups/nsg": 1} {
		if got := f.puts[k]; got != want {
			t.Errorf("PUT %s: %d requests, want %d", k, got, want)
		}
	}
	for k, left := range f.throttle {
		if left != 0 {
			t.Errorf("%s: %d 429s not sent", k, left)
		}
	}
	if got := f.attempts["nic agent-1-nic"]; got != 3 {
		t.Errorf("agent-1-nic: %d creations tried, want 3 (two conflicts, then made)", got)
	}
	made := f.madeList()
	for _, k := range []string{"vnet vnet", "vm master-1"} {
		if n := countOf(made, k); n != 1 {
			t.Errorf("%s made %d times", k, n)
		}
	}
}

func vals[T any](ps []*T) []T {
	out := make([]T, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestAzureFailedVMRollsBack(t *testing.T) {
	f := newFakeAzure()
	f.install(t)
	f.failVM = "agent-2"
	state := t.TempDir()
	_, out, err := upAzure(t, azureSpec("broken", 1, 3, testAzureSettings(t)), state)
	if err == nil {
		t.Fatalf("up succeeded:\n%s", out)
	}
	var se *StepError
	if !errors.As(err, &se) || se.Step != "start agents" || !strings.Contains(err.Error(), "agent-2") || !strings.Contains(err.Error(), "SkuNotAvailable") {
		t.Errorf("error %v, want step start agents failing on agent-2 with SkuNotAvailable", err)
	}
	if !strings.Contains(out, "✗ virtual machine agent-2: SkuNotAvailable") {
		t.Errorf("output does not show the failed VM:\n%s", out)
	}
	if f.count() != 0 || !slices.Equal(f.deleted, []string{"broken"}) {
		t.Errorf("after the rollback: %d resources left, groups deleted %v", f.count(), f.deleted)
	}
	if _, err := os.Stat(filepath.Join(state, "broken")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir left after the rollback: %v", err)
	}
}

func TestAzureDownDeletesTheGroupAfterConfirmation(t *testing.T) {
	f := newFakeAzure()
	f.install(t)
	state := t.TempDir()
	// The subscription comes from the environment at up, and is gone at down.
	settings := testAzureSettings(t)
	delete(settings, "subscription")
	t.Setenv("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000009")
	if _, out, err := upAzure(t, azureSpec("gone", 1, 1, settings), state); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	t.Setenv("AZURE_SUBSCRIPTION_ID", "")
	down := func(yes bool, answer string) (string, error) {
		var out bytes.Buffer
		err := Down(context.Background(), DownOptions{Name: "gone", StateDir: state, Out: &out, Yes: yes, In: strings.NewReader(answer)})
		return out.String(), err
	}
	out, err := down(false, "no\n")
	if err == nil || f.count() == 0 || !strings.Contains(out, `resource group "gone"`) {
		t.Fatalf("down answered no: %v, %d resources left:\n%s", err, f.count(), out)
	}
	if _, err := LoadCluster(state, "gone"); err != nil {
		t.Errorf("state lost on a refused down: %v", err)
	}
	if out, err = down(false, "yes\n"); err != nil {
		t.Fatalf("down answered yes: %v\n%s", err, out)
	}
	if f.count() != 0 || !slices.Equal(f.deleted, []string{"gone"}) {
		t.Errorf("after down: %d resources left, groups deleted %v", f.count(), f.deleted)
	}
	if !strings.Contains(out, "- resource group gone deleted") {
		t.Errorf("down does not say the group was deleted:\n%s", out)
	}
	// Destroy of a deleted group is fine.
	p, _ := NewProvider("azure", testAzureSettings(t))
	if err := p.Destroy(context.Background(), &Cluster{Name: "gone"}); err != nil {
		t.Errorf("Destroy of a deleted group: %v", err)
	}
}

func TestAzureForeignGroupIsNeitherAdoptedNorDeleted(t *testing.T) {
	f := newFakeAzure()
	f.install(t)
	f.resources[fakeKey("group", "shared", "")] = armresources.ResourceGroup{Name: to.Ptr("shared"), Tags: map[string]*string{"team": to.Ptr("db")}}
	_, out, err := upAzure(t, azureSpec("shared", 1, 0, testAzureSettings(t)), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "is not cluster") {
		t.Fatalf("up into a foreign group: %v\n%s", err, out)
	}
	p, _ := NewProvider("azure", testAzureSettings(t))
	if err := p.Destroy(context.Background(), &Cluster{Name: "shared"}); err == nil {
		t.Error("Destroy deleted a foreign group")
	}
	if f.count() != 1 || len(f.deleted) != 0 {
		t.Errorf("foreign group touched: %d resources, deleted %v", f.count(), f.deleted)
	}
}

func TestAzureDryRunGolden(t *testing.T) {
	tests := []struct {
		golden string
		spec   *Spec
	}{
		{"azure-dry-run.golden", azureSpec("demo", 3, 3, map[string]string{"subscription": "00000000-0000-0000-0000-000000000001"})},
		{"azure-dry-run-zones.golden", &Spec{
			Name: "prod", Masters: 5,
			Agents: AgentGroups{{Count: 2, Attributes: "rack:r1"}, {Count: 1, Resources: "cpus:8;mem:30000"}},
			Provider: ProviderSpec{Name: "azure", Settings: map[string]string{
				"subscription": "00000000-0000-0000-0000-000000000002", "location": "northeurope",
				"resource-group": "marina-prod", "zones": "1,2,3", "public-ip": "masters",
				"allow-from": "198.51.100.7,203.0.113.0/28", "master-size": "Standard_D4s_v5",
				"agent-size": "Standard_E8s_v5", "os-disk-gb": "128", "os-disk-type": "Premium_LRS",
				"address-space": "10.8.0.0/16", "subnet": "10.8.4.0/22", "binary-url": secretURL,
			}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			f := newFakeAzure()
			f.install(t)
			state := filepath.Join(t.TempDir(), "state")
			var out bytes.Buffer
			if _, err := Up(context.Background(), UpOptions{Spec: tt.spec, StateDir: state, Out: &out, DryRun: true}); err != nil {
				t.Fatalf("dry run: %v", err)
			}
			if len(f.attempts) != 0 || f.count() != 0 {
				t.Errorf("a dry run called Azure: %v", f.attempts)
			}
			if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a dry run made the state dir: %v", err)
			}
			if strings.Contains(out.String(), "SECRET-SAS-TOKEN") {
				t.Error("the dry run shows the binary URL")
			}
			golden := filepath.Join("testdata", tt.golden)
			if *updateGolden {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if out.String() != string(want) {
				t.Errorf("dry run output differs from %s (run with -update to accept):\n%s", golden, out.String())
			}
		})
	}
}

func TestAzureCloudInit(t *testing.T) {
	a, err := NewAzure(testAzureSettings(t, "binary-sha256", strings.Repeat("ab", 32)))
	if err != nil {
		t.Fatal(err)
	}
	spec := azureSpec("ci", 3, 1, nil)
	spec.Agents[0].Attributes = "rack:r1;zone:a"
	spec.Default()
	c := &Cluster{Name: "ci", Spec: *spec, Dir: t.TempDir()}
	if err := a.Plan(c); err != nil {
		t.Fatal(err)
	}
	if err := a.Configure(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		ud, err := a.userData(c, n)
		if err != nil {
			t.Fatal(err)
		}
		ci, err := cloudinit.Parse(ud)
		if err != nil {
			t.Fatalf("%s: %v\n%s", n.Name, err, ud)
		}
		unitFile := "/etc/systemd/system/" + unitName(c, n)
		wantCmds := [][]string{{azureInstaller}, {"systemctl", "daemon-reload"}, {"systemctl", "enable", "--now", unitName(c, n)}}
		if !slices.EqualFunc(ci.Commands, wantCmds, slices.Equal) {
			t.Errorf("%s: commands %q", n.Name, ci.Commands)
		}
		if !slices.Contains(ci.Packages, "curl") {
			t.Errorf("%s: packages %q", n.Name, ci.Packages)
		}
		url := ci.File(azureURLFile)
		if url == nil || url.Mode != 0o600 || strings.TrimSpace(string(url.Content)) != secretURL {
			t.Errorf("%s: URL file %+v", n.Name, url)
		}
		inst := ci.File(azureInstaller)
		if inst == nil || inst.Mode != 0o700 || !strings.Contains(string(inst.Content), strings.Repeat("ab", 32)) ||
			strings.Contains(string(inst.Content), "SECRET") || strings.Contains(string(inst.Content), "set -x") {
			t.Errorf("%s: installer %+v", n.Name, inst)
		}
		// The credentials Configure generated, the key readable by root only.
		for file, mode := range map[string]os.FileMode{NodeTokenFile: 0o600, NodeKeyFile: 0o600, NodeCAFile: 0o644, NodeCertFile: 0o644} {
			got := ci.File(filepath.Join(azureRemote(c).credentials(n.Name), file))
			want, err := os.ReadFile(filepath.Join(c.Credentials.NodeDir(n.Name), file))
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.Mode != mode || !bytes.Equal(got.Content, want) {
				t.Errorf("%s: %s not written as generated with mode %o", n.Name, file, mode)
			}
		}
		unit := string(ci.File(unitFile).Content)
		want := `ExecStart="/var/lib/marina/ci/bin/marina" "` + string(n.Role) + `"`
		if !strings.Contains(unit, want) || !strings.Contains(unit, "StandardOutput=append:/var/lib/marina/ci/logs/"+n.Name+".log") ||
			!strings.Contains(unit, `"--auth-token-file" "/var/lib/marina/ci/credentials/`+n.Name+`/token"`) {
			t.Errorf("%s: unit\n%s", n.Name, unit)
		}
		if n.Role == RoleAgent {
			for _, w := range []string{`"--attributes" "rack:r1;zone:a"`, `"--master" "https://10.42.1.4:5050,https://10.42.1.5:5050,https://10.42.1.6:5050"`, "KillMode=process"} {
				if !strings.Contains(unit, w) {
					t.Errorf("agent unit lacks %s:\n%s", w, unit)
				}
			}
		}
	}
}

func TestAzureSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		want     string // in the error; "" for none
	}{
		{"defaults", nil, ""},
		{"unknown", map[string]string{"colour": "blue"}, "unknown setting of the azure provider"},
		{"public ip", map[string]string{"public-ip": "agents"}, "want none, masters or all"},
		{"allow-from", map[string]string{"allow-from": "everyone"}, "not an IPv4 address or CIDR"},
		{"zones", map[string]string{"zones": "1,4"}, `zone "4"`},
		{"subnet outside", map[string]string{"address-space": "10.1.0.0/16", "subnet": "10.2.0.0/24"}, "not inside address-space"},
		{"subnet tiny", map[string]string{"subnet": "10.42.1.0/29"}, "too small"},
		{"http url", map[string]string{"binary-url": "http://x/secret"}, "want an https URL"},
		{"image", map[string]string{"image": "Debian:debian-12"}, "publisher:offer:sku:version"},
		{"disk", map[string]string{"os-disk-gb": "10"}, "30 to 4095"},
		{"sha", map[string]string{"binary-sha256": "abc"}, "not a SHA-256"},
		{"size", map[string]string{"master-size": "big one"}, "not a VM size"},
		{"user", map[string]string{"admin-user": "Root!"}, "not a Linux user name"},
		{"group", map[string]string{"resource-group": "bad/name"}, "not a resource group name"},
		{"blob with a SAS", map[string]string{"binary-blob": "https://a.blob.core.windows.net/c/marina?sig=secret"}, "without a SAS"},
		{"identity", map[string]string{"identity": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/x"}, "not the resource id of a user-assigned managed identity"},
		{"blob and identity", map[string]string{"binary-blob": testBlob, "identity": testIdentity}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAzure(tt.settings)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("NewAzure: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("NewAzure: %v, want an error with %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("the error repeats the binary URL: %v", err)
			}
		})
	}
}

func TestAzurePreflight(t *testing.T) {
	f := newFakeAzure()
	tests := []struct {
		name     string
		settings map[string]string
		want     []string
	}{
		{"public IPs need allow-from", testAzureSettings(t, "public-ip", "all"), []string{"public-ip needs allow-from"}},
		{"no binary, no key", map[string]string{"subscription": "s", "ssh-key": "/nonexistent.pub"}, []string{"no binary-url", "no ssh public key"}},
		{"no subscription", map[string]string{"binary-url": secretURL, "ssh-key": testAzureSettings(t)["ssh-key"]}, []string{"no subscription"}},
		{"blob without identity", testAzureSettings(t, "binary-url", "", "binary-blob", testBlob), []string{"binary-blob needs identity"}},
		{"url and blob", testAzureSettings(t, "binary-blob", testBlob, "identity", testIdentity), []string{"both set"}},
	}
	t.Setenv("AZURE_SUBSCRIPTION_ID", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAzure(tt.settings)
			if err != nil {
				t.Fatal(err)
			}
			f.attach(a)
			c := &Cluster{Name: "pre", Spec: *azureSpec("pre", 1, 1, tt.settings)}
			if err := a.Plan(c); err != nil {
				t.Fatal(err)
			}
			err = a.Preflight(context.Background(), c)
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Preflight: %v, want %q", err, w)
				}
			}
		})
	}
	if len(f.attempts) != 0 {
		t.Errorf("a failed preflight made resources: %v", f.attempts)
	}
}

func TestRunCommandStdout(t *testing.T) {
	for msg, want := range map[string][]string{
		"Enable succeeded: \n[stdout]\na\nb\n\n[stderr]\nwarn\n": {"a", "b"},
		"Enable succeeded: \n[stdout]\n\n[stderr]\n":             nil,
		"plain\n": {"plain"},
	} {
		if got := runCommandStdout(msg); !slices.Equal(got, want) {
			t.Errorf("runCommandStdout(%q) = %q, want %q", msg, got, want)
		}
	}
}

// certCovers reports whether the PEM certificate at path is valid for every one of ips.
func certCovers(t *testing.T, path string, ips ...string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range ips {
		if cert.VerifyHostname(ip) != nil {
			return false
		}
	}
	return true
}

func TestAzureCloudInitReadsABlobWithAManagedIdentity(t *testing.T) {
	a, err := NewAzure(testAzureSettings(t, "binary-url", "", "binary-blob", testBlob, "identity", testIdentity))
	if err != nil {
		t.Fatal(err)
	}
	spec := azureSpec("blob", 1, 0, nil)
	spec.Default()
	c := &Cluster{Name: "blob", Spec: *spec, Dir: t.TempDir()}
	if err := a.Plan(c); err != nil {
		t.Fatal(err)
	}
	if err := a.Configure(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	n := c.Masters()[0]
	ud, err := a.userData(c, n)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := cloudinit.Parse(ud)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(ci.File(azureURLFile).Content)); got != testBlob {
		t.Errorf("URL file %q", got)
	}
	inst := string(ci.File(azureInstaller).Content)
	for _, want := range []string{"identity=\"" + testIdentity + "\"", "169.254.169.254/metadata/identity/oauth2/token", "resource=https://storage.azure.com/", `"$@" -o "$tmp" "$url"`} {
		if !strings.Contains(inst, want) {
			t.Errorf("installer lacks %s:\n%s", want, inst)
		}
	}
	vm := a.vm(c, n, "ssh-ed25519 AAAA", ud)
	if vm.Identity == nil || *vm.Identity.Type != armcompute.ResourceIdentityTypeUserAssigned || vm.Identity.UserAssignedIdentities[testIdentity] == nil {
		t.Errorf("VM identity %+v", vm.Identity)
	}
	var out bytes.Buffer
	if err := a.PrintPlan(&out, c); err != nil || !strings.Contains(out.String(), testBlob+", read with managed identity marina-nodes") {
		t.Errorf("plan: %v\n%s", err, out.String())
	}
}
