package docker

import (
	"bufio"
	"context"
	"io"
	"net"
	"slices"
	"strconv"
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
		want     []uint32
	}{
		{"host network", "HOST", nil, nil},
		{"bridge", "BRIDGE", []mesos.PortMapping{mapping(80, 31000, ""), mapping(81, 31001, "tcp,udp")}, []uint32{31000, 31001}},
		{"udp only", "BRIDGE", []mesos.PortMapping{mapping(53, 31000, "udp")}, nil},
		{"not given to the task", "BRIDGE", []mesos.PortMapping{mapping(80, 32000, "")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := testSpec(func(ti *mesos.TaskInfo) {
				ti.Container.Docker.Network = tt.network
				ti.Container.Docker.PortMappings = tt.mappings
			})
			if got := forwardedPorts(spec.Task.Container, spec.Task.Resources); !slices.Equal(got, tt.want) {
				t.Errorf("forwardedPorts = %v, want %v", got, tt.want)
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
		e.relay(ctx, ln)
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
