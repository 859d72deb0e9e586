package cluster

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/marina-dcos/marina/internal/pki"
)

// Credentials locates a cluster's generated credentials: its API token and its CA. They live
// under the cluster's directory, with each node's own files in a directory of their own.
type Credentials struct {
	// TokenFile holds the bearer token every API call must carry (mode 0600).
	TokenFile string `json:"token_file"`
	// CAFile is the cluster CA's certificate: what clients trust.
	CAFile string `json:"ca_file"`
	// CAKeyFile is the CA's private key (mode 0600). It stays on the machine that ran up, to
	// issue certificates for nodes added later; nodes never get it.
	CAKeyFile string `json:"ca_key_file"`
	// NodesDir holds one directory per node, named after the node, with what that node needs:
	// see NodeDir.
	NodesDir string `json:"nodes_dir"`
}

// The files of a node's credentials directory (NodeDir).
const (
	NodeTokenFile = "token"        // the cluster's API token, mode 0600
	NodeCAFile    = "ca.pem"       // the cluster CA's certificate
	NodeCertFile  = "node.pem"     // the node's certificate, server and client
	NodeKeyFile   = "node-key.pem" // its private key, mode 0600
)

// tokenBytes is the entropy of a generated token.
const tokenBytes = 32

// NeedsCredentials reports whether any node of c has an address beyond loopback: such a
// cluster must have credentials (nodes refuse to listen beyond loopback without a token).
func NeedsCredentials(c *Cluster) bool {
	for _, n := range c.Nodes {
		ip, err := netip.ParseAddr(n.IP)
		if err != nil || !ip.IsLoopback() {
			return true
		}
	}
	return false
}

// GenerateCredentials gives cluster c an API token and a CA, and issues every node a
// certificate. Providers call it in Configure for any cluster that is not loopback-only (see
// NeedsCredentials), once every node's address is known, and then pass each node NodeArgs.
//
// It writes, under c.Dir:
//
//	token                    the API token (0600); the CLI finds it there too
//	ca.pem, ca-key.pem       the cluster CA (ECDSA P-256); the key (0600) never leaves c.Dir
//	nodes/<node name>/       one directory per node, all that node needs and nothing else:
//	    token, ca.pem, node.pem, node-key.pem (0600)
//
// A node's certificate is valid as server and as client certificate (mutual TLS between nodes)
// for the node's IP address, its name and the loopback addresses (its etcd client port binds
// to loopback). An existing token and CA are kept, so that clients and nodes of a cluster whose
// configuration is generated again keep working; node certificates are issued afresh each
// time, for the nodes' current addresses.
//
// It records the files in c.Credentials and turns every node URL and endpoint into https: the
// cluster's listeners serve TLS. Up then writes the client config entry with token_file,
// ca_file and the https endpoints, so that the CLI needs no extra flags. Anything that probes
// the nodes must trust the CA (Credentials.ClientTLS) and send the token (Credentials.Token).
func GenerateCredentials(c *Cluster, now time.Time) (*Credentials, error) {
	if c.Dir == "" {
		return nil, errors.New("credentials: the cluster has no directory")
	}
	cr := &Credentials{
		TokenFile: filepath.Join(c.Dir, "token"),
		CAFile:    filepath.Join(c.Dir, "ca.pem"),
		CAKeyFile: filepath.Join(c.Dir, "ca-key.pem"),
		NodesDir:  filepath.Join(c.Dir, "nodes"),
	}
	token, err := cr.ensureToken()
	if err != nil {
		return nil, err
	}
	ca, err := cr.ensureCA(c.Name, now)
	if err != nil {
		return nil, err
	}
	for _, n := range c.Nodes {
		if err := cr.issueNode(ca, token, n, now); err != nil {
			return nil, err
		}
	}
	c.Credentials = cr
	for _, n := range c.Nodes {
		n.URL = httpsURL(n.URL)
	}
	c.Endpoints.Master = httpsURL(c.Endpoints.Master)
	c.Endpoints.Services = httpsURL(c.Endpoints.Services)
	for i, u := range c.Endpoints.Masters {
		c.Endpoints.Masters[i] = httpsURL(u)
	}
	return cr, nil
}

