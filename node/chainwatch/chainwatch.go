// Package chainwatch follows the PaymentChannels contract and keeps the
// on-chain state of every channel whose provider is this node: deposit,
// claimed total, withdrawal request and close, as of a confirmed block.
//
// # Following the chain
//
// [Watcher.Run] reads the contract's events with eth_getLogs in ranges of at
// most [Watcher.MaxRange] blocks, from the deployment's start block up to the
// confirmed head, head − ([Watcher.Confirmations] − 1). It asks for the
// ChannelOpened events naming this provider (topic 3) and for every
// ChannelToppedUp, Claimed, WithdrawalRequested and Withdrawn event, and keeps
// the latter only for channels it knows. Where the RPC supports subscriptions
// (WebSocket) a log subscription wakes it as soon as the contract emits
// anything; it polls every [Watcher.PollInterval] in any case, since a block
// that confirms earlier events carries no event of its own.
//
// Each event carries the channel's new absolute state (the new deposit, the
// new claimed total, the withdrawal time), and each channel remembers the
// position (block, log index) of the last event applied to it; an event at or
// before that position is skipped. So every event is applied exactly once,
// even when a range is read again.
//
// # Persistence
//
// After each range the watcher writes, in one atomic [Store.PutMetas], the
// cursor (the last block fully processed and its hash) with the channels
// that range changed. A restarted watcher loads them and resumes after the
// cursor; it never reads the history again.
//
// # Reorganisations
//
// Before applying a range the watcher checks that the first block of the
// range still has the cursor block as its parent (and, when idle, that the
// cursor block is still canonical). When it is not, the chain was reorganised
// below the cursor: the watcher reads every known channel again with the
// getChannel view at the confirmed head (channels whose opening is no longer
// on the chain are removed), moves the cursor back [Watcher.ReorgDepth]
// blocks, and reads that stretch again to discover channels opened on the new
// branch; events of the refreshed channels up to the confirmed head are
// skipped by the position rule above. A reorganisation deeper than
// ReorgDepth leaves known channels correct but may miss a channel opened in
// the replaced stretch until [Watcher.Lookup] finds it.
//
// # Unknown or not yet confirmed
//
// [Watcher.Channel] answers from memory only, without a lock or a copy: the
// watcher replaces a channel's snapshot on every change and never modifies
// one, so readers share snapshots, amounts included (see [Channel]). [Watcher.Lookup] is for a
// payment check that meets a channel id the watcher does not know: it reads
// getChannel at the confirmed head and, when the channel is there and ours,
// adopts it at once; when it is only at the latest block it returns
// [ErrNotConfirmed] (retryable: the deposit is not confirmed yet); otherwise
// [ErrUnknownChannel]. Both answers are remembered per id for
// [Watcher.LookupInterval], so a client that retries, or one that sends a made
// up id, costs at most one or two eth_call per id and interval.
package chainwatch

