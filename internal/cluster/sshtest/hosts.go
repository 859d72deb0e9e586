package sshtest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Image is the host image scripts/build-sshd-image.sh builds.
const Image = "marina-sshd:latest"

// imageVersion is the version of the image this package needs (its marina.sshd.version label).
const imageVersion = "3"

// SystemdImage is the Debian image with systemd and OpenSSH's server that
// scripts/build-cloudinit-image.sh builds; Systemd hosts run it.
const SystemdImage = "marina-cloudinit:latest"

// systemdImageVersion is the version of SystemdImage this package needs (its
// marina.cloudinit.version label): the first with sshd.
const systemdImageVersion = "2"

// Option changes the hosts Start starts.
type Option func(*hostsConfig)

// hostsConfig is what the hosts run and how.
type hostsConfig struct {
	image, versionLabel, version, script string
	systemd                              bool
}

// Systemd makes the hosts containers of SystemdImage whose PID 1 is systemd, which starts
// sshd (ssh.service): hosts on which the ssh provider installs nodes as systemd units. systemd
// runs in a container with CAP_SYS_ADMIN, tmpfs on /run and /run/lock, and the host's cgroup
// hierarchy mounted read-write (cgroup v1 needs it), as container=docker.
func Systemd() Option {
	return func(c *hostsConfig) {
		c.image, c.versionLabel, c.version = SystemdImage, "marina.cloudinit.version", systemdImageVersion
		c.script, c.systemd = "scripts/build-cloudinit-image.sh", true
	}
}

// container is the configuration of host i's container on network name at ip.
func (c hostsConfig) container(i int, name, ip string) (*container.Config, *container.HostConfig, *network.NetworkingConfig) {
	cfg := &container.Config{Image: c.image, Hostname: fmt.Sprintf("host-%d", i+1)}
	hc := &container.HostConfig{}
	if c.systemd {
		cfg.Cmd = []string{"/lib/systemd/systemd"}
		cfg.Env = []string{"container=docker"}
		hc.CapAdd = []string{"SYS_ADMIN"}
		hc.Tmpfs = map[string]string{"/run": "", "/run/lock": ""}
		hc.Binds = []string{"/sys/fs/cgroup:/sys/fs/cgroup:rw"}
		hc.CgroupnsMode = container.CgroupnsModeHost
	}
	return cfg, hc, &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		name: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ip}},
	}}
}

// Ops is a user of every host who may run anything as root through sudo without a password;
// the identity file logs in as root and as Ops.
const (
	Ops    = "ops"
	OpsUID = 1000
)

// Hosts are n running SSH hosts.
type Hosts struct {
	// IPs are the hosts' addresses on their network, in order.
	IPs []string
	// IdentityFile is a private key root accepts on every host; KnownHostsFile lists every
	// host's key.
	IdentityFile, KnownHostsFile string
	// Systemd says the hosts run systemd (the Systemd option).
	Systemd bool

	cli        *client.Client
	containers []string
}

// Start starts n hosts on a network of their own, or skips t when Docker or the image is
// missing. Everything is removed when t ends.
func Start(t testing.TB, n int, opts ...Option) *Hosts {
	t.Helper()
	hc := hostsConfig{image: Image, versionLabel: "marina.sshd.version", version: imageVersion, script: "scripts/build-sshd-image.sh"}
	for _, o := range opts {
		o(&hc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Skipf("no Docker client: %v", err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		t.Skipf("no Docker Engine answers: %v", err)
	}
	img, err := cli.ImageInspect(ctx, hc.image)
	if err != nil || img.Config == nil || img.Config.Labels[hc.versionLabel] != hc.version {
		cli.Close()
		t.Skipf("image %s (version %s) is missing: build it with %s (%v)", hc.image, hc.version, hc.script, err)
	}
	h := &Hosts{cli: cli, Systemd: hc.systemd}
	t.Cleanup(func() { cli.Close() })

	dir := t.TempDir()
	clientKey, clientPEM := newKey(t)
	h.IdentityFile = filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(h.IdentityFile, clientPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	authorized := ssh.MarshalAuthorizedKey(clientKey)

	name := fmt.Sprintf("marina-sshtest-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	subnet := createNetwork(t, ctx, cli, name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, id := range h.containers {
			if err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
				t.Errorf("remove host container: %v", err)
			}
		}
		if err := cli.NetworkRemove(ctx, name); err != nil {
			t.Errorf("remove network %s: %v", name, err)
		}
	})

	var known bytes.Buffer
	for i := range n {
		ip := fmt.Sprintf("%s.%d", subnet, 10+i)
		hostKey, hostPEM := newKey(t)
		_, ecdsaPEM := newECDSAKey(t)
		// Like the known_hosts of an OpenSSH user: the Ed25519 key only, while the host offers
		// ECDSA first to a client that asks for it first.
		known.WriteString(knownhosts.Line([]string{ip}, hostKey) + "\n")
		cfg, hostCfg, netCfg := hc.container(i, name, ip)
		resp, err := cli.ContainerCreate(ctx, cfg, hostCfg, netCfg, nil, fmt.Sprintf("%s-%d", name, i+1))
		if err != nil {
			t.Fatalf("create host %d: %v", i+1, err)
		}
		h.containers = append(h.containers, resp.ID)
		files := tarFiles(t, map[string]tarFile{
			"etc/ssh/ssh_host_ed25519_key":  {mode: 0o600, data: hostPEM},
			"etc/ssh/ssh_host_ecdsa_key":    {mode: 0o600, data: ecdsaPEM},
			"root/.ssh/authorized_keys":     {mode: 0o600, data: authorized},
			"home/ops/.ssh/authorized_keys": {mode: 0o600, data: authorized, uid: OpsUID},
		})
		if err := cli.CopyToContainer(ctx, resp.ID, "/", files, container.CopyToContainerOptions{}); err != nil {
			t.Fatalf("host %d: copy keys: %v", i+1, err)
		}
		if err := cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
			if hc.systemd {
				t.Skipf("this Docker Engine cannot run systemd hosts (they need SYS_ADMIN and the host's cgroups): %v", err)
			}
			t.Fatalf("start host %d: %v", i+1, err)
		}
		h.IPs = append(h.IPs, ip)
	}
	h.KnownHostsFile = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(h.KnownHostsFile, known.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range h.IPs {
		if err := h.WaitSSH(ctx, i); err != nil {
			if hc.systemd && !h.running(i) {
				// systemd gave up booting: the host's cgroup setup allows no systemd in a
				// container (known to work on cgroup v1 with the host's hierarchy mounted).
				t.Skipf("systemd does not boot in a container on this machine; its output:\n%s", h.logs(i))
			}
			t.Fatalf("%v; its container's last output:\n%s", err, h.logs(i))
		}
	}
	return h
}

