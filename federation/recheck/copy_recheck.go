package recheck

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage"
)

// Relays is the origin's second look at signatures copies brought: a copy may be gone, or may never relay a
// withdrawal, so the origin asks the signers' servers again itself. A reply that now answers 404 or 410, or a
// Tombstone, is withdrawn; one that cannot be fetched now (server down) is left as it is until the next pass.
type Relays struct {
	Store  *storage.Store
	Client *fetch.Client
	Logger *slog.Logger
}

// NewRelays builds the re-check; client signs its GETs as the instance's actor.
func NewRelays(store *storage.Store, client *fetch.Client, log *slog.Logger) *Relays {
	if log == nil {
		log = slog.Default()
	}
	return &Relays{Store: store, Client: client, Logger: log}
}

// Pass re-checks every relayed signature once and returns how many it withdrew.
func (rc *Relays) Pass(ctx context.Context) (int, error) {
	withdrawn := 0
	var after int64
	for {
		rows, err := rc.Store.RelayedSignatures(ctx, after, 100)
		if err != nil {
			return withdrawn, err
		}
		for _, row := range rows {
			after = row.ID
			gone, err := rc.replyGone(ctx, row.NoteIRI)
			if err != nil {
				rc.Logger.Debug("relay recheck: cannot confirm now", "note", row.NoteIRI, "err", err)
				continue
			}
			if !gone {
				continue
			}
			if _, err := rc.Store.WithdrawSignature(ctx, row.ActorIRI, row.NoteIRI); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return withdrawn, err
			}
			withdrawn++
			rc.Logger.Info("relayed signature withdrawn: its reply is gone", "signer", row.ActorIRI, "note", row.NoteIRI)
		}
		if len(rows) < 100 {
			return withdrawn, nil
		}
	}
}

func (rc *Relays) replyGone(ctx context.Context, noteIRI string) (bool, error) {
	body, err := rc.Client.GetObject(ctx, noteIRI)
	if fetch.Gone(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	n, err := signing.ParseNote(body)
	if err != nil {
		return false, err
	}
	return n.Type == "Tombstone", nil
}

// Run makes a pass every interval until ctx ends.
func (rc *Relays) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := rc.Pass(ctx); err != nil && ctx.Err() == nil {
			rc.Logger.Warn("relay recheck", "err", err)
		} else if n > 0 {
			rc.Logger.Info("relay recheck", "withdrawn", n)
		}
	}
}
