package services

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
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