// running reports whether host i's container still runs.
func (h *Hosts) running(i int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := h.cli.ContainerInspect(ctx, h.containers[i])
	return err == nil && info.State != nil && info.State.Running
}

// logs returns the last lines host i's container wrote (systemd's boot messages on Systemd
// hosts), or why they cannot be read.
func (h *Hosts) logs(i int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := h.cli.ContainerLogs(ctx, h.containers[i], container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "30"})
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		fmt.Fprintf(&out, "(%v)", err)
	}
	return out.String()
}

// createNetwork creates a bridge network called name on a free /24 of 10.213.0.0/16 and
// returns the subnet's first three octets.
func createNetwork(t testing.TB, ctx context.Context, cli *client.Client, name string) string {
	t.Helper()
	var lastErr error
	for range 20 {
		third, err := rand.Int(rand.Reader, big.NewInt(250))
		if err != nil {
			t.Fatal(err)
		}
		prefix := fmt.Sprintf("10.213.%d", third.Int64()+1)
		_, err = cli.NetworkCreate(ctx, name, network.CreateOptions{
			Driver: "bridge",
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: prefix + ".0/24", Gateway: prefix + ".1"}}},
			Labels: map[string]string{"marina.test": "sshtest"},
		})
		if err == nil {
			return prefix
		}
		lastErr = err
	}
	t.Fatalf("create network %s: %v", name, lastErr)
	return ""
}

// WaitSSH waits until host i's sshd accepts connections.
func (h *Hosts) WaitSSH(ctx context.Context, i int) error {
	addr := net.JoinHostPort(h.IPs[i], "22")
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sshd of host %d (%s) does not answer: %w", i+1, addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Kill kills host i's container at once, as a power cut would.
func (h *Hosts) Kill(ctx context.Context, i int) error {
	return h.cli.ContainerKill(ctx, h.containers[i], "KILL")
}

// Restart starts host i's container again (its files kept, none of its processes) and waits
// for its sshd.
func (h *Hosts) Restart(ctx context.Context, i int) error {
	if err := h.cli.ContainerStart(ctx, h.containers[i], container.StartOptions{}); err != nil {
		return err
	}
	return h.WaitSSH(ctx, i)
}

// Exec runs cmd in host i (not through SSH) and returns its output; a non-zero exit is an
// error.
func (h *Hosts) Exec(ctx context.Context, i int, cmd ...string) (string, error) {
	ex, err := h.cli.ContainerExecCreate(ctx, h.containers[i], container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", err
	}
	att, err := h.cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return "", err
	}
	defer att.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, att.Reader); err != nil {
		return out.String(), err
	}
	st, err := h.cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		return out.String(), err
	}
	if st.ExitCode != 0 {
		return out.String(), fmt.Errorf("%s in host %d: exit %d: %s", strings.Join(cmd, " "), i+1, st.ExitCode, out.String())
	}
	return out.String(), nil
}

// Processes lists host i's processes, but for this probe itself, as "pid: command line"
// lines.
func (h *Hosts) Processes(ctx context.Context, i int) ([]string, error) {
	out, err := h.Exec(ctx, i, "sh", "-c", `for p in /proc/[0-9]*; do
	p=${p#/proc/}
	[ "$p" = $$ ] && continue
	st=$(cat /proc/$p/stat 2>/dev/null) || continue
	set -- ${st##*") "}
	[ "$2" = $$ ] && continue
	c=$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null) && [ -n "$c" ] && echo "$p: $c"
done; true`)
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSpace(out), "\n"), nil
}

func newKey(t testing.TB) (ssh.PublicKey, []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sshPub, pem.EncodeToMemory(block)
}

func newECDSAKey(t testing.TB) (ssh.PublicKey, []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pub, pem.EncodeToMemory(block)
}

type tarFile struct {
	mode int64
	data []byte
	uid  int // and gid
}

// tarFiles makes a tar stream of files, in directories the image has.
func tarFiles(t testing.TB, files map[string]tarFile) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: f.mode, Size: int64(len(f.data)), Uid: f.uid, Gid: f.uid}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}
