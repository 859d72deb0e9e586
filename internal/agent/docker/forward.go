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

// forward relays what reaches a task's host ports in the agent's network namespace to the same
// ports at the address where the engine publishes them (Config.PublishedAt): TCP connections
// one by one, UDP datagrams through one flow per client (forward_udp.go). It serves agents
// that run in containers of their own: the engine publishes a bridged task's ports on its
// host, while Marathon reports the task at its agent's address.
type forward struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// hostPorts are the host ports a task publishes, by protocol.
type hostPorts struct {
	tcp, udp []uint32
}

func (p hostPorts) empty() bool { return len(p.tcp) == 0 && len(p.udp) == 0 }

// forwardedPorts returns the TCP and UDP host ports of a task's port mappings, for a container
// that publishes them (BRIDGE or USER networks). A "tcp,udp" mapping gives its port to both.
func forwardedPorts(ci *mesos.ContainerInfo, rs mesos.Resources) hostPorts {
	var ports hostPorts
	if ci == nil || ci.Docker == nil {
		return ports
	}
	nw, err := networking(ci, rs)
	if err != nil || nw.mode == "host" || nw.mode == "none" {
		return ports
	}
	for _, m := range nw.mappings {
		protos, _ := protocols(m.Protocol)
		if slices.Contains(protos, "tcp") && !slices.Contains(ports.tcp, m.HostPort) {
			ports.tcp = append(ports.tcp, m.HostPort)
		}
		if slices.Contains(protos, "udp") && !slices.Contains(ports.udp, m.HostPort) {
			ports.udp = append(ports.udp, m.HostPort)
		}
	}
	return ports
}

// startForward listens on the task's forwarded ports and relays what arrives until Wait sees
// the container end or Cleanup runs (both stopForward), or the executor closes. Ports that
// cannot be listened on are logged: the task still answers at the published address.
func (e *Executor) startForward(containerID string, ports hostPorts) {
	if e.cfg.PublishedAt == "" || ports.empty() {
		return
	}
	socks := e.listen(containerID, ports)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.forwards[containerID] != nil || len(socks) == 0 {
		closeAll(socks)
		return
	}
	ctx, cancel := context.WithCancel(e.ctx)
	f := &forward{cancel: cancel, done: make(chan struct{})}
	e.forwards[containerID] = f
	var wg sync.WaitGroup
	for _, s := range socks {
		wg.Go(func() { e.serve(ctx, s) })
	}
	e.wg.Go(func() {
		<-ctx.Done()
		closeAll(socks)
		wg.Wait()
		close(f.done)
	})
	e.log.Debug("forwarding published ports", "container", containerID, "tcp", ports.tcp, "udp", ports.udp, "to", e.cfg.PublishedAt)
}

// listen opens a socket on each forwarded port: a net.Listener for TCP, a *net.UDPConn for UDP.
func (e *Executor) listen(containerID string, ports hostPorts) []io.Closer {
	var socks []io.Closer
	for _, l := range []struct {
		network string
		ports   []uint32
	}{{"tcp", ports.tcp}, {"udp", ports.udp}} {
		for _, p := range l.ports {
			s, err := listenOn(l.network, net.JoinHostPort("", strconv.FormatUint(uint64(p), 10)))
			if err != nil {
				e.log.Warn("forward a published port", "container", containerID, "port", p, "protocol", l.network, "err", err)
				continue
			}
			socks = append(socks, s)
		}
	}
	return socks
}

func listenOn(network, addr string) (io.Closer, error) {
	if network == "udp" {
		return net.ListenPacket("udp", addr)
	}
	return net.Listen("tcp", addr)
}

// serve relays what arrives on a socket listen opened until ctx ends and the socket is closed.
func (e *Executor) serve(ctx context.Context, s io.Closer) {
	switch s := s.(type) {
	case net.Listener:
		e.relayTCP(ctx, s)
	case *net.UDPConn:
		e.relayUDP(ctx, s)
	}
}

func closeAll(socks []io.Closer) {
	for _, s := range socks {
		_ = s.Close()
	}
}

// stopForward stops a container's forward and waits for its connections and flows to end.
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

// publishedAt returns where the port of a local socket is published.
func (e *Executor) publishedAt(local net.Addr) (port, to string) {
	_, port, _ = net.SplitHostPort(local.String())
	return port, net.JoinHostPort(e.cfg.PublishedAt, port)
}

// relayTCP accepts connections on ln until ctx ends and ln is closed, each relayed to the same
// port at PublishedAt; the connections end with ctx too.
func (e *Executor) relayTCP(ctx context.Context, ln net.Listener) {
	port, to := e.publishedAt(ln.Addr())
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
