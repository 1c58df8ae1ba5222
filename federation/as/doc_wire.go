package as

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/memo-fediverse/memo/content"
)

// wire is a cached document's fixed members, encoded and compressed once. A request's document is a shallow copy
// of the fixed members plus a few live ones (counts): only those are encoded per request, and appended to the
// compressed fixed part as an uncompressed final deflate block, so a gzip answer costs no compression at all.
// Encoding the 70 KB memo and compressing it was nearly all the cost of serving it.
type wire struct {
	fixed map[string]any
	once  sync.Once
	open  []byte // `{"a":…,"z":…`: the fixed members, sorted as encoding/json sorts them, without the closing brace
	gz    []byte // a gzip header and open's deflate blocks, flushed to a byte boundary and not final
	crc   uint32 // CRC-32 of open
	err   error
	last  atomic.Pointer[wireTail]
}

// wireTail is the encoding of one set of live members, kept while requests bring the very same values (the
// living memo's members are shared until its state changes: liveMembers).
type wireTail struct {
	live     map[string]any
	plain    []byte // the members, the closing brace and a newline
	gzipTail []byte // the same as the end of a gzip member after gz
}

func (t *wireTail) matches(live map[string]any) bool {
	if len(t.live) != len(live) {
		return false
	}
	for k, v := range live {
		if lv, ok := t.live[k]; !ok || !sameValue(lv, v) {
			return false
		}
	}
	return true
}

func (w *wire) build() {
	body, err := EncodeJSON(w.fixed)
	if err != nil {
		w.err = err
		return
	}
	w.open = bytes.TrimSuffix(bytes.TrimRight(body, "\n"), []byte("}"))
	var gz bytes.Buffer
	// Header: magic, deflate, no flags, no time, best compression, unknown OS.
	gz.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255})
	fw, _ := flate.NewWriter(&gz, flate.BestCompression)
	fw.Write(w.open)
	fw.Flush()
	w.gz, w.crc = gz.Bytes(), crc32.ChecksumIEEE(w.open)
}

// live returns the members of doc that are not w's fixed ones; ok is false when doc is not a copy of w.fixed with
// members added (a fixed member changed or removed).
func (w *wire) live(doc map[string]any) (map[string]any, bool) {
	var extra map[string]any
	fixed := 0
	for k, v := range doc {
		f, ok := w.fixed[k]
		if !ok {
			if extra == nil {
				extra = make(map[string]any, 4)
			}
			extra[k] = v
			continue
		}
		if !sameValue(f, v) {
			return nil, false
		}
		fixed++
	}
	return extra, fixed == len(w.fixed)
}

// sameValue tells whether a and b are the same value without comparing contents: equal scalars, or the same map
// or slice (the shallow copies share them).
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool, int, int64, float64, nil:
		return a == b
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Type() != vb.Type() {
		return false
	}
	switch va.Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer:
		return va.UnsafePointer() == vb.UnsafePointer() && (va.Kind() != reflect.Slice || va.Len() == vb.Len())
	}
	return false
}

// wireFor finds the cached entry doc was copied from, by its id. Nil when there is none (a document not cached).
func (c *docCache) wireFor(doc map[string]any) (*wire, map[string]any) {
	if c == nil {
		return nil, nil
	}
	id, _ := doc["id"].(string)
	if id == "" {
		return nil, nil
	}
	c.mu.Lock()
	candidates := c.byID[id]
	c.mu.Unlock()
	for _, w := range slices.Backward(candidates) {
		if live, ok := w.live(doc); ok {
			w.once.Do(w.build)
			if w.err != nil {
				return nil, nil
			}
			return w, live
		}
	}
	return nil, nil
}

// writeWire answers doc from its cached encoding when it has one; false when the caller must encode it.
func (c *docCache) writeWire(rw http.ResponseWriter, r *http.Request, status int, contentType string, doc map[string]any) bool {
	w, live := c.wireFor(doc)
	if w == nil {
		return false
	}
	t := w.last.Load()
	if t == nil || !t.matches(live) {
		var err error
		if t, err = w.tail(live); err != nil {
			return false
		}
		w.last.Store(t)
	}
	writeWireTail(rw, r, status, contentType, w, t)
	return true
}

