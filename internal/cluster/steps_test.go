package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a Progress that keeps what it was told.
type recorder struct{ lines []string }

func (r *recorder) Start(step string) { r.lines = append(r.lines, "start "+step) }
func (r *recorder) Done(step string, _ time.Duration, err error) {
	r.lines = append(r.lines, fmt.Sprintf("done %s err=%v", step, err != nil))
}
func (r *recorder) Note(msg string) { r.lines = append(r.lines, "note "+msg) }

// fakeSteps returns n steps that log their runs and undos into log; step fail (1-based) fails.
func fakeSteps(n, fail int, log *[]string) []Step {
	var steps []Step
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("s%d", i)
		s := Step{Name: name, Run: func(context.Context) error {
			*log = append(*log, "run "+name)
			if i == fail {
				return errors.New("boom")
			}
			return nil
		}}
		if i != 2 { // step 2 has nothing to undo
			s.Undo = func(ctx context.Context) error {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				*log = append(*log, "undo "+name)
				return nil
			}
		}
		steps = append(steps, s)
	}
	return steps
}

func TestRunnerRollsBackInReverse(t *testing.T) {
	tests := []struct {
		name   string
		fail   int
		retain bool
		want   string
	}{
		{"success", 0, false, "run s1,run s2,run s3,run s4"},
		{"fail first", 1, false, "run s1,undo s1"},
		{"fail third", 3, false, "run s1,run s2,run s3,undo s3,undo s1"},
		{"fail third retained", 3, true, "run s1,run s2,run s3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			var failed *StepError
			rec := &recorder{}
			r := &Runner{Progress: rec, Retain: tt.retain, OnFailure: func(e *StepError) { failed = e }}
			err := r.Run(context.Background(), fakeSteps(4, tt.fail, &log))
			if got := strings.Join(log, ","); got != tt.want {
				t.Errorf("calls = %s, want %s", got, tt.want)
			}
			if tt.fail == 0 {
				if err != nil || failed != nil {
					t.Fatalf("Run = %v", err)
				}
				return
			}
			var se *StepError
			if !errors.As(err, &se) || se.Step != fmt.Sprintf("s%d", tt.fail) || failed == nil {
				t.Fatalf("Run = %v, want a StepError for s%d", err, tt.fail)
			}
			rolledBack := strings.Contains(strings.Join(rec.lines, ","), "start roll back")
			if rolledBack == tt.retain {
				t.Errorf("progress %v: roll back shown = %v with retain %v", rec.lines, rolledBack, tt.retain)
			}
		})
	}
}

// TestRunnerCancelRollsBack checks that a cancelled context (Ctrl-C) fails the running step
// and that the rollback still runs, under a context of its own.
func TestRunnerCancelRollsBack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var log []string
	steps := []Step{
		{Name: "make", Run: func(context.Context) error { log = append(log, "make"); return nil },
			Undo: func(ctx context.Context) error {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				log = append(log, "unmake")
				return nil
			}},
		{Name: "wait", Run: func(ctx context.Context) error {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}},
		{Name: "never", Run: func(context.Context) error { log = append(log, "never"); return nil }},
	}
	err := (&Runner{}).Run(ctx, steps)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if got := strings.Join(log, ","); got != "make,unmake" {
		t.Errorf("calls = %s", got)
	}
}

func TestRunnerJoinsRollbackErrors(t *testing.T) {
	undoErr := errors.New("cannot undo")
	steps := []Step{
		{Name: "a", Run: func(context.Context) error { return nil }, Undo: func(context.Context) error { return undoErr }},
		{Name: "b", Run: func(context.Context) error { return errors.New("b failed") }},
	}
	err := (&Runner{}).Run(context.Background(), steps)
	if !errors.Is(err, undoErr) || !strings.Contains(err.Error(), `step "b" failed`) {
		t.Errorf("Run = %v", err)
	}
}

func TestLineProgress(t *testing.T) {
	var buf bytes.Buffer
	p := NewLineProgress(&buf)
	p.Start("start masters")
	p.Done("start masters", 410*time.Millisecond, nil)
	p.Start("wait")
	p.Done("wait", 2*time.Second, errors.New("timed out"))
	want := "✓ start masters (0.41s)\n✗ wait (2.00s)\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}
