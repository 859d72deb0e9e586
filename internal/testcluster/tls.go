package testcluster

import (
	"crypto/tls"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/marina-dcos/marina/internal/pki"
)

// clusterPKI is a test cluster's CA and the files it issued (Options.TLS).
type clusterPKI struct {
	dir    string
	ca     *pki.CA
	caFile string
	client *http.Client // trusts the CA
}

func newClusterPKI(dir string) (*clusterPKI, error) {
	ca, err := pki.NewCA("testcluster", time.Now())
	if err != nil {
		return nil, err
	}
	p := &clusterPKI{dir: filepath.Join(dir, "pki"), ca: ca}
	p.caFile = filepath.Join(p.dir, "ca.pem")
	if err := ca.Write(p.caFile, filepath.Join(p.dir, "ca-key.pem")); err != nil {
		return nil, err
	}
	p.client = &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ca.Pool()}},
		Timeout:   10 * time.Second,
	}
	return p, nil
}

// issue writes a certificate for a node at ip (and loopback) and returns the node's files.
func (p *clusterPKI) issue(name, ip string) (pki.Files, error) {
	kp, err := p.ca.Issue(pki.Request{
		CommonName: name,
		IPs:        []net.IP{net.ParseIP(ip), net.IPv4(127, 0, 0, 1)},
		DNSNames:   []string{"localhost"},
	}, time.Now())
	if err != nil {
		return pki.Files{}, err
	}
	f := pki.Files{Cert: filepath.Join(p.dir, name+".pem"), Key: filepath.Join(p.dir, name+"-key.pem"), CA: p.caFile}
	if err := kp.Write(f.Cert, f.Key); err != nil {
		return pki.Files{}, err
	}
	return f, nil
}

// scheme is the scheme of the cluster's URLs.
func (c *Cluster) scheme() string {
	if c.opts.TLS {
		return "https"
	}
	return "http"
}

// CAFile returns the cluster CA's certificate file under Options.TLS, else "".
func (c *Cluster) CAFile() string {
	if c.pki == nil {
		return ""
	}
	return c.pki.caFile
}

// ClientTLS returns a client TLS config that trusts the cluster CA (and presents no
// certificate, as a person's client), or nil without Options.TLS.
func (c *Cluster) ClientTLS() *tls.Config {
	if c.pki == nil {
		return nil
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: c.pki.ca.Pool()}
}

// httpClient reaches the cluster's listeners.
func (c *Cluster) httpClient() *http.Client {
	if c.pki == nil {
		return http.DefaultClient
	}
	return c.pki.client
}

// nodeTLS issues node name's certificate, failing the test on error.
func (c *Cluster) nodeTLS(name, ip string) pki.Files {
	c.t.Helper()
	if c.pki == nil {
		return pki.Files{}
	}
	f, err := c.pki.issue(name, ip)
	if err != nil {
		c.t.Fatalf("testcluster: certificate for %s: %v", name, err)
	}
	return f
}
