package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/pki"
)

var loopback = []net.IP{net.ParseIP("127.0.0.1")}

func newCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("test cluster", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestIssue(t *testing.T) {
	ca := newCA(t)
	tests := []struct {
		name    string
		req     pki.Request
		wantErr bool
	}{
		{"ip", pki.Request{CommonName: "master-1", IPs: loopback}, false},
		{"dns", pki.Request{CommonName: "agent-1", DNSNames: []string{"agent-1.marina"}}, false},
		{"both", pki.Request{CommonName: "m", IPs: []net.IP{net.ParseIP("10.0.0.5"), net.ParseIP("::1")}, DNSNames: []string{"localhost"}}, false},
		{"no name", pki.Request{IPs: loopback}, true},
		{"no address", pki.Request{CommonName: "x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kp, err := ca.Issue(tt.req, time.Now())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Issue: %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				if _, err := kp.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
					t.Errorf("usage %v: %v", usage, err)
				}
			}
			for _, ip := range tt.req.IPs {
				if err := kp.Cert.VerifyHostname(ip.String()); err != nil {
					t.Error(err)
				}
			}
			for _, name := range tt.req.DNSNames {
				if err := kp.Cert.VerifyHostname(name); err != nil {
					t.Error(err)
				}
			}
			if kp.Cert.IsCA {
				t.Error("a node certificate is a CA")
			}
			if kp.Cert.NotAfter.After(ca.Cert.NotAfter) {
				t.Error("the certificate outlives its CA")
			}
		})
	}
}

// TestFiles writes a CA and a node's pair, checks their modes and reads them back.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	f := pki.Files{Cert: filepath.Join(dir, "node.pem"), Key: filepath.Join(dir, "node-key.pem"), CA: filepath.Join(dir, "ca.pem")}
	caKey := filepath.Join(dir, "ca-key.pem")
	if err := ca.Write(f.CA, caKey); err != nil {
		t.Fatal(err)
	}
	kp, err := ca.Issue(pki.Request{CommonName: "n", IPs: loopback}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := kp.Write(f.Cert, f.Key); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]os.FileMode{f.Cert: 0o644, f.Key: 0o600, f.CA: 0o644, caKey: 0o600} {
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(file), fi.Mode().Perm(), want)
		}
	}
	back, err := pki.LoadCA(f.CA, caKey)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Cert.Equal(ca.Cert) || !back.Key.Equal(ca.Key) {
		t.Fatal("the CA read back differs")
	}
	if _, err := f.Load(); err != nil {
		t.Fatal(err)
	}

	other := newCA(t)
	otherCA := filepath.Join(dir, "other.pem")
	if err := other.Write(otherCA, filepath.Join(dir, "other-key.pem")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f.Key, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Load(); !errors.Is(err, pki.ErrKeyExposed) {
		t.Errorf("a group-readable key: %v, want ErrKeyExposed", err)
	}
	if err := os.Chmod(f.Key, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name  string
		files pki.Files
	}{
		{"another CA", pki.Files{Cert: f.Cert, Key: f.Key, CA: otherCA}},
		{"key of another certificate", pki.Files{Cert: f.Cert, Key: caKey, CA: f.CA}},
		{"no key", pki.Files{Cert: f.Cert, CA: f.CA}},
		{"missing file", pki.Files{Cert: f.Cert, Key: f.Key, CA: filepath.Join(dir, "nope.pem")}},
		{"not PEM", pki.Files{Cert: f.Cert, Key: f.Key, CA: f.Key}},
	}
	for _, tt := range bad {
		if _, err := tt.files.Load(); err == nil {
			t.Errorf("%s: loaded", tt.name)
		}
	}
}

// TestMutualTLS serves over a node's ServerConfig and connects as a node, as a client with the
// CA only, as a client that does not know the CA, and as a node of another cluster.
func TestMutualTLS(t *testing.T) {
	ca := newCA(t)
	issue := func(ca *pki.CA, name string) *pki.Node {
		kp, err := ca.Issue(pki.Request{CommonName: name, IPs: loopback}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return pki.NewNode(ca, kp)
	}
	server, client := issue(ca, "server"), issue(ca, "client")
	stranger := issue(newCA(t), "stranger")

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer := "anonymous"
		if pki.PeerVerified(r.TLS) {
			peer = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		fmt.Fprint(w, peer)
	}))
	srv.TLS = server.ServerConfig()
	srv.StartTLS()
	defer srv.Close()

	tests := []struct {
		name    string
		tls     *tls.Config
		want    string
		wantErr bool
	}{
		{"node", client.ClientConfig(), "client", false},
		{"CA only", &tls.Config{RootCAs: ca.Pool()}, "anonymous", false},
		{"system roots", &tls.Config{}, "", true},
		{"node of another cluster", &tls.Config{RootCAs: ca.Pool(), Certificates: stranger.ClientConfig().Certificates}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tt.tls, ForceAttemptHTTP2: true}}
			defer hc.CloseIdleConnections()
			resp, err := hc.Get(srv.URL)
			if tt.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatal("the request succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if string(b) != tt.want {
				t.Fatalf("peer %q, want %q", b, tt.want)
			}
			if resp.ProtoMajor != 2 {
				t.Errorf("protocol %s, want HTTP/2", resp.Proto)
			}
		})
	}
}
