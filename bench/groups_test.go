package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/testcluster"
	"github.com/marina-dcos/marina/internal/testutil"
)

// BenchmarkServicesGroupDeploy measures group deployments on simulated agents: a group of
// levels x width apps of perApp instances, each level's group depending on the one before,
// from POST /v2/groups to group_change_success (every level waits for the one before to run);
// then scaleBy 2 of the whole group; then GET /v2/groups.
func BenchmarkServicesGroupDeploy(b *testing.B) {
	const levels, width, perApp, agents = 10, 10, 5, 10
	c := testcluster.New(b, testcluster.Options{Masters: 1, Services: true})
	base := c.Masters()[c.WaitForServicesLeader(20*time.Second)].ServicesURL
	startBigSim(b, c, agents)
	ctx := testutil.Context(b)

	events := serviceEvents(b, ctx, base, "group_change_success")
	change := func(method, path string, body any) time.Duration {
		start := time.Now()
		enc, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(enc))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var res marathon.DeploymentResult
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 || json.Unmarshal(raw, &res) != nil {
			b.Fatalf("%s %s: %s %s", method, path, resp.Status, raw)
		}
		deadline := time.After(5 * time.Minute)
		for {
			select {
			case data := <-events:
				var ev marathon.GroupChangeEvent
				if json.Unmarshal([]byte(data), &ev) == nil && ev.Version == res.Version {
					return time.Since(start)
				}
			case <-deadline:
				b.Fatalf("%s %s: no group_change_success within 5 minutes", method, path)
			}
		}
	}

	var groups []any
	for l := range levels {
		var apps []any
		for w := range width {
			apps = append(apps, map[string]any{"id": fmt.Sprintf("app-%d", w), "cmd": "sleep 3600", "cpus": 0.01, "mem": 8, "instances": perApp})
		}
		g := map[string]any{"id": fmt.Sprintf("level-%d", l), "apps": apps}
		if l > 0 {
			g["dependencies"] = []string{fmt.Sprintf("/chain/level-%d", l-1)}
		}
		groups = append(groups, g)
	}
	n := levels * width * perApp
	created := change("POST", "/v2/groups", map[string]any{"id": "/chain", "groups": groups})
	fmt.Printf("POST /v2/groups: %d apps in %d dependency levels, %d instances -> group_change_success: %v (%v per level)\n",
		levels*width, levels, n, created.Round(time.Millisecond), (created / levels).Round(time.Millisecond))
	scaled := change("PUT", "/v2/groups/chain", map[string]any{"scaleBy": 2})
	fmt.Printf("PUT /v2/groups/chain scaleBy 2: %d -> %d instances -> group_change_success: %v\n", n, 2*n, scaled.Round(time.Millisecond))
	b.ReportMetric(ms(created), "create-ms")
	b.ReportMetric(ms(scaled), "scale-ms")

	lat, size := getTimes(b, base+"/v2/groups?embed=group.groups&embed=group.apps&embed=group.apps.counts", 50)
	p50, p99 := percentiles(lat)
	fmt.Printf("GET /v2/groups with %d apps, counts embedded (%d KiB): p50 %.2f ms, p99 %.2f ms\n", levels*width, size>>10, ms(p50), ms(p99))
}
