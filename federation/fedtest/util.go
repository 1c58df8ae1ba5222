package fedtest

import (
	"bytes"
	"io"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func readCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
