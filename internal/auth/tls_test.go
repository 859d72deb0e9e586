package auth_test

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/auth"
	"github.com/marina-dcos/marina/internal/pki"
)

// TestTLS: under TLS the session cookie is Secure, and node-only paths need a node certificate.
func TestTLS(t *testing.T) {
	ca, err := pki.NewCA("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	issue := func(name string) *pki.Node {
		kp, err := ca.Issue(pki.Request{CommonName: name, IPs: []net.IP{net.ParseIP("127.0.0.1")}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return pki.NewNode(ca, kp)
	}
	a := auth.New(auth.Config{Token: token, NodeOnly: []string{"/api/v1/agent"}})
	srv := httptest.NewUnstartedServer(a.Wrap(ok))
	srv.TLS = issue("server").ServerConfig()
	srv.StartTLS()
	defer srv.Close()

	client := func(cfg *tls.Config) *http.Client {
		hc := &http.Client{
			Transport:     &http.Transport{TLSClientConfig: cfg},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		t.Cleanup(hc.CloseIdleConnections)
		return hc
	}
	person := client(&tls.Config{RootCAs: ca.Pool()})
	node := client(issue("agent").ClientConfig())

	form := url.Values{"token": {token}}.Encode()
	req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	resp, err := person.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(c) != 1 || !c[0].Secure {
		t.Fatalf("login over TLS: %s, cookies %v", resp.Status, c)
	}

	tests := []struct {
		name   string
		client *http.Client
		path   string
		want   int
	}{
		{"person, API", person, "/master/state", 200},
		{"person, node-only path", person, "/api/v1/agent", 403},
		{"node, node-only path", node, "/api/v1/agent", 200},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := tt.client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %s, want %d", tt.name, resp.Status, tt.want)
		}
	}
}
