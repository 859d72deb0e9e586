package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// BenchmarkSandboxRead measures one page of a task's stdout read as the master console's tail
// reads it, through the leading master's agent proxy (/agent/{id}/files/read), next to the same
// read straight from the agent: the proxy's share of a tail poll. Pages of 4 KiB (a tail that
// keeps up) and 64 KiB (the console's first page of a file), with a cluster token. Target: the
// proxy adds <= 1 ms at p50.
func BenchmarkSandboxRead(b *testing.B) {
	const token = "bench-token"
	c := testcluster.New(b, testcluster.Options{Masters: 1, Agents: 1, Services: true, AuthToken: token})
	ctx := testutil.Context(b)
	c.WaitForServicesLeader(15 * time.Second)
	apps, err := marathon.New(marathon.Config{URLs: c.ServicesURLs(), Token: token})
	if err != nil {
		b.Fatal(err)
	}
	// 256 KiB of output, then idle.
	app := `{"id": "/bench-sandbox", "cpus": 0.1, "mem": 32,
		"cmd": "i=0; while [ $i -lt 4096 ]; do echo 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde; i=$((i+1)); done; exec sleep 600"}`
	if _, err := apps.CreateAppJSON(ctx, []byte(app)); err != nil {
		b.Fatal(err)
	}
	var taskID, agentID string
	testutil.WaitFor(b, 30*time.Second, func() error {
		tasks, err := apps.Tasks(ctx, "/bench-sandbox")
		if err != nil {
			return err
		}
		if len(tasks) != 1 || tasks[0].State != "TASK_RUNNING" {
			return fmt.Errorf("tasks: %+v", tasks)
		}
		taskID, agentID = tasks[0].ID, tasks[0].SlaveID
		return nil
	})

	get := func(u string, v any) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			b.Fatalf("GET %s: %s %s", u, resp.Status, body)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			b.Fatal(err)
		}
	}
	proxy := c.LeaderURL() + "/agent/" + url.PathEscape(agentID)
	direct := "http://" + c.Agents()[0].Agent.Addr()

	var state struct {
		Frameworks []struct {
			Executors []struct {
				ID        string `json:"id"`
				Directory string `json:"directory"`
			} `json:"executors"`
		} `json:"frameworks"`
	}
	get(proxy+"/state", &state)
	var stdout string
	for _, f := range state.Frameworks {
		for _, ex := range f.Executors {
			if ex.ID == taskID {
				stdout = ex.Directory + "/stdout"
			}
		}
	}
	if stdout == "" {
		b.Fatalf("no sandbox for %s in %+v", taskID, state)
	}
	const size = 4096 * 64
	testutil.WaitFor(b, 30*time.Second, func() error {
		var page struct{ Offset int64 }
		get(proxy+"/files/read?offset=-1&path="+url.QueryEscape(stdout), &page)
		if page.Offset < size {
			return fmt.Errorf("stdout has %d of %d bytes", page.Offset, size)
		}
		return nil
	})

	const samples = 300
	for range b.N {
		for _, length := range []int{4 << 10, 64 << 10} {
			var p50s, p99s [2]time.Duration
			for i, base := range []string{direct, proxy} {
				var lat []time.Duration
				for n := range samples {
					q := url.Values{"path": {stdout}, "offset": {fmt.Sprint(n * 512 % (size - length))}, "length": {fmt.Sprint(length)}}
					var page struct{ Data string }
					start := time.Now()
					get(base+"/files/read?"+q.Encode(), &page)
					lat = append(lat, time.Since(start))
					if len(page.Data) != length {
						b.Fatalf("read %d bytes, want %d", len(page.Data), length)
					}
				}
				p50s[i], p99s[i] = percentiles(lat)
			}
			kib := length >> 10
			b.ReportMetric(ms(p50s[1]), fmt.Sprintf("proxy-%dKiB-p50-ms", kib))
			b.ReportMetric(ms(p99s[1]), fmt.Sprintf("proxy-%dKiB-p99-ms", kib))
			fmt.Printf("sandbox read of %d KiB over %d reads: through the master p50 %.2f ms, p99 %.2f ms; "+
				"straight from the agent p50 %.2f ms, p99 %.2f ms (target: the proxy adds <= 1 ms at p50)\n",
				kib, samples, ms(p50s[1]), ms(p99s[1]), ms(p50s[0]), ms(p99s[0]))
		}
	}
}
