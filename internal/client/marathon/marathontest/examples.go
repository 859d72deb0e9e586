package marathontest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/marina-dcos/marina/internal/testutil"
)

// The Marathon examples live beside the repository, in ../shared/compat/marathon/examples
// relative to the module root. They are read there at test time, never copied.

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
	dir, err := testutil.FindCompat("marathon")
	if err != nil {
		return "", fmt.Errorf("marathontest: Marathon examples: %w", err)
	}
	return filepath.Join(dir, "examples"), nil
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
