package services

import (
	"math"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// metrics holds the role's Prometheus metrics, in a registry of its own. State gauges are
// computed from the leader's state when scraped.
type metrics struct {
	reg             *prometheus.Registry
	leader          prometheus.Gauge
	subscribed      prometheus.Gauge
	offers          prometheus.Counter
	declined        prometheus.Counter
	launched        prometheus.Counter
	kills           prometheus.Counter
	revives         prometheus.Counter
	statusUpdates   prometheus.Counter
	taskFailures    prometheus.Counter
	reconciliations prometheus.Counter
	deployments     prometheus.Counter
	requests        *prometheus.HistogramVec
}

func newMetrics(s *Server) *metrics {
	const ns, sub = "marina", "services"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	m := &metrics{
		reg:             prometheus.NewRegistry(),
		leader:          gauge("leader", "1 while this instance leads the services role."),
		subscribed:      gauge("subscribed", "1 while the leader is subscribed to the master."),
		offers:          counter("offers_received_total", "Offers received."),
		declined:        counter("offers_declined_total", "Offers declined unused."),
		launched:        counter("tasks_launched_total", "Tasks launched."),
		kills:           counter("kills_sent_total", "KILL calls sent."),
		revives:         counter("revives_total", "REVIVE calls sent."),
		statusUpdates:   counter("status_updates_total", "Status updates received."),
		taskFailures:    counter("task_failures_total", "Tasks that ended without being asked to."),
		reconciliations: counter("reconciliations_total", "Full reconciliations."),
		deployments:     counter("deployments_total", "Deployments started."),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "http_request_duration_seconds",
			Help:    "REST API requests served by this instance (proxied ones included), by route and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "code"}),
	}
	m.reg.MustRegister(m.leader, m.subscribed, m.offers, m.declined, m.launched, m.kills, m.revives,
		m.statusUpdates, m.taskFailures, m.reconciliations, m.deployments, m.requests)
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "apps", Help: "Apps (on the leader)."},
		func() float64 {
			l := s.cur.Load()
			if l == nil {
				return 0
			}
			l.mu.RLock()
			defer l.mu.RUnlock()
			return float64(len(l.apps))
		}))
	m.reg.MustRegister(newInstanceCollector(s))
	return m
}

// handler serves the metrics as Prometheus text, or as Marathon's JSON (counters, gauges,
// histograms) to a client that accepts application/json.
func (m *metrics) handler() http.Handler {
	prom := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "application/json") {
			prom.ServeHTTP(w, r)
			return
		}
		families, err := m.reg.Gather()
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, msg("gathering metrics: %v", err))
			return
		}
		writeJSON(w, http.StatusOK, jsonMetrics(families))
	})
}

// marathonMetrics is Marathon's JSON metrics document (RAML newMetrics.NewMetrics).
type marathonMetrics struct {
	Version    string                       `json:"version"`
	Counters   map[string]marathonCounter   `json:"counters"`
	Gauges     map[string]marathonGauge     `json:"gauges"`
	Histograms map[string]marathonHistogram `json:"histograms"`
	Meters     map[string]struct{}          `json:"meters"`
	Timers     map[string]struct{}          `json:"timers"`
}

type marathonCounter struct {
	Count int64 `json:"count"`
}

type marathonGauge struct {
	Value float64 `json:"value"`
}

// marathonHistogram summarises a Prometheus histogram: quantiles are the upper bounds of the
// buckets they fall in.
type marathonHistogram struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P75   float64 `json:"p75"`
	P95   float64 `json:"p95"`
	P98   float64 `json:"p98"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
}

// jsonMetrics converts gathered metrics to Marathon's JSON: each metric is named by its family
// and its label values in the order of their names, dot-separated.
func jsonMetrics(families []*dto.MetricFamily) marathonMetrics {
	out := marathonMetrics{Version: "4.0.0", Counters: map[string]marathonCounter{}, Gauges: map[string]marathonGauge{},
		Histograms: map[string]marathonHistogram{}, Meters: map[string]struct{}{}, Timers: map[string]struct{}{}}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			name := f.GetName()
			for _, lp := range mt.GetLabel() {
				name += "." + lp.GetValue()
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out.Counters[name] = marathonCounter{Count: int64(mt.GetCounter().GetValue())}
			case dto.MetricType_GAUGE:
				out.Gauges[name] = marathonGauge{Value: mt.GetGauge().GetValue()}
			case dto.MetricType_HISTOGRAM:
				out.Histograms[name] = summarise(mt.GetHistogram())
			}
		}
	}
	return out
}

func summarise(h *dto.Histogram) marathonHistogram {
	n := h.GetSampleCount()
	out := marathonHistogram{Count: int64(n)}
	if n == 0 {
		return out
	}
	out.Mean = h.GetSampleSum() / float64(n)
	quantile := func(q float64) float64 {
		for _, b := range h.GetBucket() {
			if float64(b.GetCumulativeCount()) >= q*float64(n) {
				return b.GetUpperBound()
			}
		}
		return math.Inf(1)
	}
	out.P50, out.P75, out.P95, out.P98, out.P99, out.P999 = quantile(.5), quantile(.75), quantile(.95), quantile(.98), quantile(.99), quantile(.999)
	for _, p := range []*float64{&out.P50, &out.P75, &out.P95, &out.P98, &out.P99, &out.P999} {
		if math.IsInf(*p, 1) {
			*p = out.Mean // beyond the last bucket: JSON has no infinity
		}
	}
	return out
}

// instanceCollector reports the leader's instances by state, and those queued.
type instanceCollector struct {
	s       *Server
	byState *prometheus.Desc
	queued  *prometheus.Desc
}

func newInstanceCollector(s *Server) *instanceCollector {
	return &instanceCollector{
		s:       s,
		byState: prometheus.NewDesc("marina_services_instances", "Instances by task state (on the leader).", []string{"state"}, nil),
		queued:  prometheus.NewDesc("marina_services_instances_queued", "Instances waiting for an offer (on the leader).", nil, nil),
	}
}

func (c *instanceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.byState
	ch <- c.queued
}

func (c *instanceCollector) Collect(ch chan<- prometheus.Metric) {
	l := c.s.cur.Load()
	counts := map[mesos.TaskState]int{}
	queued := 0
	if l != nil {
		l.mu.RLock()
		for _, in := range l.instances {
			counts[in.State]++
		}
		for _, a := range l.apps {
			queued += a.queued
		}
		l.mu.RUnlock()
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.byState, prometheus.GaugeValue, float64(n), string(st))
	}
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(queued))
}
