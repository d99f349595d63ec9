package chainwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
)

var (
	fakeContract = common.HexToAddress("0x00000000000000000000000000000000000c4a11")
	ourProvider  = common.HexToAddress("0x0000000000000000000000000000000000000a11")
	theirs       = common.HexToAddress("0x0000000000000000000000000000000000000b0b")
	payerAddr    = common.HexToAddress("0x0000000000000000000000000000000000000aaa")
	signerAddr   = common.HexToAddress("0x0000000000000000000000000000000000000bbb")
)

func chanID(s string) common.Hash { return crypto.Keccak256Hash([]byte(s)) }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// runFake runs w until the test ends; it must be called inside a synctest
// bubble, whose fake clock drives the poll ticker.
func runFake(t *testing.T, w *Watcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// settle lets the watcher poll and finish what it does.
func settle() {
	time.Sleep(1500 * time.Millisecond)
	synctest.Wait()
}

func newFakeWatcher(t *testing.T, fc *fakeChain, store Store, start uint64) *Watcher {
	w := New(fc, &contracts.Deployment{ChainID: 1, PaymentChannels: fakeContract, StartBlock: start}, ourProvider, store)
	w.PollInterval = time.Second
	w.MinBackoff, w.MaxBackoff = time.Second, 4*time.Second
	w.Logger = testLogger(t)
	return w
}

func wantChannel(t *testing.T, w *Watcher, id common.Hash, deposit, claimed int64, withdrawableAt uint64, closed bool) Channel {
	t.Helper()
	ch, ok := w.Channel(id)
	if !ok {
		t.Fatalf("channel %s unknown", id)
	}
	if ch.Deposit.Cmp(big.NewInt(deposit)) != 0 || ch.Claimed.Cmp(big.NewInt(claimed)) != 0 ||
		ch.WithdrawableAt != withdrawableAt || ch.Closed != closed {
		t.Fatalf("channel %s: deposit %s claimed %s withdrawableAt %d closed %v; want %d %d %d %v",
			id, ch.Deposit, ch.Claimed, ch.WithdrawableAt, ch.Closed, deposit, claimed, withdrawableAt, closed)
	}
	return ch
}

// drain takes the changes delivered so far, inside a synctest bubble.
func drain(ch <-chan Change) []Change {
	var out []Change
	for {
		synctest.Wait()
		select {
		case c := <-ch:
			out = append(out, c)
		default:
			return out
		}
	}
}

func kinds(changes []Change, id common.Hash) []ChangeKind {
	var out []ChangeKind
	for _, c := range changes {
		if c.Channel.ID == id {
			out = append(out, c.Kind)
		}
	}
	return out
}

func TestFakeFollowsEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fc := newFakeChain(fakeContract)
		fc.mine() // block 1: before the deployment's start
		a, b := chanID("a"), chanID("b")
		w := newFakeWatcher(t, fc, NewMemStore(), 2)
		changes, cancel := w.Subscribe()
		defer cancel()
		runFake(t, w)

		opened := fc.mine(evOpened(a, payerAddr, ourProvider, signerAddr, common.Address{}, 100),
			evOpened(b, payerAddr, theirs, signerAddr, common.Address{}, 7))
		fc.mine(evToppedUp(a, 50), evToppedUp(b, 1), evClaimed(b, 3))
		fc.mine(evClaimed(a, 30), evRequested(a, 5000))
		fc.mine(evClaimed(a, 45), evWithdrawn(a))
		settle()

		ch := wantChannel(t, w, a, 150, 45, 5000, true)
		if ch.OpenedBlock != opened || ch.UpdatedBlock != fc.head() || ch.Payer != payerAddr || ch.Signer != signerAddr || ch.Provider != ourProvider {
			t.Fatalf("channel %+v", ch)
		}
		if _, ok := w.Channel(b); ok {
			t.Fatal("another provider's channel is known")
		}
		if !w.Synced() || w.Head() != fc.head() {
			t.Fatalf("synced %v head %d, want true %d", w.Synced(), w.Head(), fc.head())
		}
		synctest.Wait()
		got := kinds(drain(changes), a)
		want := []ChangeKind{ChangeOpened, ChangeToppedUp, ChangeClaimed, ChangeWithdrawalRequested, ChangeClaimed, ChangeWithdrawn}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("changes %v, want %v", got, want)
		}
		if s := w.Stats(); s.Events != 6 || s.Channels != 1 || s.Lag != 0 || s.RPCErrors != 0 || s.Subscribed {
			t.Fatalf("stats %+v", s)
		}
	})
}

