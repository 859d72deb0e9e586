package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// procStat is the part of /proc/<pid>/stat that local nodes are tracked by.
type procStat struct {
	PID       int
	State     byte
	PPID      int
	PGID      int
	SID       int
	StartTime uint64 // clock ticks since boot: tells a process from a later one with its pid
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, fmt.Errorf("proc %d: malformed stat", pid)
	}
	f := bytes.Fields(b[i+2:])
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("proc %d: short stat", pid)
	}
	st := procStat{PID: pid, State: f[0][0]}
	if st.PPID, err = strconv.Atoi(string(f[1])); err != nil {
		return procStat{}, err
	}
	if st.PGID, err = strconv.Atoi(string(f[2])); err != nil {
		return procStat{}, err
	}
	if st.SID, err = strconv.Atoi(string(f[3])); err != nil {
		return procStat{}, err
	}
	if st.StartTime, err = strconv.ParseUint(string(f[19]), 10, 64); err != nil {
		return procStat{}, err
	}
	return st, nil
}

// processAlive reports whether pid runs (and is not a zombie) and, when start is non-zero,
// started at start, so a recycled pid does not count.
func processAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(pid)
	if err != nil {
		return false
	}
	if st.State == 'Z' || st.State == 'X' {
		return false
	}
	return start == 0 || st.StartTime == start
}

// allProcs lists every process of the machine.
func allProcs() []procStat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 {
			continue
		}
		if st, err := readProcStat(pid); err == nil && st.State != 'Z' && st.State != 'X' {
			out = append(out, st)
		}
	}
	return out
}

// procArgsUnder reports whether an argument of process pid's command line is a path inside dir
// (a node's --work-dir).
func procArgsUnder(pid int, dir string) bool {
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	for _, arg := range bytes.Split(b, []byte{0}) {
		if strings.HasPrefix(string(arg), prefix) {
			return true
		}
	}
	return false
}

// procCwdUnder reports whether process pid's working directory is inside dir.
func procCwdUnder(pid int, dir string) bool {
	cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	if err != nil {
		return false
	}
	cwd = strings.TrimSuffix(cwd, " (deleted)")
	return strings.HasPrefix(cwd, filepath.Clean(dir)+string(filepath.Separator))
}

// ancestors returns the calling process and its ancestors: never to be killed.
func ancestors() map[int]bool {
	out := map[int]bool{}
	for pid := os.Getpid(); pid > 1 && !out[pid]; {
		out[pid] = true
		st, err := readProcStat(pid)
		if err != nil {
			break
		}
		pid = st.PPID
	}
	return out
}

// signal sends sig to pid, ignoring a process that is already gone.
func signal(pid int, sig syscall.Signal) error {
	if pid <= 1 {
		return nil
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %d: %w", pid, err)
	}
	return nil
}