import (
	"context"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Errors of [Watcher.Lookup].
var (
	// ErrUnknownChannel: no channel with this id has this node as its
	// provider, not even at the latest block.
	ErrUnknownChannel = errors.New("chainwatch: unknown channel")
	// ErrNotConfirmed: the channel exists at the latest block but not yet at
	// the confirmed head. Retry after a block or two.
	ErrNotConfirmed = errors.New("chainwatch: channel not yet confirmed")
	// ErrWrongProvider: the channel exists but pays another provider. It
	// comes wrapped together with ErrUnknownChannel, which it refines.
	ErrWrongProvider = errors.New("chainwatch: channel of another provider")
)

// Channel is one payment channel's on-chain state as of UpdatedBlock.
// Amounts are in the asset's base unit.
//
// A Channel handed out by the watcher ([Watcher.Channel], [Watcher.Lookup],
// [Watcher.Channels], [Change]) is a snapshot the caller may keep, but its
// Deposit and Claimed are shared with the watcher and every other reader:
// the watcher never modifies them, it replaces them on a change, and the
// caller must not modify them either. [Channel.Clone] makes amounts of the
// caller's own.
type Channel struct {
	ID       common.Hash
	Payer    common.Address // funds the channel and receives the refund
	Provider common.Address
	Signer   common.Address // signs the vouchers
	Asset    common.Address // the zero address is native ETH
	Deposit  *big.Int
	Claimed  *big.Int // cumulative amount claimed by the provider
	// WithdrawableAt is the unix time from which the payer may take back
	// what was not claimed; 0 when no withdrawal was requested.
	WithdrawableAt uint64
	Closed         bool // the withdrawal was finalized; nothing is left
	// OpenedBlock is the block of the ChannelOpened event; 0 when the
	// channel was learned from the getChannel view, which does not say.
	OpenedBlock uint64
	// UpdatedBlock is the block of the last change applied, or the block
	// the getChannel view was read at.
	UpdatedBlock uint64
}

// Clone returns a deep copy of c.
func (c Channel) Clone() Channel {
	if c.Deposit != nil {
		c.Deposit = new(big.Int).Set(c.Deposit)
	}
	if c.Claimed != nil {
		c.Claimed = new(big.Int).Set(c.Claimed)
	}
	return c
}

// ChangeKind says what changed a channel.
type ChangeKind uint8

// Kinds of [Change]. The first five are the contract's events; the others
// come from the getChannel view.
const (
	ChangeOpened ChangeKind = iota + 1
	ChangeToppedUp
	ChangeClaimed
	ChangeWithdrawalRequested
	ChangeWithdrawn
	// ChangeRefreshed: the state was read from the getChannel view, after a
	// reorganisation or by [Watcher.Lookup] for a channel not seen before.
	ChangeRefreshed
	// ChangeRemoved: a reorganisation took the channel's opening off the
	// chain. Change.Channel is the last state known.
	ChangeRemoved
)

func (k ChangeKind) String() string {
	switch k {
	case ChangeOpened:
		return "opened"
	case ChangeToppedUp:
		return "topped-up"
	case ChangeClaimed:
		return "claimed"
	case ChangeWithdrawalRequested:
		return "withdrawal-requested"
	case ChangeWithdrawn:
		return "withdrawn"
	case ChangeRefreshed:
		return "refreshed"
	case ChangeRemoved:
		return "removed"
	}
	return "unknown"
}

// Change is one change of a channel, delivered by [Watcher.Subscribe] after
// it is stored and visible to the readers.
type Change struct {
	Kind    ChangeKind
	Channel Channel     // the state after the change
	Block   uint64      // the event's block, or the block the view was read at
	TxHash  common.Hash // the event's transaction; zero for a view
}

// HeaderReader reads block headers; *ethclient.Client is one.
type HeaderReader interface {
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
}

// Backend is what the watcher asks of a chain: the head, headers (to detect
// reorganisations), logs (read, and subscribed to where the RPC can), and
// eth_call for the getChannel view. *ethclient.Client is one, over HTTP or
// WebSocket.
type Backend interface {
	ethereum.BlockNumberReader
	HeaderReader
	ethereum.LogFilterer
	ethereum.ContractCaller
}

// Store keeps the watcher's cursor and channel snapshots. The node's ledger
// implements it; [MemStore] is an in-memory one. Every key the watcher uses
// starts with "chainwatch/", then the chain id, the contract and the
// provider, so several deployments or keys can share one store.
type Store interface {
	// LoadMeta returns the value stored under key, or nil, nil when there is
	// none.
	LoadMeta(ctx context.Context, key string) ([]byte, error)
	// PutMetas stores every key and value of metas atomically: after a
	// crash either all of them are there or none. Values are never nil.
	PutMetas(ctx context.Context, metas map[string][]byte) error
}

// Stats are the watcher's counters and gauges, for metrics and /status.
type Stats struct {
	ChainHead  uint64 // the latest block number the RPC reported
	Confirmed  uint64 // ChainHead − (Confirmations − 1)
	Processed  uint64 // the last block whose events are applied; see [Watcher.Head]
	Lag        uint64 // Confirmed − Processed
	Synced     bool   // see [Watcher.Synced]
	Subscribed bool   // a log subscription is live (else polling only)
	Channels   int    // channels known

	RPCErrors   uint64 // failed chain calls
	StoreErrors uint64 // failed store writes
	Reorgs      uint64 // reorganisations detected below the cursor
	Ranges      uint64 // block ranges read and applied
	Events      uint64 // events applied to channel state
	BadEvents   uint64 // logs of the contract that did not decode
	Lookups     uint64 // Lookup calls that missed the cache and asked the chain
}