// TestFakeRangesAndConfirmations: a long history is read in ranges of
// MaxRange blocks, and only up to head − (Confirmations − 1).
func TestFakeRangesAndConfirmations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fc := newFakeChain(fakeContract)
		a := chanID("a")
		fc.mine(evOpened(a, payerAddr, ourProvider, signerAddr, common.Address{}, 1))
		for range 95 {
			fc.mine()
		}
		fc.mine(evToppedUp(a, 1)) // block 97
		fc.mine()                 // 98
		fc.mine(evToppedUp(a, 1)) // 99: not confirmed with 3 confirmations
		fc.mine()                 // 100
		w := newFakeWatcher(t, fc, NewMemStore(), 1)
		w.MaxRange = 10
		w.Confirmations = 3
		runFake(t, w)
		synctest.Wait()
		wantChannel(t, w, a, 2, 0, 0, false)
		if w.Head() != 98 {
			t.Fatalf("head %d, want 98", w.Head())
		}
		for _, q := range fc.filterQueries() {
			if n := q.ToBlock.Uint64() - q.FromBlock.Uint64() + 1; n > 10 {
				t.Fatalf("eth_getLogs over %d blocks", n)
			}
		}
		fc.mine()
		settle()
		wantChannel(t, w, a, 3, 0, 0, false)
	})
}

// TestFakeReorg: a reorganisation below the cursor takes back events that
// were applied (a withdrawal request, a channel's opening) and brings others
// (a claim, a new channel); every known channel is read again from the view
// and the stretch is read again without applying anything twice.
func TestFakeReorg(t *testing.T) {
	// Depth 8 reads again from the start block, depth 1 from block 5.
	for _, depth := range []uint64{8, 1} {
		t.Run(fmt.Sprintf("depth %d", depth), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fc := newFakeChain(fakeContract)
				a, b, c := chanID("a"), chanID("b"), chanID("c")
				fc.mine(evOpened(a, payerAddr, ourProvider, signerAddr, common.Address{}, 100)) // 1
				fc.mine()                                                                       // 2
				fc.mine(evToppedUp(a, 50))                                                      // 3
				fc.mine()                                                                       // 4
				store := NewMemStore()
				w := newFakeWatcher(t, fc, store, 1)
				w.ReorgDepth = depth
				changes, cancel := w.Subscribe()
				defer cancel()
				runFake(t, w)
				synctest.Wait()

				fc.mine(evRequested(a, 9000))                                                 // 5, old branch
				fc.mine(evOpened(c, payerAddr, ourProvider, signerAddr, common.Address{}, 5)) // 6, old branch
				settle()
				wantChannel(t, w, a, 150, 0, 9000, false)
				wantChannel(t, w, c, 5, 0, 0, false)
				drain(changes)

				fc.reorg(4)
				fc.mine(evClaimed(a, 30))                                                     // 5, new branch
				fc.mine(evOpened(b, payerAddr, ourProvider, signerAddr, common.Address{}, 9)) // 6
				fc.mine(evToppedUp(b, 1))                                                     // 7
				settle()
				settle()

				wantChannel(t, w, a, 150, 30, 0, false)
				if ch := wantChannel(t, w, b, 10, 0, 0, false); ch.OpenedBlock != 6 {
					t.Fatalf("b opened in %d, want 6", ch.OpenedBlock)
				}
				if _, ok := w.Channel(c); ok {
					t.Fatal("c was opened on the abandoned branch only, and is still known")
				}
				if s := w.Stats(); s.Reorgs != 1 || !s.Synced || s.Processed != 7 || s.Channels != 2 || len(w.Channels()) != 2 {
					t.Fatalf("stats %+v", s)
				}
				synctest.Wait()
				got := drain(changes)
				if k := kinds(got, c); fmt.Sprint(k) != fmt.Sprint([]ChangeKind{ChangeRemoved}) {
					t.Fatalf("changes of c: %v", k)
				}
				if k := kinds(got, a); fmt.Sprint(k) != fmt.Sprint([]ChangeKind{ChangeRefreshed}) {
					t.Fatalf("changes of a: %v", k)
				}
				if k := kinds(got, b); fmt.Sprint(k) != fmt.Sprint([]ChangeKind{ChangeOpened, ChangeToppedUp}) {
					t.Fatalf("changes of b: %v", k)
				}

				// What was stored is what is held: a new watcher on the store
				// agrees without reading the chain.
				w2 := newFakeWatcher(t, fc, store, 1)
				if err := w2.Open(t.Context()); err != nil {
					t.Fatal(err)
				}
				wantChannel(t, w2, a, 150, 30, 0, false)
				wantChannel(t, w2, b, 10, 0, 0, false)
				if _, ok := w2.Channel(c); ok || w2.Head() != 7 || w2.Stats().Channels != 2 {
					t.Fatalf("reloaded: c known %v, head %d, %d channels", ok, w2.Head(), w2.Stats().Channels)
				}
			})
		})
	}
}

