package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestWarmGate starts a gate ahead, with plain files standing in for cgroup.procs, then runs a
// task through it: the task is the process placed ahead, with the task's environment and none
// of the agent's, values intact however they are quoted, its output in the sandbox, and $0 "sh".
func TestWarmGate(t *testing.T) {
	dir := t.TempDir()
	procs := []string{filepath.Join(dir, "memory.procs"), filepath.Join(dir, "cpu.procs")}
	w, err := startWarm(procs)
	if err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(w.cmd.Process.Pid)
	for _, p := range procs {
		if b, _ := os.ReadFile(p); string(b) != pid {
			t.Fatalf("%s = %q, want the gate's pid %s", filepath.Base(p), b, pid)
		}
	}
	sandbox := filepath.Join(dir, "sandbox")
	if err := os.Mkdir(sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := Spec{
		TaskID: "t", Sandbox: sandbox, Shell: true,
		Value: `echo "$$ $0 [$1] ${HOME-unset}"; printf %s "$ODD" > odd; echo oops >&2`,
		Env:   []string{"PATH=/bin:/usr/bin", "ODD=it's\nmulti line"},
	}
	cmd, release, err := w.start(spec, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("task: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(sandbox, "stdout")); string(b) != pid+" sh [] unset\n" {
		t.Errorf("stdout = %q, want the gate's pid, sh, no argument and no HOME", b)
	}
	if b, _ := os.ReadFile(filepath.Join(sandbox, "odd")); string(b) != spec.Env[1][len("ODD="):] {
		t.Errorf("ODD = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(sandbox, "stderr")); string(b) != "oops\n" {
		t.Errorf("stderr = %q", b)
	}
}

// TestWarmGateDeclines checks that a command whose argv[0] names another program is left to
// the cold path, and that a gate with no task exits.
func TestWarmGateDeclines(t *testing.T) {
	dir := t.TempDir()
	w, err := startWarm(nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{TaskID: "t", Sandbox: dir, Value: "/bin/sh", Arguments: []string{"renamed", "-c", "true"}}
	if _, _, err := w.start(spec, dir); !errors.Is(err, errNotWarm) {
		t.Fatalf("start = %v, want errNotWarm", err)
	}
	w.discard()
	if !w.cmd.ProcessState.Success() {
		t.Fatalf("idle gate exited %v", w.cmd.ProcessState)
	}
}
