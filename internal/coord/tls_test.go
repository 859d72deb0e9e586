package coord_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/marina-dcos/marina/internal/coord"
	"github.com/marina-dcos/marina/internal/pki"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestTLS runs three members whose client and peer traffic use a cluster CA: they form a
// quorum over TLS, a write through one is read through another, and a client that presents
// no certificate is refused.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := ca.Write(caFile, filepath.Join(dir, "ca-key.pem")); err != nil {
		t.Fatal(err)
	}
	const n = 3
	cfgs := make([]coord.Config, n)
	var initial string
	for i := range cfgs {
		name := fmt.Sprintf("m%d", i+1)
		kp, err := ca.Issue(pki.Request{CommonName: name, IPs: []net.IP{net.ParseIP("127.0.0.1")}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		files := &pki.Files{Cert: filepath.Join(dir, name+".pem"), Key: filepath.Join(dir, name+"-key.pem"), CA: caFile}
		if err := kp.Write(files.Cert, files.Key); err != nil {
			t.Fatal(err)
		}
		cfgs[i] = coord.Config{
			Name:       name,
			DataDir:    filepath.Join(dir, name),
			ClientURL:  fmt.Sprintf("https://127.0.0.1:%d", testutil.FreePort(t)),
			PeerURL:    fmt.Sprintf("https://127.0.0.1:%d", testutil.FreePort(t)),
			TickMs:     50,
			ElectionMs: 500,
			TLS:        files,
		}
		if i > 0 {
			initial += ","
		}
		initial += name + "=" + cfgs[i].PeerURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	members := make([]*coord.Coord, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range cfgs {
		cfgs[i].InitialCluster = initial
		wg.Go(func() { members[i], errs[i] = coord.Start(ctx, cfgs[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		defer members[i].Close()
	}
	if _, err := members[0].Client.Put(ctx, "/tls/k", "v"); err != nil {
		t.Fatal(err)
	}
	resp, err := members[2].Client.Get(ctx, "/tls/k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("read back %v, %v", resp, err)
	}

	// A client that trusts the CA but presents no certificate is refused.
	tlsCfg, err := pki.ClientConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	anon, err := clientv3.New(clientv3.Config{
		Endpoints: []string{cfgs[0].ClientURL}, DialTimeout: time.Second, TLS: tlsCfg, Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	actx, acancel := context.WithTimeout(ctx, 2*time.Second)
	defer acancel()
	if _, err := anon.Get(actx, "/tls/k"); err == nil {
		t.Fatal("a client without a certificate read from etcd")
	}
}
