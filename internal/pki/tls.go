package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// Node is a node's TLS identity: its certificate and key, and the cluster CA it trusts.
type Node struct {
	cert tls.Certificate
	pool *x509.CertPool
}

// Files names a node's PEM files: the flags --tls-cert, --tls-key and --tls-ca.
type Files struct {
	Cert, Key, CA string
}

// Enabled reports whether any file is set.
func (f Files) Enabled() bool { return f.Cert != "" || f.Key != "" || f.CA != "" }

// Load reads the files: all three are needed, and the certificate must chain to the CA.
func (f Files) Load() (*Node, error) {
	if f.Cert == "" || f.Key == "" || f.CA == "" {
		return nil, errors.New("pki: TLS needs a certificate, its key and the cluster CA (--tls-cert, --tls-key, --tls-ca)")
	}
	return LoadNode(f.Cert, f.Key, f.CA)
}

// LoadNode reads a node's certificate, key and CA, and checks that the certificate is one the CA
// issued and that it may serve and connect as a client.
func LoadNode(certFile, keyFile, caFile string) (*Node, error) {
	leaf, err := readCert(certFile)
	if err != nil {
		return nil, err
	}
	key, err := readKey(keyFile)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(leaf.PublicKey) {
		return nil, fmt.Errorf("pki: key %s does not match certificate %s", keyFile, certFile)
	}
	pool, err := ReadPool(caFile)
	if err != nil {
		return nil, err
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:     pool,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return nil, fmt.Errorf("pki: certificate %s is not valid under CA %s: %w", certFile, caFile, err)
	}
	return &Node{cert: tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}, pool: pool}, nil
}

// NewNode returns the identity of an issued key pair under ca, without files: for tests.
func NewNode(ca *CA, kp *KeyPair) *Node {
	return &Node{
		cert: tls.Certificate{Certificate: [][]byte{kp.Cert.Raw}, PrivateKey: kp.Key, Leaf: kp.Cert},
		pool: ca.Pool(),
	}
}

// ServerConfig is for a node's listeners: it serves the node's certificate and verifies a client
// certificate against the cluster CA when one is presented (nodes present theirs; people's
// clients and browsers need not, and authenticate with the token). A certificate the CA did
// not issue fails the handshake.
func (n *Node) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{n.cert},
		ClientCAs:    n.pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// ClientConfig is for a node's calls to other nodes: it trusts only the cluster CA and presents
// the node's certificate.
func (n *Node) ClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		RootCAs:      n.pool,
		Certificates: []tls.Certificate{n.cert},
	}
}

// Pool returns the cluster CA as a pool.
func (n *Node) Pool() *x509.CertPool { return n.pool }

// ClientConfig returns a client configuration that trusts only the CAs in caFile: what the CLI
// and other API clients use to reach a cluster.
func ClientConfig(caFile string) (*tls.Config, error) {
	pool, err := ReadPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}

// PeerVerified reports whether a connection's client presented a certificate that the server
// verified against its CA: a node of the cluster, under ServerConfig.
func PeerVerified(cs *tls.ConnectionState) bool {
	return cs != nil && len(cs.VerifiedChains) > 0
}
