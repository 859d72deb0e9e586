package bench

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/testcluster"
)

// BenchmarkTLSRequest measures an authenticated API call (GET /master/slaves with a bearer
// token) on a plain-HTTP master and on one serving TLS with a cluster CA, over a kept-alive
// connection and over a new connection per call (TCP plus, under TLS, an ECDSA P-256
// handshake): what TLS costs a client.
func BenchmarkTLSRequest(b *testing.B) {
	const token = "bench-token-0123456789"
	for _, tlsOn := range []bool{false, true} {
		c := testcluster.New(b, testcluster.Options{Masters: 1, AuthToken: token, TLS: tlsOn})
		for _, keepAlive := range []bool{true, false} {
			tr := &http.Transport{TLSClientConfig: c.ClientTLS(), DisableKeepAlives: !keepAlive}
			hc := &http.Client{Transport: tr}
			const samples = 500
			lat := make([]time.Duration, 0, samples)
			for range samples {
				req, err := http.NewRequest(http.MethodGet, c.LeaderURL()+"/master/slaves", nil)
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+token)
				start := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET /master/slaves: %s", resp.Status)
				}
				lat = append(lat, time.Since(start))
			}
			tr.CloseIdleConnections()
			p50, p99 := percentiles(lat)
			name := map[bool]string{false: "http", true: "https"}[tlsOn]
			conn := map[bool]string{false: "new connection", true: "kept alive"}[keepAlive]
			b.ReportMetric(ms(p50), name+"-"+map[bool]string{false: "new", true: "reuse"}[keepAlive]+"-p50-ms")
			fmt.Printf("%s, %s: p50 %.3f ms, p99 %.3f ms over %d calls\n", name, conn, ms(p50), ms(p99), samples)
		}
		c.Close()
	}
}
