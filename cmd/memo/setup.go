package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"

	"github.com/memo-fediverse/memo/federation/httpsign"
	"github.com/memo-fediverse/memo/storage"
)

// loadKey returns the actor's private key. With SQLite it lives in DATA/actor-key.pem (0600). With PostgreSQL the
// replicas must share one key, so the database holds it: the first process to start stores its key (from the file
// if there is one) and every other process uses that one.
func loadKey(ctx context.Context, cfg *config, store *storage.Store) (*rsa.PrivateKey, error) {
	if store.Dialect() == storage.SQLite {
		key, err := httpsign.LoadOrCreateKey(cfg.keyPath())
		if err != nil {
			return nil, fmt.Errorf("MEMO_DATA=%q: %v", cfg.Data, err)
		}
		return key, nil
	}
	if pemText, err := store.Meta(ctx, "actor_key"); err == nil {
		return httpsign.ParsePrivateKey([]byte(pemText))
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if _, err := httpsign.LoadOrCreateKey(cfg.keyPath()); err != nil {
		return nil, fmt.Errorf("MEMO_DATA=%q: %v", cfg.Data, err)
	}
	pemBytes, err := os.ReadFile(cfg.keyPath())
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if err := store.SetMetaIfAbsent(ctx, "actor_key", string(pemBytes)); err != nil {
		return nil, err
	}
	pemText, err := store.Meta(ctx, "actor_key")
	if err != nil {
		return nil, err
	}
	return httpsign.ParsePrivateKey([]byte(pemText))
}