// writeWireTail writes w's fixed members followed by t, plain or gzipped as the request takes it.
func writeWireTail(rw http.ResponseWriter, r *http.Request, status int, contentType string, w *wire, t *wireTail) {
	h := rw.Header()
	h.Set("Content-Type", contentType)
	h.Add("Vary", "Accept-Encoding")
	if !content.AcceptsGzip(r) {
		h.Set("Content-Length", strconv.Itoa(len(w.open)+len(t.plain)))
		rw.WriteHeader(status)
		rw.Write(w.open)
		rw.Write(t.plain)
		return
	}
	h.Set("Content-Encoding", "gzip")
	h.Set("Content-Length", strconv.Itoa(len(w.gz)+len(t.gzipTail)))
	rw.WriteHeader(status)
	rw.Write(w.gz)
	rw.Write(t.gzipTail)
}

// tail encodes live members after w's fixed ones.
func (w *wire) tail(live map[string]any) (*wireTail, error) {
	var plain []byte
	if len(live) > 0 {
		enc, err := EncodeJSON(live)
		if err != nil {
			return nil, err
		}
		enc = bytes.TrimRight(enc, "\n")
		plain = enc[1 : len(enc)-1] // the members, without their braces
		if len(w.fixed) > 0 {
			plain = append([]byte{','}, plain...)
		}
	}
	plain = append(plain, "}\n"...)
	return &wireTail{live: live, plain: plain,
		gzipTail: gzipTail(plain, crc32.Update(w.crc, crc32.IEEETable, plain), uint32(len(w.open)+len(plain)))}, nil
}

// gzipTail ends a gzip member: data as stored deflate blocks (the last one final), then the CRC and the size.
func gzipTail(data []byte, crc, size uint32) []byte {
	out := make([]byte, 0, len(data)+16)
	for {
		n := min(len(data), 0xffff)
		final := byte(0)
		if n == len(data) {
			final = 1
		}
		out = append(out, final)
		out = binary.LittleEndian.AppendUint16(out, uint16(n))
		out = binary.LittleEndian.AppendUint16(out, ^uint16(n))
		out = append(out, data[:n]...)
		data = data[n:]
		if final == 1 {
			break
		}
	}
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, size)
}

// keepWire indexes m, just cached under key, by its id for writeWire.
func (c *docCache) keepWire(m map[string]any) *wire {
	id, _ := m["id"].(string)
	if id == "" {
		return nil
	}
	// A few per id: the revisions of the memo share its id; the newest is looked at first.
	w := &wire{fixed: m}
	list := append(c.byID[id], w)
	c.byID[id] = list[max(0, len(list)-4):]
	return w
}

// KeptActor returns what answers the actor from its kept encoding, or nil while there is none (before the first
// revision, or before the actor was first built). Asking for it costs a lock and a pointer: no copy of the document
// and no comparison of its members, which were most of what serving the actor cost beyond net/http.
func (o Builder) KeptActor() func(rw http.ResponseWriter, r *http.Request, status int, contentType string) {
	if o.cache == nil {
		return nil
	}
	o.cache.mu.Lock()
	w := o.cache.actor
	o.cache.mu.Unlock()
	if w == nil {
		return nil
	}
	w.once.Do(w.build)
	t := w.last.Load()
	if t == nil {
		var err error
		if t, err = w.tail(nil); err != nil {
			return nil
		}
		w.last.Store(t)
	}
	if w.err != nil {
		return nil
	}
	return func(rw http.ResponseWriter, r *http.Request, status int, contentType string) {
		writeWireTail(rw, r, status, contentType, w, t)
	}
}

// WriteCached writes doc from its kept encoding when the builder keeps one for it (a document of the cache, with
// only its counts changed since), and tells whether it did; otherwise the caller encodes doc itself.
func (o Builder) WriteCached(rw http.ResponseWriter, r *http.Request, status int, contentType string, doc map[string]any) bool {
	if o.cache == nil {
		return false
	}
	return o.cache.writeWire(rw, r, status, contentType, doc)
}
