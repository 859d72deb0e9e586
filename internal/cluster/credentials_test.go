package cluster

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/pki"
)

func TestNeedsCredentials(t *testing.T) {
	tests := []struct {
		name string
		ips  []string
		want bool
	}{
		{"loopback", []string{"127.0.0.2", "127.0.0.11"}, false},
		{"ipv6 loopback", []string{"::1"}, false},
		{"private network", []string{"127.0.0.2", "172.30.0.3"}, true},
		{"no address yet", []string{""}, true},
	}
	for _, tt := range tests {
		c := &Cluster{}
		for _, ip := range tt.ips {
			c.Nodes = append(c.Nodes, &Node{IP: ip})
		}
		if got := NeedsCredentials(c); got != tt.want {
			t.Errorf("%s: NeedsCredentials = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func credentialsCluster(t *testing.T) *Cluster {
	state := t.TempDir()
	return &Cluster{
		Name: "prod",
		Dir:  ClusterDir(state, "prod"),
		Nodes: []*Node{
			{Name: "master-1", Role: RoleMaster, IP: "172.30.0.2", URL: "http://172.30.0.2:5050"},
			{Name: "agent-1", Role: RoleAgent, IP: "172.30.0.11", URL: "http://172.30.0.11:5051"},
		},
		Endpoints: Endpoints{
			Master:   "http://172.30.0.2:5050",
			Masters:  []string{"http://172.30.0.2:5050"},
			Services: "http://172.30.0.2:8080",
		},
	}
}

// TestGenerateCredentials checks the files, their modes, the nodes' certificates and the client
// config entry, and that generating again keeps the token and the CA.
func TestGenerateCredentials(t *testing.T) {
	c := credentialsCluster(t)
	cr, err := GenerateCredentials(c, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c.Credentials != cr {
		t.Fatal("the cluster does not record its credentials")
	}
	private := []string{cr.TokenFile, cr.CAKeyFile}
	for _, n := range c.Nodes {
		private = append(private, filepath.Join(cr.NodeDir(n.Name), NodeKeyFile), filepath.Join(cr.NodeDir(n.Name), NodeTokenFile))
	}
	for _, f := range private {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, want owner only", f, fi.Mode().Perm())
		}
	}
	token, err := cr.Token()
	if err != nil || len(token) < 40 {
		t.Fatalf("token %q, %v", token, err)
	}
	ca, err := pki.LoadCA(cr.CAFile, cr.CAKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		dir := cr.NodeDir(n.Name)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if want := []string{NodeCAFile, NodeKeyFile, NodeCertFile, NodeTokenFile}; !slices.Equal(names, want) {
			t.Errorf("%s holds %v, want %v", n.Name, names, want)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, NodeTokenFile)); string(b) != token+"\n" {
			t.Errorf("%s: token %q", n.Name, b)
		}
		// The files NodeArgs names load as a node's TLS identity under the cluster CA.
		args := NodeArgs(dir)
		f := pki.Files{Cert: args[3], Key: args[5], CA: args[7]}
		if _, err := f.Load(); err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		b, _ := os.ReadFile(f.Cert)
		leaf := parseCert(t, b)
		for _, host := range []string{n.IP, "127.0.0.1", "::1", "localhost", n.Name} {
			if err := leaf.VerifyHostname(host); err != nil {
				t.Errorf("%s: %v", n.Name, err)
			}
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s as a client: %v", n.Name, err)
		}
		if n.URL[:8] != "https://" {
			t.Errorf("%s: URL %s", n.Name, n.URL)
		}
	}

	// The client config entry names the files and the https endpoints.
	state := filepath.Dir(c.Dir)
	if err := addToClientConfig(state, c); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadClientConfig(state)
	if err != nil {
		t.Fatal(err)
	}
	cc := cfg.Clusters["prod"]
	want := ClusterContext{
		Masters: []string{"https://172.30.0.2:5050"}, Master: "https://172.30.0.2:5050", Services: "https://172.30.0.2:8080",
		StateFile: filepath.Join(c.Dir, clusterFile), TokenFile: cr.TokenFile, CAFile: cr.CAFile,
	}
	if cc.Master != want.Master || cc.Services != want.Services || !slices.Equal(cc.Masters, want.Masters) ||
		cc.TokenFile != want.TokenFile || cc.CAFile != want.CAFile {
		t.Errorf("client config entry %+v, want %+v", cc, want)
	}

	// Generating again (a new address) keeps the token and CA and reissues the certificates.
	c.Nodes[1].IP = "172.30.0.12"
	if _, err := GenerateCredentials(c, time.Now()); err != nil {
		t.Fatal(err)
	}
	if again, _ := cr.Token(); again != token {
		t.Error("the token changed")
	}
	ca2, err := pki.LoadCA(cr.CAFile, cr.CAKeyFile)
	if err != nil || !ca2.Cert.Equal(ca.Cert) {
		t.Fatalf("the CA changed: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(cr.NodeDir("agent-1"), NodeCertFile))
	if err := parseCert(t, b).VerifyHostname("172.30.0.12"); err != nil {
		t.Error(err)
	}
	if c.Nodes[0].URL != "https://172.30.0.2:5050" {
		t.Errorf("URL %s after a second generation", c.Nodes[0].URL)
	}
}

func TestGenerateCredentialsRefuses(t *testing.T) {
	c := credentialsCluster(t)
	c.Nodes[1].IP = "agent-host"
	if _, err := GenerateCredentials(c, time.Now()); err == nil {
		t.Error("a node without an IP address got a certificate")
	}
	if _, err := GenerateCredentials(&Cluster{Name: "x"}, time.Now()); err == nil {
		t.Error("a cluster without a directory got credentials")
	}
}

func parseCert(t *testing.T, pemBytes []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatal("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
