package docker

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// TestForcePull checks that an image the engine has is used as it is, unless the task asks
// for force_pull_image: then it is pulled, and a pull that fails fails the launch. The image is
// the test image tagged under a registry on a closed loopback port, so the pull goes nowhere.
func TestForcePull(t *testing.T) {
	cli := engine(t)
	ref := "127.0.0.1:1/marina/forced-" + runID + ":latest"
	if err := cli.ImageTag(ctxFor(t), testImage(), ref); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{}) })
	ex := newTestExecutor(t, "agent-1")
	for _, tc := range []struct {
		name    string
		force   bool
		wantErr string
	}{
		{"present image is not pulled", false, ""},
		{"forced pull fails the launch", true, "pull image " + ref},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := newSpec(t, "agent-1", "true", nil, func(ti *mesos.TaskInfo) {
				ti.Container.Docker.Image = ref
				ti.Container.Docker.ForcePullImage = tc.force
			})
			if tc.wantErr == "" {
				c := launch(t, ex, spec)
				if x, err := c.Wait(ctxFor(t)); err != nil || !x.Success() {
					t.Fatalf("exit %+v, %v; want success", x, err)
				}
				return
			}
			_, err := ex.Launch(ctxFor(t), spec)
			t.Cleanup(func() { _ = ex.Cleanup(context.Background(), spec) })
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("launch error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
