package chainwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts/bindings"
)

// viewIndex is the log index of a state read from the getChannel view: it
// covers every event of its block.
const viewIndex = math.MaxUint32

// entry is one channel as the watcher holds it. Entries are never modified
// once published, nor are the amounts they point to: a change replaces the
// entry, so readers share entries, amounts included, without a lock or a
// copy.
type entry struct {
	ch Channel
	// logIndex is the index, in ch.UpdatedBlock, of the last event applied,
	// or viewIndex. Together they are the channel's position: an event at or
	// before it is already part of the state.
	logIndex uint
}

// covers reports whether the event at (block, index) is already part of e.
func (e *entry) covers(block uint64, index uint) bool {
	return block < e.ch.UpdatedBlock || block == e.ch.UpdatedBlock && index <= e.logIndex
}

// after reports whether e's position is later than o's.
func (e *entry) after(o *entry) bool {
	return !o.covers(e.ch.UpdatedBlock, e.logIndex)
}

// next is e with ev, found at (block, index), applied. e is nil for an
// opening.
func next(e *entry, ev event, block uint64, index uint) *entry {
	var ch Channel
	if e != nil {
		ch = e.ch
	}
	switch ev.kind {
	case ChangeOpened:
		ch = Channel{
			ID: ev.id, Payer: ev.payer, Provider: ev.provider, Signer: ev.signer, Asset: ev.asset,
			Deposit: ev.amount, Claimed: new(big.Int), OpenedBlock: block,
		}
	case ChangeToppedUp:
		ch.Deposit = ev.amount
	case ChangeClaimed:
		ch.Claimed = ev.amount
	case ChangeWithdrawalRequested:
		ch.WithdrawableAt = ev.withdrawableAt
	case ChangeWithdrawn:
		ch.Closed = true
	}
	ch.UpdatedBlock = block
	return &entry{ch: ch, logIndex: index}
}

// channelView is what the getChannel view returns.
type channelView = bindings.PaymentChannelsChannel

// fromView is the channel id as the getChannel view read at block shows it.
func fromView(id common.Hash, v channelView, block, openedBlock uint64) *entry {
	deposit, claimed := v.Deposit, v.Claimed
	if deposit == nil {
		deposit = new(big.Int)
	}
	if claimed == nil {
		claimed = new(big.Int)
	}
	return &entry{
		ch: Channel{
			ID: id, Payer: v.Payer, Provider: v.Provider, Signer: v.Signer, Asset: v.Asset,
			Deposit: new(big.Int).Set(deposit), Claimed: new(big.Int).Set(claimed),
			WithdrawableAt: v.WithdrawableAt, Closed: v.Closed,
			OpenedBlock: openedBlock, UpdatedBlock: block,
		},
		logIndex: viewIndex,
	}
}

// sameState reports whether a and b hold the same on-chain state, whatever
// block they were read at.
func sameState(a, b Channel) bool {
	return a.Payer == b.Payer && a.Provider == b.Provider && a.Signer == b.Signer && a.Asset == b.Asset &&
		a.Deposit.Cmp(b.Deposit) == 0 && a.Claimed.Cmp(b.Claimed) == 0 &&
		a.WithdrawableAt == b.WithdrawableAt && a.Closed == b.Closed
}

// cursor is the last block fully processed. A zero hash means none yet: the
// next block to read is the deployment's start block.
type cursor struct {
	Number uint64
	Hash   common.Hash
}

func (c cursor) set() bool { return c.Hash != (common.Hash{}) }

// ---------------------------------------------------------------- storage

// Layout in the store, under a prefix naming the chain, the contract and the
// provider (so a changed deployment or key starts afresh):
//
//	cursor          JSON cursorRecord: the cursor and the number of ids in the index
//	index/NNNNNN    page NNNNNN of the index: up to indexPage channel ids, 32 bytes each
//	channel/<id>    JSON channelRecord
//
// The store has no prefix scan, so the index says which channel keys exist.
// A new channel rewrites only the last page.
const (
	storeVersion = 1
	indexPage    = 1024
)

type keyspace struct{ prefix string }

func newKeyspace(chainID uint64, contract, provider common.Address) keyspace {
	return keyspace{prefix: fmt.Sprintf("chainwatch/%d/%s/%s/", chainID, contract.Hex(), provider.Hex())}
}

