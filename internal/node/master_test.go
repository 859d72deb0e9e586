package node_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/coord"
	"github.com/marina-dcos/marina/internal/node"
	"github.com/marina-dcos/marina/internal/testutil"
)

// TestMasterWithExternalEtcd runs a master against an etcd it does not embed, as --etcd-endpoints
// does, and checks that it leads and serves.
func TestMasterWithExternalEtcd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	etcd, err := coord.Start(ctx, coord.Config{
		Name:      "external",
		DataDir:   filepath.Join(t.TempDir(), "etcd"),
		ClientURL: fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
		PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()

	n, err := node.StartMaster(ctx, node.MasterConfig{
		Port:          testutil.FreePort(t),
		EtcdEndpoints: etcd.Client.Endpoints(),
		WorkDir:       t.TempDir(),
		Logger:        testutil.Logger(t, "master"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Coord.Embedded() {
		t.Fatal("the master embedded an etcd member although it was given endpoints")
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !n.Master.IsLeader() {
			return fmt.Errorf("not leading")
		}
		resp, err := http.Get(n.Master.URL() + "/master/state")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("state: %s", resp.Status)
		}
		return nil
	})
}
