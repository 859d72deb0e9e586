package docker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// udpFlowTimeout closes a UDP flow that carried no datagram either way for that long, as
	// docker-proxy's UDP conntrack timeout does.
	udpFlowTimeout = 90 * time.Second
	// udpMaxFlows bounds the UDP flows of one forwarded port: datagrams of further clients are
	// dropped until a flow ends.
	udpMaxFlows = 1024
	// udpBufSize holds the largest UDP datagram.
	udpBufSize = 64 << 10
	// udpDropLogEvery spaces the warnings about dropped clients.
	udpDropLogEvery = time.Minute
)

// udpRelay relays the datagrams that reach one UDP port to the same port at PublishedAt, the
// way docker-proxy does: each client address gets a flow, a socket of its own connected to the
// published port; what a client sends goes out its flow's socket, and what comes back on it
// returns to the client through the listening socket. A flow idle for timeout is closed.
type udpRelay struct {
	in       *net.UDPConn // listens on the forwarded port
	to       string       // the published address of that port
	timeout  time.Duration
	maxFlows int
	log      *slog.Logger

	mu         sync.Mutex
	flows      map[netip.AddrPort]*udpFlow // by client address
	dropped    int                         // datagrams of clients beyond maxFlows
	droppedLog time.Time                   // when dropped was last logged
	wg         sync.WaitGroup              // one per flow's reply loop
}

// udpFlow is one client's path to the published port.
type udpFlow struct {
	client netip.AddrPort
	out    *net.UDPConn // connected to the published port
	last   atomic.Int64 // unix nanoseconds of its last datagram, either way
}

func (f *udpFlow) touch() { f.last.Store(time.Now().UnixNano()) }

func (f *udpFlow) idleSince() time.Time { return time.Unix(0, f.last.Load()) }

func newUDPRelay(in *net.UDPConn, to string, log *slog.Logger) *udpRelay {
	return &udpRelay{in: in, to: to, timeout: udpFlowTimeout, maxFlows: udpMaxFlows, log: log,
		flows: map[netip.AddrPort]*udpFlow{}}
}

// relayUDP relays the datagrams that reach in until ctx ends and in is closed; its flows end
// with it.
func (e *Executor) relayUDP(ctx context.Context, in *net.UDPConn) {
	port, to := e.publishedAt(in.LocalAddr())
	newUDPRelay(in, to, e.log.With("port", port)).run(ctx)
}

// run reads the listening socket until it is closed, sending each datagram out its client's
// flow, then closes the flows and waits for their reply loops.
func (r *udpRelay) run(ctx context.Context) {
	defer r.wg.Wait()
	defer r.closeFlows()
	buf := make([]byte, udpBufSize)
	for {
		n, client, err := r.in.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				r.log.Warn("read a forwarded UDP port", "err", err)
			}
			return
		}
		if f := r.flow(ctx, client); f != nil {
			// A write refused because nothing listens yet is a lost datagram, as UDP allows.
			_, _ = f.out.Write(buf[:n])
		}
	}
}

// flow returns the client's flow, touched, opening it if there is room; nil drops the datagram.
func (r *udpRelay) flow(ctx context.Context, client netip.AddrPort) *udpFlow {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.flows[client]; f != nil {
		f.touch()
		return f
	}
	if len(r.flows) >= r.maxFlows {
		r.drop(client)
		return nil
	}
	var d net.Dialer
	out, err := d.DialContext(ctx, "udp", r.to)
	if err != nil {
		r.log.Debug("open a UDP flow", "client", client, "to", r.to, "err", err)
		return nil
	}
	f := &udpFlow{client: client, out: out.(*net.UDPConn)}
	f.touch()
	r.flows[client] = f
	r.wg.Go(func() { r.replies(f) })
	return f
}

// drop counts a datagram of a client beyond maxFlows, logging at most once per udpDropLogEvery.
// r.mu is held.
func (r *udpRelay) drop(client netip.AddrPort) {
	r.dropped++
	if now := time.Now(); now.Sub(r.droppedLog) >= udpDropLogEvery {
		r.droppedLog = now
		r.log.Warn("too many UDP flows on a forwarded port: datagrams of new clients dropped",
			"flows", len(r.flows), "dropped", r.dropped, "client", client)
	}
}

// replies sends what comes back on a flow to its client until the flow is idle for r.timeout
// or closed.
func (r *udpRelay) replies(f *udpFlow) {
	buf := make([]byte, udpBufSize)
	for {
		_ = f.out.SetReadDeadline(f.idleSince().Add(r.timeout))
		n, err := f.out.Read(buf)
		switch {
		case err == nil:
			f.touch()
			if _, err := r.in.WriteToUDPAddrPort(buf[:n], f.client); errors.Is(err, net.ErrClosed) {
				r.remove(f, false)
				return
			}
		case errors.Is(err, syscall.ECONNREFUSED):
			// A datagram found nothing listening at the published port (the task may still
			// be starting): the flow stays until idle, as docker-proxy's does.
		case errors.Is(err, os.ErrDeadlineExceeded):
			if r.remove(f, true) {
				return
			}
		default:
			r.remove(f, false)
			return
		}
	}
}

// remove closes a flow and forgets it, unless idleOnly and a datagram came through it less than
// r.timeout ago. It reports whether the flow is closed.
func (r *udpRelay) remove(f *udpFlow, idleOnly bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if idleOnly && time.Since(f.idleSince()) < r.timeout {
		return false
	}
	if r.flows[f.client] == f {
		delete(r.flows, f.client)
	}
	_ = f.out.Close()
	return true
}

// closeFlows closes every flow, ending their reply loops.
func (r *udpRelay) closeFlows() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c, f := range r.flows {
		_ = f.out.Close()
		delete(r.flows, c)
	}
}

// stats returns the number of open flows and of dropped datagrams.
func (r *udpRelay) stats() (flows, dropped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.flows), r.dropped
}
