package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Mesos' defaults for unset fields.
const (
	DefaultDelay               = 15 * time.Second
	DefaultInterval            = 10 * time.Second
	DefaultTimeout             = 20 * time.Second
	DefaultConsecutiveFailures = 3
	DefaultGracePeriod         = 10 * time.Second
)

// Target is what a check runs against.
type Target struct {
	Host string   // HTTP and TCP checks connect to Host:port; default 127.0.0.1, as Mesos
	Dir  string   // working directory of COMMAND checks (the task's sandbox)
	Env  []string // environment of COMMAND checks (the task's)
}

// Result is a change of health.
type Result struct {
	Healthy             bool
	ConsecutiveFailures int    // failures in a row counted so far
	Kill                bool   // consecutive_failures was reached: the task must be killed
	Message             string // the last check's error, "" when healthy
}

// params are a check's timings with defaults applied.
type params struct {
	delay, interval, timeout, grace time.Duration
	maxFailures                     int
}

func seconds(p *float64, def time.Duration) time.Duration {
	if p == nil || *p < 0 {
		return def
	}
	return time.Duration(*p * float64(time.Second))
}

func paramsOf(c *mesos.HealthCheck) params {
	p := params{
		delay:       seconds(c.DelaySeconds, DefaultDelay),
		interval:    seconds(c.IntervalSeconds, DefaultInterval),
		timeout:     seconds(c.TimeoutSeconds, DefaultTimeout),
		grace:       seconds(c.GracePeriodSeconds, DefaultGracePeriod),
		maxFailures: DefaultConsecutiveFailures,
	}
	if c.ConsecutiveFailures != nil && *c.ConsecutiveFailures > 0 {
		p.maxFailures = int(*c.ConsecutiveFailures)
	}
	if p.interval <= 0 {
		p.interval = DefaultInterval
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	return p
}

// Validate reports a check Run cannot run.
func Validate(c *mesos.HealthCheck) error {
	switch c.Type {
	case "HTTP":
		if c.HTTP == nil || c.HTTP.Port == 0 || c.HTTP.Port > 65535 {
			return errors.New("health check: HTTP check needs http.port")
		}
		if s := c.HTTP.Scheme; s != "" && s != "http" && s != "https" {
			return fmt.Errorf("health check: unsupported scheme %q", s)
		}
	case "TCP":
		if c.TCP == nil || c.TCP.Port == 0 || c.TCP.Port > 65535 {
			return errors.New("health check: TCP check needs tcp.port")
		}
	case "COMMAND":
		if c.Command == nil || c.Command.Value == nil {
			return errors.New("health check: COMMAND check needs command.value")
		}
	default:
		return fmt.Errorf("health check: unsupported type %q", c.Type)
	}
	return nil
}

// Run checks until ctx ends or the task must be killed, calling report on every change of
// health. An invalid check is reported once, unhealthy without Kill, and Run returns.
func Run(ctx context.Context, check mesos.HealthCheck, target Target, report func(Result)) {
	start := time.Now()
	if err := Validate(&check); err != nil {
		report(Result{Message: err.Error()})
		return
	}
	p := paramsOf(&check)
	if target.Host == "" {
		target.Host = "127.0.0.1"
	}
	c := &checker{check: &check, target: target}
	if check.Type == "HTTP" {
		c.client = &http.Client{
			Transport: &http.Transport{
				DisableKeepAlives: true,
				// As Mesos' curl -k: tasks serve self-signed certificates.
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
			},
			// As Mesos: a redirect is an answer, not something to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		defer c.client.CloseIdleConnections()
	}

	timer := time.NewTimer(p.delay)
	defer timer.Stop()
	var (
		reported, healthy, succeeded bool
		failures                     int
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		cctx, cancel := context.WithTimeout(ctx, p.timeout)
		err := c.once(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil:
			failures, succeeded = 0, true
			if !reported || !healthy {
				reported, healthy = true, true
				report(Result{Healthy: true})
			}
		case !succeeded && time.Since(start) < p.grace:
			// Still starting: ignored.
		default:
			failures++
			if failures >= p.maxFailures {
				report(Result{ConsecutiveFailures: failures, Kill: true, Message: err.Error()})
				return
			}
			if !reported || healthy {
				reported, healthy = true, false
				report(Result{ConsecutiveFailures: failures, Message: err.Error()})
			}
		}
		timer.Reset(p.interval)
	}
}

type checker struct {
	check  *mesos.HealthCheck
	target Target
	client *http.Client
}

func (c *checker) once(ctx context.Context) error {
	switch c.check.Type {
	case "HTTP":
		return c.http(ctx)
	case "TCP":
		return c.tcp(ctx)
	default:
		return c.command(ctx)
	}
}

func (c *checker) addr(port uint32) string {
	return net.JoinHostPort(c.target.Host, strconv.FormatUint(uint64(port), 10))
}

func (c *checker) http(ctx context.Context) error {
	h := c.check.HTTP
	scheme := h.Scheme
	if scheme == "" {
		scheme = "http"
	}
	path := h.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := scheme + "://" + c.addr(h.Port) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("HTTP health check: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if !statusOK(uint32(resp.StatusCode), h.Statuses) {
		return fmt.Errorf("HTTP health check: GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// statusOK reports whether code is healthy: one of statuses, or 2xx-3xx when none are given.
func statusOK(code uint32, statuses []uint32) bool {
	if len(statuses) == 0 {
		return code >= 200 && code < 400
	}
	for _, s := range statuses {
		if s == code {
			return true
		}
	}
	return false
}

func (c *checker) tcp(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr(c.check.TCP.Port))
	if err != nil {
		return fmt.Errorf("TCP health check: %w", err)
	}
	return conn.Close()
}

func (c *checker) command(ctx context.Context) error {
	ci := c.check.Command
	var cmd *exec.Cmd
	if ci.IsShell() {
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", *ci.Value)
	} else {
		cmd = exec.CommandContext(ctx, *ci.Value)
		if len(ci.Arguments) > 0 {
			cmd.Args = ci.Arguments
		}
	}
	cmd.Dir = c.target.Dir
	cmd.Env = append([]string(nil), c.target.Env...)
	if ci.Environment != nil {
		for _, v := range ci.Environment.Variables {
			if v.Name != "" && (v.Type == "" || v.Type == "VALUE") {
				cmd.Env = append(cmd.Env, v.Name+"="+v.Value)
			}
		}
	}
	// Its own process group, killed whole on timeout, so no child outlives the check.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("COMMAND health check timed out")
		}
		msg := strings.TrimSpace(string(out))
		if len(msg) > 200 {
			msg = msg[len(msg)-200:]
		}
		if msg != "" {
			return fmt.Errorf("COMMAND health check: %w: %s", err, msg)
		}
		return fmt.Errorf("COMMAND health check: %w", err)
	}
	return nil
}
