package cluster

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/testutil"
	"golang.org/x/crypto/ssh"
)

func TestParseSSHHost(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    sshHost
		wantErr bool
	}{
		{in: "10.0.0.1", want: sshHost{User: "ops", Addr: "10.0.0.1", Port: 22}},
		{in: "root@10.0.0.1", want: sshHost{User: "root", Addr: "10.0.0.1", Port: 22}},
		{in: "root@10.0.0.1:2222", want: sshHost{User: "root", Addr: "10.0.0.1", Port: 2222}},
		{in: " node-1.example.com:23 ", want: sshHost{User: "ops", Addr: "node-1.example.com", Port: 23}},
		{in: "[fd00::1]:2200", want: sshHost{User: "ops", Addr: "fd00::1", Port: 2200}},
		{in: "fd00::1", want: sshHost{User: "ops", Addr: "fd00::1", Port: 22}},
		{in: "@10.0.0.1", wantErr: true},
		{in: "10.0.0.1:0", wantErr: true},
		{in: "10.0.0.1:ssh", wantErr: true},
		{in: "", wantErr: true},
		{in: "a/b", wantErr: true},
	} {
		got, err := parseSSHHost(tc.in, "ops", 22)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseSSHHost(%q): err %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("parseSSHHost(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// writeKey writes an unencrypted ed25519 private key to a file.
func writeKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(f, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNewSSHSettings(t *testing.T) {
	key := writeKey(t)
	known := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(known, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"masters": "10.0.0.1", "identity_file": key, "known_hosts": known}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		wantErr  []string // every one must appear
	}{
		{name: "minimal", settings: base},
		{name: "full", settings: with("agents", "10.0.0.5, 10.0.0.6", "user", "ops", "port", "2222",
			"insecure_ignore_host_key", "true", "dir", "/opt/marina", "binary", "/usr/local/bin/marina")},
		{name: "no masters", settings: with("masters", ""), wantErr: []string{"provider.settings.masters"}},
		{name: "everything wrong", settings: with("port", "x", "insecure_ignore_host_key", "maybe", "dir", "rel", "colour", "blue", "agents", "@x"),
			wantErr: []string{"settings.port", "settings.insecure_ignore_host_key", "settings.dir", "settings.colour", "settings.agents"}},
		{name: "missing key", settings: with("identity_file", "/nonexistent/id"), wantErr: []string{"identity file"}},
		{name: "missing known_hosts", settings: with("known_hosts", "/nonexistent/known_hosts"), wantErr: []string{"known_hosts", "insecure_ignore_host_key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewSSH(tc.settings)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				p.Close()
				return
			}
			if err == nil {
				p.Close()
				t.Fatalf("no error, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSSHPlan(t *testing.T) {
	key := writeKey(t)
	p, err := NewSSH(map[string]string{
		"masters": "10.0.0.1,10.0.0.2,10.0.0.3", "agents": "ops@10.0.0.1:2222 10.0.0.5",
		"identity_file": key, "insecure_ignore_host_key": "true", "binary": "/bin/true",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := &Cluster{Name: "prod", Spec: Spec{Masters: 3, Agents: AgentGroups{{Count: 2, Attributes: "rack:r1"}}}}
	if err := p.Plan(c); err != nil {
		t.Fatal(err)
	}
	if len(c.Nodes) != 5 {
		t.Fatalf("%d nodes, want 5", len(c.Nodes))
	}
	m, a := c.Masters()[1], c.Agents()[0]
	if m.IP != "10.0.0.2" || m.URL != "http://10.0.0.2:5050" || m.WorkDir != "/var/lib/marina/prod/nodes/master-2" ||
		m.LogFile != "/var/lib/marina/prod/logs/master-2.log" || !slices.Contains(m.Ports, 2380) {
		t.Errorf("master-2: %+v", m)
	}
	if a.IP != "10.0.0.1" || a.Attributes != "rack:r1" || p.hostOf(a).Port != 2222 || p.hostOf(a).User != "ops" {
		t.Errorf("agent-1: %+v on %v", a, p.hostOf(a))
	}
	// A master and an agent on one host share its connection only if the logins match.
	if g := p.byHost(c.Nodes); len(g) != 5 {
		t.Errorf("%d host groups, want 5: %+v", len(g), g)
	}
	if c.Endpoints.Services != "http://10.0.0.1:8080" {
		t.Errorf("endpoints %+v", c.Endpoints)
	}

	var plan strings.Builder
	if err := p.PrintPlan(&plan, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/bin/true (x86_64), uploaded to /var/lib/marina/prod/bin/marina",
		"agent-1   ops@10.0.0.1:2222", "https://10.0.0.5:5051", "rack:r1", "marina-prod-<node>.service"} {
		if !strings.Contains(plan.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, plan.String())
		}
	}

	c.Spec.Masters = 1
	if err := p.Plan(c); err == nil || !strings.Contains(err.Error(), "1 masters but provider.settings.masters lists 3 hosts") {
		t.Errorf("Plan with too many master hosts: %v", err)
	}
}

func TestParseHostFacts(t *testing.T) {
	out := `os Linux
arch x86_64
uid 0
time 1700000000
missing setsid
--- tcp
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:094B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0500000A:13BA 0600000A:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 3 1
--- fib
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.0.0.0/24 2 0 2
        |-- 10.0.0.0
           /24 link UNICAST
        |-- 10.0.0.5
           /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
        |-- 10.0.0.5
           /32 host LOCAL
--- inet6
fd000000000000000000000000000005 02 40 00 80 eth0
`
	f := parseHostFacts([]byte(out))
	if f.os != "Linux" || f.arch != "x86_64" || f.uid != "0" || f.time != 1700000000 || !slices.Equal(f.missing, []string{"setsid"}) {
		t.Errorf("facts %+v", f)
	}
	if !f.listening[2379] || !f.listening[22] || f.listening[5050] || len(f.listening) != 2 {
		t.Errorf("listening %v, want 2379 and 22 (an established connection is not listening)", f.listening)
	}
	if !f.localAddr("10.0.0.5") || !f.localAddr("fd00::5") || f.localAddr("10.0.0.6") {
		t.Errorf("addresses %v", f.addrs)
	}
}

func TestCheckClock(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		name    string
		host    int64
		wantErr bool
	}{
		{name: "in step", host: now.Unix()},
		{name: "unknown", host: 0},
		{name: "ahead", host: now.Add(3 * time.Hour).Unix()},
		{name: "a little behind", host: now.Add(-10 * time.Minute).Unix()},
		{name: "far behind", host: now.Add(-2 * time.Hour).Unix(), wantErr: true},
	} {
		if err := checkClock(tc.host, now); (err != nil) != tc.wantErr {
			t.Errorf("%s: %v, want error %v", tc.name, err, tc.wantErr)
		}
	}
}

func TestSystemdQuote(t *testing.T) {
	got := systemdQuote([]string{"/opt/marina", "--resources", "cpus:2;mem:1024", `a"b\c`, "50%", "$HOME"})
	want := `"/opt/marina" "--resources" "cpus:2;mem:1024" "a\"b\\c" "50%%" "$$HOME"`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	c := &Cluster{Name: "prod"}
	n := &Node{Name: "agent-1", Role: RoleAgent, Args: []string{"agent", "--work-dir", "/w"}, WorkDir: "/w", LogFile: "/l/agent-1.log"}
	unit := unitFile(c, n, nodeFiles{root: "/var/lib/marina/prod"})
	for _, want := range []string{`ExecStart="/var/lib/marina/prod/bin/marina" "agent" "--work-dir" "/w"`,
		"StandardOutput=append:/l/agent-1.log", "KillMode=process", "WantedBy=multi-user.target"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
}

// TestShellQuote runs quoted words through a real shell.
func TestShellQuote(t *testing.T) {
	words := []string{"plain", "", "it's", "a b", `$HOME`, "`id`", "x;y", "ünï", "a\nb"}
	out, err := exec.Command("sh", "-c", `printf '%s|' `+quoteAll(words)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(words, "|") + "|"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// TestRemoteScriptsParse checks every script the provider runs on hosts with the shells hosts
// have (dash, busybox sh), including the systemd branches no test host runs.
func TestRemoteScriptsParse(t *testing.T) {
	r := nodeFiles{root: "/var/lib/marina/prod"}
	c := &Cluster{Name: "prod"}
	n := &Node{Name: "agent-1", Role: RoleAgent, Args: []string{"agent", "--resources", "cpus:2;mem:1024", "--attributes", "it's"},
		WorkDir: r.workDir("agent-1"), LogFile: r.logFile("agent-1")}
	unit := unitName(c, n)
	scripts := map[string]string{
		"facts":     factsScript,
		"provision": provisionScript(r, c.Name, []string{r.workDir("agent-1"), "/var/lib/marina/prod/it's"}),
		"start":     startScript(r, unit, unitFile(c, n, r), n),
		"status":    statusScript(r, unit, n),
		"destroy":   destroyScript(r, c.Name, []string{unit, "marina-prod-master-1.service"}, true),
	}
	var shells [][]string
	for _, sh := range [][]string{{"dash"}, {"busybox", "sh"}} {
		if _, err := exec.LookPath(sh[0]); err == nil {
			shells = append(shells, sh)
		}
	}
	if len(shells) == 0 {
		t.Skip("neither dash nor busybox is installed")
	}
	for name, script := range scripts {
		for _, sh := range shells {
			cmd := exec.Command(sh[0], append(sh[1:], "-n")...)
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s script does not parse with %s: %v\n%s\n%s", name, strings.Join(sh, " "), err, out, script)
			}
		}
	}
}

// FuzzParseHostFacts feeds arbitrary host output to the parser of what a host reports about
// itself: it must never panic.
func FuzzParseHostFacts(f *testing.F) {
	f.Add([]byte("os Linux\narch x86_64\nuid 0\n--- tcp\n 0: 0100007F:094B 00000000:0000 0A\n--- fib\n |-- 10.0.0.5\n /32 host LOCAL\n--- inet6\nfd000000000000000000000000000005 02\n"))
	f.Add([]byte("--- tcp\n0: :FFFFFFFFF 0 0A\n--- inet6\nzz\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		facts := parseHostFacts(out)
		facts.localAddr("10.0.0.5")
		if _, err := parseSSHHost(string(out), "u", 22); err == nil && len(out) == 0 {
			t.Error("an empty host parsed")
		}
	})
}

// TestSSHDestroyReportsEachUnreachableHost checks that Destroy tries every host and names each
// one it could not reach, with its nodes and the reason, and that down then keeps only those
// nodes in the state file.
func TestSSHDestroyReportsEachUnreachableHost(t *testing.T) {
	// Nothing listens on these ports: every connection is refused at once.
	mport, aport := testutil.FreePort(t), testutil.FreePort(t)
	p, err := NewSSH(map[string]string{
		"masters": fmt.Sprintf("root@127.0.0.1:%d", mport), "agents": fmt.Sprintf("root@127.0.0.1:%d", aport),
		"identity_file": writeKey(t), "insecure_ignore_host_key": "true", "binary": "/bin/true",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	spec := Spec{Name: "gone", Masters: 1, Agents: UniformAgents(1), Provider: ProviderSpec{Name: "ssh"}}
	c := &Cluster{Name: spec.Name, Provider: "ssh", Spec: spec, Dir: t.TempDir()}
	if err := p.Plan(c); err != nil {
		t.Fatal(err)
	}
	err = p.Destroy(t.Context(), c)
	var ue *UncleanHostsError
	if !errors.As(err, &ue) || ue.Of != 2 || len(ue.Hosts) != 2 {
		t.Fatalf("Destroy: %v, want both hosts unclean", err)
	}
	for i, want := range []string{fmt.Sprintf("root@127.0.0.1:%d (master-1): dial tcp", mport), fmt.Sprintf("root@127.0.0.1:%d (agent-1): dial tcp", aport)} {
		if got := ue.Hosts[i].Error(); !strings.HasPrefix(got, want) {
			t.Errorf("host %d: %q, want it to start %q", i, got, want)
		}
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Destroy: %v, want it to wrap ECONNREFUSED", err)
	}

	// Down's error for a Destroy that left agent-1 only records agent-1 alone.
	left := &UncleanHostsError{Hosts: ue.Hosts[1:], Of: 2}
	msg := destroyFailed(c, left, false).Error()
	for _, w := range []string{`cluster "gone": could not stop and clean 1 of 2 hosts (the others are clean):`, "(agent-1)", "keeps the nodes left (agent-1): run `marina down --name gone` again"} {
		if !strings.Contains(msg, w) {
			t.Errorf("down's error %q lacks %q", msg, w)
		}
	}
	saved, err := LoadCluster(filepath.Dir(c.Dir), filepath.Base(c.Dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(saved.Nodes) != 1 || saved.Nodes[0].Name != "agent-1" {
		t.Errorf("the state file keeps %d nodes, want agent-1 alone: %+v", len(saved.Nodes), saved.Nodes)
	}
}
