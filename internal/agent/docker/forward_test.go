package docker

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

func TestForwardedPorts(t *testing.T) {
	mapping := func(cp, hp uint32, proto string) mesos.PortMapping {
		return mesos.PortMapping{ContainerPort: cp, HostPort: hp, Protocol: proto}
	}
	tests := []struct {
		name     string
		network  string
		mappings []mesos.PortMapping
		tcp, udp []uint32
	}{
		{"host network", "HOST", []mesos.PortMapping{mapping(80, 31000, "")}, nil, nil},
		{"bridge", "BRIDGE", []mesos.PortMapping{mapping(80, 31000, ""), mapping(81, 31001, "tcp,udp")}, []uint32{31000, 31001}, []uint32{31001}},
		{"udp only", "BRIDGE", []mesos.PortMapping{mapping(53, 31000, "udp")}, nil, []uint32{31000}},
		{"udp and tcp on one port", "BRIDGE", []mesos.PortMapping{mapping(53, 31000, "UDP"), mapping(53, 31000, "tcp")}, []uint32{31000}, []uint32{31000}},
		{"not given to the task", "BRIDGE", []mesos.PortMapping{mapping(80, 32000, "udp")}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := testSpec(func(ti *mesos.TaskInfo) {
				ti.Container.Docker.Network = tt.network
				ti.Container.Docker.PortMappings = tt.mappings
			})
			got := forwardedPorts(spec.Task.Container, spec.Task.Resources)
			if !slices.Equal(got.tcp, tt.tcp) || !slices.Equal(got.udp, tt.udp) {
				t.Errorf("forwardedPorts = tcp %v udp %v, want tcp %v udp %v", got.tcp, got.udp, tt.tcp, tt.udp)
			}
		})
	}
}

// TestRelay relays a connection made to one loopback address to the same port at another,
// as an agent in a container relays its task's port to the engine's host, and ends the
// connections it relays when stopped.
func TestRelay(t *testing.T) {
	backend, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	defer backend.Close()
	_, port, _ := net.SplitHostPort(backend.Addr().String())
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Skipf("port %s taken on 127.0.0.1: %v", port, err)
	}
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = io.WriteString(c, "echo "+line)
				_, _ = io.Copy(io.Discard, c) // hold the connection until the other side ends it
			}()
		}
	}()
	e, err := New(Config{Client: nil, PublishedAt: "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.relayTCP(ctx, ln)
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "hello\n"); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != "echo hello\n" {
		t.Fatalf("through the relay: %q, %v", got, err)
	}
	cancel()
	ln.Close() // as startForward's closer does
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("relay still runs 5s after its context ended")
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the relayed connection stays open after the relay stopped")
	}
	if _, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), time.Second); err == nil {
		t.Error("the relay still accepts: " + strconv.Quote(port))
	}
}

// udpEcho answers each datagram sent to a loopback port with "echo " and the datagram, standing
// in for the engine's published port. It returns its address and the number of distinct
// addresses it heard from.
func udpEcho(t *testing.T) (addr string, sources func() int) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var mu sync.Mutex
	seen := map[string]bool{}
	go func() {
		buf := make([]byte, udpBufSize)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			seen[from.String()] = true
			mu.Unlock()
			_, _ = pc.WriteTo(append([]byte("echo "), buf[:n]...), from)
		}
	}()
	return pc.LocalAddr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
}

// startUDPRelay runs a UDP relay listening on a loopback port and relaying to `to`, changed
// by mod before it starts. stop ends it as startForward's closer does and fails the test if
// it leaves a reply loop running.
func startUDPRelay(t *testing.T, to string, mod func(*udpRelay)) (r *udpRelay, addr string, stop func()) {
	t.Helper()
	in, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r = newUDPRelay(in, to, slog.New(slog.NewTextHandler(tlog{t}, nil)))
	if mod != nil {
		mod(r)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			in.Close()
			select {
			case <-done: // run returns only once every flow's reply loop has
			case <-time.After(5 * time.Second):
				t.Fatal("UDP relay still runs 5s after it was stopped")
			}
		})
	}
	t.Cleanup(stop)
	return r, in.LocalAddr().String(), stop
}

