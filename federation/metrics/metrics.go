// Package metrics holds the Prometheus metrics of the server: deliveries, the queue, the inbox and request latency.
// They live in a registry of their own, served by Handler, so tests and several servers in one process do not
// collide in the global one.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var registry = prometheus.NewRegistry()

var (
	deliveriesSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "memo_deliveries_sent_total",
		Help: "Deliveries that a remote inbox accepted (2xx).",
	})
	deliveriesRetried = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "memo_deliveries_retried_total",
		Help: "Delivery attempts that failed and were scheduled again, by reason (network, timeout, 408, 429, 5xx).",
	}, []string{"reason"})
	deliveriesFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "memo_deliveries_failed_total",
		Help: "Deliveries given up for good, by reason (the status refused, gone, or expired after days of retries).",
	}, []string{"reason"})
	deliveryDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "memo_delivery_duration_seconds",
		Help:    "Time of one delivery POST, successful or not.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	inboxActivities = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "memo_inbox_activities_total",
		Help: "Activities posted to our inboxes, by type and result (accepted, duplicate, refused...).",
	}, []string{"type", "result"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "memo_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by method, route pattern and status code.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route", "code"})
	queueDepth = prometheus.NewDesc("memo_delivery_queue", "Deliveries in the queue, by state, read from the database at scrape time.", []string{"state"}, nil)
)

func init() {
	registry.MustRegister(deliveriesSent, deliveriesRetried, deliveriesFailed, deliveryDuration, inboxActivities, requestDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &queue)
}

// Handler serves the metrics in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry})
}

// DeliverySent, DeliveryRetried and DeliveryFailed count delivery outcomes; the delivery workers call them.
func DeliverySent()                    { deliveriesSent.Inc() }
func DeliveryRetried(reason string)    { deliveriesRetried.WithLabelValues(reason).Inc() }
func DeliveryFailed(reason string)     { deliveriesFailed.WithLabelValues(reason).Inc() }
func DeliveryTook(d time.Duration)     { deliveryDuration.Observe(d.Seconds()) }
func InboxActivity(typ, result string) { inboxActivities.WithLabelValues(typeLabel(typ), result).Inc() }

// typeLabel keeps the label set small: remote servers choose the type string, so unknown ones are lumped together.
func typeLabel(t string) string {
	switch t {
	case "Create", "Update", "Delete", "Follow", "Undo", "Accept", "Reject", "Like", "Announce", "Block", "Flag",
		"Move", "Add", "Remove", "EmojiReact":
		return t
	}
	return "other"
}

// CountFunc reads the queue's row counts by state.
type CountFunc func(ctx context.Context) (map[string]int, error)

// queueCollector asks the database at scrape time, so the gauge is right whichever replica did the work.
type queueCollector struct {
	mu    sync.Mutex
	count CountFunc
}

var queue queueCollector

// SetQueueCounter names the function the queue gauge reads at scrape time (one per process; the last call wins).
func SetQueueCounter(f CountFunc) {
	queue.mu.Lock()
	queue.count = f
	queue.mu.Unlock()
}

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepth }

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	f := q.count
	q.mu.Unlock()
	if f == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := f(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepth, err)
		return
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(n), state)
	}
}

// Middleware times every request. The route label is the ServeMux pattern that matched (set on the request by the
// mux), never the raw path, and the method label a known method or "other", so the number of series is bounded by
// the routes registered.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		requestObserver(methodLabel(r.Method), route, rec.status).Observe(time.Since(start).Seconds())
	})
}

// observerKey names one series of requestDuration.
type observerKey struct {
	method, route string
	code          int
}

// observers keeps each series' observer: WithLabelValues hashes its three labels on every call, which was most
// of the middleware's cost. The keys are as bounded as the series.
var observers sync.Map

func requestObserver(method, route string, code int) prometheus.Observer {
	if code < 100 || code > 599 {
		code = 0 // codeLabel's "other"
	}
	k := observerKey{method, route, code}
	if o, ok := observers.Load(k); ok {
		return o.(prometheus.Observer)
	}
	o := requestDuration.WithLabelValues(method, route, codeLabel(code))
	observers.Store(k, o)
	return o
}

// methodLabel keeps the method label to the methods HTTP defines for us: a client may send any token as a method,
// and each distinct one would otherwise be a new series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodPatch:
		return m
	}
	return "other"
}

// codeLabel is the status code; handlers write only real ones, but a code outside 100-599 is lumped together.
func codeLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
