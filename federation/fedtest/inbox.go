package fedtest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
)

// Received is one request an instance's inbox got.
type Received struct {
	Path    string
	Header  http.Header
	Body    []byte
	KeyID   string
	Scheme  string // httpsign.SchemeCavage or httpsign.SchemeRFC9421
	SigErr  error  // nil when the signature, Digest, Date, signed-header set and the instance's check held
	Status  int    // what the inbox answered
	Arrived time.Time
}

// Activity decodes the received body.
func (r Received) Activity() map[string]any {
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	return m
}

// Failure makes an instance's inboxes misbehave. A request refused for its signature is answered 401 at once: the
// failure applies to the requests the instance would otherwise accept.
type Failure struct {
	Status     int           // answer this status (0: 202 as usual)
	RetryAfter string        // Retry-After header to send with it
	Header     http.Header   // more headers to send with it (the Location of a redirect)
	Delay      time.Duration // wait this long before answering (a timeout test uses longer than the client's)
	Hang       bool          // never answer until the client gives up
	// Hold, when set, is called before answering, and the answer waits for it to return: a test keeps a request
	// open until it lets it go (returning when ctx ends, as the client gives up), or counts the requests under way.
	Hold  func(ctx context.Context)
	Path  string // misbehave on this inbox path only (empty: every path)
	Times int    // for this many requests, then behave; 0: for ever
}

// SetFailure makes the inboxes misbehave as f says.
func (i *Instance) SetFailure(f Failure) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.failure, i.failed = f, 0
}

// SetCheck adds check to what every inbox request must pass beyond its signature; a request that fails it is
// refused (401) and listed by Refused.
func (i *Instance) SetCheck(check func(r *http.Request, body []byte) error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.check = check
}

// Received returns a copy of what the inboxes answered so far (a request still held, or given up by its client
// before the answer, is not there; see Tally).
func (i *Instance) Received() []Received {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]Received(nil), i.received...)
}

// Refused lists the inbox requests refused for their signature or the instance's check, as "path: reason".
func (i *Instance) Refused() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]string(nil), i.refused...)
}

// WaitReceived waits until the inboxes got at least n requests, failing the test after timeout.
func (i *Instance) WaitReceived(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := i.Received(); len(got) >= n {
			return got
		}
		select {
		case <-i.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: got %d inbox requests, want %d within %s", i.Name, len(i.Received()), n, timeout)
		}
	}
}

func (i *Instance) serveInbox(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		// The sender went away mid-request (a process killed): nothing arrived whole to judge, and a real server
		// drops it the same way.
		return
	}
	rec := Received{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Arrived: time.Now()}
	rec.KeyID, rec.SigErr = i.verify(r, body, true)
	if p, err := httpsign.ReadRequest(r.Header); err == nil {
		rec.Scheme = p.Scheme
		if rec.SigErr == nil && p.Scheme != httpsign.SchemeRFC9421 && i.Only9421.Load() {
			rec.SigErr = fmt.Errorf("draft-cavage signature refused: sign with RFC 9421")
		}
		if rec.SigErr == nil && p.Scheme == httpsign.SchemeRFC9421 && i.RefuseRFC9421.Load() {
			rec.SigErr = fmt.Errorf("RFC 9421 signature refused: sign with draft-cavage")
		}
	}

	i.mu.Lock()
	if rec.SigErr == nil && i.check != nil {
		rec.SigErr = i.check(r, body)
	}
	f := i.failure
	failing := false
	if rec.SigErr != nil {
		i.refused = append(i.refused, rec.Path+": "+rec.SigErr.Error())
	} else {
		i.tally.arrive(rec.Path, body)
		failing = (f.Status != 0 || f.Hang || f.Delay > 0 || f.Hold != nil) && (f.Path == "" || f.Path == rec.Path) &&
			(f.Times == 0 || i.failed < f.Times)
		if failing {
			i.failed++
		}
	}
	i.mu.Unlock()
	status := http.StatusAccepted
	if rec.SigErr != nil {
		status = http.StatusUnauthorized
	}
	if failing {
		if f.Hang {
			<-r.Context().Done()
			return
		}
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if f.Hold != nil {
			f.Hold(r.Context())
			if r.Context().Err() != nil {
				return
			}
		}
		if f.Status != 0 {
			status = f.Status
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		for k, v := range f.Header {
			w.Header()[k] = v
		}
	}
	rec.Status = status
	w.WriteHeader(status)
	if rec.SigErr != nil {
		io.WriteString(w, rec.SigErr.Error())
	}
	i.mu.Lock()
	i.received = append(i.received, rec)
	if rec.SigErr == nil {
		i.tally.Answered[rec.Path]++
	}
	i.mu.Unlock()
	select {
	case i.notify <- struct{}{}:
	default:
	}
}

