package chainwatch

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// MemStore is a [Store] in memory, for tests and for a node that may
// forget: a restarted process reads the chain from the start again.
type MemStore struct {
	mu   sync.Mutex
	m    map[string][]byte // guarded by mu
	puts int               // guarded by mu
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[string][]byte{}} }

// LoadMeta returns a copy of the value under key, or nil.
func (s *MemStore) LoadMeta(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.m[key]), nil
}

// PutMetas stores copies of metas, all at once.
func (s *MemStore) PutMetas(ctx context.Context, metas map[string][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range metas {
		s.m[k] = slices.Clone(v)
	}
	s.puts++
	return nil
}

// Keys returns the stored keys, sorted.
func (s *MemStore) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.m))
}

// Puts returns how many PutMetas calls succeeded.
func (s *MemStore) Puts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}
