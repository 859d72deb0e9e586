package cluster

import (
	"slices"
	"testing"
	"time"
)

// TestNodeArgsOfEveryProvider pins the whole command line and the ports each provider gives a
// master and an agent of one spec, so that a flag or port one provider gives and another lacks
// shows here.
func TestNodeArgsOfEveryProvider(t *testing.T) {
	const (
		resources = "cpus:1;mem:512;ports:[40000-40010]"
		attrs     = "rack:r1;zone:a"
	)
	fast := []string{"--etcd-heartbeat-ms", "50", "--etcd-election-ms", "500", "--leader-ttl", "1s"}
	master := func(ip, workDir string, extra ...string) []string {
		return append([]string{"master", "--ip", ip, "--port", "5050", "--masters", ip, "--work-dir", workDir,
			"--etcd-client-port", "2379", "--etcd-peer-port", "2380", "--services-port", "8080"}, extra...)
	}
	agent := func(ip, masterURL, workDir string, extra ...string) []string {
		return append([]string{"agent", "--listen", ip + ":5051", "--hostname", ip, "--master", masterURL, "--work-dir", workDir,
			"--resources", resources, "--attributes", attrs}, extra...)
	}
	sshKey := writeKey(t)
	dockerDir, localDir, sshDir, azureDir := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	tests := []struct {
		name     string
		provider func() (Provider, error)
		settings map[string]string
		dir      string
		// configure sets the nodes' command lines as the provider's Configure does; nil: Configure.
		configure             func(p Provider, c *Cluster) error
		wantMaster, wantAgent []string
		// wantMasterPorts are the ports a master listens on beyond loopback, which Preflight
		// checks are free and down waits to see closed.
		wantMasterPorts []int
	}{
		{
			name:            "local",
			provider:        func() (Provider, error) { return NewLocal(map[string]string{"binary": "/bin/true"}) },
			dir:             localDir,
			wantMaster:      master("127.0.0.2", localDir+"/nodes/master-1", fast...),
			wantAgent:       agent("127.0.0.11", "http://127.0.0.2:5050", localDir+"/nodes/agent-1"),
			wantMasterPorts: []int{5050, 2379, 2380, 8080},
		},
		{
			name:     "docker",
			provider: func() (Provider, error) { return NewDocker(map[string]string{"binary": "/bin/true"}) },
			settings: map[string]string{"subnet": "10.99.6.0/24"},
			dir:      dockerDir,
			wantMaster: master("10.99.6.2", dockerDir+"/nodes/master-1",
				append(fast, NodeArgs(dockerDir+"/nodes/master-1")...)...),
			wantAgent: agent("10.99.6.11", "https://10.99.6.2:5050", dockerDir+"/nodes/agent-1",
				append([]string{"--docker-published-at", "10.99.6.1"}, NodeArgs(dockerDir+"/nodes/agent-1")...)...),
			// etcd's client port is on the container's loopback.
			wantMasterPorts: []int{5050, 2380, 8080},
		},
		{
			name: "ssh",
			provider: func() (Provider, error) {
				return NewSSH(map[string]string{"masters": "10.0.0.1", "agents": "10.0.0.5",
					"identity_file": sshKey, "insecure_ignore_host_key": "true", "binary": "/bin/true"})
			},
			dir: sshDir,
			// Configure uploads the credentials to the hosts: set the command lines as it does.
			configure: func(p Provider, c *Cluster) error {
				if _, err := GenerateCredentials(c, time.Now()); err != nil {
					return err
				}
				setNodeArgs(c, p.(*SSH).nodeCommand(c))
				return nil
			},
			wantMaster: master("10.0.0.1", "/var/lib/marina/args/nodes/master-1",
				NodeArgs("/var/lib/marina/args/credentials/master-1")...),
			wantAgent: agent("10.0.0.5", "https://10.0.0.1:5050", "/var/lib/marina/args/nodes/agent-1",
				NodeArgs("/var/lib/marina/args/credentials/agent-1")...),
			wantMasterPorts: []int{5050, 2379, 2380, 8080},
		},
		{
			name:     "azure",
			provider: func() (Provider, error) { return NewAzure(testAzureSettings(t)) },
			dir:      azureDir,
			wantMaster: master("10.42.1.4", "/var/lib/marina/args/nodes/master-1",
				NodeArgs("/var/lib/marina/args/credentials/master-1")...),
			wantAgent: agent("10.42.1.10", "https://10.42.1.4:5050", "/var/lib/marina/args/nodes/agent-1",
				NodeArgs("/var/lib/marina/args/credentials/agent-1")...),
			wantMasterPorts: []int{5050, 2379, 2380, 8080},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.provider()
			if err != nil {
				t.Fatal(err)
			}
			if cl, ok := p.(interface{ Close() error }); ok {
				defer cl.Close()
			}
			spec := Spec{Name: "args", Masters: 1, Agents: AgentGroups{{Count: 1, Resources: resources, Attributes: attrs}},
				Provider: ProviderSpec{Name: tt.name, Settings: tt.settings}}
			spec.Default()
			c := &Cluster{Name: spec.Name, Spec: spec, Dir: tt.dir}
			if err := p.Plan(c); err != nil {
				t.Fatal(err)
			}
			if tt.configure != nil {
				err = tt.configure(p, c)
			} else {
				err = p.Configure(t.Context(), c)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Masters()[0].Args; !slices.Equal(got, tt.wantMaster) {
				t.Errorf("master args\n got %q\nwant %q", got, tt.wantMaster)
			}
			if got := c.Agents()[0].Args; !slices.Equal(got, tt.wantAgent) {
				t.Errorf("agent args\n got %q\nwant %q", got, tt.wantAgent)
			}
			if got := c.Masters()[0].Ports; !slices.Equal(got, tt.wantMasterPorts) {
				t.Errorf("master ports %v, want %v", got, tt.wantMasterPorts)
			}
			if got := c.Agents()[0].Ports; !slices.Equal(got, []int{5051}) {
				t.Errorf("agent ports %v, want [5051]", got)
			}
		})
	}
}
