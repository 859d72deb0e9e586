package docker

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// forwardDialTimeout bounds the connection to the engine's published port.
const forwardDialTimeout = 5 * time.Second

// forward relays TCP connections made to a task's host ports in the agent's network namespace
// to the same ports at the address where the engine publishes them (Config.PublishedAt). It
// serves agents that run in containers of their own: the engine publishes a bridged task's
// ports on its host, while Marathon reports the task at its agent's address.
type forward struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// forwardedPorts returns the TCP host ports of a task's port mappings, for a container that
// publishes them (BRIDGE or USER networks).
func forwardedPorts(ci *mesos.ContainerInfo, rs mesos.Resources) []uint32 {
	if ci == nil || ci.Docker == nil {
		return nil
	}
	nw, err := networking(ci, rs)
	if err != nil || nw.mode == "host" || nw.mode == "none" {
		return nil
	}
	var ports []uint32
	for _, m := range nw.mappings {
		if protos, _ := protocols(m.Protocol); slices.Contains(protos, "tcp") && !slices.Contains(ports, m.HostPort) {
			ports = append(ports, m.HostPort)
		}
	}
	return ports
}

// startForward listens on the task's forwarded ports and relays what arrives until Wait sees
// the container end or Cleanup runs (both stopForward), or the executor closes. Ports that
// cannot be listened on are logged: the task still answers at the published address.
func (e *Executor) startForward(containerID string, ports []uint32) {
	if e.cfg.PublishedAt == "" || len(ports) == 0 {
		return
	}
	var lns []net.Listener
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.FormatUint(uint64(p), 10)))
		if err != nil {
			e.log.Warn("forward a published port", "container", containerID, "port", p, "err", err)
			continue
		}
		lns = append(lns, ln)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.forwards[containerID] != nil || len(lns) == 0 {
		for _, ln := range lns {
			ln.Close()
		}
		return
	}
	ctx, cancel := context.WithCancel(e.ctx)
	f := &forward{cancel: cancel, done: make(chan struct{})}
	e.forwards[containerID] = f
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Go(func() { e.relay(ctx, ln) })
	}
	e.wg.Go(func() {
		<-ctx.Done()
		for _, ln := range lns {
			ln.Close()
		}
		wg.Wait()
		close(f.done)
	})
	e.log.Debug("forwarding published ports", "container", containerID, "ports", ports, "to", e.cfg.PublishedAt)
}

// stopForward stops a container's forward and waits for its connections to end.
func (e *Executor) stopForward(containerID string) {
	e.mu.Lock()
	f := e.forwards[containerID]
	delete(e.forwards, containerID)
	e.mu.Unlock()
	if f != nil {
		f.cancel()
		<-f.done
	}
}

// relay accepts connections on ln until ctx ends, each relayed to the same port at
// PublishedAt; the connections end with ctx too.
func (e *Executor) relay(ctx context.Context, ln net.Listener) {
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	to := net.JoinHostPort(e.cfg.PublishedAt, port)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		in, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				e.log.Warn("accept on a forwarded port", "port", port, "err", err)
			}
			return
		}
		wg.Go(func() { pipe(ctx, in, to) })
	}
}

// pipe copies between in and a new connection to addr, both ways, until either side is done
// or ctx ends.
func pipe(ctx context.Context, in net.Conn, addr string) {
	defer in.Close()
	d := net.Dialer{Timeout: forwardDialTimeout}
	out, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return
	}
	defer out.Close()
	stop := context.AfterFunc(ctx, func() {
		in.Close()
		out.Close()
	})
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(out, in)
		closeWrite(out)
	}()
	_, _ = io.Copy(in, out)
	closeWrite(in)
	<-done
}

// closeWrite half-closes a TCP connection, so the other side sees the end of what was sent.
func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
