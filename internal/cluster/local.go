package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/marina-dcos/marina/internal/agent/supervisor"
)

// Ports of the local provider's nodes: the standard ones, each node on its own loopback address.
const (
	masterPort   = 5050
	agentPort    = 5051
	etcdClient   = 2379
	etcdPeer     = 2380
	servicesPort = 8080
)

// Local is the local provider: every node is a marina process on this machine, detached in its
// own session, on a loopback address of its own (masters on .2, .3, ...; agents on .11, .12,
// ...), so every node uses the standard ports. Settings: "subnet", the first three octets of the
// addresses (default "127.0.0"); "binary", the marina executable to run (default: the running
// one).
type Local struct {
	subnet string
	binary string

	mu     sync.Mutex
	exited map[string]error // how nodes started by this process ended, by node name
}

var _ Provider = (*Local)(nil)

// NewLocal returns a local provider with settings.
func NewLocal(settings map[string]string) (*Local, error) {
	l := &Local{subnet: "127.0.0"}
	var errs []error
	for k, v := range settings {
		switch k {
		case "subnet":
			p, err := netip.ParseAddr(v + ".1")
			if err != nil || !p.Is4() || !p.IsLoopback() || strings.Count(v, ".") != 2 {
				errs = append(errs, fmt.Errorf("provider.settings.subnet: %q is not the first three octets of a loopback address, like 127.0.0", v))
			}
			l.subnet = v
		case "binary":
			l.binary = v
		default:
			errs = append(errs, fmt.Errorf("provider.settings.%s: unknown setting of the local provider (known: subnet, binary)", k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return l, nil
}

// Name returns "local".
func (l *Local) Name() string { return "local" }

// Plan lays out masters on <subnet>.2.. and agents on <subnet>.11.., with work dirs under
// <dir>/nodes and logs under <dir>/logs.
func (l *Local) Plan(c *Cluster) error {
	if err := planBinary(c, "local", l.binary); err != nil {
		return err
	}
	agents := c.Spec.Agents.Expand()
	if 10+len(agents) > 254 {
		return fmt.Errorf("local provider: %d agents do not fit in %s.11-254", len(agents), l.subnet)
	}
	addr := func(host int) string { return fmt.Sprintf("%s.%d", l.subnet, host) }
	planOnThisMachine(c, agents, addr, nodeFiles{root: c.Dir}, etcdClient, etcdPeer, servicesPort)
	return nil
}

func servicesURL(ip string) string {
	return "http://" + net.JoinHostPort(ip, strconv.Itoa(servicesPort))
}

// Minimums of an agent's share of this machine (agentShare), so that an agent of a crowded
// machine can still run a small task. CPU time is shared, not used up, so each agent offers at
// least one CPU (or the machine's, when it has less): an app with Marathon's default of one
// CPU then fits on any agent, on any machine.
const (
	minShareCPUs   = 1
	minShareMemMB  = 256
	minShareDiskMB = 1024
)

// mastersMemMB is the memory held back from the agents' shares for the masters and the rest of
// the machine.
const mastersMemMB = 1024

// defaultAgentResources is what each of n agents on this machine offers when the spec does not
// say: its share of the machine's CPUs, memory and free disk (agentShare), since they all run
// on it.
func defaultAgentResources(dir string, n int) string {
	mem := 4096.0 + mastersMemMB
	if m, err := totalMemoryMB(); err == nil {
		mem = m
	}
	disk := 10240.0
	var st syscall.Statfs_t
	for d := dir; d != "" && d != "."; d = filepath.Dir(d) {
		if syscall.Statfs(d, &st) == nil {
			disk = max(float64(st.Bavail*uint64(st.Bsize)>>20)-5*1024, minShareDiskMB)
			break
		}
		if d == "/" {
			break
		}
	}
	return agentShare(runtime.NumCPU(), mem, disk, n)
}

// agentShare returns the resources of one of n agents sharing a machine of cpus CPUs, memMB of
// memory and diskMB of free disk: each gets 1/n of the CPUs (rounded down to 3 decimals), of the
// memory less mastersMemMB and of the disk (in whole MB), and at least the minimums.
func agentShare(cpus int, memMB, diskMB float64, n int) string {
	n = max(n, 1)
	c := max(math.Floor(float64(cpus)*1000/float64(n))/1000, min(minShareCPUs, float64(cpus)))
	m := max(math.Floor((memMB-mastersMemMB)/float64(n)), minShareMemMB)
	d := max(math.Floor(diskMB/float64(n)), minShareDiskMB)
	return fmt.Sprintf("cpus:%s;mem:%.0f;disk:%.0f", strconv.FormatFloat(c, 'f', -1, 64), m, d)
}

func totalMemoryMB() (float64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != "MemTotal" {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			break
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, err
		}
		return float64(int64(kb / 1024)), nil
	}
	return 0, errors.New("meminfo: no MemTotal")
}

// agentPortRanges gives n agents distinct port ranges below 32768 (the kernel's default
// ephemeral range starts there): 200 ports each from 31000 while they fit, narrower ranges
// from 20000 for many agents.
func agentPortRanges(n int) []string {
	base, width := 31000, 200
	if n*width > 32768-base {
		base = 20000
		width = max(1, min(200, (32768-base)/max(n, 1)))
	}
	out := make([]string, n)
	for i := range n {
		lo := base + width*i
		out[i] = fmt.Sprintf("[%d-%d]", lo, lo+width-1)
	}
	return out
}

// Preflight checks that the binary runs and that every node's address and ports are free.
func (l *Local) Preflight(_ context.Context, c *Cluster) error {
	var errs []error
	if fi, err := os.Stat(c.Binary); err != nil {
		errs = append(errs, fmt.Errorf("marina binary: %w", err))
	} else if fi.Mode()&0o111 == 0 {
		errs = append(errs, fmt.Errorf("marina binary %s is not executable", c.Binary))
	}
	if err := nodesAddrsFree(c.Nodes); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Provision installs the marina binary into the cluster's directory and makes the nodes' work
// directories and the log directory. Nodes run the installed copy: the binary that ran up may be
// gone while the cluster runs (`go run` deletes its build), and agents re-execute their binary to
// supervise every task.
func (l *Local) Provision(_ context.Context, c *Cluster) error {
	installed := nodeFiles{root: c.Dir}.binary()
	if c.Binary != installed {
		if err := installBinary(c.Binary, installed); err != nil {
			return fmt.Errorf("install marina binary: %w", err)
		}
		c.Binary = installed
	}
	return makeNodeDirs(c.Nodes)
}

// Configure sets each node's command line (nodeArgs): masters get fast etcd timing and a short
// leader TTL, which loopback allows, so that a master failover takes seconds. Loopback nodes
// need no credentials.
func (l *Local) Configure(_ context.Context, c *Cluster) error {
	setNodeArgs(c, nodeCommand{fastFailover: true})
	return nil
}

// Start starts each node as a child process in a session of its own, so that it outlives
// this process and a Ctrl-C in the terminal does not reach it. Output goes to the node's log.
func (l *Local) Start(_ context.Context, c *Cluster, nodes []*Node) error {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, supervisor.EnvSupervisor+"=") || strings.HasPrefix(kv, supervisor.EnvExec+"=")
	})
	for _, n := range nodes {
		logf, err := os.OpenFile(n.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return &NodeError{Node: n.Name, Err: err}
		}
		cmd := exec.Command(c.Binary, n.Args...)
		cmd.Dir = n.WorkDir
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		err = cmd.Start()
		logf.Close()
		if err != nil {
			return &NodeError{Node: n.Name, Err: fmt.Errorf("start: %w", err)}
		}
		n.PID = cmd.Process.Pid
		if st, err := readProcStat(n.PID); err == nil {
			n.StartTime = st.StartTime
		}
		// Reap the child should it exit while this process runs; Running then reports it gone.
		go func() {
			err := cmd.Wait()
			if err == nil {
				err = errors.New("exit status 0")
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.exited == nil {
				l.exited = map[string]error{}
			}
			l.exited[n.Name] = err
		}()
	}
	return nil
}

// Running reports whether n's process runs.
func (l *Local) Running(_ *Cluster, n *Node) bool { return processAlive(n.PID, n.StartTime) }

// ExitError says how node n, started by this process, ended; nil when unknown.
func (l *Local) ExitError(n *Node) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.exited[n.Name]
}

// Logs returns the last lines of n's log file.
func (l *Local) Logs(_ *Cluster, n *Node, lines int) ([]string, error) {
	return tailFile(n.LogFile, lines)
}

// tailFile returns the last n lines of a file.
func tailFile(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const window = 64 << 10
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-window, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if off > 0 && len(lines) > 0 {
		lines = lines[1:] // partial first line
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return nil, nil
	}
	return lines, nil
}

// installBinary copies the executable src to dst (atomically, mode 0755).
func installBinary(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".marina-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
