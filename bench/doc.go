// Package bench holds Marina's benchmarks. Each one prints the figures it measured (and reports
// them with b.ReportMetric) next to its target; none passes or fails on speed. Run them with
// `make bench`.
package bench
