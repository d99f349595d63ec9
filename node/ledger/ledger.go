// Package ledger is the node's store of money state: what every payment
// channel owes the provider, the jobs reserved and charged against it, the
// receipts issued, and the settlement batches sent on chain.
//
// This package holds the domain types and the Ledger interface;
// implementations live in subpackages named after what they are built on
// (node/ledger/bolt, the embedded default). The conformance suite in
// node/ledger/ledgertest runs against every implementation.
//
// # Money
//
// Amounts are *big.Int in the asset's base unit, never negative and never
// above 2²⁵⁶−1 (they go on chain as uint256). Values passed in are copied;
// values returned are the caller's to keep.
//
// A channel's money moves like this:
//
//	Reserve  job → reserved     Reserved += MaxCost
//	Charge   reserved → charged Reserved −= MaxCost, Charged += Cost (≤ MaxCost), one receipt
//	Release  reserved → released Reserved −= MaxCost
//
// so at every moment, per channel, Charged = Σ cost of its charged jobs =
// Σ cost of its receipts = the last receipt's CumulativeCharged, and
// Reserved = Σ MaxCost of its reserved jobs. Receipts are numbered 1, 2, 3…
// per channel without gaps.
//
// # Durability
//
// Every write returns nil only once it is on disk (fsync'd): after a crash
// every acknowledged operation is there, and a read sees every write that
// returned before the read began. The one exception is asked for: a
// Reserve with NoWait returns before its commit, and is on disk, and seen
// by reads, once any write submitted after it has returned. Writes are
// atomic: an operation that fails changes nothing.
//
// Writes apply in the order they reach the store: a write never overtakes
// one submitted before it, so the writes of one channel apply in the order
// they were submitted.
//
// # Cancellation
//
// A write whose context is already done when it is called is not applied
// and returns the context's error. A write whose context ends after the
// write was handed to the store is not lost nor half-applied: it still
// takes effect (or fails) as a whole, while the call returns at once with
// an error that matches both ErrOutcomeUnknown and the context's error;
// the caller learns the outcome by reading (Job, Channel). Reserve is
// idempotent on (channel, job id), so retrying it is always safe.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
)

// MaxJobIDLen is the longest job id the ledger takes, in bytes.
const MaxJobIDLen = 128

// Errors. Implementations wrap them (usually in an *Error) so callers test
// them with errors.Is.
var (
	// ErrNotFound: no such job, receipt or batch.
	ErrNotFound = errors.New("not found")
	// ErrJobExists: Reserve of a (channel, job id) already taken; the
	// existing job is returned with it.
	ErrJobExists = errors.New("job exists")
	// ErrJobState: the job is not in a state that allows the operation
	// (charging a job that is not reserved, releasing a charged job).
	ErrJobState = errors.New("wrong job state")
	// ErrBatchState: UpdateBatch of a confirmed batch.
	ErrBatchState = errors.New("wrong batch state")
	// ErrInvalid: an argument is malformed: a job id outside 1..128
	// bytes, a negative or oversized amount, a cost above the job's max
	// cost, a receipt that does not match the charge.
	ErrInvalid = errors.New("invalid argument")
	// ErrInsufficient: Reserve with a Limit that the channel's charged,
	// reserved and this job's max cost would exceed.
	ErrInsufficient = errors.New("insufficient funds")
	// ErrOutcomeUnknown: the caller's context ended while its write was
	// queued or being committed; the write still takes effect or fails as
	// a whole. Read back to learn which.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrClosed: the ledger is closed.
	ErrClosed = errors.New("ledger closed")
	// ErrFailed: a commit failed at the storage layer; the store refuses
	// further writes, since it cannot tell what reached the disk. Close
	// it and open it again.
	ErrFailed = errors.New("ledger failed")
)

// Error is the error every ledger operation returns: the operation's name
// and the cause, usually one of the sentinels above.
type Error struct {
	Op  string // "reserve", "charge", "release", "channel", ...
	Err error
}

