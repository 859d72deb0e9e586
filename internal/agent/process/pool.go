package process

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/internal/proc"
	"github.com/marina-dcos/marina/internal/agent/supervisor"
)

// DefaultWarm is how many idle supervisors an executor keeps ready. A supervisor needs some
// 30 ms of CPU to start, and on a busy two-core host 100 ms or more of wall time; with one
// launch every 40-50 ms, two were often still starting when their launch came, four rarely are.
// Each idle one costs about 2 MB of private memory.
const DefaultWarm = 4

// member is a supervisor started ahead of its task: in a session of its own, as every
// supervisor, and blocked on its assignment pipe (see supervisor.Pooled). Idle, it has no state
// directory, so nothing that reads state directories (recovery, teardown) can take it for a task.
// With cgroups, a member of the pool comes with the cgroup of its future task, which its
// supervisor puts the task's process in ahead (see supervisor.EnvCgroupProcs): the launch sets
// the task's limits on it.
type member struct {
	info    proc.Info
	assign  *os.File       // write end of the supervisor's AssignFD
	started *os.File       // read end of its StartedFD
	group   *cgroups.Group // the task's cgroup, made ahead; nil without cgroups or when cold
	gate    *os.File       // write end of the gate's pipe (supervisor.WarmGateFD) with group
	// launched tells the pool that took the member that its launch is over; it does nothing
	// for a member started for its launch. Idempotent.
	launched func()
}

// spawnWarm starts a member for the pool: with its task's cgroup when tasks get cgroups.
func (e *Executor) spawnWarm() (*member, error) {
	var group *cgroups.Group
	if e.cfg.Cgroups.Enabled() {
		g, err := e.cfg.Cgroups.Create("warm-"+rand.Text(), cgroups.Limits{})
		if err != nil {
			return nil, err
		}
		group = g
	}
	m, err := e.spawn(group)
	if err != nil {
		_ = group.Destroy(context.Background())
		return nil, err
	}
	return m, nil
}