func (k keyspace) cursor() string                { return k.prefix + "cursor" }
func (k keyspace) page(n int) string             { return fmt.Sprintf("%sindex/%06d", k.prefix, n) }
func (k keyspace) channel(id common.Hash) string { return k.prefix + "channel/" + id.Hex() }

type cursorRecord struct {
	Version  int         `json:"version"`
	Block    uint64      `json:"block"`
	Hash     common.Hash `json:"hash"` // zero: nothing processed yet
	Channels int         `json:"channels"`
}

// channelRecord is a stored channel. Amounts are decimal strings of base
// units, as everywhere in paynode's JSON.
type channelRecord struct {
	Payer          common.Address `json:"payer"`
	Provider       common.Address `json:"provider"`
	Signer         common.Address `json:"signer"`
	Asset          common.Address `json:"asset"`
	Deposit        string         `json:"deposit"`
	Claimed        string         `json:"claimed"`
	WithdrawableAt uint64         `json:"withdrawableAt,omitempty"`
	Closed         bool           `json:"closed,omitempty"`
	OpenedBlock    uint64         `json:"openedBlock"`
	UpdatedBlock   uint64         `json:"updatedBlock"`
	LogIndex       uint           `json:"logIndex"`
	// Removed marks a channel a reorganisation took off the chain; its id
	// stays in the index.
	Removed bool `json:"removed,omitempty"`
}

func encodeEntry(e *entry) []byte {
	var r channelRecord
	if e == nil {
		r.Removed = true
		r.Deposit, r.Claimed = "0", "0"
	} else {
		r = channelRecord{
			Payer: e.ch.Payer, Provider: e.ch.Provider, Signer: e.ch.Signer, Asset: e.ch.Asset,
			Deposit: e.ch.Deposit.String(), Claimed: e.ch.Claimed.String(),
			WithdrawableAt: e.ch.WithdrawableAt, Closed: e.ch.Closed,
			OpenedBlock: e.ch.OpenedBlock, UpdatedBlock: e.ch.UpdatedBlock, LogIndex: e.logIndex,
		}
	}
	raw, err := json.Marshal(r)
	if err != nil {
		panic(err) // plain fields only
	}
	return raw
}

var errCorrupt = errors.New("chainwatch: stored state is corrupt")

func decodeAmount(s string) (*big.Int, error) {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || v.Sign() < 0 {
		return nil, fmt.Errorf("bad amount %q", s)
	}
	return v, nil
}

func decodeEntry(id common.Hash, raw []byte) (*entry, error) {
	var r channelRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	if r.Removed {
		return nil, nil
	}
	deposit, err := decodeAmount(r.Deposit)
	if err != nil {
		return nil, err
	}
	claimed, err := decodeAmount(r.Claimed)
	if err != nil {
		return nil, err
	}
	return &entry{
		ch: Channel{
			ID: id, Payer: r.Payer, Provider: r.Provider, Signer: r.Signer, Asset: r.Asset,
			Deposit: deposit, Claimed: claimed, WithdrawableAt: r.WithdrawableAt, Closed: r.Closed,
			OpenedBlock: r.OpenedBlock, UpdatedBlock: r.UpdatedBlock,
		},
		logIndex: r.LogIndex,
	}, nil
}

