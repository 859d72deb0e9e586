package cli

import (
	"context"
	"io"
	"testing"

	"github.com/spf13/cobra"
)

// ChangeCommand gives every command that starts a deployment --wait, and --force only when it
// says what force cancels; the op sees the flags given.
func TestChangeCommand(t *testing.T) {
	for _, tc := range []struct {
		name  string
		force string
		args  []string
		want  ChangeOptions
		ok    bool // the flags parse
	}{
		{"no flags", "cancel a deployment", []string{"ID"}, ChangeOptions{}, true},
		{"both", "cancel a deployment", []string{"ID", "--wait", "--force"}, ChangeOptions{Wait: true, Force: true}, true},
		{"wait without force", "", []string{"--wait"}, ChangeOptions{Wait: true}, true},
		{"force not offered", "", []string{"--force"}, ChangeOptions{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Options
			var got *ChangeOptions
			cmd := ChangeCommand(&o, "change", "a change", cobra.ArbitraryArgs, tc.force,
				func(_ context.Context, _ *Env, _ []string, co ChangeOptions) error {
					got = &co
					return nil
				})
			Group(&cobra.Command{Use: "group"}, &o).AddCommand(cmd)
			err := cmd.ParseFlags(tc.args)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseFlags(%q) = %v, want ok %v", tc.args, err, tc.ok)
			}
			if !tc.ok {
				return
			}
			// With a services URL given, Run builds its Env without asking anything.
			o.Services = []string{"http://127.0.0.1:1"}
			o.StateDir = t.TempDir()
			cmd.SetOut(io.Discard)
			if err := cmd.RunE(cmd, cmd.Flags().Args()); err != nil {
				t.Fatal(err)
			}
			if got == nil || *got != tc.want {
				t.Fatalf("op got %+v, want %+v", got, tc.want)
			}
		})
	}
}