// TestFakeIdleReorg: a reorganisation that replaces the cursor block while
// there is nothing new to read is found by the idle check.
func TestFakeIdleReorg(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fc := newFakeChain(fakeContract)
		a := chanID("a")
		fc.mine(evOpened(a, payerAddr, ourProvider, signerAddr, common.Address{}, 100))
		fc.mine(evToppedUp(a, 1))
		w := newFakeWatcher(t, fc, NewMemStore(), 1)
		runFake(t, w)
		synctest.Wait()
		wantChannel(t, w, a, 101, 0, 0, false)

		fc.reorg(1)
		fc.mine(evToppedUp(a, 2)) // same height, another block
		settle()
		settle()
		wantChannel(t, w, a, 102, 0, 0, false)
		if s := w.Stats(); s.Reorgs != 1 {
			t.Fatalf("reorgs %d, want 1", s.Reorgs)
		}
	})
}

// TestFakeBackoff: failing calls are counted and retried after pauses that
// double from MinBackoff up to MaxBackoff.
func TestFakeBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fc := newFakeChain(fakeContract)
		a := chanID("a")
		fc.mine(evOpened(a, payerAddr, ourProvider, signerAddr, common.Address{}, 100))
		w := newFakeWatcher(t, fc, NewMemStore(), 1) // backoff 1s doubling to 4s
		fc.fail(5)
		start := time.Now()
		runFake(t, w)
		for !w.Synced() {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
		}
		// Pauses of 1, 2, 4, 4 and 4 seconds.
		if took := time.Since(start); took < 15*time.Second || took > 15*time.Second+200*time.Millisecond {
			t.Fatalf("recovered after %s, want 15s", took)
		}
		if s := w.Stats(); s.RPCErrors != 5 {
			t.Fatalf("RPC errors %d, want 5", s.RPCErrors)
		}
		wantChannel(t, w, a, 100, 0, 0, false)
	})
}

// failingStore refuses writes while fail is set.
type failingStore struct {
	*MemStore
	fail atomic.Bool
}

func (s *failingStore) PutMetas(ctx context.Context, metas map[string][]byte) error {
	if s.fail.Load() {
		return errors.New("disk full")
	}
	return s.MemStore.PutMetas(ctx, metas)
}

// TestFakeStoreFailure: nothing is applied unless it is stored; the range is
// read again once the store works.
func TestFakeStoreFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fc := newFakeChain(fakeContract)
		a := chanID("a")
		fc.mine(evOpened(a, payerAddr, ourProvider, signerAddr, common.Address{}, 100))
		store := &failingStore{MemStore: NewMemStore()}
		store.fail.Store(true)
		w := newFakeWatcher(t, fc, store, 1)
		runFake(t, w)
		synctest.Wait()
		if _, ok := w.Channel(a); ok || w.Head() != 0 {
			t.Fatal("state moved without being stored")
		}
		store.fail.Store(false)
		settle()
		wantChannel(t, w, a, 100, 0, 0, false)
		if s := w.Stats(); s.StoreErrors != 1 || s.RPCErrors != 0 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// TestFakeRestart: a watcher on the store of a stopped one resumes after