// Tally counts the inbox requests an instance accepted (signature and check held), on arrival, before any
// Failure delays or holds them, and once answered.
type Tally struct {
	Arrived  map[string]int // per inbox path
	Answered map[string]int // per inbox path, once the answer is written
	// Activities is per activity id and inbox path, "ID PATH"; Kinds per activity type and object type, "Delete
	// Tombstone" (the object type is empty when the object is an IRI).
	Activities map[string]int
	Kinds      map[string]int
}

func newTally() Tally {
	return Tally{Arrived: map[string]int{}, Answered: map[string]int{}, Activities: map[string]int{}, Kinds: map[string]int{}}
}

func (t Tally) arrive(path string, body []byte) {
	var a struct {
		ID     string          `json:"id"`
		Type   string          `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	json.Unmarshal(body, &a)
	var obj struct {
		Type string `json:"type"`
	}
	json.Unmarshal(a.Object, &obj)
	t.Arrived[path]++
	t.Activities[a.ID+" "+path]++
	t.Kinds[a.Type+" "+obj.Type]++
}

// Total is the number of accepted requests that arrived, on every path.
func (t Tally) Total() int {
	n := 0
	for _, v := range t.Arrived {
		n += v
	}
	return n
}

// IDs counts the accepted requests per activity id, whatever the path.
func (t Tally) IDs() map[string]int {
	out := map[string]int{}
	for k, v := range t.Activities {
		id, _, _ := strings.Cut(k, " ")
		out[id] += v
	}
	return out
}

// Tally returns a copy of the instance's counts.
func (i *Instance) Tally() Tally {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := newTally()
	for _, p := range []struct{ from, to map[string]int }{{i.tally.Arrived, out.Arrived}, {i.tally.Answered, out.Answered},
		{i.tally.Activities, out.Activities}, {i.tally.Kinds, out.Kinds}} {
		for k, v := range p.from {
			p.to[k] = v
		}
	}
	return out
}

// MemoDelivery is the check (SetCheck) of what our delivery worker promises beyond a valid signature: a POST of
// application/activity+json with our User-Agent, signed by keyID over exactly (request-target) host date digest,
// with a Date within a minute of now and a body that is an activity with an id.
func MemoDelivery(keyID string) func(r *http.Request, body []byte) error {
	return func(r *http.Request, body []byte) error {
		if r.Method != http.MethodPost {
			return fmt.Errorf("method %s", r.Method)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/activity+json" {
			return fmt.Errorf("content type %q", ct)
		}
		if !strings.HasPrefix(r.UserAgent(), "memo/") {
			return fmt.Errorf("user agent %q", r.UserAgent())
		}
		p, err := httpsign.ReadRequest(r.Header)
		if err != nil {
			return err
		}
		if signed := strings.Join(p.Headers, " "); p.Scheme != httpsign.SchemeCavage || signed != "(request-target) host date digest" {
			return fmt.Errorf("signed headers %q (%s)", signed, p.Scheme)
		}
		sum := sha256.Sum256(body)
		if want := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:]); r.Header.Get("Digest") != want {
			return fmt.Errorf("digest %q, body says %q", r.Header.Get("Digest"), want)
		}
		if p.KeyID != keyID {
			return fmt.Errorf("key id %q, want %q", p.KeyID, keyID)
		}
		date, err := http.ParseTime(r.Header.Get("Date"))
		if err != nil || time.Since(date) > time.Minute || time.Until(date) > time.Minute {
			return fmt.Errorf("date %q", r.Header.Get("Date"))
		}
		var a map[string]any
		if err := json.Unmarshal(body, &a); err != nil || a["id"] == nil {
			return fmt.Errorf("body is not an activity: %.200s", body)
		}
		return nil
	}
}
