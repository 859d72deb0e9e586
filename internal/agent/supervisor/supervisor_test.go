package supervisor

import (
	"slices"
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
