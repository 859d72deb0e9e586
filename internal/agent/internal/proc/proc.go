package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Info identifies a process across pid reuse: its pid and its start time in clock ticks since
// boot, as /proc/<pid>/stat reports it.
type Info struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
}

// Stat is the part of /proc/<pid>/stat the agent uses.
type Stat struct {
	State       byte
	PGID        int
	UserTicks   uint64 // utime, in clock ticks (USER_HZ)
	SystemTicks uint64 // stime, in clock ticks
	StartTime   uint64
	RSSPages    int64
}

// ClockTicks is the unit of Stat's CPU times and start time: USER_HZ, 100 on Linux.
const ClockTicks = 100

// ReadStat reads /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	st, err := parseStat(b)
	if err != nil {
		return Stat{}, fmt.Errorf("proc %d: %w", pid, err)
	}
	return st, nil
}

// parseStat parses the content of a /proc/<pid>/stat.
func parseStat(b []byte) (Stat, error) {
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return Stat{}, errors.New("malformed stat")
	}
	f := bytes.Fields(b[i+2:])
	if len(f) < 22 {
		return Stat{}, errors.New("short stat")
	}
	st := Stat{State: f[0][0]}
	var errs [5]error
	st.PGID, errs[0] = strconv.Atoi(string(f[2]))
	st.UserTicks, errs[1] = strconv.ParseUint(string(f[11]), 10, 64)
	st.SystemTicks, errs[2] = strconv.ParseUint(string(f[12]), 10, 64)
	st.StartTime, errs[3] = strconv.ParseUint(string(f[19]), 10, 64)
	st.RSSPages, errs[4] = strconv.ParseInt(string(f[21]), 10, 64)
	if err := errors.Join(errs[:]...); err != nil {
		return Stat{}, fmt.Errorf("stat: %w", err)
	}
	return st, nil
}

// Self returns the Info of the calling process.
func Self() (Info, error) {
	pid := os.Getpid()
	st, err := ReadStat(pid)
	if err != nil {
		return Info{}, err
	}
	return Info{PID: pid, StartTime: st.StartTime}, nil
}

// Of returns the Info of process pid.
func Of(pid int) (Info, error) {
	st, err := ReadStat(pid)
	if err != nil {
		return Info{}, err
	}
	return Info{PID: pid, StartTime: st.StartTime}, nil
}

// Alive reports whether the process is running: it exists, is not a zombie, and (when
// p.StartTime is set) started when p says, so a recycled pid does not count.
func (p Info) Alive() bool {
	if p.PID <= 0 {
		return false
	}
	st, err := ReadStat(p.PID)
	if err != nil {
		return false
	}
	if st.State == 'Z' || st.State == 'X' || st.State == 'x' {
		return false
	}
	return p.StartTime == 0 || st.StartTime == p.StartTime
}

// Reap collects the exit status of pid if it is an exited child of the caller. It never blocks.
func Reap(pid int) (unix.WaitStatus, bool) {
	var ws unix.WaitStatus
	got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	return ws, err == nil && got == pid
}

// Reap collects p if it is an exited child of the caller and still the process p names (a
// recycled pid belongs to someone else, whose status must not be taken). A process whose main
// thread has exited shows as a zombie (and Wait returns) while its other threads may still be
// exiting, and cannot be collected until they are: Reap waits for that, which takes moments,
// rather than leave a zombie behind. It never waits for a process that is still running.
func (p Info) Reap() {
	st, err := ReadStat(p.PID)
	if err != nil || st.State != 'Z' || (p.StartTime != 0 && st.StartTime != p.StartTime) {
		return
	}
	fd, err := unix.PidfdOpen(p.PID, 0)
	if err != nil {
		Reap(p.PID)
		return
	}
	defer unix.Close(fd)
	// The pidfd names whatever held the pid when it was opened: check that it is still p.
	if st, err := ReadStat(p.PID); err != nil || (p.StartTime != 0 && st.StartTime != p.StartTime) {
		return
	}
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED, nil)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EINVAL || err == unix.ENOSYS { // no P_PIDFD: the zombie may yet be collectable
			Reap(p.PID)
		}
		return // collected, or not a child of the caller (ECHILD)
	}
}

// pollInterval is how often Wait checks a process when pidfds are unavailable.
const pollInterval = 100 * time.Millisecond

// Wait returns nil once p is no longer alive, or ctx's error. It does not reap: a caller that
// is p's parent calls Reap afterwards.
func (p Info) Wait(ctx context.Context) error {
	if !p.Alive() {
		return nil
	}
	fd, err := unix.PidfdOpen(p.PID, unix.PIDFD_NONBLOCK)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil
		}
		return p.poll(ctx)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	// The pidfd refers to whatever process holds the pid now: check it is still ours.
	if !p.Alive() {
		return nil
	}
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return p.poll(ctx) // not registered with the runtime poller
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return p.poll(ctx)
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	err = rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(fds, 0)
		return n > 0
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return p.poll(ctx)
	}
	return nil
}

func (p Info) poll(ctx context.Context) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for p.Alive() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
