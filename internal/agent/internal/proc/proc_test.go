package proc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runSlowExit()
	}
	os.Exit(m.Run())
}

// childEnv makes the test binary exit its main thread first and the rest a little later.
const childEnv = "PROC_TEST_SLOW_EXIT"

func runSlowExit() {
	go func() {
		time.Sleep(300 * time.Millisecond)
		os.Exit(3)
	}()
	runtime.LockOSThread()
	syscall.RawSyscall(syscall.SYS_EXIT, 0, 0, 0) // this thread only
}

// TestReapWaitsForExitingThreads reaps a process whose main thread exited before its other
// threads: it shows as a zombie, yet cannot be collected until they are gone.
func TestReapWaitsForExitingThreads(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p, err := Of(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Release()
	t.Cleanup(func() { _ = syscall.Kill(p.PID, syscall.SIGKILL); Reap(p.PID) })
	// Once the main thread is gone the process reads as a zombie, and Wait returns.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st, err := ReadStat(p.PID); err == nil && st.State == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("main thread did not exit")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("wait: %v", err)
	}
	p.Reap()
	if _, err := ReadStat(p.PID); err == nil {
		t.Fatal("process left behind after Reap")
	}
}

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

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Stat
		wantErr bool
	}{
		{"plain", "42 (sh) S 1 42 42 0 -1 4194304 100 0 0 0 250 30 0 0 20 0 1 0 12345 4000000 321 18446744073709551615",
			Stat{State: 'S', PGID: 42, UserTicks: 250, SystemTicks: 30, StartTime: 12345, RSSPages: 321}, false},
		{"name with spaces and parens", "7 (a) b (c) R 1 9 9 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 100 3 0",
			Stat{State: 'R', PGID: 9, UserTicks: 1, SystemTicks: 2, StartTime: 5, RSSPages: 3}, false},
		{"short", "7 (x) R 1 9", Stat{}, true},
		{"no name", "7 x R 1 9", Stat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
