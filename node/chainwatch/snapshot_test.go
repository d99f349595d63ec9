package chainwatch

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// catchUp runs the watcher's rounds until it has applied the chain's head.
func catchUp(t testing.TB, w *Watcher) {
	t.Helper()
	for {
		done, err := w.round(context.Background())
		if err != nil {
			t.Error(err)
			return
		}
		if done {
			return
		}
	}
}

// TestReadsShareSnapshots: a read of a known channel neither allocates nor
// copies its amounts, and a change replaces a channel's snapshot instead
// of modifying it, so what a reader holds stays as it was read.
func TestReadsShareSnapshots(t *testing.T) {
	fc := newFakeChain(fakeContract)
	a := chanID("a")
	fc.mine(evOpened(a, payerAddr, ourProvider, signerAddr, common.Address{}, 100))
	w := newFakeWatcher(t, fc, NewMemStore(), 1)
	if err := w.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	catchUp(t, w)
	ctx := t.Context()

	before, err := w.Lookup(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := w.Channel(a)
	if listed := w.Channels(); len(listed) != 1 || again.Deposit != before.Deposit || listed[0].Claimed != before.Claimed {
		t.Fatalf("reads of an unchanged channel do not share its amounts: %p %p", again.Deposit, before.Deposit)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = w.Lookup(ctx, a) }); n != 0 {
		t.Fatalf("Lookup of a known channel: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = w.Channel(a) }); n != 0 {
		t.Fatalf("Channel: %v allocations, want 0", n)
	}

	fc.mine(evToppedUp(a, 50), evClaimed(a, 30))
	catchUp(t, w)
	after := wantChannel(t, w, a, 150, 30, 0, false)
	if before.Deposit.Int64() != 100 || before.Claimed.Sign() != 0 {
		t.Fatalf("a change modified the snapshot a reader held: deposit %s claimed %s", before.Deposit, before.Claimed)
	}
	if own := after.Clone(); own.Deposit == after.Deposit || own.Deposit.Cmp(after.Deposit) != 0 {
		t.Fatal("Clone does not copy the amounts")
	}
}

// TestReadWhileUpdating has readers look channels up, list them and read
// their amounts while the watcher applies top-ups and claims, opens
// channels and adopts channels found by Lookup. Run it with -race: a
// watcher that modified a snapshot in place, or published one without
// synchronisation, fails it.
func TestReadWhileUpdating(t *testing.T) {
	fc := newFakeChain(fakeContract)
	w := newFakeWatcher(t, fc, NewMemStore(), 1)
	w.Logger = nil
	if err := w.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	const rounds, readers = 300, 4
	var (
		ids     []common.Hash // appended by the writer before the channel is mined
		idsMu   sync.Mutex
		stop    atomic.Bool
		wg      sync.WaitGroup
		reads   atomic.Int64
		claimed = map[common.Hash]int64{}
	)
	known := func() []common.Hash {
		idsMu.Lock()
		defer idsMu.Unlock()
		return ids[:len(ids):len(ids)]
	}
	for r := range readers {
		wg.Go(func() {
			last := map[common.Hash]*big.Int{}
			for i := 0; !stop.Load(); i++ {
				ids := known()
				if len(ids) == 0 {
					continue
				}
				id := ids[len(ids)-1] // the newest, which Lookup may adopt
				if i%2 == 1 {
					id = ids[(i*7+r)%len(ids)]
				}
				ch, err := w.Lookup(context.Background(), id) // adopts the channels Run has not reached
				if err != nil {
					continue // opened in a block not yet mined
				}
				if ch.ID != id || ch.Claimed.Cmp(ch.Deposit) > 0 {
					t.Errorf("channel %s read as %+v", id, ch)
					return
				}
				if prev := last[id]; prev != nil && ch.Deposit.Cmp(prev) < 0 {
					t.Errorf("channel %s: deposit went from %s down to %s", id, prev, ch.Deposit)
					return
				}
				last[id] = ch.Deposit
				if i%64 == 0 {
					for _, c := range w.Channels() {
						if c.Claimed.Cmp(c.Deposit) > 0 {
							t.Errorf("channel %s listed as %+v", c.ID, c)
							return
						}
					}
					if s := w.Stats(); s.Channels < len(last) {
						t.Errorf("stats count %d channels, this reader saw %d", s.Channels, len(last))
						return
					}
				}
				reads.Add(1)
			}
		})
	}
	for i := range rounds {
		if i%10 == 0 {
			id := chanID(fmt.Sprint("race-", i))
			idsMu.Lock()
			ids = append(ids, id)
			idsMu.Unlock()
			fc.mine(evOpened(id, payerAddr, ourProvider, signerAddr, common.Address{}, 1000))
			// Give the readers a moment to adopt it before Run's path does.
			for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); {
				if _, ok := w.Channel(id); ok {
					break
				}
				time.Sleep(50 * time.Microsecond)
			}
			continue
		}
		ids := known()
		id := ids[i%len(ids)]
		claimed[id] += 3
		fc.mine(evToppedUp(id, 5), evClaimed(id, claimed[id]))
		catchUp(t, w)
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("no reader read anything")
	}
	if s := w.Stats(); s.Channels != rounds/10 || s.Lookups == 0 {
		t.Fatalf("%d channels, want %d; %d adopted by Lookup, want some", s.Channels, rounds/10, s.Lookups)
	}
}
