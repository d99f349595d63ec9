package ledger

import (
	"context"
	"errors"
)

// MetaStore adapts a Ledger's meta keys to the store the chain watcher
// keeps its cursor and channels in, so both live in one crash-safe file.
type MetaStore struct{ L Ledger }

// LoadMeta returns the value under key, or nil and no error when absent.
func (m MetaStore) LoadMeta(ctx context.Context, key string) ([]byte, error) {
	v, err := m.L.GetMeta(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// PutMetas stores every key atomically.
func (m MetaStore) PutMetas(ctx context.Context, kv map[string][]byte) error {
	return m.L.PutMetas(ctx, kv)
}
