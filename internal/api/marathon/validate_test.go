package marathon

import (
	"slices"
	"testing"
)

// assertPaths checks that verr reports problems at exactly the given paths.
func assertPaths(t *testing.T, verr *ValidationError, want ...string) {
	t.Helper()
	var got []string
	if verr != nil {
		got = verr.Paths()
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("paths = %q, want %q\n%v", got, want, verr)
	}
}
