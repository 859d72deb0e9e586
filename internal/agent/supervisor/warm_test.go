package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestWarmGate starts a gate ahead, with plain files standing in for cgroup.procs, then runs a
// task through it as the agent does: the task is the process placed ahead, with the task's
// environment and none of the agent's, values intact however they are quoted, its output in the
// sandbox, and $0 "sh".
func TestWarmGate(t *testing.T) {
	dir := t.TempDir()
	procs := []string{filepath.Join(dir, "memory.procs"), filepath.Join(dir, "cpu.procs")}
	gateR, gateW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer gateW.Close()
	w, err := startWarm(procs, gateR)
	if err != nil {
		t.Fatal(err)
	}
	pid := GatePID(procs)
	if pid == 0 || pid != w.cmd.Process.Pid {
		t.Fatalf("GatePID = %d, want the gate's pid %d", pid, w.cmd.Process.Pid)
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
	script, err := WriteRunScript(dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gateW.Write([]byte(script + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("task: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(sandbox, "stdout")); string(b) != strconv.Itoa(pid)+" sh [] unset\n" {
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
// the cold path, and that a gate whose pipe closes exits without running anything.
func TestWarmGateDeclines(t *testing.T) {
	dir := t.TempDir()
	spec := Spec{TaskID: "t", Sandbox: dir, Value: "/bin/sh", Arguments: []string{"renamed", "-c", "true"}}
	if _, err := WriteRunScript(dir, spec); !errors.Is(err, ErrNotWarm) {
		t.Fatalf("WriteRunScript = %v, want ErrNotWarm", err)
	}
	gateR, gateW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w, err := startWarm(nil, gateR)
	if err != nil {
		t.Fatal(err)
	}
	gateW.Close()
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("idle gate: %v", err)
	}
}

func TestGatePID(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	one, same, other, empty, two := write("a", "42\n"), write("b", "42\n"), write("c", "43\n"), write("d", ""), write("e", "42\n43\n")
	tests := []struct {
		procs []string
		want  int
	}{
		{[]string{one, same}, 42},
		{[]string{one, other}, 0},
		{[]string{one, empty}, 0},
		{[]string{two}, 0},
		{[]string{filepath.Join(dir, "missing")}, 0},
	}
	for _, tt := range tests {
		if got := GatePID(tt.procs); got != tt.want {
			t.Errorf("GatePID(%v) = %d, want %d", tt.procs, got, tt.want)
		}
	}
}
