package services

import (
	"cmp"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// Readiness checks, as Marathon runs them: the services leader itself sends each running
// instance of an app with readinessChecks an HTTP(S) GET on the port they name, every
// intervalSeconds, until every check answers a status of httpStatusCodesForReady. Until then
// the instance does not count as serving at its new configuration (plan.go), so a deployment
// neither completes its step nor kills the instances it replaces.

// readinessTick is how often the leader looks for instances due for a readiness check.
const readinessTick = 200 * time.Millisecond

// readinessProbe is one readiness check of one instance to send.
type readinessProbe struct {
	in    *instance
	check marathon.ReadinessCheck
	url   string // "" when the app has no port of the check's name
}

// checkReadiness runs the readiness checks until the term ends.
func (l *leader) checkReadiness() {
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // tasks have no certificate we could verify, as in Marathon
		DisableKeepAlives: true,
	}}
	defer client.CloseIdleConnections()
	t := time.NewTicker(readinessTick)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		probes := l.dueReadiness(l.s.now())
		if len(probes) == 0 {
			continue
		}
		results := make([]marathon.TaskReadinessCheckResult, len(probes))
		l.parallel(len(probes), func(i int) { results[i] = probe(l.ctx, client, probes[i]) })
		l.recordReadiness(probes, results)
	}
}

// dueReadiness returns the checks due at now: those of running instances at their app's
// configuration that are not ready yet, one interval after the last. l.mu is taken.
func (l *leader) dueReadiness(now time.Time) []readinessProbe {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []readinessProbe
	for id, a := range l.apps {
		checks := a.spec.ReadinessChecks
		if len(checks) == 0 {
			continue
		}
		for _, in := range l.byApp[id] {
			if in.Ready || in.Kill || !in.running() || in.ConfigVersion != a.configVersion() {
				continue
			}
			interval := time.Duration(intOr(checks[0].IntervalSeconds, marathon.DefaultReadinessIntervalSeconds)) * time.Second
			if !in.readyCheckedAt.IsZero() && now.Sub(in.readyCheckedAt) < interval {
				continue
			}
			in.readyCheckedAt = now
			for _, c := range checks {
				p := readinessProbe{in: in, check: c}
				if host, port := endpoint(a.spec, in, portIndex(a.spec, c.PortName)); host != "" {
					scheme := strings.ToLower(cmp.Or(c.Protocol, marathon.ProtocolHTTP))
					p.url = scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + cmp.Or(c.Path, "/")
				}
				out = append(out, p)
			}
		}
	}
	return out
}

// probe sends one readiness check.
func probe(ctx context.Context, client *http.Client, p readinessProbe) marathon.TaskReadinessCheckResult {
	r := marathon.TaskReadinessCheckResult{Name: p.check.Name, TaskID: p.in.TaskID}
	if p.url == "" {
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(intOr(p.check.TimeoutSeconds, marathon.DefaultReadinessTimeoutSeconds))*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return r
	}
	resp, err := client.Do(req)
	if err != nil {
		return r
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	codes := p.check.HTTPStatusCodesForReady
	if len(codes) == 0 {
		codes = []int{http.StatusOK}
	}
	r.Ready = slices.Contains(codes, resp.StatusCode)
	if p.check.PreserveLastResponse != nil && *p.check.PreserveLastResponse {
		r.LastResponse = &marathon.ReadinessCheckHTTPResponse{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: string(body)}
	}
	return r
}

// recordReadiness keeps the results; an instance whose checks all passed is ready, which may
// complete its app's deployment step. l.mu is taken.
func (l *leader) recordReadiness(probes []readinessProbe, results []marathon.TaskReadinessCheckResult) {
	now := l.s.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	byInstance := map[*instance][]marathon.TaskReadinessCheckResult{}
	for i, p := range probes {
		byInstance[p.in] = append(byInstance[p.in], results[i])
	}
	o := &ops{}
	apps := map[string]bool{}
	for in, rs := range byInstance {
		if l.instances[in.TaskID] != in {
			continue // gone meanwhile
		}
		in.readiness = rs
		apps[in.AppID] = true
		if !slices.ContainsFunc(rs, func(r marathon.TaskReadinessCheckResult) bool { return !r.Ready }) {
			in.Ready = true
			o.putInstance(in)
		}
	}
	for id := range apps {
		l.converge(id, now, o)
	}
	if err := l.commitOrResync(o); err != nil {
		l.log.Warn("recording readiness", "err", err)
	}
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// readinessResults returns the last readiness check results of an app's instances. l.mu must
// be held (for reading).
func (l *leader) readinessResults(id string) []marathon.TaskReadinessCheckResult {
	out := []marathon.TaskReadinessCheckResult{}
	for _, in := range l.appInstances(id) {
		out = append(out, in.readiness...)
	}
	return out
}
