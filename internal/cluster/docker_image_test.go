package cluster

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/marina-dcos/marina/internal/testutil/dockertest"
)

// TestPruneNodeImages imports two tiny node images and checks that pruning keeps the one named
// and the one a container uses, and removes the other once no container uses it.
func TestPruneNodeImages(t *testing.T) {
	cli := dockertest.Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tiny := func(tag, content string) *nodeImage {
		return &nodeImage{
			ref:   fmt.Sprintf("%s:prune-%s-%d", nodeImageRepo, tag, os.Getpid()),
			files: []imageFile{{path: "/x", mode: 0o644, data: []byte(content)}},
		}
	}
	keep, used := tiny("keep", "keep"), tiny("used", "used")
	for _, img := range []*nodeImage{keep, used} {
		if built, err := ensureNodeImage(ctx, cli, img); err != nil || !built {
			t.Fatalf("ensureNodeImage(%s) = %v, %v", img.ref, built, err)
		}
		t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), img.ref, image.RemoveOptions{Force: true}) })
	}
	if built, err := ensureNodeImage(ctx, cli, keep); err != nil || built {
		t.Errorf("a second ensureNodeImage built again: %v, %v", built, err)
	}
	ct, err := cli.ContainerCreate(ctx, &container.Config{Image: used.ref, Cmd: []string{"/x"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(context.Background(), ct.ID, container.RemoveOptions{Force: true})

	exists := func(ref string) bool { _, err := cli.ImageInspect(ctx, ref); return err == nil }
	if _, err := pruneNodeImages(ctx, cli, keep.ref); err != nil {
		t.Fatal(err)
	}
	if !exists(keep.ref) || !exists(used.ref) {
		t.Fatalf("pruned the image kept (%t) or the one a container uses (%t)", exists(keep.ref), exists(used.ref))
	}
	if err := cli.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if n, err := pruneNodeImages(ctx, cli, keep.ref); err != nil || n < 1 || exists(used.ref) || !exists(keep.ref) {
		t.Fatalf("prune after the container went: %d, %v; used exists %t, keep exists %t", n, err, exists(used.ref), exists(keep.ref))
	}
}
