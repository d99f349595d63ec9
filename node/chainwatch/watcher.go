package chainwatch

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/paynode/paynode/contracts"
)

// Defaults of the Watcher's tuning fields.
const (
	DefaultConfirmations  = 1
	DefaultPollInterval   = time.Second
	DefaultMaxRange       = 2000
	DefaultReorgDepth     = 64
	DefaultMinBackoff     = 250 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultLookupInterval = time.Second
)

// maxLookups bounds the Lookup calls that ask the chain at the same time.
const maxLookups = 8

// Watcher keeps the state of this provider's channels; see the package
// documentation. Create it with [New], set the tuning fields, then call
// [Watcher.Run]. The readers may be called at any time from any goroutine.
type Watcher struct {
	// Confirmations is how many blocks must carry a block for its events to
	// count; 1, the default, counts the head block itself. 0 means 1.
	Confirmations uint64
	// PollInterval is how often the head is polled (also with a
	// subscription, which only wakes the watcher early).
	PollInterval time.Duration
	// MaxRange is the most blocks one eth_getLogs asks for. After a failed
	// eth_getLogs the watcher halves the range (providers refuse large
	// results), and grows it back after successes.
	MaxRange uint64
	// ReorgDepth is how many blocks below the cursor are read again after a
	// reorganisation, to find channels opened on the new branch.
	ReorgDepth uint64
	// MinBackoff and MaxBackoff bound the pause after a failed round: it
	// starts at MinBackoff and doubles up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// LookupInterval is how long Lookup remembers that an id was unknown or
	// not yet confirmed.
	LookupInterval time.Duration
	Logger         *slog.Logger

	backend  Backend
	dep      contracts.Deployment
	provider common.Address
	store    Store
	dec      *decoder
	keys     keyspace
	now      func() time.Time

	openMu  sync.Mutex
	opened  bool
	cfg     config // a copy of the tuning fields, taken by Open
	log     *slog.Logger
	running atomic.Bool

	// writeMu serializes the writers of the state (Run's rounds and
	// Lookup's adoptions) and guards index and indexed. It is held across
	// store writes but never across RPC calls.
	writeMu sync.Mutex
	index   []common.Hash // the stored index, in order
	indexed map[common.Hash]struct{}

	// channels holds what the readers see of each channel: id → *entry.
	// The writers (commit, load; under writeMu) replace an entry on every
	// change and never modify one, so readers load it without a lock and
	// hand out its amounts without copying them. known counts the entries.
	channels sync.Map
	known    atomic.Int64

	// mu guards cursor and advanced. A commit publishes its channels
	// before its cursor, so a reader that sees the cursor at block n sees
	// every channel as of block n or later.
	mu       sync.RWMutex
	cursor   cursor
	advanced chan struct{} // closed and replaced whenever cursor moves

	rangeSize uint64 // Run's goroutine only

	chainHead, confirmed   atomic.Uint64
	synced, subscribed     atomic.Bool
	rpcErrors, storeErrors atomic.Uint64
	reorgs, ranges         atomic.Uint64
	events, badEvents      atomic.Uint64
	lookups                atomic.Uint64

	subMu sync.Mutex
	subs  map[*subscriber]struct{}

	lookMu    sync.Mutex // guards misses and inflight
	misses    map[common.Hash]miss
	inflight  map[common.Hash]*lookupCall
	lookupSem chan struct{}
}

type config struct {
	confirmations          uint64
	pollInterval           time.Duration
	maxRange, reorgDepth   uint64
	minBackoff, maxBackoff time.Duration
	lookupInterval         time.Duration
}

