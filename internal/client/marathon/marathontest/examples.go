package marathontest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The Marathon examples live beside the repository, in ../shared/compat/marathon/examples
// relative to the module root. They are read there at test time, never copied.

var (
	rootOnce sync.Once
	rootDir  string
)

// ExamplesDir returns the directory of the shared Marathon examples, skipping the test when
// it is absent.
func ExamplesDir(t testing.TB) string {
	t.Helper()
	dir, err := FindExamplesDir()
	if err != nil {
		t.Skipf("%v (they live in ../shared/compat beside the repository)", err)
	}
	return dir
}

// FindExamplesDir returns the directory of the shared Marathon examples, or an error when it
// is absent: for fuzz seeds, which have no test to skip.
func FindExamplesDir() (string, error) {
	rootOnce.Do(func() { rootDir = moduleRoot() })
	if rootDir == "" {
		return "", errors.New("marathontest: go.mod not found above the package directory")
	}
	dir := filepath.Join(rootDir, "..", "shared", "compat", "marathon", "examples")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("marathontest: Marathon examples not found at %s: %w", dir, err)
	}
	return dir, nil
}

// Example returns the shared Marathon example name (app.json, tasks.json, events.txt...),
// skipping the test when the examples are absent.
func Example(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ExamplesDir(t), name))
	if err != nil {
		t.Fatalf("marathontest: %v", err)
	}
	return b
}

func moduleRoot() string {
	if out, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			return filepath.Dir(gomod)
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
