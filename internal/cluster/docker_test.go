package cluster

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFreeSubnet(t *testing.T) {
	pool := netip.MustParsePrefix("10.77.0.0/16")
	p := netip.MustParsePrefix
	tests := []struct {
		name string
		pool netip.Prefix
		used []netip.Prefix
		want string // "" for an error
	}{
		{"empty engine", pool, nil, "10.77.0.0/24"},
		{"default bridges", pool, []netip.Prefix{p("172.17.0.0/16"), p("192.0.2.0/24")}, "10.77.0.0/24"},
		{"first taken", pool, []netip.Prefix{p("10.77.0.0/24")}, "10.77.1.0/24"},
		{"a wider network covers several", pool, []netip.Prefix{p("10.77.0.0/23"), p("10.77.2.0/25")}, "10.77.3.0/24"},
		{"a host address inside", pool, []netip.Prefix{p("10.77.0.0/28")}, "10.77.1.0/24"},
		{"the whole pool", pool, []netip.Prefix{p("10.0.0.0/8")}, ""},
		{"a pool narrower than /24", p("10.77.0.0/25"), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := freeSubnet(tt.pool, tt.used)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("got %s, want an error", got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestDockerSettings(t *testing.T) {
	tests := []struct {
		settings map[string]string
		err      string
	}{
		{map[string]string{"subnet": "10.9.0.0/24", "binary": "/x", "busybox": "/y"}, ""},
		{map[string]string{"subnet": "10.9.0.0/30"}, "subnet"},
		{map[string]string{"subnet": "fd00::/64"}, "subnet"},
		{map[string]string{"subnet": "nonsense"}, "subnet"},
		{map[string]string{"zone": "a"}, "unknown setting"},
	}
	for _, tt := range tests {
		_, err := NewDocker(tt.settings)
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("NewDocker(%v) = %v, want an error with %q", tt.settings, err, tt.err)
		}
	}
}

func TestDockerPlanConfigure(t *testing.T) {
	d, err := NewDocker(map[string]string{"binary": "/bin/true"})
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Name: "plan", Masters: 3, Agents: AgentGroups{{Count: 2}, {Resources: "cpus:1;mem:512;ports:[40000-40010]", Attributes: "rack:b"}},
		Provider: ProviderSpec{Name: "docker", Settings: map[string]string{"subnet": "10.99.5.0/24"}}}
	spec.Default()
	dir := t.TempDir()
	c := &Cluster{Name: spec.Name, Spec: spec, Dir: dir}
	if err := d.Plan(c); err != nil {
		t.Fatal(err)
	}
	got := nodeURLs(c)
	want := []string{
		"master-1@http://10.99.5.2:5050", "master-2@http://10.99.5.3:5050", "master-3@http://10.99.5.4:5050",
		"agent-1@http://10.99.5.11:5051", "agent-2@http://10.99.5.12:5051", "agent-3@http://10.99.5.13:5051",
	}
	if !slices.Equal(got, want) {
		t.Errorf("nodes = %v, want %v", got, want)
	}
	a := c.Agents()
	if !strings.HasSuffix(a[0].Resources, "ports:[31000-31199]") || !strings.HasSuffix(a[1].Resources, "ports:[31200-31399]") ||
		a[2].Resources != "cpus:1;mem:512;ports:[40000-40010]" {
		t.Errorf("agents' resources: %q, %q, %q", a[0].Resources, a[1].Resources, a[2].Resources)
	}
	assertMachineShared(t, a[:2])
	if c.Endpoints.Services != "http://10.99.5.2:8080" {
		t.Errorf("services endpoint %q", c.Endpoints.Services)
	}
	var plan strings.Builder
	if err := d.PrintPlan(&plan, c); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"network:   marina-plan, bridge, 10.99.5.0/24, gateway 10.99.5.1", "marina-plan-agent-3   10.99.5.13  https://10.99.5.13:5051  cpus:1;mem:512;ports:[40000-40010]; rack:b", "TLS certificates"} {
		if !strings.Contains(plan.String(), w) {
			t.Errorf("plan lacks %q:\n%s", w, plan.String())
		}
	}
	if err := d.Configure(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	// The nodes serve TLS with certificates of the cluster's CA and take its token.
	if c.Credentials == nil || c.Endpoints.Master != "https://10.99.5.2:5050" || c.Endpoints.Services != "https://10.99.5.2:8080" ||
		a[0].URL != "https://10.99.5.11:5051" {
		t.Fatalf("credentials %+v, endpoints %+v, agent-1 %s", c.Credentials, c.Endpoints, a[0].URL)
	}
	args := strings.Join(c.Masters()[1].Args, " ")
	for _, w := range []string{"--ip 10.99.5.3", "--masters 10.99.5.2,10.99.5.3,10.99.5.4",
		"--auth-token-file " + dir + "/nodes/master-2/token", "--tls-cert " + dir + "/nodes/master-2/node.pem"} {
		if !strings.Contains(args, w) {
			t.Errorf("master-2 args %q lack %q", args, w)
		}
	}
	args = strings.Join(a[0].Args, " ")
	for _, w := range []string{"--listen 10.99.5.11:5051", "--hostname 10.99.5.11", "--work-dir " + dir + "/nodes/agent-1",
		"--master https://10.99.5.2:5050,https://10.99.5.3:5050,https://10.99.5.4:5050",
		"--auth-token-file " + dir + "/nodes/agent-1/token", "--tls-ca " + dir + "/nodes/agent-1/ca.pem",
		"--docker-published-at 10.99.5.1"} {
		if !strings.Contains(args, w) {
			t.Errorf("agent-1 args %q lack %q", args, w)
		}
	}
	for _, f := range []string{TokenFile, "ca.pem", "nodes/agent-1/node.pem", "nodes/agent-1/node-key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("credentials: %v", err)
		}
	}
}

func TestNodeImageLayout(t *testing.T) {
	if _, err := os.Stat(defaultBusybox); err != nil {
		t.Skipf("no static busybox at %s (scripts/test-deps.sh installs busybox-static)", defaultBusybox)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	img, err := planNodeImage(exe, defaultBusybox, 1000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(img.ref, nodeImageRepo+":") {
		t.Errorf("ref %s", img.ref)
	}
	paths := map[string]imageFile{}
	for i, f := range img.files {
		paths[f.path] = f
		if i > 0 && img.files[i-1].path >= f.path {
			t.Errorf("entries out of order: %s before %s", img.files[i-1].path, f.path)
		}
	}
	for _, p := range []string{"/bin/marina", "/bin/busybox", "/bin/sh", "/tmp", "/etc/passwd"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("the image lacks %s", p)
		}
	}
	if !strings.Contains(string(paths["/etc/passwd"].data), ":1000:1000:") {
		t.Errorf("passwd lacks the user: %s", paths["/etc/passwd"].data)
	}
	// A dynamically linked binary brings its interpreter and libraries.
	deps, err := elfDeps(exe)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps {
		if _, ok := paths[d]; !ok {
			t.Errorf("the image lacks %s, which %s needs", d, exe)
		}
	}
	if err := checkStatic(exe); len(deps) > 0 && err == nil {
		t.Error("checkStatic passes a dynamically linked binary")
	}
	again, err := planNodeImage(exe, defaultBusybox, 1000, 1000)
	if err != nil || again.ref != img.ref {
		t.Errorf("the same content is named %s, then %s (%v)", img.ref, again.ref, err)
	}
}

func TestNodeImageNeedsStaticBusybox(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	deps, err := elfDeps(exe)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, busybox, want string
	}{
		{"missing", "/nonexistent/busybox", "apt-get install busybox-static"},
		{"not ELF", "/etc/passwd", "apt-get install busybox-static"},
	}
	if len(deps) > 0 { // the test binary itself is dynamically linked
		tests = append(tests, struct{ name, busybox, want string }{"dynamic", exe, "dynamically linked"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := planNodeImage(exe, tt.busybox, 0, 0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("planNodeImage with busybox %s: %v, want an error with %q", tt.busybox, err, tt.want)
			}
		})
	}
}