func (e *Error) Error() string { return "ledger: " + e.Op + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error for op whose cause is sentinel, with detail.
func Errorf(op string, sentinel error, format string, args ...any) error {
	return &Error{Op: op, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// Voucher is a channel signer's EIP-712 voucher for a cumulative amount
// (contracts.Voucher), as the ledger keeps it: the amount and the 65-byte
// signature.
type Voucher struct {
	Amount    *big.Int
	Signature []byte
}

// ChannelState is the node's view of one channel's money.
type ChannelState struct {
	ID common.Hash
	// Charged is the sum of the costs of every charged job.
	Charged *big.Int
	// Reserved is the sum of the max costs of the jobs in flight.
	Reserved *big.Int
	// Voucher is the highest voucher accepted on the channel.
	Voucher Voucher
	// ReceiptSeq is the number of receipts issued: the last one's Seq.
	ReceiptSeq uint64
	// Claimed is the cumulative amount claimed on chain, by confirmed
	// batches.
	Claimed *big.Int
	// SettledSeq is the last receipt covered by a confirmed claim.
	SettledSeq uint64
}

// JobState is where a job is in its life.
type JobState uint8

const (
	JobReserved JobState = iota + 1 // max cost reserved, running
	JobCharged                      // done, cost charged, receipt issued
	JobReleased                     // failed or cancelled, never charged
)

func (s JobState) String() string {
	switch s {
	case JobReserved:
		return "reserved"
	case JobCharged:
		return "charged"
	case JobReleased:
		return "released"
	}
	return fmt.Sprintf("JobState(%d)", uint8(s))
}

// Job is one paid job. (ChannelID, ID) is its key and an idempotency key:
// a job id is reserved at most once per channel.
type Job struct {
	ChannelID common.Hash
	ID        string // the agent's job id, 1..MaxJobIDLen bytes
	BodyHash  common.Hash
	MaxCost   *big.Int
	State     JobState
	Cost      *big.Int // zero unless charged
	Receipt   *Receipt // nil unless charged
	FailCode  string   // why it was released
	Created   time.Time
}

// Receipt is a signed receipt as issued: the EIP-712 receipt, its
// sequence number in its channel (1, 2, 3…) and the provider's signature.
type Receipt struct {
	contracts.Receipt
	Seq       uint64
	Signature []byte
}

// BatchState is where a settlement batch is on chain.
type BatchState uint8

const (
	BatchPending   BatchState = iota + 1 // sent (or about to be), not mined
	BatchMined                           // mined, not yet confirmed
	BatchConfirmed                       // enough confirmations; claims applied
	BatchFailed                          // reverted or abandoned
)

func (s BatchState) String() string {
	switch s {
	case BatchPending:
		return "pending"
	case BatchMined:
		return "mined"
	case BatchConfirmed:
		return "confirmed"
	case BatchFailed:
		return "failed"
	}
	return fmt.Sprintf("BatchState(%d)", uint8(s))
}

// Claim is one channel's claim in a batch.
type Claim struct {
	ChannelID     common.Hash
	Amount        *big.Int // the new cumulative claimed
	VoucherAmount *big.Int
	VoucherSig    []byte
	ReceiptsRoot  common.Hash
	FromSeq       uint64 // receipts FromSeq..ToSeq are settled by this claim
	ToSeq         uint64
}

// Batch is one claimMany transaction, with every transaction sent for it
// (replacements at the same nonce included).
type Batch struct {
	ID       uint64
	Claims   []Claim
	Nonce    uint64
	TxHashes []common.Hash
	State    BatchState
	Block    uint64
	GasUsed  uint64
}

// ReserveOp reserves a job's max cost.
type ReserveOp struct {
	// Job is stored as given, with State set to JobReserved, Cost to zero,
	// Receipt and FailCode cleared and Created set to now when zero.
	Job Job
	// Voucher, when its Amount is non-nil, is stored as the channel's
	// voucher if it is higher than the one stored (never lowering it).
	Voucher Voucher
	// Limit, when non-nil, is the most the channel may owe with this job
	// reserved: unless Charged + Reserved + Job.MaxCost ≤ Limit the
	// reserve fails with ErrInsufficient and changes nothing. Pass
	// min(voucher amount, deposit) to make the check and the reservation
	// one atomic step, so concurrent jobs cannot over-commit a channel.
	Limit *big.Int
	// Cap, when non-nil, bounds the channel by its highest voucher:
	// unless Charged + Reserved + Job.MaxCost ≤ min(Cap, the greater of
	// Voucher.Amount and the voucher stored) the reserve fails with
	// ErrInsufficient and changes nothing. Pass the deposit. Vouchers are
	// cumulative, so the highest one the channel has given covers every
	// job up to it: a job whose own voucher was overtaken by a later job's
	// (the two reached the node out of order) is still paid for.
	Cap *big.Int
	// NoWait returns as soon as the reservation is applied — ordered
	// before every later write and seen by them — without waiting for it
	// to reach the disk. It reaches the disk with the next commit: that
	// of the next write that waits, or a few milliseconds later. Reads
	// see it once it is on disk. A crash before then loses the
	// reservation and its voucher, and nothing else: every later write,
	// the job's Charge first of all, is committed with it or after it, so
	// a charge that returned never relies on a voucher that was lost.
	NoWait bool
}

// ChargeOp charges a reserved job its actual cost and records its receipt.
type ChargeOp struct {
	ChannelID common.Hash
	JobID     string
	Cost      *big.Int
	// Receipt is the job's receipt; its Seq is assigned by the ledger.
	// Either it is complete — its ChannelID is ChannelID, its Cost equals
	// Cost and its CumulativeCharged is the channel's Charged after this
	// charge — or its CumulativeCharged is nil, and the ledger fills in
	// ChannelID, Cost and CumulativeCharged inside the write, so callers
	// need not serialize the charges of a channel to know its running
	// total.
	//
	// The ledger stores Receipt.Signature as given, empty included: a
	// receipt's signature is not money state but a function of its fields
	// and the provider's key. The payment check signs the receipt the
	// charge returns, outside the ledger's write, and signs a stored
	// receipt again when it hands it out once more (go-ethereum's ECDSA
	// signatures are deterministic, RFC 6979, so the bytes are the same).
	Receipt Receipt
}

// Ledger is the node's money store. Every method is safe for concurrent
// use. Writes are durable and atomic when they return nil; see the
// package doc for cancellation.
type Ledger interface {
	// Reserve stores a new reserved job and adds its max cost to the
	// channel's Reserved, atomically. If the (channel, job id) exists it
	// returns the existing job and ErrJobExists and changes nothing; the
	// job id is looked up before Limit and Cap are checked, so a
	// resubmission is told so even when its voucher no longer covers.
	Reserve(ctx context.Context, op ReserveOp) (*Job, error)
	// Charge moves a reserved job to charged: Reserved −= MaxCost,
	// Charged += Cost, ReceiptSeq++, and stores the receipt under the new
	// ReceiptSeq. It returns the receipt as stored. ErrNotFound for an
	// unknown job, ErrJobState unless reserved, ErrInvalid when the cost
	// exceeds the max cost or the receipt does not match.
	Charge(ctx context.Context, op ChargeOp) (*Receipt, error)
	// Release moves a reserved job to released, Reserved −= MaxCost.
	// Releasing a released job is a no-op; releasing a charged job is
	// ErrJobState; an unknown job is ErrNotFound.
	Release(ctx context.Context, channelID common.Hash, jobID, failCode string) error

	// Channel returns a channel's state; a channel never seen is the zero
	// state (zero amounts, not nil), not an error.
	Channel(ctx context.Context, id common.Hash) (ChannelState, error)
	// Channels returns every channel the ledger knows, by id.
	Channels(ctx context.Context) ([]ChannelState, error)
	// Job returns a job, with its receipt if charged, or ErrNotFound.
	Job(ctx context.Context, channelID common.Hash, jobID string) (*Job, error)
	// Jobs returns every job of a channel, by job id.
	Jobs(ctx context.Context, channelID common.Hash) ([]Job, error)
	// ReservedJobs returns every job still reserved, of every channel:
	// after a crash, the jobs to release.
	ReservedJobs(ctx context.Context) ([]Job, error)
	// Receipts returns a channel's receipts with fromSeq ≤ Seq ≤ toSeq,
	// in order; empty when fromSeq > toSeq.
	Receipts(ctx context.Context, channelID common.Hash, fromSeq, toSeq uint64) ([]Receipt, error)
	// Receipt returns a charged job's receipt, or ErrNotFound.
	Receipt(ctx context.Context, channelID common.Hash, jobID string) (*Receipt, error)

	// AddBatch stores a new batch (pending when its State is zero) and
	// returns the id it assigned: 1, 2, 3…
	AddBatch(ctx context.Context, b Batch) (uint64, error)
	// UpdateBatch replaces a stored batch. ErrNotFound for an unknown id;
	// ErrBatchState for a confirmed batch; ErrInvalid for a batch set to
	// confirmed (use ConfirmClaims).
	UpdateBatch(ctx context.Context, b Batch) error
	// Batches returns the batches in any of states (all when none), by id.
	Batches(ctx context.Context, states ...BatchState) ([]Batch, error)
	// ConfirmClaims marks a batch confirmed at block with gasUsed, whatever
	// its state (the chain is the authority), and, for each of its claims,
	// raises the channel's Claimed to the claim's Amount and SettledSeq to
	// its ToSeq (never lowering them), atomically. ErrNotFound for an
	// unknown batch. Confirming a confirmed batch again is harmless.
	ConfirmClaims(ctx context.Context, batchID, block, gasUsed uint64) error

	// GetMeta returns the value under key, or nil and ErrNotFound.
	GetMeta(ctx context.Context, key string) ([]byte, error)
	// PutMeta stores value under key; a nil value deletes the key.
	PutMeta(ctx context.Context, key string, value []byte) error
	// PutMetas stores every key of kv atomically; nil values delete.
	PutMetas(ctx context.Context, kv map[string][]byte) error

	// Close applies the writes already queued, then closes the store.
	Close(ctx context.Context) error
}

// CheckAmount reports whether x is a valid amount: non-nil, ≥ 0 and
// < 2²⁵⁶.
func CheckAmount(x *big.Int) bool {
	return x != nil && x.Sign() >= 0 && x.BitLen() <= 256
}

// CheckJobID reports whether id is a valid job id.
func CheckJobID(id string) bool { return len(id) >= 1 && len(id) <= MaxJobIDLen }
