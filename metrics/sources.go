package metrics

import (
	"math/big"
	"time"
)

// Sources are the functions the collectors call at scrape time, each at
// most once a scrape. Any may be nil; its metrics are then absent. They are
// called concurrently with the node's work (and with each other), so each
// must be safe for that and quick: a scrape waits for them.
type Sources struct {
	// Queues returns, per model, the jobs waiting, the jobs running and
	// the workers serving the model. It lists every offered model, those
	// no worker serves too (Workers 0): the no-worker alert reads that.
	Queues func() []ModelQueue
	// Money returns, per asset, the value charged, unclaimed and claimed.
	Money func() []AssetMoney
	// Chain returns the chain's state as the node sees it.
	Chain func() ChainState
	// Channels returns the number of channels in each state ("open",
	// "closing", "closed").
	Channels func() map[string]int
	// Settlement returns the settlement totals.
	Settlement func() SettlementState
	// AtRisk returns the channels whose payer has requested a withdrawal
	// while the node holds value on them it has not claimed: value lost
	// unless claimed before the channel's withdrawal deadline. Only such
	// channels; none is an empty list.
	AtRisk func() []ChannelAtRisk
	// Ledger returns the ledger store's counters: how writes reach the
	// disk.
	Ledger func() LedgerState
}

// ModelQueue is one model's queue and workers.
type ModelQueue struct {
	Model   string
	Waiting int
	Running int
	Workers int
}

// AssetMoney is one asset's money in base units; the collector exports it
// in whole units (Decimals) for dashboards, the exact integers stay in the
// status API. Charged and Claimed only grow (they are exported as
// counters); a nil amount counts as zero.
type AssetMoney struct {
	Asset     string // "ETH", "TUSD", or the token's address
	Decimals  uint8
	Charged   *big.Int
	Unclaimed *big.Int // charged − claimed
	Claimed   *big.Int
}

// ChainState is what the node knows of the chain.
type ChainState struct {
	Head      uint64
	HeadTime  time.Time // the head block's timestamp; lag = now − HeadTime; zero: unknown
	RPCErrors uint64    // cumulative RPC errors
}

// SettlementState is the settlement totals, cumulative since start.
type SettlementState struct {
	TxConfirmed uint64
	TxFailed    uint64
	TxReplaced  uint64
	GasUsed     uint64
	Pending     int       // batches sent and not yet confirmed
	LastSettled time.Time // when the last batch was confirmed; zero: none yet
	// ClaimLatency holds the new observations since the last call: for
	// each confirmed batch, the time from its first transaction's send to
	// its confirmation. The source drops what it has handed out.
	ClaimLatency []time.Duration
}

// ChannelAtRisk is one channel of Sources.AtRisk. It carries no channel
// id: the metrics aggregate per asset, and the status API names the
// channels.
type ChannelAtRisk struct {
	Asset     string // as in AssetMoney
	Decimals  uint8
	Unclaimed *big.Int  // charged on the channel and not yet claimed, base units
	Deadline  time.Time // when the payer may finalize the withdrawal
}

// LedgerState is the ledger store's work since the node started: writes
// are made durable in groups, each one journal record and one sync, and
// the database file is committed at checkpoints.
type LedgerState struct {
	Writes         uint64        // writes made durable
	GroupCommits   uint64        // journal records written and synced
	SyncTime       time.Duration // spent writing and syncing journal records
	Checkpoints    uint64        // commits of the writer's transaction to the database file
	CheckpointTime time.Duration // spent in checkpoints, the writer held meanwhile
	ApplyTime      time.Duration // the writer's time applying writes
	Replayed       uint64        // journal records recovered at start (after a crash)
}
