package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"
)

// checkAddrFree tries to listen on ip:port and reports why it cannot: the address is not one of
// this machine's, or the port is taken.
func checkAddrFree(ip string, port int) error {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		switch {
		case errors.Is(err, syscall.EADDRINUSE):
			return fmt.Errorf("%s: %w", addr, syscall.EADDRINUSE)
		case errors.Is(err, syscall.EADDRNOTAVAIL):
			return fmt.Errorf("%s: address %s is not available on this machine: %w", addr, ip, syscall.EADDRNOTAVAIL)
		}
		return fmt.Errorf("%s: %w", addr, err)
	}
	return l.Close()
}

// nodesAddrsFree checks every port of every node, returning every problem.
func nodesAddrsFree(nodes []*Node) error {
	var errs []error
	for _, n := range nodes {
		for _, p := range n.Ports {
			if err := checkAddrFree(n.IP, p); err != nil {
				errs = append(errs, &NodeError{Node: n.Name, Err: err})
			}
		}
	}
	return errors.Join(errs...)
}

// waitPortsClosed waits until no node listens on any of its ports any more, or ctx ends.
func waitPortsClosed(ctx context.Context, nodes []*Node) error {
	for {
		var busy []error
		for _, n := range nodes {
			for _, p := range n.Ports {
				if err := checkAddrFree(n.IP, p); errors.Is(err, syscall.EADDRINUSE) {
					busy = append(busy, err)
				}
			}
		}
		if len(busy) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still listening: %w", errors.Join(busy...))
		case <-time.After(20 * time.Millisecond):
		}
	}
}
