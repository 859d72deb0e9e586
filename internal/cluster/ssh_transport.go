package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshHost is one machine as a spec names it: "[user@]address[:port]".
type sshHost struct {
	User string
	Addr string // an IP address or a name: how the host is reached, and the node's address
	Port int
}

// parseSSHHost parses "[user@]address[:port]" ("[v6]:port" for IPv6 with a port), filling in
// the defaults.
func parseSSHHost(s, user string, port int) (sshHost, error) {
	h := sshHost{User: user, Port: port}
	rest := strings.TrimSpace(s)
	if u, a, ok := strings.Cut(rest, "@"); ok {
		if u == "" {
			return h, fmt.Errorf("host %q: empty user", s)
		}
		h.User, rest = u, a
	}
	if host, p, err := net.SplitHostPort(rest); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return h, fmt.Errorf("host %q: bad port %q", s, p)
		}
		h.Port, rest = n, host
	} else {
		rest = strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]")
	}
	if rest == "" || strings.ContainsAny(rest, " /@[]") {
		return h, fmt.Errorf("host %q: want [user@]address[:port]", s)
	}
	h.Addr = rest
	return h, nil
}

func (h sshHost) String() string {
	return h.User + "@" + net.JoinHostPort(h.Addr, strconv.Itoa(h.Port))
}

// key identifies a connection: one per user and endpoint.
func (h sshHost) key() string { return h.String() }

// sshAuth is how the provider authenticates to hosts and checks their keys.
type sshAuth struct {
	signers      []ssh.Signer
	agentSigners func() ([]ssh.Signer, error) // nil without an ssh-agent
	hostKey      ssh.HostKeyCallback
	knownHosts   []string // the files hostKey checks against; none when insecure
	closeAgent   func() error
}

// sshDialTimeout bounds connecting and the SSH handshake.
const sshDialTimeout = 10 * time.Second

// newSSHAuth loads the identities and known_hosts files. identityFiles and knownHostsFiles
// empty mean the defaults: ~/.ssh/id_ed25519, id_ecdsa and id_rsa where they exist, and
// ~/.ssh/known_hosts. An ssh-agent ($SSH_AUTH_SOCK) is used when one answers.
func newSSHAuth(identityFiles, knownHostsFiles []string, insecure bool) (*sshAuth, error) {
	a := &sshAuth{closeAgent: func() error { return nil }}
	home, _ := os.UserHomeDir()
	explicit := len(identityFiles) > 0
	if !explicit && home != "" {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			identityFiles = append(identityFiles, filepath.Join(home, ".ssh", n))
		}
	}
	var errs []error
	for _, f := range identityFiles {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) && !explicit {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("identity file: %w", err))
			continue
		}
		s, err := ssh.ParsePrivateKey(b)
		var pp *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &pp) && !explicit:
			continue // an encrypted default key: the agent may hold it
		case errors.As(err, &pp):
			errs = append(errs, fmt.Errorf("identity file %s is encrypted: add it to an ssh-agent instead", f))
		case err != nil:
			errs = append(errs, fmt.Errorf("identity file %s: %w", f, err))
		default:
			a.signers = append(a.signers, s)
		}
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if conn, err := net.DialTimeout("unix", sock, time.Second); err == nil {
			a.agentSigners = agent.NewClient(conn).Signers
			a.closeAgent = conn.Close
		}
	}
	if len(a.signers) == 0 && a.agentSigners == nil && len(errs) == 0 {
		errs = append(errs, errors.New("no SSH identity: no ssh-agent ($SSH_AUTH_SOCK) and no ~/.ssh/id_ed25519, id_ecdsa or id_rsa; set provider.settings.identity_file"))
	}
	if insecure {
		a.hostKey = ssh.InsecureIgnoreHostKey() //nolint:gosec // asked for with insecure_ignore_host_key
	} else {
		if len(knownHostsFiles) == 0 && home != "" {
			knownHostsFiles = []string{filepath.Join(home, ".ssh", "known_hosts")}
		}
		cb, err := knownhosts.New(knownHostsFiles...)
		if err != nil {
			errs = append(errs, fmt.Errorf("known_hosts: %w (list the hosts' keys there, e.g. with ssh-keyscan, or set insecure_ignore_host_key: \"true\")", err))
		}
		a.hostKey, a.knownHosts = cb, knownHostsFiles
	}
	if err := errors.Join(errs...); err != nil {
		a.closeAgent()
		return nil, err
	}
	return a, nil
}