// spawn starts a supervisor that waits for its assignment, with group for its task when not
// nil; args follow its name on its command line.
func (e *Executor) spawn(group *cgroups.Group, args ...string) (*member, error) {
	assignR, assignW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	startedR, startedW, err := os.Pipe()
	if err != nil {
		assignR.Close()
		assignW.Close()
		return nil, err
	}
	env := append(append([]string(nil), e.cfg.Env...), supervisor.EnvSupervisor+"="+supervisor.Pooled)
	files := []*os.File{assignR, startedW} // supervisor.AssignFD, supervisor.StartedFD
	var gateR, gateW *os.File
	if group != nil {
		if gateR, gateW, err = os.Pipe(); err != nil {
			assignR.Close()
			assignW.Close()
			startedR.Close()
			startedW.Close()
			return nil, err
		}
		env = append(env, supervisor.EnvCgroupProcs+"="+strings.Join(group.Procs(), string(os.PathListSeparator)))
		files = append(files, gateR) // supervisor.WarmGateFD
	}
	cmd := &exec.Cmd{
		Path:        e.cfg.Path,
		Args:        append([]string{"marina-supervisor"}, args...),
		Env:         env,
		Dir:         "/",
		ExtraFiles:  files,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	assignR.Close()
	startedW.Close()
	if gateR != nil {
		gateR.Close()
	}
	if err != nil {
		assignW.Close()
		startedR.Close()
		if gateW != nil {
			gateW.Close()
		}
		return nil, err
	}
	// Until reaped, the supervisor's /proc entry stays, so its start time is readable.
	info, err := proc.Of(cmd.Process.Pid)
	if err != nil {
		info = proc.Info{PID: cmd.Process.Pid}
	}
	_ = cmd.Process.Release()
	return &member{info: info, assign: assignW, started: startedR, group: group, gate: gateW, launched: func() {}}, nil
}

// hand gives the member its assignment. Once written, the assignment is the supervisor's even
// if the agent dies at once: it waits in the pipe. hand fails when the supervisor died idle.
func (m *member) hand(specPath string) error {
	_, err := m.assign.Write([]byte(specPath + "\n"))
	if cerr := m.assign.Close(); err == nil {
		err = cerr
	}
	return err
}

// discard kills a member that will not be assigned, collects it and removes its cgroup (with
// what its supervisor started there). It holds no task and no files.
func (m *member) discard() {
	m.assign.Close()
	m.started.Close()
	m.closeGate()
	// Not reaped yet, so the pid is still this child's.
	_ = syscall.Kill(m.info.PID, syscall.SIGKILL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.info.Wait(ctx)
	m.info.Reap()
	_ = m.group.Destroy(ctx) // what is left is pruned with the agent's leftover cgroups
}

// closeGate closes the member's end of its gate's pipe: a gate not let run by then ends.
func (m *member) closeGate() {
	if m.gate != nil {
		m.gate.Close()
		m.gate = nil
	}
}

// refillHold bounds how long the refill waits for launches in flight.
const refillHold = 100 * time.Millisecond

// pool keeps idle supervisors ready, so that a launch costs a write to a pipe rather than the
// start of the agent's binary: tens to hundreds of milliseconds of page faults and package
// initialisation. It refills in the background after each take, once the launches that took
// a member are over (the caller waits for the task, having seen it started) or refillHold
// passed: a supervisor starting competes for the CPU with the launch, and on a busy host that
// doubled the slowest launches.
type pool struct {
	e     *Executor
	size  int
	wake  chan struct{}
	quiet chan struct{} // signalled when the last launch in flight is over
	stop  chan struct{}
	wg    sync.WaitGroup

	mu       sync.Mutex
	idle     []*member // oldest, and so readiest, first
	inFlight int       // members taken whose launch is not over
	closed   bool
}

func newPool(e *Executor, size int) *pool {
	p := &pool{e: e, size: size, wake: make(chan struct{}, 1), quiet: make(chan struct{}, 1),
		stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.refillLoop()
	}()
	p.kick()
	return p
}

func (p *pool) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// take returns the oldest idle member, or nil when none is, and has the pool refilled. The
// caller calls launched once the launch is over. A nil pool has none.
func (p *pool) take() *member {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.kick()
	if len(p.idle) == 0 {
		return nil
	}
	m := p.idle[0]
	p.idle = p.idle[1:]
	p.inFlight++
	m.launched = sync.OnceFunc(p.launched)
	return m
}

// launched says that a taken member's launch is over: the refill may go on.
func (p *pool) launched() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight--
	if p.inFlight == 0 {
		select {
		case p.quiet <- struct{}{}:
		default:
		}
	}
}

// waitQuiet waits until no launch is in flight, or refillHold passed; false when the pool
// stops first.
func (p *pool) waitQuiet() bool {
	hold := time.NewTimer(refillHold)
	defer hold.Stop()
	for {
		p.mu.Lock()
		busy := p.inFlight > 0
		p.mu.Unlock()
		if !busy {
			return true
		}
		select {
		case <-p.stop:
			return false
		case <-hold.C:
			return true
		case <-p.quiet:
		}
	}
}

// refillLoop starts members until the pool is full, whenever woken. A start that fails (the
// host out of processes) stops the refill until the next take: launches then start their own.
func (p *pool) refillLoop() {
	for {
		select {
		case <-p.stop:
			return
		case <-p.wake:
		}
		for p.short() {
			if !p.waitQuiet() {
				return
			}
			m, err := p.e.spawnWarm()
			if err != nil {
				p.e.log.Warn("start warm supervisor", "err", err)
				break
			}
			if !p.add(m) {
				m.discard()
				return
			}
		}
	}
}

func (p *pool) short() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.closed && len(p.idle) < p.size
}

func (p *pool) add(m *member) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.idle = append(p.idle, m)
	return true
}

// close stops the refill and discards the idle members.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	close(p.stop)
	p.wg.Wait()
	for _, m := range idle {
		m.discard()
	}
}

// pids returns the idle members' pids, for tests.
func (p *pool) pids() []proc.Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]proc.Info, len(p.idle))
	for i, m := range p.idle {
		out[i] = m.info
	}
	return out
}