// its cursor.
func TestFakeRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fc := newFakeChain(fakeContract)
		a := chanID("a")
		fc.mine(evOpened(a, payerAddr, ourProvider, signerAddr, common.Address{}, 100))
		for range 20 {
			fc.mine()
		}
		store := NewMemStore()
		w := newFakeWatcher(t, fc, store, 1)
		stop := runFake(t, w)
		synctest.Wait()
		stop()
		cur := w.Head()

		fc.mine(evToppedUp(a, 5))
		fc.mine(evClaimed(a, 10))
		before := len(fc.filterQueries())
		w2 := newFakeWatcher(t, fc, store, 1)
		runFake(t, w2)
		synctest.Wait()
		wantChannel(t, w2, a, 105, 10, 0, false)
		for _, q := range fc.filterQueries()[before:] {
			if q.FromBlock.Uint64() <= cur {
				t.Fatalf("restarted watcher read from block %d, cursor was %d", q.FromBlock.Uint64(), cur)
			}
		}
	})
}

// TestApplyOnce: a range read again (as after a crash between the store and
// the cursor, or a rewind) changes nothing.
func TestApplyOnce(t *testing.T) {
	fc := newFakeChain(fakeContract)
	a := chanID("a")
	fc.mine(evOpened(a, payerAddr, ourProvider, signerAddr, common.Address{}, 100))
	fc.mine(evToppedUp(a, 50), evClaimed(a, 20))
	w := newFakeWatcher(t, fc, NewMemStore(), 1)
	if err := w.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	logs, err := w.filter(t.Context(), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := w.apply(t.Context(), logs, cursor{Number: 2, Hash: fc.blocks[2].header.Hash()}); err != nil {
			t.Fatal(err)
		}
	}
	wantChannel(t, w, a, 150, 20, 0, false)
	if s := w.Stats(); s.Events != 3 {
		t.Fatalf("events %d, want 3", s.Events)
	}
}

