package master

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/agentsim"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
)

// testTLS returns a server config with a self-signed certificate for 127.0.0.1 and a client
// config trusting it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "marina test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, NextProtos: []string{"h2", "http/1.1"}}
	return server, &tls.Config{RootCAs: pool}
}

// TestTLS: over TLS (HTTP/2 for the simulated agents) the master serves agents and schedulers.
func TestTLS(t *testing.T) {
	e := startEtcd(t, 1)
	srvTLS, cliTLS := testTLS(t)
	m := startMaster(t, e[0], "master", func(c *Config) { c.TLSConfig = srvTLS })
	waitLeader(t, m)
	if m.URL()[:8] != "https://" {
		t.Fatalf("URL %s", m.URL())
	}
	sim := startSim(t, 2, "", func(c *agentsim.Config) { c.TLSConfig = cliTLS }, m)
	hc := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: cliTLS, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := scheduler.New(scheduler.Config{Masters: []string{m.URL()}, HTTPClient: hc,
		Framework: mesos.FrameworkInfo{User: "root", Name: "tls", FailoverTimeout: failover(60)}})
	s := resubscribe(t, c)
	o := next(t, s, isType(mesos.EventOffers)).Offers.Offers[0]
	if err := s.Launch(t.Context(), o.ID, newTaskInfo("t", o, "cpus:1")); err != nil {
		t.Fatal(err)
	}
	next(t, s, ackingUpdate(t, s, "t", mesos.TaskRunning))
	if sim.Tasks() != 1 {
		t.Fatalf("sim runs %d tasks", sim.Tasks())
	}
	checkAccounting(t, m)
}
