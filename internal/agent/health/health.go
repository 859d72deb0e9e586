package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	Dir  string   // working directory of COMMAND checks run on the host (the task's sandbox)
	Env  []string // environment of COMMAND checks run on the host (the task's)
	// Container, when set, is the task's container (a docker task's): COMMAND checks run inside
	// it, Dir and Env unused (the container has its own; the check's own environment is passed
	// on), and it chooses the host of HTTP and TCP checks by their port.
	Container Container
	// Resumed is set when checking resumes for a task whose health was reported before (one
	// a restarted agent recovered): its grace period is over, so failures count at once.
	Resumed bool
	// Log receives the outcome and output of every COMMAND check: failures at Info, passes at
	// Debug. Nil logs nothing.
	Log *slog.Logger
}

// Container is a task's container as checks use it; the docker executor's containers
// implement it.
type Container interface {
	// Exec runs argv inside the container with env added to its environment and returns its
	// exit code and the tail of its stdout and stderr. When ctx ends first, the command is
	// killed and ctx's error returned.
	Exec(ctx context.Context, argv, env []string) (code int, output []byte, err error)
	// CheckHost returns the host an HTTP or TCP check of port connects to, "" for the
	// target's Host.
	CheckHost(port uint32) string
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
	if target.Container != nil {
		if h := target.Container.CheckHost(checkPort(&check)); h != "" {
			target.Host = h
		}
	}
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
		case !succeeded && !target.Resumed && time.Since(start) < p.grace:
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

// checkPort is the port an HTTP or TCP check connects to, 0 for COMMAND checks.
func checkPort(c *mesos.HealthCheck) uint32 {
	switch c.Type {
	case "HTTP":
		return c.HTTP.Port
	case "TCP":
		return c.TCP.Port
	}
	return 0
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

// maxOutput bounds the output of a COMMAND check kept for messages and logs: its tail.
const maxOutput = 200

func (c *checker) command(ctx context.Context) error {
	ci := c.check.Command
	var env []string
	if ci.Environment != nil {
		for _, v := range ci.Environment.Variables {
			if v.Name != "" && (v.Type == "" || v.Type == "VALUE") {
				env = append(env, v.Name+"="+v.Value)
			}
		}
	}
	var (
		code int
		out  []byte
		err  error
	)
	if c.target.Container != nil {
		code, out, err = c.target.Container.Exec(ctx, execArgv(ci), env)
	} else {
		code, out, err = c.local(ctx, env)
	}
	msg := strings.TrimSpace(string(out))
	if len(msg) > maxOutput {
		msg = msg[len(msg)-maxOutput:]
	}
	switch {
	case ctx.Err() != nil:
		err = errors.New("COMMAND health check timed out")
	case err != nil:
		err = fmt.Errorf("COMMAND health check: %w", err)
	case code != 0 && msg != "":
		err = fmt.Errorf("COMMAND health check: exit status %d: %s", code, msg)
	case code != 0:
		err = fmt.Errorf("COMMAND health check: exit status %d", code)
	}
	if log := c.target.Log; log != nil {
		if err != nil {
			log.Info("COMMAND health check failed", "exit_code", code, "output", msg, "err", err)
		} else {
			log.Debug("COMMAND health check passed", "output", msg)
		}
	}
	return err
}

// execArgv is the argv of a COMMAND check run in a Container: /bin/sh -c value for a shell
// command, else value followed by the arguments after arguments[0] (which Mesos takes as
// argv[0] and an exec cannot set apart from the program).
func execArgv(ci *mesos.CommandInfo) []string {
	if ci.IsShell() {
		return []string{"/bin/sh", "-c", *ci.Value}
	}
	argv := []string{*ci.Value}
	if len(ci.Arguments) > 1 {
		argv = append(argv, ci.Arguments[1:]...)
	}
	return argv
}

// local runs the check on the agent's host, in the target's directory with the target's
// environment plus env, and returns its exit code (-1 when a signal ended it) and output.
func (c *checker) local(ctx context.Context, env []string) (int, []byte, error) {
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
	cmd.Env = append(append([]string(nil), c.target.Env...), env...)
	// Its own process group, killed whole on timeout, so no child outlives the check.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out, nil
	}
	if err != nil {
		return -1, out, err
	}
	return 0, out, nil
}
