package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// stats are the answers of one load run.
type stats struct {
	Requests int
	Elapsed  time.Duration
	Status   map[int]int
	Errors   int
	LastErr  string
	Codes    []int // sendAll: each request's status (0: no answer)
	lat      []time.Duration
}

func (s *stats) perSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// percentileMS is the q-th latency percentile (0 < q ≤ 1) in milliseconds.
func (s *stats) percentileMS(q float64) float64 {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(float64(len(s.lat))*q+0.999999) - 1
	i = max(0, min(i, len(s.lat)-1))
	return float64(s.lat[i].Microseconds()) / 1000
}

func (s *stats) ok(codes ...int) int {
	n := 0
	for _, c := range codes {
		n += s.Status[c]
	}
	return n
}

// merge adds o's answers to s (latencies are re-sorted).
func (s *stats) merge(o *stats) {
	if s.Status == nil {
		s.Status = map[int]int{}
	}
	s.Requests += o.Requests
	s.Elapsed += o.Elapsed
	s.Errors += o.Errors
	if o.LastErr != "" {
		s.LastErr = o.LastErr
	}
	for c, n := range o.Status {
		s.Status[c] += n
	}
	s.lat = append(s.lat, o.lat...)
	slices.Sort(s.lat)
}

type worker struct {
	lat     []time.Duration
	status  map[int]int
	errs    int
	lastErr string
}

func (w *worker) record(d time.Duration, resp *http.Response, err error) {
	w.lat = append(w.lat, d)
	if err != nil {
		w.errs++
		w.lastErr = err.Error()
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	w.status[resp.StatusCode]++
}

func collect(workers []*worker, elapsed time.Duration) *stats {
	s := &stats{Elapsed: elapsed, Status: map[int]int{}}
	for _, w := range workers {
		s.lat = append(s.lat, w.lat...)
		s.Errors += w.errs
		if w.lastErr != "" {
			s.LastErr = w.lastErr
		}
		for c, n := range w.status {
			s.Status[c] += n
		}
	}
	s.Requests = len(s.lat)
	slices.Sort(s.lat)
	return s
}

// sendAll sends prepared requests at concurrency c, each with the client its sender uses, and times the whole. When
// ctx ends, the requests not sent yet are left out (the caller counts them as lost).
func sendAll(ctx context.Context, reqs []*http.Request, clients []*http.Client, c int) *stats {
	var next atomic.Int64
	workers := make([]*worker, c)
	codes := make([]int, len(reqs))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &worker{status: map[int]int{}}
		workers[i] = w
		wg.Go(func() {
			for ctx.Err() == nil {
				j := int(next.Add(1)) - 1
				if j >= len(reqs) {
					return
				}
				t := time.Now()
				resp, err := clients[j].Do(reqs[j].WithContext(ctx))
				if err == nil {
					codes[j] = resp.StatusCode
				}
				w.record(time.Since(t), resp, err)
			}
		})
	}
	wg.Wait()
	s := collect(workers, time.Since(start))
	s.Codes = codes
	return s
}

// localClient is a client for page loads: enough idle connections for c workers, no proxy.
func localClient(c int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        c * 2,
			MaxIdleConnsPerHost: c * 2,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// hammer sends GET url with the given header lines ("Accept: text/html") at concurrency c for d and checks every
// answer is 200. A few requests through net/http check the answer first (and warm the server); the load itself
// goes through the raw client (rawWorker), whose ceiling the run reports.
func hammer(ctx context.Context, client *http.Client, url string, c int, d time.Duration, headers ...string) (*stats, error) {
	g, err := checkedGet(ctx, client, url, c, headers...)
	if err != nil {
		return nil, err
	}
	return allOK(url, rawHammer(ctx, g, c, d))
}

// interleaved loads url and the bare handler in turns, slices times each for d in all, so that both meet the same
// share of the cores: other work on a shared machine changes from one second to the next, and a ratio of figures
// taken at different moments measured that as much as the server.
func interleaved(ctx context.Context, client *http.Client, url, bareURL string, c int, d time.Duration, slices int, headers ...string) (page, bare *stats, err error) {
	g, err := checkedGet(ctx, client, url, c, headers...)
	if err != nil {
		return nil, nil, err
	}
	b, err := newRawGet(bareURL)
	if err != nil {
		return nil, nil, err
	}
	page, bare = &stats{Status: map[int]int{}}, &stats{Status: map[int]int{}}
	for range slices {
		bare.merge(rawHammer(ctx, b, c, d/time.Duration(slices)))
		page.merge(rawHammer(ctx, g, c, d/time.Duration(slices)))
	}
	if _, err := allOK(bareURL, bare); err != nil {
		return page, bare, err
	}
	_, err = allOK(url, page)
	return page, bare, err
}

// checkedGet checks a few answers to url through net/http (and warms the server), then prepares the raw request.
func checkedGet(ctx context.Context, client *http.Client, url string, c int, headers ...string) (*rawGet, error) {
	for range min(c, 20) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		for _, h := range headers {
			if name, value, ok := strings.Cut(h, ":"); ok {
				req.Header.Set(name, strings.TrimSpace(value))
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", url, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
		}
	}
	return newRawGet(url, headers...)
}

// allOK returns s, with an error when some answers were not 200.
func allOK(url string, s *stats) (*stats, error) {
	if bad := s.Requests - s.ok(http.StatusOK); bad > 0 {
		return s, fmt.Errorf("GET %s: %d of %d answers were not 200 (%v, last error %q)", url, bad, s.Requests, s.Status, s.LastErr)
	}
	return s, nil
}
