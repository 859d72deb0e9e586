package supervisor

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCommand(t *testing.T) {
	tests := []struct {
		name     string
		spec     Spec
		wantPath string
		wantArgv []string
		wantErr  bool
	}{
		{"shell", Spec{Shell: true, Value: "echo hi"}, "/bin/sh", []string{"sh", "-c", "echo hi"}, false},
		{"argv from arguments", Spec{Value: "/bin/echo", Arguments: []string{"say", "hi"}}, "/bin/echo", []string{"say", "hi"}, false},
		{"argv0 from value", Spec{Value: "/bin/true"}, "/bin/true", []string{"/bin/true"}, false},
		{"program from arguments", Spec{Arguments: []string{"/bin/true", "x"}}, "/bin/true", []string{"/bin/true", "x"}, false},
		{"program in the task's PATH", Spec{Value: "true", Env: []string{"PATH=/nonexistent:/bin"}}, "/bin/true", []string{"true"}, false},
		{"not in the task's PATH", Spec{Value: "true", Env: []string{"PATH=/nonexistent"}}, "", nil, true},
		{"empty", Spec{}, "", nil, true},
		{"missing", Spec{Value: "/nonexistent/x"}, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, argv, err := command(tt.spec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if path != tt.wantPath || !slices.Equal(argv, tt.wantArgv) {
				t.Fatalf("got %q %q", path, argv)
			}
		})
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"bin/prog", "sub/run", "plain"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o755)
		if f == "plain" {
			mode = 0o644
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "bin")
	tests := []struct {
		file, path string
		want       string
		wantErr    error
	}{
		{"prog", "/nonexistent:" + bin, filepath.Join(bin, "prog"), nil},
		{"prog", "/nonexistent", "", exec.ErrNotFound},
		{"prog", "", "", exec.ErrNotFound},
		{"./sub/run", "", filepath.Join(dir, "sub/run"), nil}, // relative to the sandbox
		{"sub/run", "", filepath.Join(dir, "sub/run"), nil},
		{filepath.Join(bin, "prog"), "", filepath.Join(bin, "prog"), nil},
		{"run", "sub", "", exec.ErrDot}, // found through a relative PATH entry
		{"./plain", "", "", os.ErrPermission},
		{"./bin", "", "", nil}, // a directory: some error
		{"/nonexistent/prog", "", "", os.ErrNotExist},
	}
	for _, tt := range tests {
		got, err := lookPath(tt.file, tt.path, dir)
		switch {
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("lookPath(%q, %q) = %q, %v; want %q", tt.file, tt.path, got, err, tt.want)
		case tt.want == "" && err == nil:
			t.Errorf("lookPath(%q, %q) = %q, want an error", tt.file, tt.path, got)
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("lookPath(%q, %q) error = %v, want %v", tt.file, tt.path, err, tt.wantErr)
		case err != nil && !strings.Contains(err.Error(), tt.file):
			t.Errorf("lookPath(%q) error %q does not name the program", tt.file, err)
		}
	}
}

// TestGate starts a command held at the gate, with plain files standing in for cgroup.procs:
// release writes the task's pid into each, and only then does the command run, as that pid.
func TestGate(t *testing.T) {
	dir := t.TempDir()
	procs := []string{filepath.Join(dir, "memory.procs"), filepath.Join(dir, "cpu.procs")}
	spec := Spec{
		TaskID: "t", Sandbox: dir, Shell: true, Value: `echo "$$ $0 $*" > out`,
		Env: []string{"PATH=/bin:/usr/bin"}, CgroupProcs: procs,
	}
	stdout, stderr := openTestLog(t, dir, "stdout"), openTestLog(t, dir, "stderr")
	cmd, release, err := start(spec, filepath.Join(dir, SpecFile), stdout, stderr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Fatal("the command ran before release")
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("task: %v", err)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	for _, p := range procs {
		if b, _ := os.ReadFile(p); string(b) != pid {
			t.Errorf("%s = %q, want %s", filepath.Base(p), b, pid)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out")); string(b) != pid+" sh \n" {
		t.Errorf("out = %q, want the task's shell as pid %s", b, pid)
	}
}

// TestGateWithoutRelease checks that the gate runs nothing when the supervisor goes away
// without releasing it: the task must not run outside its cgroups.
func TestGateWithoutRelease(t *testing.T) {
	dir := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-c", gateScript, "/bin/touch", filepath.Join(dir, "ran"))
	cmd.ExtraFiles = []*os.File{r}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	w.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 127 {
		t.Fatalf("gate exit = %v, want 127", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("the command ran")
	}
}

func TestGateJoinFailure(t *testing.T) {
	dir := t.TempDir()
	spec := Spec{TaskID: "t", Sandbox: dir, Shell: true, Value: "touch ran", Env: []string{"PATH=/bin:/usr/bin"},
		CgroupProcs: []string{filepath.Join(dir, "nonexistent", "cgroup.procs")}}
	cmd, release, err := start(spec, filepath.Join(dir, SpecFile), openTestLog(t, dir, "stdout"), openTestLog(t, dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	if err := release(); err == nil || !strings.Contains(err.Error(), "join cgroup") {
		t.Fatalf("release = %v, want a join error", err)
	}
	_ = cmd.Wait() // the gate sees EOF and exits
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("the command ran")
	}
}

func openTestLog(t *testing.T, dir, name string) *os.File {
	f, err := openLog(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