// tlog routes a relay's log through t.Log.
type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// roundTrip sends msg on c and returns the datagram that comes back.
func roundTrip(c net.Conn, msg string) (string, error) {
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	buf := make([]byte, udpBufSize)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

func dialUDP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRelayUDP has two clients exchange datagrams through the relay at once: each gets its own
// replies only, through a flow of its own. Stopping the relay closes its flows and socket.
func TestRelayUDP(t *testing.T) {
	to, sources := udpEcho(t)
	r, addr, stop := startUDPRelay(t, to, nil)
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		c := dialUDP(t, addr)
		wg.Go(func() {
			for i := range 50 {
				msg := name + strconv.Itoa(i)
				if got, err := roundTrip(c, msg); err != nil || got != "echo "+msg {
					t.Errorf("client %s: sent %q, got %q, %v", name, msg, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if flows, _ := r.stats(); flows != 2 {
		t.Errorf("%d flows for 2 clients", flows)
	}
	if n := sources(); n != 2 {
		t.Errorf("the published port heard from %d addresses, want one per client", n)
	}
	big := strings.Repeat("x", 60000)
	if got, err := roundTrip(dialUDP(t, addr), big); err != nil || got != "echo "+big {
		t.Errorf("a 60000-byte datagram came back as %d bytes, %v", len(got), err)
	}
	stop()
	if flows, _ := r.stats(); flows != 0 {
		t.Errorf("%d flows left after stop", flows)
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("the relay's port is still taken after stop: %v", err)
	}
	pc.Close()
}

// TestRelayUDPIdleFlow closes a flow idle for the relay's timeout; the client's next datagram
// opens a new one.
func TestRelayUDPIdleFlow(t *testing.T) {
	to, sources := udpEcho(t)
	r, addr, _ := startUDPRelay(t, to, func(r *udpRelay) { r.timeout = 50 * time.Millisecond })
	c := dialUDP(t, addr)
	if got, err := roundTrip(c, "one"); err != nil || got != "echo one" {
		t.Fatalf("through the relay: %q, %v", got, err)
	}
	waitFlows(t, r, 0)
	if got, err := roundTrip(c, "two"); err != nil || got != "echo two" {
		t.Fatalf("after the flow ended: %q, %v", got, err)
	}
	if n := sources(); n != 2 {
		t.Errorf("the published port heard from %d addresses, want a new one for the new flow", n)
	}
}

// TestRelayUDPMaxFlows drops the datagrams of a client beyond the relay's flows, and keeps
// serving the clients it has.
func TestRelayUDPMaxFlows(t *testing.T) {
	to, _ := udpEcho(t)
	r, addr, _ := startUDPRelay(t, to, func(r *udpRelay) { r.maxFlows = 1 })
	a, b := dialUDP(t, addr), dialUDP(t, addr)
	if got, err := roundTrip(a, "a"); err != nil || got != "echo a" {
		t.Fatalf("first client: %q, %v", got, err)
	}
	for _, msg := range []string{"b1", "b2"} {
		if _, err := io.WriteString(b, msg); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, dropped := r.stats(); dropped != 2; _, dropped = r.stats() {
		if time.Now().After(deadline) {
			t.Fatalf("%d datagrams dropped, want 2", dropped)
		}
		time.Sleep(time.Millisecond)
	}
	if got, err := roundTrip(a, "a2"); err != nil || got != "echo a2" {
		t.Fatalf("first client after the second was refused: %q, %v", got, err)
	}
	if flows, _ := r.stats(); flows != 1 {
		t.Errorf("%d flows, want 1", flows)
	}
}

// waitFlows waits up to 5s for the relay to hold n flows.
func waitFlows(t *testing.T, r *udpRelay, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for flows, _ := r.stats(); flows != n; flows, _ = r.stats() {
		if time.Now().After(deadline) {
			t.Fatalf("%d flows after 5s, want %d", flows, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
