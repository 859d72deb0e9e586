package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/pki"
)

// TestClusterCA: a cluster's ca_file in the client config is what the API commands verify its
// https endpoints with, without flags; --ca-file overrides it.
func TestClusterCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("cli test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := ca.Write(caFile, filepath.Join(dir, "ca-key.pem")); err != nil {
		t.Fatal(err)
	}
	kp, err := ca.Issue(pki.Request{CommonName: "master-1", IPs: []net.IP{net.ParseIP("127.0.0.1")}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"apps": []}`)
	}))
	srv.TLS = pki.NewNode(ca, kp).ServerConfig()
	srv.StartTLS()
	defer srv.Close()

	writeConfig(t, dir, `{"current": "c", "clusters": {"c": {"services": "`+srv.URL+`", "token": "tok", "ca_file": "`+caFile+`"}}}`)
	t.Setenv(EnvToken, "")
	os.Unsetenv(EnvToken)
	other := filepath.Join(dir, "other.pem")
	otherCA, err := pki.NewCA("other", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := otherCA.Write(other, filepath.Join(dir, "other-key.pem")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		o        Options
		wantCA   string
		wantErr  bool // the call fails verification
		wantLoad bool // the CA file does not load
	}{
		{"the cluster's CA", Options{}, caFile, false, false},
		{"--ca-file overrides", Options{CAFile: other}, other, true, false},
		{"--ca-file missing", Options{CAFile: filepath.Join(dir, "nope.pem")}, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.StateDir = dir
			env, err := tt.o.Env(nil, io.Discard, io.Discard)
			if tt.wantLoad {
				if err == nil {
					t.Fatal("a missing CA file was not an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer env.HTTP.CloseIdleConnections()
			if env.Target.CAFile != tt.wantCA {
				t.Errorf("CA file %q, want %q", env.Target.CAFile, tt.wantCA)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = env.Client.Apps(ctx, marathon.AppFilter{})
			var verr *tls.CertificateVerificationError
			if tt.wantErr != errors.As(err, &verr) {
				t.Fatalf("Apps: %v, want a verification error: %v", err, tt.wantErr)
			}
			if !tt.wantErr && err != nil {
				t.Fatal(err)
			}
		})
	}
}
