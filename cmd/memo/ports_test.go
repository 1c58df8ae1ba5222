package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
)

// Ports handed to child processes are closed before the child binds them. A port from the kernel's ephemeral range
// can meanwhile become the local end of any outgoing connection on the machine, and the child then fails with
// "address already in use"; so freeAddr picks below that range, and never the same port twice in one run.
var ports struct {
	sync.Mutex
	given map[int]bool
}

func freeAddr(t *testing.T) string {
	t.Helper()
	low := ephemeralLow()
	ports.Lock()
	defer ports.Unlock()
	if ports.given == nil {
		ports.given = map[int]bool{}
	}
	for range 1000 {
		p := 10000 + rand.IntN(low-10000)
		if ports.given[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		ports.given[p] = true
		return ln.Addr().String()
	}
	t.Fatal("no free port on 127.0.0.1 below the ephemeral range")
	return ""
}

// ephemeralLow is the first port the kernel hands to outgoing connections (32768 when it cannot be read).
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var lo, hi int
		if n, _ := fmt.Sscan(string(b), &lo, &hi); n == 2 && lo > 11000 {
			low = lo
		}
	}
	return low
}
