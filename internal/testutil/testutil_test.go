package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// PortRange never hands out a block twice, and holds a lock on each that other processes see.
func TestPortRange(t *testing.T) {
	lo1, hi1 := PortRange(t)
	lo2, hi2 := PortRange(t)
	if lo1 == lo2 || hi1-lo1 != 99 || hi2-lo2 != 99 || lo1 < 10000 || hi1 >= 32768 {
		t.Fatalf("ranges [%d-%d] and [%d-%d]", lo1, hi1, lo2, hi2)
	}
	// A lock is per open file: another open of the file stands for another process.
	f, err := os.Open(filepath.Join(os.TempDir(), "marina-test-ports", strconv.Itoa(lo1)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		t.Fatal("the block's lock could be taken again")
	}
}
