package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

func get(t *testing.T, a *Agent, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+a.Addr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestFilesAPI(t *testing.T) {
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir, func(c *Config, _ *Agent) { c.AuthToken = "tok" })
	fm.set(func(fm *fakeMaster) { fm.token = "" })
	waitRegistered(t, a)
	fm.launch("fw", shellTask("t", "printf 0123456789; mkdir sub; echo x > sub/f; ln -s /etc/passwd leak; ln -s .. up"))
	fm.waitUpdate("t", mesos.TaskFinished, wait)
	sandbox := filepath.Join(dir, "sandboxes", "fw", "t")
	q := url.QueryEscape

	t.Run("browse", func(t *testing.T) {
		for _, p := range []string{sandbox, "fw/t", sandbox + "/sub/.."} {
			code, body := get(t, a, "/files/browse?path="+q(p), "tok")
			if code != http.StatusOK {
				t.Fatalf("browse %s: %d %s", p, code, body)
			}
			var entries []fileInfo
			if err := json.Unmarshal(body, &entries); err != nil {
				t.Fatal(err)
			}
			names := map[string]fileInfo{}
			for _, e := range entries {
				names[filepath.Base(e.Path)] = e
			}
			out, sub := names["stdout"], names["sub"]
			if out.Size != 10 || out.Mode != "-rw-r--r--" || out.Path != filepath.Join(sandbox, "stdout") || out.UID == "" {
				t.Fatalf("stdout entry = %+v", out)
			}
			if !strings.HasPrefix(sub.Mode, "d") || out.Nlink != 1 {
				t.Fatalf("sub entry = %+v", sub)
			}
		}
	})

	t.Run("read", func(t *testing.T) {
		tests := []struct {
			query, want string
		}{
			{"&offset=-1", `{"data":"","offset":10}`},
			{"", `{"data":"","offset":10}`},
			{"&offset=0", `{"data":"0123456789","offset":0}`},
			{"&offset=3&length=4", `{"data":"3456","offset":3}`},
			{"&offset=8&length=100", `{"data":"89","offset":8}`},
			{"&offset=20", `{"data":"","offset":20}`},
		}
		for _, tt := range tests {
			code, body := get(t, a, "/files/read?path="+q(sandbox+"/stdout")+tt.query, "tok")
			if code != http.StatusOK || strings.TrimSpace(string(body)) != tt.want {
				t.Errorf("read%s = %d %s, want %s", tt.query, code, body, tt.want)
			}
		}
	})

	t.Run("download", func(t *testing.T) {
		code, body := get(t, a, "/files/download?path="+q(sandbox+"/sub/f"), "tok")
		if code != http.StatusOK || string(body) != "x\n" {
			t.Fatalf("download = %d %q", code, body)
		}
	})

	t.Run("confinement", func(t *testing.T) {
		tests := []struct {
			path string
			code int
		}{
			{"", http.StatusBadRequest},
			{"/etc/passwd", http.StatusBadRequest},
			{"../meta/agent_id", http.StatusBadRequest},
			{sandbox + "/../../../meta/agent_id", http.StatusBadRequest},
			{filepath.Join(dir, "meta", "agent_id"), http.StatusBadRequest},
			{"fw/t/leak", http.StatusNotFound},
			{"fw/t/up/../../../meta/agent_id", http.StatusNotFound}, // lexically sandboxes/meta/agent_id
			{"fw/t/up/t/stdout", http.StatusOK},                     // a symlink that stays inside is fine
			{"fw/t/missing", http.StatusNotFound},
		}
		for _, tt := range tests {
			for _, ep := range []string{"/files/read", "/files/download", "/files/browse"} {
				code, body := get(t, a, ep+"?offset=0&path="+q(tt.path), "tok")
				if code != tt.code {
					t.Errorf("%s %q = %d %s, want %d", ep, tt.path, code, body, tt.code)
				}
				if code == http.StatusOK && strings.Contains(string(body), "root:") {
					t.Errorf("%s %q leaked /etc/passwd", ep, tt.path)
				}
			}
		}
	})

	t.Run("auth", func(t *testing.T) {
		tests := []struct {
			path, token string
			code        int
		}{
			{"/files/browse?path=fw", "", http.StatusUnauthorized},
			{"/files/browse?path=fw", "wrong", http.StatusUnauthorized},
			{"/state", "", http.StatusUnauthorized},
			{"/state", "tok", http.StatusOK},
			{"/health", "", http.StatusOK},
		}
		for _, tt := range tests {
			if code, body := get(t, a, tt.path, tt.token); code != tt.code {
				t.Errorf("%s with %q = %d %s, want %d", tt.path, tt.token, code, body, tt.code)
			}
		}
	})
}

