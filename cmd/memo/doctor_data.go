package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
)

// The doctor's checks of what this machine holds: the key file, the database and its delivery queue.

// checkKeyFile looks at DATA/actor-key.pem without creating it: on SQLite it is the identity; on PostgreSQL the
// database holds the key, and a file left beside it must still be private.
func (d *doctor) checkKeyFile() checkResult {
	const name = "key file"
	path := d.cfg.keyPath()
	pg := storage.IsPostgresURL(d.cfg.Database)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		if pg {
			return passed(name, "none in "+d.cfg.Data+" (PostgreSQL holds the key)")
		}
		return failed(name, path+" does not exist", "start `memo serve` once with this MEMO_DATA to create it, or restore it from a backup (`memo restore`)")
	}
	if err != nil {
		return failed(name, err.Error(), "run memo doctor as the user the service runs as")
	}
	// The key is read even when its mode is wrong, so that the checks that sign with it still run.
	key, err := os.ReadFile(path)
	if err == nil {
		d.key, err = httpsign.ParsePrivateKey(key)
	}
	if err != nil {
		return failed(name, fmt.Sprintf("%s: %v", path, err), "restore the key from a backup (`memo restore`)")
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return failed(name, fmt.Sprintf("%s has mode %04o: other users can read the actor's private key", path, perm), fmt.Sprintf("chmod 600 %s", path))
	}
	if st, isUnix := fi.Sys().(*syscall.Stat_t); isUnix && int(st.Uid) != os.Getuid() {
		return failed(name, fmt.Sprintf("%s belongs to uid %d, not to this user (uid %d)", path, st.Uid, os.Getuid()), "chown it to the service's user and run memo doctor as that user")
	}
	if pg {
		return passed(name, fmt.Sprintf("%s mode %04o, owned by this user (unused: PostgreSQL holds the key)", path, fi.Mode().Perm()))
	}
	return passed(name, fmt.Sprintf("%s mode %04o, owned by this user", path, fi.Mode().Perm()))
}

func (d *doctor) openDatabase(ctx context.Context) checkResult {
	const name = "database"
	dsn := storage.RedactDSN(d.cfg.Database)
	if !storage.IsPostgresURL(d.cfg.Database) {
		if _, err := os.Stat(d.cfg.Database); err != nil {
			return failed(name, fmt.Sprintf("%s: %v", d.cfg.Database, errors.Unwrap(err)), "check MEMO_DATA and MEMO_DATABASE: they must name the folder the server uses")
		}
	}
	store, err := storage.OpenUnmigrated(ctx, d.cfg.Database)
	if err != nil {
		return failed(name, fmt.Sprintf("%s: %v", dsn, err), "check MEMO_DATABASE and that the database server answers")
	}
	d.store = store
	return passed(name, fmt.Sprintf("%s (%s) answers", dsn, store.Dialect()))
}

func (d *doctor) checkWritable(ctx context.Context) checkResult {
	const name = "database writable"
	if err := d.store.CheckWritable(ctx); err != nil {
		return failed(name, err.Error(), "give the service's user write access to the database (and on SQLite to its folder), and check free disk space")
	}
	return passed(name, "a write was accepted (and rolled back)")
}

func (d *doctor) checkMigrated(ctx context.Context) checkResult {
	const name = "database migrated"
	pending, err := d.store.PendingMigrations(ctx)
	if err != nil {
		return failed(name, err.Error(), "start `memo serve` once: it creates and migrates the schema")
	}
	if len(pending) > 0 {
		return failed(name, fmt.Sprintf("%d migration(s) not applied: %s", len(pending), strings.Join(pending, ", ")), "restart `memo serve` with this version: it applies them at start")
	}
	return passed(name, "every migration of this version is applied")
}

func (d *doctor) checkKeyInDatabase(ctx context.Context) checkResult {
	const name = "key in database"
	pemText, err := d.store.Meta(ctx, "actor_key")
	if errors.Is(err, storage.ErrNotFound) {
		return failed(name, "PostgreSQL holds no actor key yet", "start `memo serve` once: the first replica stores it")
	}
	if err == nil {
		d.key, err = httpsign.ParsePrivateKey([]byte(pemText))
	}
	if err != nil {
		return failed(name, err.Error(), "restore the key from a backup (`memo restore`)")
	}
	return passed(name, "the actor key is in the database, shared by every replica")
}

func (d *doctor) checkBacklog(ctx context.Context) checkResult {
	const name = "deliveries"
	now := time.Now()
	b, err := d.store.DeliveryBacklog(ctx, now.Add(-overdueAfter))
	if err != nil {
		return failed(name, err.Error(), "")
	}
	detail := fmt.Sprintf("%d pending, %d failed for good", b.Pending, b.Failed)
	if !b.OldestPending.IsZero() {
		detail += fmt.Sprintf(", oldest pending %s old", now.Sub(b.OldestPending).Round(time.Second))
	}
	if b.DueBefore > 0 {
		return failed(name, fmt.Sprintf("%s; %d due for more than %s and not sent", detail, b.DueBefore, overdueAfter),
			"check that `memo serve` runs on this database and its log for delivery errors (`memo deliveries`)")
	}
	if !b.OldestPending.IsZero() && now.Sub(b.OldestPending) > backlogWarn {
		return warned(name, detail, "see `memo deliveries` for the failing inboxes")
	}
	return passed(name, detail)
}

func (d *doctor) checkDomains(ctx context.Context) checkResult {
	const name = "unavailable domains"
	domains, err := d.store.FailingDomains(ctx)
	if err != nil {
		return failed(name, err.Error(), "")
	}
	var down []string
	for _, dm := range domains {
		if dm.Unavailable() {
			down = append(down, dm.Domain)
		}
	}
	if len(down) == 0 {
		return passed(name, fmt.Sprintf("none (%d failing since their last success)", len(domains)))
	}
	shown := down
	if len(shown) > 5 {
		shown = append(shown[:5:5], "…")
	}
	return warned(name, fmt.Sprintf("%d, deliveries parked: %s", len(down), strings.Join(shown, ", ")), "usually servers that closed; `memo deliveries` shows their last errors")
}
