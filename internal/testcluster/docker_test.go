package testcluster_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// testImage is built by scripts/build-test-image.sh (make deps runs it where docker answers).
const testImage = "marina-busybox:latest"

// dockerApp serves a page from busybox httpd in a bridged container.
const dockerApp = `{"id": "/dweb", "instances": 2, "cpus": 0.1, "mem": 32,
 "cmd": "mkdir -p /www && echo hello-from-docker > /www/index.html && httpd -f -p 8080 -h /www",
 "container": {"type": "DOCKER", "docker": {"image": "` + testImage + `"},
   "portMappings": [{"containerPort": 8080, "hostPort": 0, "name": "http"}]},
 "networks": [{"mode": "container/bridge"}]}`

// TestDockerAppEndToEnd posts a Marathon app with a DOCKER container in bridge mode, reaches its
// HTTP server on the host ports the tasks report, scales it, and restarts an agent under a
// running container, which the agent re-attaches to instead of replacing.
func TestDockerAppEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with Docker")
	}
	if err := exec.Command("docker", "image", "inspect", testImage).Run(); err != nil {
		t.Skipf("no Docker Engine with the image %s here (scripts/build-test-image.sh builds it): %v", testImage, err)
	}
	c := testcluster.New(t, testcluster.Options{Masters: 1, Agents: 2, Services: true})
	c.WaitForServicesLeader(15 * time.Second)
	ctx := testutil.Context(t)
	client, err := marathon.New(marathon.Config{URLs: c.ServicesURLs()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.CreateAppJSON(ctx, []byte(dockerApp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = client.DeleteApp(context.Background(), "/dweb", true) })
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := client.WaitForDeployment(waitCtx, res.DeploymentID); err != nil {
		t.Fatal(err)
	}
	serving := func(want int) map[string]string {
		t.Helper()
		byTask := map[string]string{}
		testutil.WaitFor(t, 30*time.Second, func() error {
			tasks, err := client.Tasks(ctx, "/dweb")
			if err != nil {
				return err
			}
			clear(byTask)
			for _, task := range tasks {
				if task.State != "TASK_RUNNING" || len(task.Ports) == 0 {
					return fmt.Errorf("task %s is %s", task.ID, task.State)
				}
				body, err := get(fmt.Sprintf("http://%s:%d/", task.Host, task.Ports[0]))
				if err != nil {
					return err
				}
				if !strings.Contains(body, "hello-from-docker") {
					return fmt.Errorf("task %s answered %q", task.ID, body)
				}
				byTask[task.ID] = task.SlaveID
			}
			if len(byTask) != want {
				return fmt.Errorf("%d tasks serve, want %d", len(byTask), want)
			}
			return nil
		})
		return byTask
	}
	serving(2)

	res, err = client.ScaleApp(ctx, "/dweb", 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.WaitForDeployment(waitCtx, res.DeploymentID); err != nil {
		t.Fatal(err)
	}
	before := serving(3)

	// Restart the first agent: its containers keep running and are taken back, not replaced.
	c.StopAgent(0)
	if err := c.StartAgent(0); err != nil {
		t.Fatal(err)
	}
	c.WaitForAgent(0, 15*time.Second)
	after := serving(3)
	for id := range before {
		if _, ok := after[id]; !ok {
			t.Errorf("task %s was replaced across the agent's restart", id)
		}
	}
}

func get(url string) (string, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return string(b), err
}
