package node

import (
	"context"
	"sync"
	"time"
)

// recent is a value read at most once per ttl: the metrics sources of
// one scrape that need the same read (every channel's money, for the
// money and the channels-at-risk families) share it instead of reading
// every channel twice.
type recent[T any] struct {
	ttl  time.Duration
	now  func() time.Time
	load func(context.Context) (T, error)

	mu sync.Mutex
	// guarded by mu:
	at time.Time
	v  T
	ok bool // v was loaded at at
}

// get returns the value loaded less than ttl ago, or loads it. A failed
// load is not remembered.
func (r *recent[T]) get(ctx context.Context) (T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.ok && now.Sub(r.at) < r.ttl {
		return r.v, nil
	}
	v, err := r.load(ctx)
	if err != nil {
		var zero T
		r.ok = false
		return zero, err
	}
	r.v, r.at, r.ok = v, now, true
	return v, nil
}