// config returns the client configuration for user.
func (a *sshAuth) config(user string) *ssh.ClientConfig {
	methods := []ssh.AuthMethod{}
	if len(a.signers) > 0 {
		methods = append(methods, ssh.PublicKeys(a.signers...))
	}
	if a.agentSigners != nil {
		methods = append(methods, ssh.PublicKeysCallback(a.agentSigners))
	}
	return &ssh.ClientConfig{
		User:            user,
		Auth:            methods,
		HostKeyCallback: a.hostKey,
		Timeout:         sshDialTimeout,
	}
}

// sshConn is a connection to one host. Commands run as root: through `sudo -n` when the
// login user is not root.
type sshConn struct {
	host   sshHost
	client *ssh.Client
	sudo   bool
}

// dialSSH connects and authenticates to h. A host whose key known_hosts holds, but of another
// type than the one the host offered first, is asked again for the known types: a host has keys
// of several types, and known_hosts often holds only the one OpenSSH prefers (ed25519), which
// this client would not ask for first.
func dialSSH(ctx context.Context, a *sshAuth, h sshHost) (*sshConn, error) {
	ctx, cancel := context.WithTimeout(ctx, sshDialTimeout)
	defer cancel()
	c, offered, err := dialOnce(ctx, a, h, nil)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) && len(ke.Want) > 0 {
		var types, algos []string
		for _, k := range ke.Want {
			types = append(types, k.Key.Type())
			if k.Key.Type() == ssh.KeyAlgoRSA {
				algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
			}
			algos = append(algos, k.Key.Type())
		}
		if !slices.Contains(types, offered) {
			c, _, err = dialOnce(ctx, a, h, algos)
		}
	}
	if errors.As(err, &ke) {
		if len(ke.Want) == 0 {
			return nil, fmt.Errorf("ssh %s: host key unknown: not in %s (add it, e.g. `ssh-keyscan %s >> ~/.ssh/known_hosts`, after checking it; or set insecure_ignore_host_key: \"true\"): %w",
				h, strings.Join(a.knownHosts, ", "), h.Addr, err)
		}
		return nil, fmt.Errorf("ssh %s: HOST KEY MISMATCH: the host's key differs from the one in %s: %w", h, strings.Join(a.knownHosts, ", "), err)
	}
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", h, err)
	}
	return c, nil
}

// dialOnce connects to h, asking for host keys of hostKeyAlgorithms (nil: the default order),
// and returns the type of the host key the host offered.
func dialOnce(ctx context.Context, a *sshAuth, h sshHost, hostKeyAlgorithms []string) (*sshConn, string, error) {
	addr := net.JoinHostPort(h.Addr, strconv.Itoa(h.Port))
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, "", err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	cfg := a.config(h.User)
	cfg.HostKeyAlgorithms = hostKeyAlgorithms
	var offered string
	check := cfg.HostKeyCallback
	cfg.HostKeyCallback = func(host string, remote net.Addr, key ssh.PublicKey) error {
		offered = key.Type()
		return check(host, remote, key)
	}
	cc, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
	if err != nil {
		nc.Close()
		return nil, offered, err
	}
	_ = nc.SetDeadline(time.Time{})
	return &sshConn{host: h, client: ssh.NewClient(cc, chans, reqs), sudo: h.User != "root"}, offered, nil
}

// errRemote is a remote command that ran and failed.
type errRemote struct {
	Host   string
	Status int
	Stderr string
}

func (e *errRemote) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = "no output"
	}
	return fmt.Sprintf("%s: remote command exited %d: %s", e.Host, e.Status, msg)
}

// maxRemoteOutput bounds what a remote command's output is read into memory.
const maxRemoteOutput = 4 << 20

// run runs script with /bin/sh on the host, as root, feeding it on stdin (so that it appears on
// no command line, where a sweep for the cluster's paths would find it), and returns its
// stdout.
func (c *sshConn) run(ctx context.Context, script string) ([]byte, error) {
	return c.exec(ctx, c.rootCommand("sh -s"), strings.NewReader(script))
}

// rootCommand returns cmd run as root.
func (c *sshConn) rootCommand(cmd string) string {
	if c.sudo {
		return "sudo -n " + cmd
	}
	return cmd
}

// exec runs cmd with stdin and returns its stdout; a non-zero exit is an *errRemote with the
// command's stderr.
func (c *sshConn) exec(ctx context.Context, cmd string, stdin io.Reader) ([]byte, error) {
	s, err := c.client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("ssh %s: session: %w", c.host, err)
	}
	defer s.Close()
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxRemoteOutput, 64<<10
	s.Stdin, s.Stdout, s.Stderr = stdin, &stdout, &stderr
	done := make(chan error, 1)
	go func() { done <- s.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		<-done
		return nil, fmt.Errorf("ssh %s: %w", c.host, ctx.Err())
	}
	var ee *ssh.ExitError
	switch {
	case errors.As(err, &ee):
		return stdout.Bytes(), &errRemote{Host: c.host.String(), Status: ee.ExitStatus(), Stderr: stderr.String()}
	case err != nil:
		return nil, fmt.Errorf("ssh %s: %w", c.host, err)
	}
	return stdout.Bytes(), nil
}

