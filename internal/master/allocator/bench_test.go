package allocator

import (
	"fmt"
	"testing"
)

// BenchmarkRun measures one pass that offers every agent of a 10,000-agent cluster to 100
// frameworks in 5 roles. Between passes the offers are declined (untimed).
func BenchmarkRun(b *testing.B) {
	a := cluster(b, Options{RoleWeights: map[string]float64{"role0": 2}}, 10_000, "cpus:32;mem:131072;disk:1000000;ports:[31000-32000]")
	for i := range 100 {
		a.AddFramework(fmt.Sprintf("f%03d", i), []string{fmt.Sprintf("role%d", i%5)}, nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		offers := a.Run(t0)
		b.StopTimer()
		if len(offers) != 10_000 {
			b.Fatalf("%d offers, want 10000", len(offers))
		}
		for _, o := range offers {
			a.Recover(o.AgentID, o.FrameworkID, o.Resources)
		}
		b.StartTimer()
	}
}
