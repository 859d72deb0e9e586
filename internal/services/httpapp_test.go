package services_test

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/testutil"
)

// TestHTTPApp runs a real HTTP server as an app and reaches it on the host and port its task
// reports; the page it serves is its environment, which must be Marathon's.
func TestHTTPApp(t *testing.T) {
	var serve string
	switch {
	case lookPath("busybox"):
		serve = "exec busybox httpd -f -p $PORT0 -h ."
	case lookPath("python3"):
		serve = "exec python3 -m http.server $PORT0"
	default:
		t.Skip("neither busybox nor python3 is installed: no HTTP server to run")
	}
	_, api := newServicesCluster(t, 1, 1)
	app := map[string]any{
		"id": "/web/front", "cmd": "env > index.html && " + serve, "cpus": 0.1, "mem": 32, "instances": 1,
		"portDefinitions": []map[string]any{{"port": 0, "name": "http"}},
		"labels":          map[string]string{"team": "blue"},
		"env":             map[string]string{"GREETING": "hello"},
	}
	api.json("POST", "/v2/apps", app, http.StatusCreated, nil)
	task := waitRunning(t, api, "/web/front", 1, 30*time.Second)[0]
	if !strings.HasPrefix(task.ID, "web_front.") || len(task.Ports) != 1 || len(task.ServicePorts) != 1 {
		t.Fatalf("task %+v", task)
	}
	url := fmt.Sprintf("http://%s:%d/index.html", task.Host, task.Ports[0])
	var page string
	testutil.WaitFor(t, 15*time.Second, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		page = string(b)
		return nil
	})
	port := fmt.Sprint(task.Ports[0])
	for _, want := range []string{
		"PORT0=" + port, "PORT=" + port, "PORTS=" + port, "PORT_HTTP=" + port,
		fmt.Sprintf("PORT_%d=%s", task.ServicePorts[0], port),
		"HOST=" + task.Host, "MARATHON_APP_ID=/web/front", "MARATHON_APP_VERSION=" + task.Version,
		"MARATHON_APP_RESOURCE_CPUS=0.1", "MARATHON_APP_RESOURCE_MEM=32", "MARATHON_APP_LABELS=TEAM",
		"MARATHON_APP_LABEL_TEAM=blue", "GREETING=hello", "MESOS_TASK_ID=" + task.ID,
	} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("environment lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("environment:\n%s", page)
	}
}

func lookPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}
