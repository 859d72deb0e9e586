package node

import (
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/pki"
)

// TestCoordConfigTLS: with TLS files, a master's etcd URLs are https and its member uses the
// files; an external etcd is left to its own scheme.
func TestCoordConfigTLS(t *testing.T) {
	files := pki.Files{Cert: "n.pem", Key: "n-key.pem", CA: "ca.pem"}
	tests := []struct {
		name       string
		cfg        MasterConfig
		wantScheme string
		wantTLS    bool
	}{
		{"plain", MasterConfig{IP: "10.0.0.1", Masters: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}}, "http://", false},
		{"tls", MasterConfig{IP: "10.0.0.1", Masters: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, TLS: files}, "https://", true},
		{"tls, external etcd", MasterConfig{IP: "10.0.0.1", EtcdEndpoints: []string{"http://etcd:2379"}, TLS: files}, "https://", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.defaults()
			cc, err := tt.cfg.coordConfig()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(cc.ClientURL, tt.wantScheme) || !strings.HasPrefix(cc.PeerURL, tt.wantScheme) {
				t.Errorf("URLs %s, %s, want %s", cc.ClientURL, cc.PeerURL, tt.wantScheme)
			}
			for _, member := range strings.Split(cc.InitialCluster, ",") {
				if _, u, _ := strings.Cut(member, "="); member != "" && !strings.HasPrefix(u, tt.wantScheme) {
					t.Errorf("initial cluster member %s, want %s", member, tt.wantScheme)
				}
			}
			if (cc.TLS != nil) != tt.wantTLS {
				t.Errorf("etcd TLS %v, want %v", cc.TLS, tt.wantTLS)
			}
			urls := tt.cfg.masterURLs(tt.wantScheme + "10.0.0.1:5050")
			for _, u := range urls {
				if !strings.HasPrefix(u, tt.wantScheme) {
					t.Errorf("master URL %s, want %s", u, tt.wantScheme)
				}
			}
		})
	}
}