// upload writes content (size bytes, of the given sha256 in hex) to the file dst on the host
// with mode, through a temporary file and a rename, unless dst already holds exactly that. It
// reports whether it wrote. The channel's MAC guards the bytes in transit; the size check
// catches a copy cut short.
func (c *sshConn) upload(ctx context.Context, dst string, mode os.FileMode, sum string, size int64, content func() (io.ReadCloser, error)) (bool, error) {
	q := shellQuote(dst)
	out, err := c.exec(ctx, c.rootCommand("sh -c "+shellQuote("sha256sum "+q+" 2>/dev/null || true")), nil)
	if err != nil {
		return false, err
	}
	if f := strings.Fields(string(out)); len(f) > 0 && f[0] == sum {
		return false, nil
	}
	r, err := content()
	if err != nil {
		return false, err
	}
	defer r.Close()
	tmp := shellQuote(path.Join(path.Dir(dst), "."+path.Base(dst)+".upload"))
	script := fmt.Sprintf(`set -e; umask 077; mkdir -p %[1]s; cat > %[2]s; chmod %[3]o %[2]s
if [ "$(wc -c < %[2]s)" -ne %[4]d ]; then rm -f %[2]s; echo "the copy is short" >&2; exit 1; fi
mv -f %[2]s %[5]s`, shellQuote(path.Dir(dst)), tmp, mode.Perm(), size, q)
	if _, err := c.exec(ctx, c.rootCommand("sh -c "+shellQuote(script)), r); err != nil {
		return false, fmt.Errorf("upload %s: %w", dst, err)
	}
	return true, nil
}

// writeFiles writes small files (path to content) on the host with mode, in one round trip,
// each through a temporary file, replacing only those whose content differs. It returns the
// paths it wrote.
func (c *sshConn) writeFiles(ctx context.Context, files map[string][]byte, mode os.FileMode) ([]string, error) {
	var b strings.Builder
	b.WriteString("set -e\numask 077\n")
	for _, p := range slices.Sorted(maps.Keys(files)) {
		q, tmp := shellQuote(p), shellQuote(p+".new")
		fmt.Fprintf(&b, "mkdir -p %s\nbase64 -d > %s <<'MARINA_FILE_END'\n%s\nMARINA_FILE_END\nchmod %o %s\n",
			shellQuote(path.Dir(p)), tmp, base64.StdEncoding.EncodeToString(files[p]), mode.Perm(), tmp)
		fmt.Fprintf(&b, "if cmp -s %s %s; then rm -f %s; else mv -f %s %s; echo %s; fi\n", tmp, q, tmp, tmp, q, q)
	}
	out, err := c.run(ctx, b.String())
	if err != nil {
		return nil, fmt.Errorf("write files: %w", err)
	}
	return strings.Fields(string(out)), nil
}

func (c *sshConn) Close() error { return c.client.Close() }

// keepaliveTimeout bounds how long a pooled connection has to answer before it is dropped.
const keepaliveTimeout = 2 * time.Second

// alive tells a live connection from one whose host went away, with a cheap request that the
// host answers (OpenSSH declines it, which is an answer). A connection found dead must be
// closed, which also ends the request's goroutine.
func (c *sshConn) alive(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, keepaliveTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		done <- err
	}()
	select {
	case err := <-done:
		return err == nil
	case <-ctx.Done():
		return false
	}
}

// sshPool keeps one connection per host for the life of a provider.
type sshPool struct {
	auth *sshAuth

	mu    sync.Mutex
	conns map[string]*sshConn
}

// get returns the connection to h, dialling it when there is none (or the one there broke).
func (p *sshPool) get(ctx context.Context, h sshHost) (*sshConn, error) {
	p.mu.Lock()
	c := p.conns[h.key()]
	p.mu.Unlock()
	if c != nil {
		if c.alive(ctx) {
			return c, nil
		}
		p.drop(c)
	}
	c, err := dialSSH(ctx, p.auth, h)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.conns[h.key()]; old != nil {
		c.Close()
		return old, nil
	}
	if p.conns == nil {
		p.conns = map[string]*sshConn{}
	}
	p.conns[h.key()] = c
	return c, nil
}

func (p *sshPool) drop(c *sshConn) {
	p.mu.Lock()
	if p.conns[c.host.key()] == c {
		delete(p.conns, c.host.key())
	}
	p.mu.Unlock()
	c.Close()
}

// Close closes every connection.
func (p *sshPool) Close() error {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return p.auth.closeAgent()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