func TestState(t *testing.T) {
	fm := newFakeMaster(t)
	dir := t.TempDir()
	killTasks(t, dir)
	a := newTestAgent(t, fm, dir)
	waitRegistered(t, a)
	task := shellTask("web.1", "sleep 600")
	task.Labels = &mesos.Labels{Labels: []mesos.Label{{Key: "k", Value: "v"}}}
	fm.launch("fw", task)
	fm.waitUpdate("web.1", mesos.TaskRunning, wait)
	fm.launch("fw", shellTask("done.1", "true"))
	fm.waitUpdate("done.1", mesos.TaskFinished, wait)

	type stateDoc struct {
		ID         string         `json:"id"`
		PID        string         `json:"pid"`
		Hostname   string         `json:"hostname"`
		Resources  map[string]any `json:"resources"`
		Attributes map[string]any `json:"attributes"`
		Frameworks []struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			Executors []struct {
				ID        string `json:"id"`
				Directory string `json:"directory"`
				Tasks     []struct {
					ID        string          `json:"id"`
					State     mesos.TaskState `json:"state"`
					SlaveID   string          `json:"slave_id"`
					Resources map[string]any  `json:"resources"`
					Labels    []mesos.Label   `json:"labels"`
					Statuses  []struct {
						State           mesos.TaskState        `json:"state"`
						ContainerStatus *mesos.ContainerStatus `json:"container_status"`
					} `json:"statuses"`
				} `json:"tasks"`
			} `json:"executors"`
			CompletedExecutors []struct {
				CompletedTasks []struct {
					ID    string          `json:"id"`
					State mesos.TaskState `json:"state"`
				} `json:"completed_tasks"`
			} `json:"completed_executors"`
		} `json:"frameworks"`
	}
	var st stateDoc
	var body []byte
	// The finished task moves to the completed executors once its update is acknowledged.
	testutil.WaitFor(t, wait, func() error {
		var code int
		code, body = get(t, a, "/state", "")
		if code != http.StatusOK {
			return fmt.Errorf("state = %d %s", code, body)
		}
		st = stateDoc{}
		if err := json.Unmarshal(body, &st); err != nil {
			return err
		}
		if len(st.Frameworks) != 1 || len(st.Frameworks[0].CompletedExecutors) != 1 {
			return fmt.Errorf("not settled: %s", body)
		}
		return nil
	})
	if st.ID != "M-S0" || st.PID != "slave(1)@"+a.Addr() || st.Hostname != "agent-host" {
		t.Fatalf("state header: %s", body)
	}
	if st.Resources["cpus"] != 2.0 || st.Resources["ports"] != "[31000-31009]" || st.Attributes["rack"] != "r1" {
		t.Fatalf("resources %v attributes %v", st.Resources, st.Attributes)
	}
	f := st.Frameworks[0]
	if f.ID != "fw" || f.Name != "fw-fw" || len(f.Executors) != 1 || len(f.Executors[0].Tasks) != 1 {
		t.Fatalf("framework: %s", body)
	}
	ex := f.Executors[0]
	tk := ex.Tasks[0]
	if ex.ID != "web.1" || ex.Directory != filepath.Join(dir, "sandboxes", "fw", "web.1") ||
		tk.State != mesos.TaskRunning || tk.SlaveID != "M-S0" || tk.Resources["ports"] != "[31001-31001]" ||
		len(tk.Labels) != 1 || len(tk.Statuses) != 1 || tk.Statuses[0].ContainerStatus == nil {
		t.Fatalf("executor: %s", body)
	}
	if ct := f.CompletedExecutors[0].CompletedTasks; len(ct) != 1 || ct[0].ID != "done.1" || ct[0].State != mesos.TaskFinished {
		t.Fatalf("completed: %s", body)
	}
	if _, err := os.Stat(ex.Directory); err != nil {
		t.Fatal(err)
	}
}
