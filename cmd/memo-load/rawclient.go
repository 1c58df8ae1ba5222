package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sync"
	"time"
)

// rawGet is one GET request written once, byte for byte, and sent again and again over kept-alive connections:
// the page phases measure the server, so the client must cost as little as wrk's (net/http's client allocates a
// request, a response and its headers every time, and was the ceiling the server was measured against).
type rawGet struct {
	addr string
	wire []byte
}

// newRawGet prepares GET rawURL with the given header lines ("Accept: text/html"); plain http only.
func newRawGet(rawURL string, headers ...string) (*rawGet, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("raw client: %q is not a plain http URL", rawURL)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: memo-load\r\n", u.RequestURI(), u.Host)
	for _, h := range headers {
		if h != "" {
			b.WriteString(h + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return &rawGet{addr: u.Host, wire: b.Bytes()}, nil
}

// rawWorker is one connection's loop; everything it keeps is allocated before the clock starts.
type rawWorker struct {
	g       *rawGet
	conn    net.Conn
	br      *bufio.Reader
	lat     []time.Duration
	status  [600]int
	errs    int
	lastErr string
}

func (w *rawWorker) dial() error {
	if w.conn != nil {
		w.conn.Close()
	}
	c, err := net.DialTimeout("tcp", w.g.addr, 5*time.Second)
	if err != nil {
		return err
	}
	w.conn = c
	w.br.Reset(c)
	return nil
}

// once sends the request and reads the whole answer; keep is false when the server closes the connection.
func (w *rawWorker) once() (code int, keep bool, err error) {
	if _, err := w.conn.Write(w.g.wire); err != nil {
		return 0, false, err
	}
	line, err := w.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("raw client: bad status line %q", line)
	}
	code = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	length, chunked, keep := -1, false, true
	for {
		h, err := w.br.ReadSlice('\n')
		if err != nil {
			return code, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "content-length"):
			length = atoi(value)
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "connection"):
			keep = !asciiEqualFold(value, "close")
		}
	}
	switch {
	case chunked:
		err = w.discardChunks()
	case length >= 0:
		_, err = w.br.Discard(length)
	default:
		_, err = io.Copy(io.Discard, w.br)
		keep = false
	}
	return code, keep && err == nil, err
}

func (w *rawWorker) discardChunks() error {
	for {
		line, err := w.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		n := 0
		for _, c := range bytes.TrimRight(line, "\r\n") {
			v := hexVal(c)
			if v < 0 {
				break
			}
			n = n*16 + v
		}
		if n == 0 {
			for { // trailers, then the empty line
				t, err := w.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := w.br.Discard(n + 2); err != nil {
			return err
		}
	}
}

// rawHammer sends g at concurrency c for d, one connection per worker kept alive as long as the server allows.
// Unlike hammer it checks nothing but the status: callers check one answer with net/http first.
func rawHammer(ctx context.Context, g *rawGet, c int, d time.Duration) *stats {
	workers := make([]*rawWorker, c)
	for i := range workers {
		workers[i] = &rawWorker{g: g, br: bufio.NewReaderSize(nil, 64<<10), lat: make([]time.Duration, 0, 1<<15)}
	}
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for _, w := range workers {
		wg.Go(func() {
			defer func() {
				if w.conn != nil {
					w.conn.Close()
				}
			}()
			for ctx.Err() == nil {
				t := time.Now()
				if !t.Before(stop) {
					return
				}
				var err error
				if w.conn == nil {
					err = w.dial()
				}
				code, keep := 0, false
				if err == nil {
					code, keep, err = w.once()
				}
				w.lat = append(w.lat, time.Since(t))
				if err != nil {
					w.errs++
					w.lastErr = err.Error()
				} else if code > 0 && code < len(w.status) {
					w.status[code]++
				}
				if !keep && w.conn != nil {
					w.conn.Close()
					w.conn = nil
				}
			}
		})
	}
	wg.Wait()
	s := &stats{Elapsed: time.Since(start), Status: map[int]int{}}
	for _, w := range workers {
		s.lat = append(s.lat, w.lat...)
		s.Errors += w.errs
		if w.lastErr != "" {
			s.LastErr = w.lastErr
		}
		for code, n := range w.status {
			if n > 0 {
				s.Status[code] += n
			}
		}
	}
	s.Requests = len(s.lat)
	slices.Sort(s.lat)
	return s
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