// New returns a watcher of the channels of provider in deployment d, reading
// the chain through b and keeping its state in store. The tuning fields hold
// their defaults; change them before Open or Run, which take a copy.
func New(b Backend, d *contracts.Deployment, provider common.Address, store Store) *Watcher {
	w := &Watcher{
		Confirmations:  DefaultConfirmations,
		PollInterval:   DefaultPollInterval,
		MaxRange:       DefaultMaxRange,
		ReorgDepth:     DefaultReorgDepth,
		MinBackoff:     DefaultMinBackoff,
		MaxBackoff:     DefaultMaxBackoff,
		LookupInterval: DefaultLookupInterval,

		backend:   b,
		provider:  provider,
		store:     store,
		dec:       newDecoder(),
		now:       time.Now,
		indexed:   map[common.Hash]struct{}{},
		advanced:  make(chan struct{}),
		subs:      map[*subscriber]struct{}{},
		misses:    map[common.Hash]miss{},
		inflight:  map[common.Hash]*lookupCall{},
		lookupSem: make(chan struct{}, maxLookups),
	}
	if d != nil {
		w.dep = *d
	}
	w.keys = newKeyspace(w.dep.ChainID, w.dep.PaymentChannels, provider)
	return w
}

// Open checks the configuration and loads the stored state, so the readers
// answer from it before Run has caught up. Run and Lookup call it; calling
// it again does nothing.
func (w *Watcher) Open(ctx context.Context) error {
	w.openMu.Lock()
	defer w.openMu.Unlock()
	if w.opened {
		return nil
	}
	switch {
	case w.backend == nil:
		return errors.New("chainwatch: no chain backend")
	case w.store == nil:
		return errors.New("chainwatch: no store")
	case w.dep.PaymentChannels == (common.Address{}):
		return errors.New("chainwatch: deployment has no PaymentChannels address")
	case w.provider == (common.Address{}):
		return errors.New("chainwatch: no provider address")
	}
	c := config{
		confirmations:  max(w.Confirmations, 1),
		pollInterval:   w.PollInterval,
		maxRange:       w.MaxRange,
		reorgDepth:     w.ReorgDepth,
		minBackoff:     w.MinBackoff,
		maxBackoff:     w.MaxBackoff,
		lookupInterval: w.LookupInterval,
	}
	if c.pollInterval <= 0 {
		c.pollInterval = DefaultPollInterval
	}
	if c.maxRange == 0 {
		c.maxRange = DefaultMaxRange
	}
	if c.minBackoff <= 0 {
		c.minBackoff = DefaultMinBackoff
	}
	if c.maxBackoff < c.minBackoff {
		c.maxBackoff = max(c.minBackoff, DefaultMaxBackoff)
	}
	if c.lookupInterval < 0 {
		c.lookupInterval = 0
	}
	log := w.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w.log = log.With("component", "chainwatch", "contract", w.dep.PaymentChannels, "provider", w.provider)
	w.cfg = c
	w.rangeSize = c.maxRange

	w.writeMu.Lock()
	err := w.load(ctx)
	w.writeMu.Unlock()
	if err != nil {
		return err
	}
	w.opened = true
	cur := w.currentCursor()
	w.log.Info("chain watch opened", "channels", w.known.Load(), "cursor", cur.Number, "resumes", cur.set())
	return nil
}

// ------------------------------------------------------------------ readers

// Channel returns the state of channel id if it is one of ours, from memory.
// It takes no lock and copies nothing: the payment check calls it for every
// job.
//
// The returned Channel shares its Deposit and Claimed with the watcher and
// with every other reader. The watcher never modifies them (a change
// replaces them), and neither may the caller: read them, or call
// [Channel.Clone] for amounts of its own.
func (w *Watcher) Channel(id common.Hash) (Channel, bool) {
	if e := w.live(id); e != nil {
		return e.ch, true
	}
	return Channel{}, false
}

