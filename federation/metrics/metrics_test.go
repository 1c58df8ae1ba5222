package metrics

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func scrape(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("metrics answered %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

func TestMetricsExposition(t *testing.T) {
	SetQueueCounter(func(context.Context) (map[string]int, error) {
		return map[string]int{"pending": 7, "inflight": 2}, nil
	})
	DeliverySent()
	DeliveryRetried("429")
	DeliveryFailed("gone")
	InboxActivity("Follow", "accepted")
	InboxActivity("SomethingRemoteMadeUp", "ignored")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{name}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := Middleware(mux)
	for _, p := range []string{"/users/a", "/users/b", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}

	out := scrape(t)
	for _, want := range []string{
		`memo_delivery_queue{state="pending"} 7`,
		`memo_delivery_queue{state="inflight"} 2`,
		`memo_deliveries_sent_total 1`,
		`memo_deliveries_retried_total{reason="429"} 1`,
		`memo_deliveries_failed_total{reason="gone"} 1`,
		`memo_inbox_activities_total{result="accepted",type="Follow"} 1`,
		`memo_inbox_activities_total{result="ignored",type="other"} 1`,
		`memo_http_request_duration_seconds_count{code="418",method="GET",route="GET /users/{name}"} 2`,
		`memo_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// A database that cannot be read makes the scrape say so rather than show stale numbers.
	SetQueueCounter(func(context.Context) (map[string]int, error) { return nil, errors.New("database down") })
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("scrape with a failing queue count answered %d, want 500", resp.StatusCode)
	}
}

// 3,000 requests with made-up methods, on a mux with a catch-all route as the server has, grow the exposition by
// under 100 KB: the method label takes "other" for all of them.
func TestRandomMethodsDoNotGrowMetrics(t *testing.T) {
	SetQueueCounter(nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{name}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	srv := httptest.NewServer(Middleware(mux))
	defer srv.Close()
	before := len(scrape(t))
	rnd := rand.New(rand.NewPCG(1, 2))
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~"
	for i := range 3000 {
		m := make([]byte, 1+rnd.IntN(40))
		for j := range m {
			m[j] = letters[rnd.IntN(len(letters))]
		}
		path := "/nowhere"
		if i%2 == 0 {
			path = "/users/x"
		}
		req, err := http.NewRequest(string(m), srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	after := scrape(t)
	if grown := len(after) - before; grown >= 100<<10 {
		t.Fatalf("/metrics grew by %d bytes for 3,000 random methods, want under 100 KB", grown)
	}
	if !strings.Contains(after, `method="other"`) {
		t.Fatal(`no method="other" series`)
	}
}

func BenchmarkMiddleware(b *testing.B) {
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
