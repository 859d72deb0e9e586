package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/cli"
	"github.com/marina-dcos/marina/internal/client/marathon/marathontest"
)

// result is what one in-process run of the CLI printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

// exitMu serialises runs: cli.Exit is process-wide.
var exitMu sync.Mutex

// run runs `marina args...` in process with stdin, as main would, and returns its output and
// exit code. The state dir is an empty temporary one unless the test set MARINA_STATE_DIR.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runCtx(t, context.Background(), stdin, args...)
}

func runCtx(t *testing.T, ctx context.Context, stdin string, args ...string) result {
	t.Helper()
	if os.Getenv("MARINA_STATE_DIR") == "" {
		t.Setenv("MARINA_STATE_DIR", t.TempDir())
	}
	exitMu.Lock()
	defer exitMu.Unlock()
	code := -1
	cli.Exit = func(c int) { code = c }
	t.Cleanup(func() { cli.Exit = os.Exit })
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(ctx)
	switch {
	case code >= 0: // the command reported its error and exited
	case err != nil: // cobra's own error: main prints it and exits 1
		errb.WriteString("marina: " + err.Error() + "\n")
		code = 1
	default:
		code = 0
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// runAsync starts a run and returns a channel with its result.
func runAsync(t *testing.T, ctx context.Context, args ...string) <-chan result {
	t.Helper()
	if os.Getenv("MARINA_STATE_DIR") == "" {
		t.Setenv("MARINA_STATE_DIR", t.TempDir())
	}
	ch := make(chan result, 1)
	go func() { ch <- runCtx(t, ctx, "", args...) }()
	return ch
}

func awaitRun(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the command did not end")
	}
	return result{}
}

// expect checks the exit code and that stdout and stderr contain the given strings.
func (r result) expect(t *testing.T, code int, stdout []string, stderr []string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
		}
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
}

// sameJSON fails the test unless got and want are the same JSON, whitespace aside.
func sameJSON(t *testing.T, got string, want []byte) {
	t.Helper()
	var g, w bytes.Buffer
	if err := json.Compact(&g, []byte(got)); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got)
	}
	if err := json.Compact(&w, want); err != nil {
		t.Fatal(err)
	}
	if g.String() != w.String() {
		t.Errorf("--json output differs from the API's answer:\n got %s\nwant %s", g.String(), w.String())
	}
}

// fake starts a scripted Marathon API and returns it with the --services flag for it.
func fake(t *testing.T) (*marathontest.Server, string) {
	srv := marathontest.New(t)
	return srv, "--services=" + srv.URL
}

// writeFile writes content to a file in a temporary directory and returns its path.
func writeFile(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
