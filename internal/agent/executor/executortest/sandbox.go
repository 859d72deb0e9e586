package executortest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/testutil"
)

// testOutput checks that a task's output reaches the sandbox's stdout and stderr files while it
// runs, and all of it once it ended.
func testOutput(t *testing.T, h Harness) {
	e := newEnv(t, h, shell(`echo first; echo err1 >&2; while [ ! -e go ]; do sleep 0.02; done; echo second; echo err2 >&2`))
	c := e.launch()
	if err := c.Started(e.ctx()); err != nil {
		t.Fatalf("started: %v", err)
	}
	stdout := filepath.Join(e.spec.Sandbox, "stdout")
	stderr := filepath.Join(e.spec.Sandbox, "stderr")
	// Output reaches the sandbox while the task runs.
	testutil.WaitFor(t, h.Timeout, func() error {
		if b, _ := os.ReadFile(stdout); string(b) != "first\n" {
			return fmt.Errorf("stdout = %q, want the first line", b)
		}
		return nil
	})
	if err := os.WriteFile(filepath.Join(e.spec.Sandbox, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if x := e.wait(c); !x.Success() {
		t.Fatalf("exit = %+v", x)
	}
	if b, _ := os.ReadFile(stdout); string(b) != "first\nsecond\n" {
		t.Fatalf("stdout = %q", b)
	}
	b, _ := os.ReadFile(stderr)
	if i, j := strings.Index(string(b), "err1\n"), strings.Index(string(b), "err2\n"); i < 0 || j < i {
		t.Fatalf("stderr = %q", b)
	}
}

// testSandbox checks that the task runs in its sandbox, named by MESOS_SANDBOX, and shares it
// with the host.
func testSandbox(t *testing.T, h Harness) {
	e := newEnv(t, h, shell(`[ "$(pwd)" = "$MESOS_SANDBOX" ] || { echo "pwd $(pwd), sandbox $MESOS_SANDBOX" >&2; exit 2; }; cat in; echo written > "$MESOS_SANDBOX/out"`))
	if err := os.WriteFile(filepath.Join(e.spec.Sandbox, "in"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	x := e.wait(e.launch())
	if !x.Success() {
		errOut, _ := os.ReadFile(filepath.Join(e.spec.Sandbox, "stderr"))
		t.Fatalf("exit = %+v, stderr %q", x, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(e.spec.Sandbox, "stdout")); string(b) != "from the host\n" {
		t.Fatalf("stdout = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(e.spec.Sandbox, "out")); string(b) != "written\n" {
		t.Fatalf("out = %q", b)
	}
}

// testOOM checks that a task over its memory limit (64 MB) ends with OOM set. The shell itself
// grows, holding 256 MB of output in a variable, so it is the process the kernel kills.
func testOOM(t *testing.T, h Harness) {
	if !h.MemoryLimits {
		t.Skip("the harness does not enforce memory limits")
	}
	e := newEnv(t, h, shell(`x=$(dd if=/dev/zero bs=1048576 count=256 2>/dev/null | tr '\0' a); echo ${#x}`))
	// A whole cpu, so that filling memory takes a second, not ten.
	e.spec.Task.Resources = mesos.Resources{
		mesos.ScalarResource(mesos.ResourceCPUs, 1),
		mesos.ScalarResource(mesos.ResourceMem, 64),
	}
	x := e.wait(e.launch())
	if !x.OOM || x.Success() {
		t.Fatalf("exit = %+v, want OOM", x)
	}
}
