package cluster_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/cluster"
	"github.com/marina-dcos/marina/internal/cluster/sshtest"
	"github.com/marina-dcos/marina/internal/pki"
)

// TestSSHUpAppFailoverDown stands a 3+3 cluster up on six sshd containers with `marina up
// --provider ssh -f spec.yaml`, runs an HTTP server app through the CLI and reaches it on the
// host:port it reports, scales it, kills the leading master's host, sees a new leader and the
// app still served, then takes the cluster down and checks that the hosts are left clean.
func TestSSHUpAppFailoverDown(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs a cluster on sshd containers")
	}
	hosts := sshtest.Start(t, 6)
	bin := buildMarina(t)
	state := t.TempDir()
	const name = "ssh-e2e"
	common := []string{"--state-dir", state, "--name", name}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	settings := sshHostSettings(hosts, 3, bin)
	var spec strings.Builder
	fmt.Fprintf(&spec, "name: %s\nmasters: 3\nagents: 3\nprovider:\n  name: ssh\n  settings:\n", name)
	for k, v := range settings {
		fmt.Fprintf(&spec, "    %s: %q\n", k, v)
	}
	specFile := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(specFile, []byte(spec.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	downAtCleanup(t, bin, common)

	start := time.Now()
	out, errOut, code := marina(t, ctx, bin, append([]string{"up", "--provider", "ssh", "-f", specFile}, common...)...)
	if code != 0 {
		t.Fatalf("marina up: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("marina up --provider ssh (3 masters, 3 agents) took %v:\n%s", time.Since(start).Round(time.Millisecond), out)

	st, code := status(t, ctx, bin, common...)
	if code != 0 || !st.Healthy || st.Provider != "ssh" || len(st.Masters) != 3 || len(st.Agents) != 3 {
		t.Fatalf("status (exit %d): %+v", code, st)
	}
	for i, a := range st.Agents {
		if want := net.JoinHostPort(hosts.IPs[3+i], "5051"); a.Address != want || !a.Registered {
			t.Errorf("agent %s at %s (registered %v), want %s", a.Name, a.Address, a.Registered, want)
		}
	}
	if out, errOut, code := marina(t, ctx, bin, append([]string{"up", "--provider", "ssh", "-f", specFile}, common...)...); code != 0 || !strings.Contains(out, "already running") {
		t.Errorf("second up: exit %d\n%s%s", code, out, errOut)
	}
	checkSSHReprovision(t, ctx, hosts, bin, state, name, settings)

	// An HTTP server app, through the CLI, which finds the cluster and its token by itself.
	cli := []string{"--state-dir", state, "--cluster", name}
	app := filepath.Join(t.TempDir(), "web.json")
	def := `{"id": "/web", "cmd": "mkdir -p www && echo served-by-$HOST > www/index.html && exec httpd -f -p $PORT0 -h www",
	         "instances": 2, "cpus": 0.1, "mem": 32}`
	if err := os.WriteFile(app, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	marinaOK(t, ctx, bin, append([]string{"app", "create", "-f", app, "--wait"}, cli...)...)
	checkSSHServed(t, ctx, bin, cli, 2)
	marinaOK(t, ctx, bin, append([]string{"app", "scale", "/web", "4", "--wait"}, cli...)...)
	checkSSHServed(t, ctx, bin, cli, 4)

	// Kill the leading master's host.
	leader := -1
	for i, m := range st.Masters {
		if m.Leader {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatalf("no leader: %+v", st)
	}
	// A provider that holds a connection to the host sees it running, then gone.
	c, p := loadedSSH(t, state, name, settings)
	leaderNode := c.Masters()[leader]
	if !p.Running(c, leaderNode) {
		t.Fatalf("Running(%s) = false before its host was killed", leaderNode.Name)
	}
	if err := hosts.Kill(ctx, leader); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	token, err := os.ReadFile(filepath.Join(state, name, cluster.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig, err := pki.ClientConfig(filepath.Join(state, name, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var survivors, services []string
	for i := range 3 {
		if i != leader {
			survivors = append(survivors, "https://"+net.JoinHostPort(hosts.IPs[i], "5050"))
			services = append(services, "https://"+net.JoinHostPort(hosts.IPs[i], "8080"))
		}
	}
	newLeader := waitSSHNewLeader(t, ctx, survivors, strings.TrimSpace(string(token)), tlsConfig)
	fmt.Printf("ssh provider failover: %s leads %.2fs after the leading master's host was killed\n", newLeader, time.Since(killedAt).Seconds())
	for p.Running(c, leaderNode) {
		if time.Since(killedAt) > 30*time.Second {
			t.Fatalf("Running(%s) still true 30s after its host was killed", leaderNode.Name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The client config lists the dead master's services first; the CLI would wait for its
	// connection to time out before trying the next one.
	cli = append(cli, "--services", strings.Join(services, ","))
	checkSSHServed(t, ctx, bin, cli, 4)
	marinaOK(t, ctx, bin, append([]string{"app", "scale", "/web", "3", "--wait"}, cli...)...)
	checkSSHServed(t, ctx, bin, cli, 3)

	// The killed host comes back with the cluster's files but none of its processes: down
	// cleans it too.
	if err := hosts.Restart(ctx, leader); err != nil {
		t.Fatal(err)
	}
	// The tasks run on the agents' hosts, outside the agents' processes: down must find them.
	tasks := 0
	for i := 3; i < 6; i++ {
		ps, err := hosts.Processes(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if strings.Contains(p, "httpd -f -p") {
				tasks++
			}
		}
	}
	if tasks != 3 {
		t.Errorf("%d httpd tasks run on the agents' hosts, want 3", tasks)
	}
	start = time.Now()
	marinaOK(t, ctx, bin, append([]string{"down"}, common...)...)
	t.Logf("marina down took %v", time.Since(start).Round(time.Millisecond))
	assertSSHHostsClean(t, hosts)
	if _, err := os.Stat(filepath.Join(state, name)); !os.IsNotExist(err) {
		t.Errorf("state dir remains: %v", err)
	}
}

// checkSSHReprovision provisions the running cluster again: nothing is uploaded again unless it
// changed on the host.
func checkSSHReprovision(t *testing.T, ctx context.Context, hosts *sshtest.Hosts, bin, state, name string, settings map[string]string) {
	t.Helper()
	c, p := loadedSSH(t, state, name, settings)
	remoteBin := "/var/lib/marina/" + name + "/bin/marina"
	stat := func(i int) string {
		out, err := hosts.Exec(ctx, i, "stat", "-c", "%i %Y", remoteBin)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	before0, before1 := stat(0), stat(1)
	if _, err := hosts.Exec(ctx, 1, "sh", "-c", fmt.Sprintf("cp %[1]s %[1]s.x && echo changed >> %[1]s.x && mv %[1]s.x %[1]s", remoteBin)); err != nil {
		t.Fatal(err)
	}
	if err := p.Provision(ctx, c); err != nil {
		t.Fatalf("Provision again: %v", err)
	}
	if after := stat(0); after != before0 {
		t.Errorf("an unchanged binary was uploaded again: %s, then %s", before0, after)
	}
	if after := stat(1); after == before1 {
		t.Errorf("a changed binary was not uploaded again")
	}
	if out, err := hosts.Exec(ctx, 1, "sha256sum", remoteBin); err != nil || !strings.Contains(out, sshFileSHA256(t, bin)) {
		t.Errorf("host 2's binary after Provision: %s %v", out, err)
	}
}

// checkSSHServed waits until /web has want running tasks, each serving on the host:port the API
// reports.
func checkSSHServed(t *testing.T, ctx context.Context, bin string, cli []string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var problem string
	for time.Now().Before(deadline) {
		problem = ""
		out, errOut, code := marina(t, ctx, bin, append([]string{"task", "list", "/web", "--json"}, cli...)...)
		var list struct{ Tasks []api.Task }
		if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
			problem = fmt.Sprintf("task list: exit %d: %s%s", code, out, errOut)
		} else if n := sshRunningTasks(list.Tasks); n != want {
			problem = fmt.Sprintf("%d running tasks, want %d", n, want)
		}
		for _, tk := range list.Tasks {
			if problem != "" {
				break
			}
			if len(tk.Ports) == 0 {
				problem = fmt.Sprintf("task %s has no port", tk.ID)
				break
			}
			body, err := sshHTTPBody(ctx, "http://"+net.JoinHostPort(tk.Host, strconv.Itoa(tk.Ports[0]))+"/")
			if err != nil || !strings.HasPrefix(body, "served-by-") {
				problem = fmt.Sprintf("task %s at %s:%d: %q %v", tk.ID, tk.Host, tk.Ports[0], body, err)
			}
		}
		if problem == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("app /web not served by %d tasks: %s", want, problem)
}

func sshRunningTasks(tasks []api.Task) int {
	n := 0
	for _, tk := range tasks {
		if tk.State == "TASK_RUNNING" {
			n++
		}
	}
	return n
}

func sshHTTPBody(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return string(b), err
}

// waitSSHNewLeader waits until one of masters says it is elected and returns its URL.
func waitSSHNewLeader(t *testing.T, ctx context.Context, masters []string, token string, tlsConfig *tls.Config) string {
	t.Helper()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range masters {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, m+"/metrics/snapshot", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			var snap map[string]float64
			err = json.NewDecoder(resp.Body).Decode(&snap)
			resp.Body.Close()
			if err == nil && snap["master/elected"] == 1 {
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no new leader among %v 30s after the leader's host was killed", masters)
	return ""
}

func sshFileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// loadedSSH loads cluster name's state and returns it with an ssh provider of settings, closed
// when the test ends.
func loadedSSH(t *testing.T, state, name string, settings map[string]string) (*cluster.Cluster, *cluster.SSH) {
	t.Helper()
	c, err := cluster.LoadCluster(state, name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cluster.NewSSH(settings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return c, p
}
