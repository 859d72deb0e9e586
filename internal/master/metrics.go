package master

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// metrics holds the master's Prometheus metrics, in a registry of its own. Gauges are computed
// from the state when scraped; /metrics/snapshot shows the same figures under Mesos' names.
type metrics struct {
	reg                *prometheus.Registry
	calls              *prometheus.CounterVec
	statusUpdates      *prometheus.CounterVec
	offersSent         prometheus.Counter
	offersRescinded    prometheus.Counter
	tasksLaunched      prometheus.Counter
	allocationRuns     prometheus.Counter
	elections          prometheus.Counter
	allocationDuration prometheus.Histogram
}

func newMetrics(m *Master) *metrics {
	const ns, sub = "marina", "master"
	mt := &metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "scheduler_calls_total", Help: "Scheduler API calls accepted, by type."}, []string{"type"}),
		statusUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "status_updates_total", Help: "Task status updates sent to schedulers, by state and source."}, []string{"state", "source"}),
		offersSent: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "offers_sent_total", Help: "Offers sent to frameworks."}),
		offersRescinded: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "offers_rescinded_total", Help: "Offers rescinded."}),
		tasksLaunched: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "tasks_launched_total", Help: "Tasks sent to agents to launch."}),
		allocationRuns: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "allocation_runs_total", Help: "Allocation passes run."}),
		elections: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "elections_won_total", Help: "Leadership terms this master started."}),
		allocationDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "allocation_duration_seconds", Help: "Duration of allocation passes.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 4, 10)}),
	}
	mt.reg.MustRegister(mt.calls, mt.statusUpdates, mt.offersSent, mt.offersRescinded, mt.tasksLaunched,
		mt.allocationRuns, mt.elections, mt.allocationDuration, stateCollector{m},
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return mt
}

func (mt *metrics) handler() http.Handler {
	return promhttp.HandlerFor(mt.reg, promhttp.HandlerOpts{Registry: mt.reg})
}

func (mt *metrics) elected(*leaderState) { mt.elections.Inc() }

// stateCollector exports the snapshot's figures as gauges named marina_master_<name>.
type stateCollector struct{ m *Master }

func (stateCollector) Describe(chan<- *prometheus.Desc) {} // unchecked: the set is fixed but computed

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	for name, v := range c.m.snapshot() {
		short, ok := strings.CutPrefix(name, "master/")
		if !ok {
			continue
		}
		desc := prometheus.NewDesc("marina_master_"+short, "Mesos metric "+name+".", nil, nil)
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v)
	}
}

func (m *Master) handleMetricsSnapshot(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := requireGet(r); err != nil {
		return nil, err
	}
	return m.snapshot(), nil
}

// snapshotKeys are present in every snapshot, 0 on a standby.
var snapshotKeys = []string{
	"master/elected", "master/uptime_secs",
	"master/slaves_active", "master/slaves_inactive", "master/slaves_connected",
	"master/slaves_disconnected", "master/slaves_unreachable", "master/slaves_recovered",
	"master/frameworks_active", "master/frameworks_inactive", "master/frameworks_connected",
	"master/frameworks_disconnected",
	"master/tasks_staging", "master/tasks_starting", "master/tasks_running", "master/tasks_killing",
	"master/tasks_unreachable", "master/tasks_finished", "master/tasks_failed", "master/tasks_killed",
	"master/tasks_lost", "master/tasks_error", "master/tasks_dropped", "master/tasks_gone",
	"master/cpus_total", "master/cpus_used", "master/cpus_percent",
	"master/mem_total", "master/mem_used", "master/mem_percent",
	"master/disk_total", "master/disk_used", "master/disk_percent",
	"master/gpus_total", "master/gpus_used", "master/gpus_percent",
	"master/outstanding_offers", "master/offers_outstanding",
}

// snapshot returns the master's figures under Mesos' metric names.
func (m *Master) snapshot() map[string]float64 {
	out := make(map[string]float64, len(snapshotKeys))
	for _, k := range snapshotKeys {
		out[k] = 0
	}
	if !m.started.IsZero() {
		out["master/uptime_secs"] = m.now().Sub(m.started).Seconds()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	if st == nil {
		return out
	}
	out["master/elected"] = 1
	var total, used mesos.Resources
	for _, a := range st.agents {
		switch {
		case a.unreachable:
			out["master/slaves_unreachable"]++
			continue
		case a.recovered:
			out["master/slaves_recovered"]++
			continue
		case a.active():
			out["master/slaves_active"]++
			out["master/slaves_connected"]++
		default:
			out["master/slaves_inactive"]++
			out["master/slaves_disconnected"]++
		}
		total = total.Add(st.alloc.Total(a.id))
		used = used.Add(st.alloc.Used(a.id))
	}
	for _, f := range st.frameworks {
		if f.connected() {
			out["master/frameworks_active"]++
			out["master/frameworks_connected"]++
		} else {
			out["master/frameworks_inactive"]++
			out["master/frameworks_disconnected"]++
		}
		for _, t := range f.tasks {
			if k := "master/" + strings.ToLower(strings.Replace(string(t.state), "TASK_", "tasks_", 1)); isLiveStateKey(k) {
				out[k]++
			}
		}
		out["master/tasks_unreachable"] += float64(len(f.unreachable))
	}
	for state, n := range st.terminal {
		if state == mesos.TaskUnreachable {
			continue
		}
		out["master/"+strings.ToLower(strings.Replace(string(state), "TASK_", "tasks_", 1))] += float64(n)
	}
	for _, r := range []string{mesos.ResourceCPUs, mesos.ResourceMem, mesos.ResourceDisk, mesos.ResourceGPUs} {
		t, u := total.Scalar(r), used.Scalar(r)
		out["master/"+r+"_total"], out["master/"+r+"_used"] = t, u
		if t > 0 {
			out["master/"+r+"_percent"] = u / t
		}
	}
	out["master/outstanding_offers"] = float64(len(st.offers))
	out["master/offers_outstanding"] = float64(len(st.offers))
	return out
}

func isLiveStateKey(k string) bool {
	switch k {
	case "master/tasks_staging", "master/tasks_starting", "master/tasks_running", "master/tasks_killing":
		return true
	}
	return false
}
