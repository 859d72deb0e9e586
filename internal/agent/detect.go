package agent

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// detectResources returns what the host offers: cpus = NumCPU, mem = total - 1GiB (at least
// 1GiB), disk = free space of workDir - 5GiB (at least 1GiB), ports [31000-32000]. Memory and
// disk are in MB, as Mesos counts them.
func detectResources(workDir string) (mesos.Resources, error) {
	memMB, err := totalMemoryMB()
	if err != nil {
		return nil, err
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(workDir, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", workDir, err)
	}
	diskMB := float64(uint64(st.Bavail) * uint64(st.Bsize) >> 20)
	return detected(runtime.NumCPU(), memMB, diskMB), nil
}

func detected(cpus int, memMB, diskMB float64) mesos.Resources {
	return mesos.Resources{
		mesos.ScalarResource(mesos.ResourceCPUs, float64(cpus)),
		mesos.ScalarResource(mesos.ResourceMem, max(memMB-1024, 1024)),
		mesos.ScalarResource(mesos.ResourceDisk, max(diskMB-5*1024, 1024)),
		mesos.RangesResource(mesos.ResourcePorts, mesos.Range{Begin: 31000, End: 32000}),
	}
}

func totalMemoryMB() (float64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "MemTotal" {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			break
		}
		kb, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("meminfo: %w", err)
		}
		return float64(int64(kb / 1024)), nil
	}
	return 0, errors.New("meminfo: no MemTotal")
}
