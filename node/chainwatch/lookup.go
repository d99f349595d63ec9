package chainwatch

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// maxMisses bounds the remembered negative answers of Lookup.
const maxMisses = 16384

type miss struct {
	err   error
	until int64 // unix nanoseconds
}

// lookupCall is one Lookup asking the chain; concurrent Lookups of the same
// id wait for it instead of asking again.
type lookupCall struct {
	done chan struct{}
	ch   Channel
	err  error
}

// Lookup returns channel id's state like [Watcher.Channel] — without a lock
// or a copy when the watcher knows the id, and with amounts shared with the
// watcher that must not be modified — and when the watcher does not know
// the id it asks the chain:
//
//   - the channel is ours at the confirmed head: the watcher adopts it (the
//     payment check goes on, before Run has reached its block) and returns it;
//   - it is ours only at the latest block: [ErrNotConfirmed], retryable;
//   - otherwise: [ErrUnknownChannel].
//
// Both errors are remembered for LookupInterval per id, and concurrent
// Lookups of one id share one question, so a made-up or repeated id costs at
// most two eth_calls per interval. Other errors (the RPC failed) are not
// remembered.
func (w *Watcher) Lookup(ctx context.Context, id common.Hash) (Channel, error) {
	if ch, ok := w.Channel(id); ok {
		return ch, nil
	}
	if err := w.Open(ctx); err != nil {
		return Channel{}, err
	}
	now := w.now().UnixNano()
	w.lookMu.Lock()
	if m, ok := w.misses[id]; ok && now < m.until {
		w.lookMu.Unlock()
		return Channel{}, m.err
	}
	if c, ok := w.inflight[id]; ok {
		w.lookMu.Unlock()
		select {
		case <-c.done:
			return c.ch, c.err
		case <-ctx.Done():
			return Channel{}, ctx.Err()
		}
	}
	c := &lookupCall{done: make(chan struct{})}
	w.inflight[id] = c
	w.lookMu.Unlock()

	c.ch, c.err = w.lookup(ctx, id)

	w.lookMu.Lock()
	delete(w.inflight, id)
	if errors.Is(c.err, ErrUnknownChannel) || errors.Is(c.err, ErrNotConfirmed) {
		if len(w.misses) >= maxMisses {
			for k, m := range w.misses {
				if now >= m.until {
					delete(w.misses, k)
				}
			}
			if len(w.misses) >= maxMisses {
				clear(w.misses)
			}
		}
		w.misses[id] = miss{err: c.err, until: now + int64(w.cfg.lookupInterval)}
	}
	w.lookMu.Unlock()
	close(c.done)
	return c.ch, c.err
}

func (w *Watcher) lookup(ctx context.Context, id common.Hash) (Channel, error) {
	select {
	case w.lookupSem <- struct{}{}:
		defer func() { <-w.lookupSem }()
	case <-ctx.Done():
		return Channel{}, ctx.Err()
	}
	w.lookups.Add(1)
	for range 3 {
		block, err := w.confirmedBlock(ctx)
		if err != nil {
			return Channel{}, err
		}
		v, err := w.getChannel(ctx, id, new(big.Int).SetUint64(block))
		if err != nil {
			w.rpcErrors.Add(1)
			return Channel{}, fmt.Errorf("chainwatch: lookup: %w", err)
		}
		if v.Provider != w.provider {
			if v.Provider != (common.Address{}) {
				return Channel{}, fmt.Errorf("%w (%w): %s belongs to provider %s", ErrUnknownChannel, ErrWrongProvider, id, v.Provider)
			}
			latest, err := w.getChannel(ctx, id, nil)
			if err != nil {
				w.rpcErrors.Add(1)
				return Channel{}, fmt.Errorf("chainwatch: lookup: %w", err)
			}
			if latest.Provider == w.provider {
				return Channel{}, fmt.Errorf("%w: %s is opened after block %d", ErrNotConfirmed, id, block)
			}
			return Channel{}, fmt.Errorf("%w: %s", ErrUnknownChannel, id)
		}

		w.writeMu.Lock()
		if e := w.live(id); e != nil { // Run got there first
			w.writeMu.Unlock()
			return e.ch, nil
		}
		cur := w.currentCursor()
		if cur.set() && cur.Number > block {
			// Run went past block meanwhile without meeting the channel
			// (its opening is older than a reorganisation's rewind); read
			// it again at the cursor, or events in between would be lost.
			w.writeMu.Unlock()
			continue
		}
		e := fromView(id, v, block, 0)
		err = w.commit(ctx, map[common.Hash]*entry{id: e}, cur, []Change{{Kind: ChangeRefreshed, Channel: e.ch, Block: block}})
		w.writeMu.Unlock()
		if err != nil {
			w.storeErrors.Add(1)
			return Channel{}, fmt.Errorf("chainwatch: lookup: %w", err)
		}
		w.log.Info("adopted a channel found by lookup", "channel", id, "block", block)
		return e.ch, nil
	}
	return Channel{}, fmt.Errorf("%w: %s: the watcher is moving; try again", ErrNotConfirmed, id)
}

// confirmedBlock is the block Lookup reads at: the chain's confirmed head
// (head − (confirmations − 1)), never below what Run saw nor the cursor.
func (w *Watcher) confirmedBlock(ctx context.Context) (uint64, error) {
	// The chain's head, not only the one Run saw last: Run may be up to a
	// poll interval behind, and a channel opened in between is confirmed
	// already (with one confirmation, the head counts). A lookup is a miss
	// and rate-limited per id, so the extra call is rare.
	block := w.confirmed.Load()
	head, err := w.backend.BlockNumber(ctx)
	if err != nil {
		w.rpcErrors.Add(1)
		return 0, fmt.Errorf("chainwatch: lookup: read head: %w", err)
	}
	if head+1 >= w.cfg.confirmations {
		block = max(block, head+1-w.cfg.confirmations)
	}
	return max(block, w.currentCursor().Number), nil
}
