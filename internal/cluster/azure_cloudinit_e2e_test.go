package cluster_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/cluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

const cloudInitImage = "marina-cloudinit:latest"

// TestAzureCloudInitOnDebian runs the azure provider's cloud-init for real: a 1+1 cluster's
// nodes are Debian containers (on an internal Docker network of the test's own, at the nodes'
// static addresses) that run cloud-init's own stages on their user data, seeded as NoCloud. The
// installer downloads the marina binary from a busybox httpd on that network and checks its
// SHA-256; then the unit's ExecStart line (systemd is not PID 1 in a container) runs, and the
// agent registers with the master over mutual TLS with the generated token.
func TestAzureCloudInitOnDebian(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs Debian containers")
	}
	if err := exec.Command("docker", "image", "inspect", cloudInitImage).Run(); err != nil {
		t.Skipf("no %s image (scripts/build-cloudinit-image.sh, run by scripts/test-deps.sh, builds it when Docker answers)", cloudInitImage)
	}
	bin := buildMarina(t)
	sum, err := fileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testutil.Context(t)
	docker := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}

	// An internal network (no way out) on a subnet of its own.
	netName := fmt.Sprintf("marina-cloudinit-%d", os.Getpid())
	var octet int
	for try := 0; ; try++ {
		octet = rand.IntN(250) + 2
		err := exec.CommandContext(ctx, "docker", "network", "create", "--internal",
			"--subnet", fmt.Sprintf("10.213.%d.0/24", octet), netName).Run()
		if err == nil {
			break
		}
		if try == 5 {
			t.Fatalf("docker network create: %v", err)
		}
	}
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", netName).Run() })
	var containers []string
	t.Cleanup(func() {
		if len(containers) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, containers...)...).Run()
		}
	})

	key := filepath.Join(t.TempDir(), "id.pub")
	if err := os.WriteFile(key, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests test@marina\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := cluster.NewAzure(map[string]string{
		"subscription": "test", "ssh-key": key, "binary-sha256": sum,
		"address-space": fmt.Sprintf("10.213.%d.0/24", octet), "subnet": fmt.Sprintf("10.213.%d.0/24", octet),
	})
	if err != nil {
		t.Fatal(err)
	}
	spec := cluster.Spec{Name: "cinit", Masters: 1, Agents: cluster.UniformAgents(1), Provider: cluster.ProviderSpec{Name: "azure"}}
	spec.Default()
	c := &cluster.Cluster{Name: spec.Name, Provider: "azure", Spec: spec, Dir: t.TempDir()}
	if err := a.Plan(c); err != nil {
		t.Fatal(err)
	}
	if err := a.Configure(ctx, c); err != nil {
		t.Fatal(err)
	}

	// The binary's server.
	server := fmt.Sprintf("10.213.%d.200", octet)
	name := netName + "-httpd"
	containers = append(containers, name)
	docker("run", "-d", "--name", name, "--network", netName, "--ip", server,
		"-v", bin+":/srv/marina:ro", "marina-busybox:latest", "httpd", "-f", "-p", "8000", "-h", "/srv")
	a.SetBinaryURL("http://" + server + ":8000/marina")

	for _, n := range c.Nodes {
		ud, err := a.UserData(c, n)
		if err != nil {
			t.Fatal(err)
		}
		seed := t.TempDir()
		meta := fmt.Sprintf("instance-id: %s\nlocal-hostname: %s-%s\n", n.Name, c.Name, n.Name)
		if err := os.WriteFile(filepath.Join(seed, "user-data"), ud, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(seed, "meta-data"), []byte(meta), 0o600); err != nil {
			t.Fatal(err)
		}
		cname := netName + "-" + n.Name
		containers = append(containers, cname)
		docker("run", "-d", "--name", cname, "--hostname", c.Name+"-"+n.Name, "--network", netName, "--ip", n.IP,
			"-v", seed+":/var/lib/cloud/seed/nocloud:ro", cloudInitImage, "sleep", "infinity")
		// cloud-init's stages, as its systemd units run them at boot. The final stage reports the
		// runcmd's systemctl calls failing: systemd does not run in the container.
		for _, stage := range [][]string{{"init", "--local"}, {"init"}, {"modules", "--mode", "config"}, {"modules", "--mode", "final"}} {
			out, err := exec.CommandContext(ctx, "docker", append([]string{"exec", cname, "cloud-init"}, stage...)...).CombinedOutput()
			t.Logf("%s: cloud-init %s: %v\n%s", n.Name, strings.Join(stage, " "), err, lastLines(string(out), 8))
		}
		unitPath := "/etc/systemd/system/marina-" + c.Name + "-" + n.Name + ".service"
		check := fmt.Sprintf(`set -e
test -x %[1]s
test ! -e /etc/marina/binary-url
test "$(stat -c %%a %[2]s/node-key.pem)" = 600
test "$(stat -c %%a %[2]s/token)" = 600
test -d %[3]s
systemd-analyze verify %[4]s
`, c.Binary, filepath.Join("/var/lib/marina", c.Name, "credentials", n.Name), n.WorkDir, unitPath)
		if out, err := exec.CommandContext(ctx, "docker", "exec", cname, "sh", "-c", check).CombinedOutput(); err != nil {
			log, _ := exec.Command("docker", "exec", cname, "tail", "-30", "/var/log/cloud-init-output.log").CombinedOutput()
			t.Fatalf("%s after cloud-init: %v\n%s\ncloud-init-output.log:\n%s", n.Name, err, out, log)
		}
		// The unit's command line is the node's, quoted for systemd; run it as the unit would.
		unit := docker("exec", cname, "cat", unitPath)
		argv, err := execStart(unit)
		if err != nil {
			t.Fatal(err)
		}
		if want := append([]string{c.Binary}, n.Args...); !slices.Equal(argv, want) {
			t.Fatalf("%s: ExecStart %q, want %q", n.Name, argv, want)
		}
		docker(append([]string{"exec", "-d", "-w", n.WorkDir, cname, "sh", "-c", `exec "$@" >>` + n.LogFile + ` 2>&1`, "sh"}, argv...)...)
	}

	// The agent registers with the master: TLS with the cluster CA, the generated token.
	master, agent := c.Masters()[0], c.Agents()[0]
	creds := filepath.Join("/var/lib/marina", c.Name, "credentials", master.Name)
	probe := fmt.Sprintf(`curl -fsS --cacert %[1]s/ca.pem --cert %[1]s/node.pem --key %[1]s/node-key.pem -H "Authorization: Bearer $(cat %[1]s/token)" %[2]s/master/state`, creds, master.URL)
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.CommandContext(ctx, "docker", "exec", netName+"-"+master.Name, "sh", "-c", probe).CombinedOutput()
		if err == nil && strings.Contains(string(out), agent.IP) {
			break
		}
		if time.Now().After(deadline) {
			mlog, _ := exec.Command("docker", "exec", netName+"-"+master.Name, "tail", "-20", master.LogFile).CombinedOutput()
			alog, _ := exec.Command("docker", "exec", netName+"-"+agent.Name, "tail", "-20", agent.LogFile).CombinedOutput()
			t.Fatalf("agent not registered: %v\n%s\nmaster log:\n%s\nagent log:\n%s", err, lastLines(string(out), 5), mlog, alog)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// execStart reads the ExecStart line of a unit whose words are all double-quoted, as the azure
// and ssh providers write it.
func execStart(unit string) ([]string, error) {
	for line := range strings.Lines(unit) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "ExecStart=")
		if !ok {
			continue
		}
		var words []string
		for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
			if rest[0] != '"' {
				return nil, fmt.Errorf("unquoted word in %q", rest)
			}
			var w strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				switch {
				case rest[i] == '\\' && i+1 < len(rest):
					i++
					w.WriteByte(rest[i])
				case (rest[i] == '%' || rest[i] == '$') && i+1 < len(rest) && rest[i+1] == rest[i]:
					i++
					w.WriteByte(rest[i])
				default:
					w.WriteByte(rest[i])
				}
			}
			if i == len(rest) {
				return nil, fmt.Errorf("unterminated word in %q", rest)
			}
			words = append(words, w.String())
			rest = rest[i+1:]
		}
		return words, nil
	}
	return nil, fmt.Errorf("no ExecStart in\n%s", unit)
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
