// Package metrics holds paynode's Prometheus collectors. Nothing here
// registers on the global registry: New takes the Registerer to use, and
// the node serves it with promhttp.HandlerFor on its metrics listener.
//
// Every method is safe for concurrent use and safe on a nil *Metrics, so
// packages that record events need no check before each call and tests may
// pass nil.
//
// Events (a job finished, a voucher refused, a connection opened) are
// pushed through methods. State that already lives elsewhere (queue
// depths, money per asset, the chain head, channels by state, settlement
// totals) is pulled at scrape time from the Sources the node sets, so it
// is never stale and never double-kept.
package metrics

import (
	"math/big"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is the node's collectors. The zero value is not usable; a nil
// *Metrics records nothing.
type Metrics struct {
	reg prometheus.Registerer
}

// BuildInfo names the running binary for paynode_build_info.
type BuildInfo struct {
	Version   string
	GoVersion string
	Commit    string
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer, build BuildInfo) *Metrics {
	return &Metrics{reg: reg}
}

// ---- the agent API (node/api) ----

// AgentConnected counts an agent connection opened (+1) or closed (−1).
func (m *Metrics) AgentConnected(delta int) {}

// JobAccepted records a job whose payment was accepted and that will run.
func (m *Metrics) JobAccepted(model string) {}

// JobFinished records a job that ended after it was accepted: outcome is
// "ok" or the error code it ended with (job_timeout, worker_failed, …).
// ttft is the time to its first output chunk, 0 when there was none.
func (m *Metrics) JobFinished(offer, model, outcome string, latency, ttft time.Duration) {}

// JobRefused records a submit refused before it ran: code is the error
// code sent (voucher_too_low, overloaded, unknown_model, …). Payment
// codes count as rejected vouchers too.
func (m *Metrics) JobRefused(model, code string) {}

// VoucherAccepted records a voucher that passed the payment check.
func (m *Metrics) VoucherAccepted() {}

// ---- the worker hub (node/hub) ----

// WorkerConnected counts a worker connection opened (+1) or closed (−1).
func (m *Metrics) WorkerConnected(delta int) {}

// WorkerLost records a worker that went away with jobs assigned.
func (m *Metrics) WorkerLost() {}

// ---- pulled state ----

// Sources are the functions the collectors call at scrape time. Any may be
// nil; its metrics are then absent.
type Sources struct {
	// Queues returns, per model, the jobs waiting, the jobs running and
	// the workers serving the model.
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
// status API.
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
	HeadTime  time.Time // the head block's timestamp; lag = now − HeadTime
	RPCErrors uint64    // cumulative RPC errors
}

// SettlementState is the settlement totals, cumulative since start.
type SettlementState struct {
	TxConfirmed  uint64
	TxFailed     uint64
	TxReplaced   uint64
	GasUsed      uint64
	Pending      int // batches sent and not yet confirmed
	LastSettled  time.Time
	ClaimLatency []time.Duration // new observations since the last call
}

// SetSources sets the functions the pulled metrics read.
func (m *Metrics) SetSources(s Sources) {}
