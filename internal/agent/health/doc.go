// Package health runs Mesos-style task health checks (HTTP, HTTPS, TCP and COMMAND) for the
// agent.
//
// Run takes a mesos.HealthCheck and a Target (the host the task listens on, its sandbox and
// environment, or its Container: a docker task's, in which COMMAND checks then run) and checks
// until its context ends: it waits delay_seconds, then runs the check every interval_seconds
// with timeout_seconds. Data leaves through the report callback, called only when health
// changes (the first counted result, then healthy<->unhealthy), never on every check. Failures before the first success and within grace_period_seconds of Run's start are
// ignored, unless the Target says checking resumes after an agent restart. When
// consecutive_failures failures in a row are counted, Run reports a Result with Kill set and
// returns: the caller kills the task.
//
// Defaults are Mesos': delay 15s, interval 10s, timeout 20s, 3 consecutive failures, grace
// period 10s. The seconds fields are floats, so sub-second values work (tests use them).
package health
