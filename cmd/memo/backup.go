package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
)

// A backup is a gzipped tar holding a manifest, the actor's key and the database: SQLite's file as VACUUM INTO
// wrote it, or pg_dump's plain SQL. The key is the actor's identity: without it, followers could no longer verify
// the restored server, so it travels with the data.
const (
	backupManifest = "memo-backup.json"
	backupKey      = "actor-key.pem"
	backupSQLite   = "memo.db"
	backupPostgres = "postgres.sql"
	backupFormat   = 1
)

// manifest describes a backup; restore checks the database it unpacks against it.
type manifest struct {
	Format    int             `json:"format"`
	Version   string          `json:"memo_version"`
	Created   time.Time       `json:"created"`
	Engine    storage.Dialect `json:"engine"`
	PublicURL string          `json:"public_url"`
	KeySHA256 string          `json:"public_key_sha256"`
	storage.Snapshot
	// Dump is false for a PostgreSQL backup made where pg_dump is not installed: the key is there, the data not.
	Dump bool `json:"database_included"`
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("backup", "FILE", "Write a consistent backup of the database and the actor's key to FILE (a .tar.gz), while the server runs.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: give the backup FILE to write", errUsage)
	}
	file := fs.Arg(0)
	if _, err := os.Stat(file); err == nil {
		return fmt.Errorf("%s exists: give a new file name", file)
	}
	a, err := openChecked(ctx, cfg, finish, stderr)
	if err != nil {
		return err
	}
	defer a.close()

	keyPEM, err := a.keyPEM(ctx)
	if err != nil {
		return err
	}
	m := manifest{Format: backupFormat, Version: version, Created: time.Now().UTC(), Engine: a.store.Dialect(),
		PublicURL: cfg.PublicURL, KeySHA256: fingerprint(a), Dump: true}

	tmpDir, err := os.MkdirTemp(filepath.Dir(file), ".memo-backup-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	entries := []tarEntry{{name: backupKey, mode: 0o600, body: keyPEM}}
	if a.store.Dialect() == storage.SQLite {
		snap := filepath.Join(tmpDir, backupSQLite)
		if err := a.store.SnapshotTo(ctx, snap); err != nil {
			return err
		}
		// The counts are read from the snapshot itself, so that a restore can prove it got what was taken.
		if m.Snapshot, err = snapshotIn(ctx, snap); err != nil {
			return err
		}
		entries = append(entries, tarEntry{name: backupSQLite, mode: 0o600, path: snap})
	} else {
		dump := filepath.Join(tmpDir, backupPostgres)
		if _, lookErr := exec.LookPath("pg_dump"); lookErr != nil {
			m.Dump = false
			fmt.Fprintln(stderr, "pg_dump is not installed: the backup holds the key only; dump the database with pg_dump --no-owner --no-privileges")
			if m.Snapshot, err = a.store.ReadSnapshot(ctx); err != nil {
				return err
			}
		} else {
			// pg_dump reads the very snapshot the counts were read in.
			m.Snapshot, err = a.store.ExportSnapshot(ctx, func(name string) error { return pgDump(ctx, cfg.Database, name, dump) })
			if err != nil {
				return err
			}
			entries = append(entries, tarEntry{name: backupPostgres, mode: 0o600, path: dump})
		}
	}
	mj, _ := json.MarshalIndent(m, "", "  ")
	entries = append([]tarEntry{{name: backupManifest, mode: 0o600, body: append(mj, '\n')}}, entries...)
	if err := writeTarGz(file, entries); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s: %s database, %d signatures (%d public, %d private), %d received activities still to apply\n",
		file, m.Engine, m.Signatures.Total(), m.Signatures.Public, m.Signatures.Private, m.InboxPending)
	return nil
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, finish := newFlagSet("restore", "FILE", "Restore a backup written by `memo backup` into an empty data folder (and, with PostgreSQL, an empty database).", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: give the backup FILE to restore", errUsage)
	}
	if err := finish(); err != nil {
		return err
	}
	if err := mustBeEmptyDir(cfg.Data); err != nil {
		return err
	}
	files, err := readSmall(fs.Arg(0))
	if err != nil {
		return err
	}
	var m manifest
	if err := json.Unmarshal(files[backupManifest], &m); err != nil || m.Format != backupFormat {
		return fmt.Errorf("%s is not a memo backup (no readable %s)", fs.Arg(0), backupManifest)
	}
	key, ok := files[backupKey]
	if !ok {
		return fmt.Errorf("%s holds no actor key", fs.Arg(0))
	}
	if _, err := httpsign.ParsePrivateKey(key); err != nil {
		return fmt.Errorf("%s: the actor key does not parse: %v", fs.Arg(0), err)
	}
	toPostgres := storage.IsPostgresURL(cfg.Database)
	switch {
	case m.Engine == storage.SQLite && toPostgres:
		return errors.New("this backup holds a SQLite database but MEMO_DATABASE names PostgreSQL: restore to a SQLite file, then move the data")
	case m.Engine == storage.Postgres && !toPostgres:
		return errors.New("this backup holds a PostgreSQL dump: set MEMO_DATABASE to an empty PostgreSQL database")
	case m.Engine == storage.Postgres && !m.Dump:
		return errors.New("this backup holds the key only (pg_dump was missing when it was made): restore the database with your own dump")
	}
	if toPostgres {
		empty, err := storage.PostgresIsEmpty(ctx, cfg.Database)
		if err != nil {
			return fmt.Errorf("MEMO_DATABASE=%q: %v", storage.RedactDSN(cfg.Database), err)
		}
		if !empty {
			return fmt.Errorf("MEMO_DATABASE=%q already holds a memo database: restore into an empty one", storage.RedactDSN(cfg.Database))
		}
	} else if _, err := os.Stat(cfg.Database); err == nil {
		return fmt.Errorf("MEMO_DATABASE=%q exists: restore into a new file", cfg.Database)
	}

	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("MEMO_DATA=%q: %v", cfg.Data, err)
	}
	if err := os.WriteFile(cfg.keyPath(), key, 0o600); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if toPostgres {
		err = streamEntry(fs.Arg(0), backupPostgres, func(r io.Reader) error { return psqlRestore(ctx, cfg.Database, r) })
	} else {
		err = streamEntry(fs.Arg(0), backupSQLite, func(r io.Reader) error { return writeNew(cfg.Database, r) })
	}
	if err != nil {
		return err
	}

	a, err := openApp(ctx, cfg, stderr)
	if err != nil {
		return fmt.Errorf("the restored database does not open: %w", err)
	}
	defer a.close()
	got, err := a.store.CountSignatures(ctx)
	if err != nil {
		return err
	}
	if fp := fingerprint(a); fp != m.KeySHA256 {
		return fmt.Errorf("restored, but the key in use (%s) is not the backup's (%s)", fp[:16], m.KeySHA256[:16])
	}
	if got != m.Signatures {
		return fmt.Errorf("restored, but the signature counts %+v differ from the backup's %+v", got, m.Signatures)
	}
	fmt.Fprintf(stdout, "restored %s (taken %s): %d signatures (%d public, %d private), %d received activities still to apply; run `memo signatures verify` to re-check them\n",
		fs.Arg(0), m.Created.Format(time.RFC3339), got.Total(), got.Public, got.Private, m.InboxPending)
	return nil
}

// keyPEM is the actor's private key as it is kept: the file with SQLite, the database's copy with PostgreSQL.
func (a *app) keyPEM(ctx context.Context) ([]byte, error) {
	if a.store.Dialect() == storage.Postgres {
		pemText, err := a.store.Meta(ctx, "actor_key")
		return []byte(pemText), err
	}
	b, err := os.ReadFile(a.cfg.keyPath())
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	return b, nil
}

// fingerprint names the actor's public key: what remote servers know us by.
func fingerprint(a *app) string {
	der, _ := x509.MarshalPKIXPublicKey(&a.key.PublicKey)
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func snapshotIn(ctx context.Context, path string) (storage.Snapshot, error) {
	s, err := storage.Open(ctx, path)
	if err != nil {
		return storage.Snapshot{}, fmt.Errorf("open snapshot: %w", err)
	}
	defer s.Close()
	return s.ReadSnapshot(ctx)
}

// writeNew writes a file that must not exist yet, with the database's mode.
func writeNew(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write database: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write database: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write database: %w", err)
	}
	return f.Close()
}

func mustBeEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("MEMO_DATA=%q: %v", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("MEMO_DATA=%q is not empty: restore into an empty or new folder, nothing was changed", dir)
	}
	return nil
}
