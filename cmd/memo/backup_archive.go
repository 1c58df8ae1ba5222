package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// The backup archive: a gzipped tar, written whole under a temporary name and read one entry at a time.

type tarEntry struct {
	name string
	mode int64
	body []byte
	path string // read from this file when body is nil
}

// writeTarGz writes the archive next to its final name and renames it, so a crash never leaves a truncated backup
// under the name asked for.
func writeTarGz(file string, entries []tarEntry) (err error) {
	tmp := file + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		var r io.Reader = bytes.NewReader(e.body)
		size := int64(len(e.body))
		if e.body == nil {
			src, err := os.Open(e.path)
			if err != nil {
				return fmt.Errorf("backup %s: %w", e.name, err)
			}
			defer src.Close()
			st, err := src.Stat()
			if err != nil {
				return fmt.Errorf("backup %s: %w", e.name, err)
			}
			r, size = src, st.Size()
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: e.mode, Size: size, ModTime: time.Now()}); err != nil {
			return fmt.Errorf("backup %s: %w", e.name, err)
		}
		if _, err := io.Copy(tw, r); err != nil {
			return fmt.Errorf("backup %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return os.Rename(tmp, file)
}

// readSmall reads the archive's manifest and key, the small entries that decide whether to restore at all.
func readSmall(file string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := eachEntry(file, func(name string, r io.Reader) error {
		if name == backupManifest || name == backupKey {
			b, err := io.ReadAll(io.LimitReader(r, 1<<20))
			if err != nil {
				return err
			}
			out[name] = b
		}
		return nil
	})
	return out, err
}

// streamEntry hands one entry of the archive to fn without holding it in memory: a database can be large.
func streamEntry(file, want string, fn func(io.Reader) error) error {
	found := false
	err := eachEntry(file, func(name string, r io.Reader) error {
		if name != want {
			return nil
		}
		found = true
		return fn(r)
	})
	if err == nil && !found {
		err = fmt.Errorf("%s holds no %s", file, want)
	}
	return err
}

func eachEntry(file string, fn func(name string, r io.Reader) error) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open backup: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s is not a memo backup (not gzip): %v", file, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read backup %s: %w", file, err)
		}
		if err := fn(h.Name, tr); err != nil {
			return fmt.Errorf("read backup %s: %s: %w", file, h.Name, err)
		}
	}
}