// Channels returns every known channel, ordered by id. Their amounts are
// shared, as [Watcher.Channel] says, and must not be modified.
func (w *Watcher) Channels() []Channel {
	out := make([]Channel, 0, w.known.Load())
	w.channels.Range(func(_, e any) bool {
		out = append(out, e.(*entry).ch)
		return true
	})
	slices.SortFunc(out, func(a, b Channel) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// Head returns the last block whose events are applied: the state is the
// chain's as of this block (0 before the first range).
func (w *Watcher) Head() uint64 {
	return w.currentCursor().Number
}

// Synced reports whether the watcher's last round found it caught up with
// the confirmed head. It is false after a failed round until a round
// succeeds.
func (w *Watcher) Synced() bool { return w.synced.Load() }

// WaitFor waits until the watcher has applied the events of block n, or ctx
// ends.
func (w *Watcher) WaitFor(ctx context.Context, n uint64) error {
	for {
		w.mu.RLock()
		done, advanced := w.cursor.set() && w.cursor.Number >= n, w.advanced
		w.mu.RUnlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-advanced:
		}
	}
}

// Stats returns the watcher's counters.
func (w *Watcher) Stats() Stats {
	cur, n := w.currentCursor(), int(w.known.Load())
	s := Stats{
		ChainHead:   w.chainHead.Load(),
		Confirmed:   w.confirmed.Load(),
		Processed:   cur.Number,
		Synced:      w.synced.Load(),
		Subscribed:  w.subscribed.Load(),
		Channels:    n,
		RPCErrors:   w.rpcErrors.Load(),
		StoreErrors: w.storeErrors.Load(),
		Reorgs:      w.reorgs.Load(),
		Ranges:      w.ranges.Load(),
		Events:      w.events.Load(),
		BadEvents:   w.badEvents.Load(),
		Lookups:     w.lookups.Load(),
	}
	if s.Confirmed > s.Processed {
		s.Lag = s.Confirmed - s.Processed
	}
	return s
}

func (w *Watcher) currentCursor() cursor {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.cursor
}

// live returns channel id's published entry, or nil.
func (w *Watcher) live(id common.Hash) *entry {
	if e, ok := w.channels.Load(id); ok {
		return e.(*entry)
	}
	return nil
}

// ---------------------------------------------------------------------- run

// errChainMoved: the chain changed while a range was read; read it again.
var errChainMoved = errors.New("chain moved during the read")

// Run follows the chain until ctx ends, then returns nil. RPC and store
// failures are logged, counted and retried after a backoff that doubles
// from MinBackoff to MaxBackoff; a failed subscription is made again. Run
// returns an error only when [Watcher.Open] fails (bad configuration,
// unreadable or corrupt store) or when it is already running.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("chainwatch: already running")
	}
	defer w.running.Store(false)
	if err := w.Open(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer w.synced.Store(false)

	var (
		wake     = make(chan struct{}, 1)
		sub      *logSub
		pollOnly bool // the RPC has no subscriptions
		backoff  time.Duration
	)
	dropSub := func() {
		if sub != nil {
			sub.sub.Unsubscribe()
			sub = nil
			w.subscribed.Store(false)
		}
	}
	defer dropSub()
	ticker := time.NewTicker(w.cfg.pollInterval)
	defer ticker.Stop()

	for {
		caughtUp, err := w.round(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.synced.Store(false)
			backoff = min(max(2*backoff, w.cfg.minBackoff), w.cfg.maxBackoff)
			var se storeError
			switch {
			case errors.Is(err, errChainMoved):
				w.log.Debug("chain moved during a read; reading again", "in", backoff)
			case errors.As(err, &se):
				w.storeErrors.Add(1)
				w.log.Warn("storing the chain state failed; retrying", "err", err, "in", backoff)
			default:
				w.rpcErrors.Add(1)
				w.log.Warn("reading the chain failed; retrying", "err", err, "in", backoff)
				// A fresh subscription after the pause: the old one may sit
				// on a dead connection. (The go-ethereum RPC client dials a
				// broken WebSocket again by itself on the next call.)
				dropSub()
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		backoff = 0
		if !caughtUp {
			continue
		}

		// Caught up: subscribe, if there is no subscription yet, at most
		// once per wait, and read once more for what the subscription
		// came too late to see.
		if sub == nil && !pollOnly {
			s, err := w.subscribe(ctx, wake)
			switch {
			case err == nil:
				sub = s
				w.subscribed.Store(true)
				w.log.Debug("subscribed to contract logs")
				continue
			case errors.Is(err, rpc.ErrNotificationsUnsupported):
				pollOnly = true
				w.log.Info("the RPC has no subscriptions; polling", "interval", w.cfg.pollInterval)
			case ctx.Err() != nil:
				return nil
			default:
				w.rpcErrors.Add(1)
				w.log.Warn("log subscription failed; polling until it works", "err", err)
			}
		}
		var subErr <-chan error
		if sub != nil {
			subErr = sub.err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-wake:
		case err := <-subErr:
			w.rpcErrors.Add(1)
			w.log.Warn("log subscription ended; subscribing again", "err", err)
			dropSub()
		}
	}
}

// logSub is a live log subscription whose logs only wake Run.
type logSub struct {
	sub ethereum.Subscription
	err chan error // receives once when the subscription fails
}

func (w *Watcher) subscribe(ctx context.Context, wake chan<- struct{}) (*logSub, error) {
	logs := make(chan types.Log, 64)
	q := ethereum.FilterQuery{
		Addresses: []common.Address{w.dep.PaymentChannels},
		Topics:    [][]common.Hash{w.dec.allTopics()},
	}
	sub, err := w.backend.SubscribeFilterLogs(ctx, q, logs)
	if err != nil {
		return nil, err
	}
	s := &logSub{sub: sub, err: make(chan error, 1)}
	go func() {
		for {
			select {
			case <-logs:
				select {
				case wake <- struct{}{}:
				default: // a round is already due
				}
			case err, ok := <-sub.Err():
				if !ok {
					return // unsubscribed
				}
				if err == nil {
					err = errors.New("subscription closed")
				}
				s.err <- err
				return
			}
		}
	}()
	return s, nil
}

// round reads and applies the next range of blocks, or checks the cursor
// when there is none. It reports whether the watcher is caught up with the
// confirmed head.
func (w *Watcher) round(ctx context.Context) (bool, error) {
	head, err := w.backend.BlockNumber(ctx)
	if err != nil {
		return false, fmt.Errorf("read head: %w", err)
	}
	w.chainHead.Store(head)
	conf := w.cfg.confirmations
	if head+1 < conf || head+1-conf < w.dep.StartBlock {
		w.synced.Store(true) // nothing confirmed since the deployment yet
		return true, nil
	}
	target := head + 1 - conf
	w.confirmed.Store(target)

	cur := w.currentCursor()
	from := w.dep.StartBlock
	if cur.set() {
		from = cur.Number + 1
	}
	if from > target {
		// Idle: check that the cursor block is still on the chain. A head
		// below the cursor (a lagging node behind a load balancer, say)
		// is waited out.
		if cur.set() && cur.Number <= head {
			h, err := w.header(ctx, cur.Number)
			if err != nil {
				return false, err
			}
			if h.Hash() != cur.Hash {
				return false, w.reorg(ctx, cur, target)
			}
		}
		w.synced.Store(true)
		return true, nil
	}
	if target-from >= w.rangeSize {
		w.synced.Store(false)
	}
	to := min(target, from+w.rangeSize-1)

	// The header of the last block is read before and after the logs, and
	// the first block's parent after: a reorganisation during the read
	// either shows as a different hash or leaves logs and headers of one
	// chain.
	before, err := w.header(ctx, to)
	if err != nil {
		return false, err
	}
	logs, err := w.filter(ctx, from, to)
	if err != nil {
		w.rangeSize = max(w.rangeSize/2, 1)
		return false, err
	}
	first := before
	if from != to {
		if first, err = w.header(ctx, from); err != nil {
			return false, err
		}
	}
	after, err := w.header(ctx, to)
	if err != nil {
		return false, err
	}
	if after.Hash() != before.Hash() {
		return false, errChainMoved
	}
	if cur.set() && first.ParentHash != cur.Hash {
		return false, w.reorg(ctx, cur, target)
	}
	for i := range logs {
		l := &logs[i]
		switch {
		case l.BlockNumber < from || l.BlockNumber > to:
			return false, fmt.Errorf("eth_getLogs [%d, %d] returned a log of block %d", from, to, l.BlockNumber)
		case l.BlockNumber == to && l.BlockHash != before.Hash(),
			l.BlockNumber == from && l.BlockHash != first.Hash():
			return false, errChainMoved
		}
	}
	if err := w.apply(ctx, logs, cursor{Number: to, Hash: before.Hash()}); err != nil {
		return false, err
	}
	w.ranges.Add(1)
	w.rangeSize = min(2*w.rangeSize, w.cfg.maxRange)
	if to == target {
		w.synced.Store(true)
	}
	return to == target, nil
}

func (w *Watcher) header(ctx context.Context, n uint64) (*types.Header, error) {
	h, err := w.backend.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
	if err != nil {
		return nil, fmt.Errorf("read header %d: %w", n, err)
	}
	if h == nil || h.Number == nil || h.Number.Uint64() != n {
		return nil, fmt.Errorf("read header %d: %w", n, ethereum.NotFound)
	}
	return h, nil
}

// filter reads the logs of [from, to] that may concern our channels: our
// openings, and the other four events of every channel.
func (w *Watcher) filter(ctx context.Context, from, to uint64) ([]types.Log, error) {
	f, t := new(big.Int).SetUint64(from), new(big.Int).SetUint64(to)
	addr := []common.Address{w.dep.PaymentChannels}
	queries := []ethereum.FilterQuery{
		{FromBlock: f, ToBlock: t, Addresses: addr, Topics: [][]common.Hash{
			{w.dec.opened}, nil, nil, {common.BytesToHash(w.provider.Bytes())},
		}},
		{FromBlock: f, ToBlock: t, Addresses: addr, Topics: [][]common.Hash{w.dec.otherTopics()}},
	}
	var all []types.Log
	for _, q := range queries {
		logs, err := w.backend.FilterLogs(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("eth_getLogs [%d, %d]: %w", from, to, err)
		}
		all = append(all, logs...)
	}
	slices.SortStableFunc(all, func(a, b types.Log) int {
		if a.BlockNumber != b.BlockNumber {
			return cmp.Compare(a.BlockNumber, b.BlockNumber)
		}
		return cmp.Compare(a.Index, b.Index)
	})
	return all, nil
}

// apply applies logs, sorted by position, and moves the cursor to cur.
func (w *Watcher) apply(ctx context.Context, logs []types.Log, cur cursor) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	work := map[common.Hash]*entry{}
	get := func(id common.Hash) *entry {
		if e, ok := work[id]; ok {
			return e
		}
		return w.live(id)
	}
	var (
		changes []Change
		applied uint64
	)
	for i := range logs {
		l := &logs[i]
		if l.Address != w.dep.PaymentChannels || l.Removed {
			continue
		}
		ev, err := w.dec.decode(l)
		if err != nil {
			if !errors.Is(err, errNotOurEvent) {
				w.badEvents.Add(1)
				w.log.Warn("skipping an undecodable event", "block", l.BlockNumber, "index", l.Index, "tx", l.TxHash, "err", err)
			}
			continue
		}
		e := get(ev.id)
		if ev.kind == ChangeOpened {
			if ev.provider != w.provider {
				continue
			}
			if e != nil && e.covers(l.BlockNumber, l.Index) {
				if e.ch.OpenedBlock == 0 { // learned from a view; now we know
					cp := *e
					cp.ch.OpenedBlock = l.BlockNumber
					work[ev.id] = &cp
				}
				continue
			}
		} else if e == nil || e.covers(l.BlockNumber, l.Index) {
			continue // another provider's channel, or already applied
		}
		n := next(e, ev, l.BlockNumber, l.Index)
		work[ev.id] = n
		applied++
		changes = append(changes, Change{Kind: ev.kind, Channel: n.ch, Block: l.BlockNumber, TxHash: l.TxHash})
	}
	if err := w.commit(ctx, work, cur, changes); err != nil {
		return err
	}
	w.events.Add(applied)
	return nil
}

// reorg handles a reorganisation below cur: it reads every known channel at
// the confirmed head target and moves the cursor back ReorgDepth blocks.
func (w *Watcher) reorg(ctx context.Context, cur cursor, target uint64) error {
	w.log.Warn("chain reorganised below the cursor; reading the channels again",
		"cursor", cur.Number, "hash", cur.Hash, "confirmed", target)
	at, err := w.header(ctx, target)
	if err != nil {
		return err
	}
	ids := make([]common.Hash, 0, w.known.Load())
	w.channels.Range(func(id, _ any) bool {
		ids = append(ids, id.(common.Hash))
		return true
	})
	views := make(map[common.Hash]*entry, len(ids))
	for _, id := range ids {
		v, err := w.getChannel(ctx, id, new(big.Int).SetUint64(target))
		if err != nil {
			return err
		}
		if v.Provider != w.provider { // its opening is no longer on the chain
			views[id] = nil
			continue
		}
		views[id] = fromView(id, v, target, 0)
	}

	start := w.dep.StartBlock
	rewind := start
	if cur.Number >= start+w.cfg.reorgDepth {
		rewind = cur.Number - w.cfg.reorgDepth
	}
	rewind = min(rewind, target+1) // never skip blocks not yet read
	var nc cursor
	if rewind > start {
		h, err := w.header(ctx, rewind-1)
		if err != nil {
			return err
		}
		nc = cursor{Number: rewind - 1, Hash: h.Hash()}
	}
	again, err := w.header(ctx, target)
	if err != nil {
		return err
	}
	if again.Hash() != at.Hash() {
		return errChainMoved
	}

	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	changed := map[common.Hash]*entry{}
	var changes []Change
	for _, id := range ids {
		old, view := w.live(id), views[id]
		if old == nil {
			continue
		}
		if view == nil {
			changed[id] = nil
			changes = append(changes, Change{Kind: ChangeRemoved, Channel: old.ch, Block: target})
			continue
		}
		if old.after(view) {
			continue // Lookup read it later than target meanwhile
		}
		view.ch.OpenedBlock = old.ch.OpenedBlock
		changed[id] = view
		if !sameState(view.ch, old.ch) {
			changes = append(changes, Change{Kind: ChangeRefreshed, Channel: view.ch, Block: target})
		}
	}
	if err := w.commit(ctx, changed, nc, changes); err != nil {
		return err
	}
	w.reorgs.Add(1)
	w.synced.Store(false)
	w.log.Info("channels read again after a reorganisation",
		"channels", len(ids), "changed", len(changes), "rewound_to", rewind, "confirmed", target)
	return nil
}

func (w *Watcher) getChannel(ctx context.Context, id common.Hash, block *big.Int) (channelView, error) {
	to := w.dep.PaymentChannels
	out, err := w.backend.CallContract(ctx, ethereum.CallMsg{To: &to, Data: w.dec.pc.PackGetChannel(id)}, block)
	if err != nil {
		return channelView{}, fmt.Errorf("getChannel(%s) at %v: %w", id, blockArg(block), err)
	}
	v, err := w.dec.pc.UnpackGetChannel(out)
	if err != nil {
		return channelView{}, fmt.Errorf("getChannel(%s) at %v: %w", id, blockArg(block), err)
	}
	return v, nil
}

func blockArg(b *big.Int) string {
	if b == nil {
		return "latest"
	}
	return b.String()
}