// load reads the cursor and every channel from the store into w. It runs
// before anything else touches the state.
func (w *Watcher) load(ctx context.Context) error {
	raw, err := w.store.LoadMeta(ctx, w.keys.cursor())
	if err != nil {
		return fmt.Errorf("chainwatch: load cursor: %w", err)
	}
	if raw == nil {
		return nil
	}
	var cr cursorRecord
	if err := json.Unmarshal(raw, &cr); err != nil {
		return fmt.Errorf("%w: cursor: %v", errCorrupt, err)
	}
	if cr.Version != storeVersion {
		return fmt.Errorf("%w: cursor version %d, want %d", errCorrupt, cr.Version, storeVersion)
	}
	if cr.Channels < 0 {
		return fmt.Errorf("%w: %d channels", errCorrupt, cr.Channels)
	}
	index := make([]common.Hash, 0, cr.Channels)
	for p := 0; len(index) < cr.Channels; p++ {
		page, err := w.store.LoadMeta(ctx, w.keys.page(p))
		if err != nil {
			return fmt.Errorf("chainwatch: load index: %w", err)
		}
		want := min(indexPage, cr.Channels-len(index))
		if len(page) != want*common.HashLength {
			return fmt.Errorf("%w: index page %d holds %d bytes, want %d", errCorrupt, p, len(page), want*common.HashLength)
		}
		for i := 0; i < want; i++ {
			index = append(index, common.BytesToHash(page[i*common.HashLength:(i+1)*common.HashLength]))
		}
	}
	channels := make(map[common.Hash]*entry, len(index))
	indexed := make(map[common.Hash]struct{}, len(index))
	for _, id := range index {
		if _, dup := indexed[id]; dup {
			return fmt.Errorf("%w: channel %s twice in the index", errCorrupt, id)
		}
		indexed[id] = struct{}{}
		raw, err := w.store.LoadMeta(ctx, w.keys.channel(id))
		if err != nil {
			return fmt.Errorf("chainwatch: load channel %s: %w", id, err)
		}
		if raw == nil {
			return fmt.Errorf("%w: channel %s is in the index but not stored", errCorrupt, id)
		}
		e, err := decodeEntry(id, raw)
		if err != nil {
			return fmt.Errorf("%w: channel %s: %v", errCorrupt, id, err)
		}
		if e != nil {
			channels[id] = e
		}
	}

	w.index, w.indexed = index, indexed
	w.channels.Clear()
	for id, e := range channels {
		w.channels.Store(id, e)
	}
	w.known.Store(int64(len(channels)))
	w.mu.Lock()
	w.cursor = cursor{Number: cr.Block, Hash: cr.Hash}
	w.mu.Unlock()
	return nil
}

// storeError marks a failed store write, counted apart from RPC errors.
type storeError struct{ err error }

func (e storeError) Error() string { return "chainwatch: store: " + e.err.Error() }
func (e storeError) Unwrap() error { return e.err }

// commit stores changed (a nil entry: removed) with cur atomically, then
// publishes them to the readers (the channels, one by one, before the
// cursor) and tells the subscribers. The caller holds writeMu; nothing is
// published when the store refuses.
func (w *Watcher) commit(ctx context.Context, changed map[common.Hash]*entry, cur cursor, changes []Change) error {
	ids := make([]common.Hash, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b common.Hash) int { return bytes.Compare(a[:], b[:]) })

	metas := make(map[string][]byte, len(changed)+3)
	oldLen := len(w.index)
	for _, id := range ids {
		if _, ok := w.indexed[id]; !ok && changed[id] != nil {
			w.index = append(w.index, id)
		}
		metas[w.keys.channel(id)] = encodeEntry(changed[id])
	}
	if len(w.index) > oldLen {
		for p := oldLen / indexPage; p*indexPage < len(w.index); p++ {
			end := min((p+1)*indexPage, len(w.index))
			page := make([]byte, 0, (end-p*indexPage)*common.HashLength)
			for _, id := range w.index[p*indexPage : end] {
				page = append(page, id[:]...)
			}
			metas[w.keys.page(p)] = page
		}
	}
	raw, err := json.Marshal(cursorRecord{Version: storeVersion, Block: cur.Number, Hash: cur.Hash, Channels: len(w.index)})
	if err != nil {
		panic(err)
	}
	metas[w.keys.cursor()] = raw
	if err := w.store.PutMetas(ctx, metas); err != nil {
		w.index = w.index[:oldLen]
		return storeError{err}
	}
	for _, id := range w.index[oldLen:] {
		w.indexed[id] = struct{}{}
	}

	for id, e := range changed {
		if e == nil {
			if _, ok := w.channels.LoadAndDelete(id); ok {
				w.known.Add(-1)
			}
		} else if _, ok := w.channels.Swap(id, e); !ok {
			w.known.Add(1)
		}
	}
	w.mu.Lock()
	if cur != w.cursor {
		w.cursor = cur
		close(w.advanced)
		w.advanced = make(chan struct{})
	}
	w.mu.Unlock()
	w.notify(changes)
	return nil
}
