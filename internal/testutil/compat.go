package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The compatibility fixtures (Marathon's API spec, examples and real apps; Mesos wire facts) live
// in ../shared/compat beside the repository. Tests read them there, never from a copy, and skip
// when they are absent, so a plain clone still passes its own tests.

var (
	rootOnce sync.Once
	rootDir  string
)

// FindCompat returns the directory ../shared/compat/<sub> relative to the module root, or an
// error when it is absent: for fuzz seeds, which have no test to skip.
func FindCompat(sub string) (string, error) {
	rootOnce.Do(func() { rootDir = moduleRoot() })
	if rootDir == "" {
		return "", fmt.Errorf("go.mod not found above the package directory")
	}
	dir := filepath.Join(rootDir, "..", "shared", "compat", sub)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("compatibility fixtures not found at %s: %w", dir, err)
	}
	return dir, nil
}

// Compat returns the directory ../shared/compat/<sub>, skipping the test when it is absent.
func Compat(t testing.TB, sub string) string {
	t.Helper()
	dir, err := FindCompat(sub)
	if err != nil {
		t.Skipf("%v (they live in ../shared/compat beside the repository)", err)
	}
	return dir
}

// moduleRoot finds the module root: from `go env GOMOD`, else by walking up to go.mod.
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
