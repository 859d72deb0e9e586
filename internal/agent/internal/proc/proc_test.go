package proc

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"
)

func TestWaitExitAndReap(t *testing.T) {
	cmd := exec.Command("sh", "-c", "exit 3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p, err := Of(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if p.Alive() {
		t.Fatal("alive after wait")
	}
	ws, ok := Reap(p.PID)
	if !ok || ws.ExitStatus() != 3 {
		t.Fatalf("reap = %v %v, want exit 3", ws, ok)
	}
}

func TestWaitCancel(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p, err := Of(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait = %v, want deadline exceeded", err)
	}
	if !p.Alive() {
		t.Fatal("not alive")
	}
}

func TestRecycledPidIsNotAlive(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if !self.Alive() {
		t.Fatal("self not alive")
	}
	other := Info{PID: self.PID, StartTime: self.StartTime + 1}
	if other.Alive() {
		t.Fatal("a different start time must not count as alive")
	}
	if err := other.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
