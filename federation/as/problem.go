package as

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/memo-fediverse/memo/storage"
)

// Problem is an answer other than 200 that an object builder chooses: a 4xx with its reason, or 410 with a
// Tombstone body.
type Problem struct {
	Status int
	Reason string
	Body   map[string]any
}

func (p *Problem) Error() string { return fmt.Sprintf("%d: %s", p.Status, p.Reason) }

func NotFound(format string, args ...any) error {
	return &Problem{Status: http.StatusNotFound, Reason: fmt.Sprintf(format, args...)}
}

func BadRequest(format string, args ...any) error {
	return &Problem{Status: http.StatusBadRequest, Reason: fmt.Sprintf(format, args...)}
}

func Gone(tombstone map[string]any) error {
	return &Problem{Status: http.StatusGone, Reason: "deleted", Body: tombstone}
}

// IsProblem tells whether err is an answer chosen for the client (404, 410…) rather than a failure.
func IsProblem(err error) bool {
	var p *Problem
	return errors.As(err, &p)
}

// StoreErr turns a storage lookup failure into a 404 when the row is missing.
func StoreErr(err error, format string, args ...any) error {
	if errors.Is(err, storage.ErrNotFound) {
		return NotFound(format, args...)
	}
	return err
}

// EncodeJSON encodes v without escaping HTML, so content fields stay readable; JSON is still valid either way.
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return buf.Bytes(), nil
}