// NodeDir returns the directory of node name's credentials on this machine. A provider that
// runs nodes elsewhere copies or mounts it there.
func (cr *Credentials) NodeDir(name string) string { return filepath.Join(cr.NodesDir, name) }

// NodeArgs returns the flags of `marina master` and `marina agent` that make a node use the
// credentials in dir: NodeDir(name) for a node on this machine, or wherever a provider put that
// directory's files on the node.
func NodeArgs(dir string) []string {
	return []string{
		"--auth-token-file", filepath.Join(dir, NodeTokenFile),
		"--tls-cert", filepath.Join(dir, NodeCertFile),
		"--tls-key", filepath.Join(dir, NodeKeyFile),
		"--tls-ca", filepath.Join(dir, NodeCAFile),
	}
}

// Token reads the cluster's API token.
func (cr *Credentials) Token() (string, error) {
	b, err := os.ReadFile(cr.TokenFile)
	if err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ClientTLS returns a client TLS configuration that trusts the cluster CA only.
func (cr *Credentials) ClientTLS() (*tls.Config, error) { return pki.ClientConfig(cr.CAFile) }

// ensureToken reads the token file, or writes a new random token to it.
func (cr *Credentials) ensureToken() (string, error) {
	if tok, err := cr.Token(); err == nil && tok != "" {
		return tok, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("credentials: token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	if err := writeAtomic(cr.TokenFile, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	return tok, nil
}

// ensureCA loads the CA, or makes and writes a new one.
func (cr *Credentials) ensureCA(name string, now time.Time) (*pki.CA, error) {
	ca, err := pki.LoadCA(cr.CAFile, cr.CAKeyFile)
	if err == nil {
		return ca, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if ca, err = pki.NewCA("marina cluster "+name, now); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if err := ca.Write(cr.CAFile, cr.CAKeyFile); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return ca, nil
}

// issueNode fills node n's credentials directory.
func (cr *Credentials) issueNode(ca *pki.CA, token string, n *Node, now time.Time) error {
	ip := net.ParseIP(n.IP)
	if ip == nil {
		return &NodeError{Node: n.Name, Err: fmt.Errorf("credentials: address %q is not an IP address", n.IP)}
	}
	ips := []net.IP{ip}
	for _, lo := range []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} {
		if !lo.Equal(ip) {
			ips = append(ips, lo)
		}
	}
	if pub := net.ParseIP(n.PublicIP); pub != nil {
		ips = append(ips, pub)
	}
	kp, err := ca.Issue(pki.Request{CommonName: n.Name, IPs: ips, DNSNames: []string{n.Name, "localhost"}}, now)
	if err != nil {
		return &NodeError{Node: n.Name, Err: fmt.Errorf("credentials: %w", err)}
	}
	dir := cr.NodeDir(n.Name)
	if err := kp.Write(filepath.Join(dir, NodeCertFile), filepath.Join(dir, NodeKeyFile)); err != nil {
		return &NodeError{Node: n.Name, Err: fmt.Errorf("credentials: %w", err)}
	}
	for file, data := range map[string][]byte{
		NodeCAFile:    ca.CertPEM(),
		NodeTokenFile: []byte(token + "\n"),
	} {
		if err := writeAtomic(filepath.Join(dir, file), data, 0o600); err != nil {
			return &NodeError{Node: n.Name, Err: fmt.Errorf("credentials: %w", err)}
		}
	}
	return nil
}

// httpsURL turns an http URL into https; others are returned unchanged.
func httpsURL(u string) string {
	if rest, ok := strings.CutPrefix(u, "http://"); ok {
		return "https://" + rest
	}
	return u
}

// applyTo records the credentials in a client config entry: the token and CA files, and https
// endpoints.
func (cr *Credentials) applyTo(cc *ClusterContext) {
	cc.TokenFile = cr.TokenFile
	cc.CAFile = cr.CAFile
	cc.Master = httpsURL(cc.Master)
	cc.Services = httpsURL(cc.Services)
	masters := make([]string, len(cc.Masters))
	for i, u := range cc.Masters {
		masters[i] = httpsURL(u)
	}
	cc.Masters = masters
}
