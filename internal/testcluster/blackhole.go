package testcluster

import (
	"errors"
	"net"
	"sync"
	"time"
)

// blackhole is a TCP proxy in front of a master's API port (Options.SilentDeath). It forwards
// both ways until darkened; from then on it forwards nothing, and holds every connection open,
// old and new, until the cluster closes: what a client sees of a machine that died, or was cut
// off, without closing its sockets. No FIN or RST ever reaches the client.
type blackhole struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	dark    bool
	conns   map[net.Conn]struct{} // every connection, both sides, closed by close
	servers map[net.Conn]struct{} // the connections to the master, cut by darken
	wg      sync.WaitGroup
}

// newBlackhole listens on a free loopback port and forwards to target.
func newBlackhole(target string) (*blackhole, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &blackhole{ln: ln, target: target, conns: map[net.Conn]struct{}{}, servers: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go b.serve()
	return b, nil
}

func (b *blackhole) port() int { return b.ln.Addr().(*net.TCPAddr).Port }

func (b *blackhole) serve() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		if !b.track(c) {
			continue
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.forward(c)
		}()
	}
}

// track records c; false when the proxy is dark: c is then held open and never served.
func (b *blackhole) track(c net.Conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.conns[c] = struct{}{}
	return !b.dark
}

func (b *blackhole) forward(client net.Conn) {
	server, err := net.DialTimeout("tcp", b.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	b.mu.Lock()
	b.conns[server], b.servers[server] = struct{}{}, struct{}{}
	dark := b.dark
	b.mu.Unlock()
	if dark {
		server.Close()
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !b.isDark() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					err = werr
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	// A dark proxy leaves the client's side open: its peer is gone without a word.
	b.mu.Lock()
	if !b.dark {
		client.Close()
		server.Close()
		delete(b.conns, client)
		delete(b.conns, server)
		delete(b.servers, server)
	}
	b.mu.Unlock()
	<-done
}

func (b *blackhole) isDark() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dark
}

// darken stops all forwarding and cuts the proxy from the master, never from its clients.
func (b *blackhole) darken() {
	b.mu.Lock()
	b.dark = true
	for c := range b.servers {
		c.Close()
	}
	b.mu.Unlock()
}

// close closes the listener and every connection, and waits for the proxy's goroutines.
func (b *blackhole) close() error {
	err := b.ln.Close()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// KillMasterSilently makes master i die as its machine would, without closing a socket:
// Options.SilentDeath's proxy in front of it stops forwarding and holds every client
// connection open and silent (new ones too), its etcd member stops before the master can resign
// (so its leadership lasts until its election lease expires), and then the node stops behind
// the dark proxy. Clients of the master notice only by their own timeouts, or when told. The
// master cannot be started again.
func (c *Cluster) KillMasterSilently(i int) {
	c.t.Helper()
	m := c.masters[i]
	if m.hole == nil {
		c.t.Fatal("testcluster: KillMasterSilently needs Options.SilentDeath")
	}
	m.hole.darken()
	c.mu.Lock()
	n := m.Node
	m.Node = nil
	c.mu.Unlock()
	if n == nil {
		return
	}
	_ = n.Coord.Close()
	_ = n.Close()
}