// TestStoreIndexPages: the channel index spans pages and reloads whole.
func TestStoreIndexPages(t *testing.T) {
	store := NewMemStore()
	fc := newFakeChain(fakeContract)
	w := newFakeWatcher(t, fc, store, 1)
	if err := w.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	huge, _ := new(big.Int).SetString("340282366920938463463374607431768211455", 10) // 2^128 − 1
	n := 0
	for _, batch := range []int{1000, 30, 1500} {
		changed := map[common.Hash]*entry{}
		for range batch {
			id := chanID(fmt.Sprint(n))
			changed[id] = &entry{ch: Channel{ID: id, Provider: ourProvider, Deposit: new(big.Int).Sub(huge, big.NewInt(int64(n))), Claimed: big.NewInt(int64(n)), OpenedBlock: 1, UpdatedBlock: uint64(n)}, logIndex: uint(n % 7)}
			n++
		}
		w.writeMu.Lock()
		err := w.commit(t.Context(), changed, cursor{Number: uint64(n), Hash: common.Hash{1}}, nil)
		w.writeMu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	w2 := newFakeWatcher(t, fc, store, 1)
	if err := w2.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := len(w2.Channels()); got != n {
		t.Fatalf("reloaded %d channels, want %d", got, n)
	}
	for i := range n {
		id := chanID(fmt.Sprint(i))
		ch, ok := w2.Channel(id)
		if !ok || ch.Deposit.Cmp(new(big.Int).Sub(huge, big.NewInt(int64(i)))) != 0 || ch.Claimed.Int64() != int64(i) {
			t.Fatalf("channel %d: %+v", i, ch)
		}
		if e := w2.live(id); e.logIndex != uint(i%7) {
			t.Fatalf("channel %d: log index %d", i, e.logIndex)
		}
	}
	if w2.Head() != uint64(n) {
		t.Fatalf("head %d", w2.Head())
	}
}

func TestStoreCorrupt(t *testing.T) {
	fc := newFakeChain(fakeContract)
	for name, metas := range map[string]map[string][]byte{
		"cursor":        {"cursor": []byte("{")},
		"version":       {"cursor": []byte(`{"version":9}`)},
		"short index":   {"cursor": []byte(`{"version":1,"channels":2}`), "index/000000": make([]byte, 32)},
		"missing entry": {"cursor": []byte(`{"version":1,"channels":1}`), "index/000000": make([]byte, 32)},
		"bad amount": {"cursor": []byte(`{"version":1,"channels":1}`), "index/000000": make([]byte, 32),
			"channel/" + (common.Hash{}).Hex(): []byte(`{"deposit":"-1","claimed":"0"}`)},
	} {
		t.Run(name, func(t *testing.T) {
			store := NewMemStore()
			w := newFakeWatcher(t, fc, store, 1)
			full := map[string][]byte{}
			for k, v := range metas {
				full[w.keys.prefix+k] = v
			}
			if err := store.PutMetas(t.Context(), full); err != nil {
				t.Fatal(err)
			}
			if err := w.Open(t.Context()); !errors.Is(err, errCorrupt) {
				t.Fatalf("Open: %v, want corrupt", err)
			}
		})
	}
}

func TestFakeLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fc := newFakeChain(fakeContract)
		a, b, c := chanID("a"), chanID("b"), chanID("c")
		fc.mine(evOpened(a, payerAddr, ourProvider, signerAddr, common.Address{}, 100))
		fc.mine(evOpened(c, payerAddr, theirs, signerAddr, common.Address{}, 100))
		w := newFakeWatcher(t, fc, NewMemStore(), 1)
		w.Confirmations = 2
		w.LookupInterval = time.Second
		ctx := t.Context()

		// Not running: Lookup reads the head itself and adopts a.
		ch, err := w.Lookup(ctx, a)
		if err != nil || ch.Deposit.Int64() != 100 || ch.UpdatedBlock != 1 {
			t.Fatalf("Lookup(a) = %+v, %v", ch, err)
		}
		if _, ok := w.Channel(a); !ok {
			t.Fatal("a not adopted")
		}
		if _, err := w.Lookup(ctx, c); !errors.Is(err, ErrUnknownChannel) {
			t.Fatalf("Lookup(theirs) = %v", err)
		}
		fc.mine(evOpened(b, payerAddr, ourProvider, signerAddr, common.Address{}, 7)) // 3: not confirmed
		if _, err := w.Lookup(ctx, b); !errors.Is(err, ErrNotConfirmed) {
			t.Fatalf("Lookup(b) = %v", err)
		}
		calls := fc.callCount("CallContract")
		if _, err := w.Lookup(ctx, b); !errors.Is(err, ErrNotConfirmed) || fc.callCount("CallContract") != calls {
			t.Fatalf("repeated Lookup(b) = %v after %d calls, want the remembered answer", err, fc.callCount("CallContract")-calls)
		}
		for range 2 {
			if _, err := w.Lookup(ctx, chanID("made up")); !errors.Is(err, ErrUnknownChannel) {
				t.Fatalf("Lookup(made up) = %v", err)
			}
		}
		if s := w.Stats(); s.Lookups != 4 {
			t.Fatalf("lookups %d, want 4", s.Lookups)
		}
		fc.mine()
		time.Sleep(time.Second)
		if ch, err := w.Lookup(ctx, b); err != nil || ch.Deposit.Int64() != 7 {
			t.Fatalf("Lookup(b) after a block = %+v, %v", ch, err)
		}

		// Run picks up from there: the opening of a, covered by the view
		// it was adopted from, is not applied again, but tells its block.
		fc.mine(evToppedUp(a, 1))
		fc.mine()
		runFake(t, w)
		synctest.Wait()
		if ch := wantChannel(t, w, a, 101, 0, 0, false); ch.OpenedBlock != 1 {
			t.Fatalf("a opened in %d, want 1", ch.OpenedBlock)
		}
		wantChannel(t, w, b, 7, 0, 0, false)
	})
}
