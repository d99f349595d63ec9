package agent

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/node/wire"
)

// Code is a stable error code of the SDK. The SDK's own codes are below;
// an error the node answered carries the node's wire code (see
// docs/protocol.md), converted, so that callers branch on one type.
type Code string

// The SDK's own codes. They never collide with the wire protocol's.
const (
	// Discovery.
	CodeNoOffer Code = "no_offer" // no offer matches the filter: model, asset, price, provider
	// Budget (the mandate): the job was refused before anything was signed.
	CodeBudgetPerJob       Code = "budget_per_job"       // the job's max cost is above the per-job limit
	CodeBudgetTotal        Code = "budget_total"         // the job would take spending past the total cap
	CodeBudgetPerHour      Code = "budget_per_hour"      // the job would take the last hour's spending past the hourly cap
	CodeProviderNotAllowed Code = "provider_not_allowed" // the mandate does not allow paying this provider
	CodeAssetNotAllowed    Code = "asset_not_allowed"    // the mandate does not allow paying in this asset
	// Paying.
	CodeBadJob          Code = "bad_job"            // the job is malformed before it is sent (no messages, max_tokens above the offer's, a bad id)
	CodeBadReceipt      Code = "bad_receipt"        // a receipt failed verification; its provider is now untrusted
	CodeUntrusted       Code = "untrusted_provider" // the provider signed a receipt that did not add up; the SDK pays it no more
	CodeWrongNode       Code = "wrong_node"         // the node's challenge names another provider, chain or contract than the offer's
	CodeUnreachable     Code = "unreachable"        // the node could not be reached (after the reconnect attempts)
	CodeClosed          Code = "closed"             // the client was closed
	CodeProtocol        Code = "protocol"           // the node sent something the protocol does not allow
	CodeRetriesSpent    Code = "retries_spent"      // a retryable error persisted past the retry attempts
	CodeBadAmount       Code = "bad_amount"         // an amount does not parse
	CodeChannel         Code = "channel"            // a channel operation on chain failed
	CodeChannelClosed   Code = "channel_closed"     // the channel is closed or being withdrawn
	CodeChannelTooSmall Code = "channel_too_small"  // the channel's remaining deposit cannot pay for the job; top up
	CodeNoChannel       Code = "no_channel"         // the payer has no open channel to the provider in the asset, and none was to be opened
	// CodeUnaccountedCharge: the node's account of the channel (a sync
	// answer) claims more than the agent's receipts, vouchers and gap
	// credit account for, or contradicts its receipts; the provider is now
	// untrusted (docs/protocol.md, "Resync").
	CodeUnaccountedCharge Code = "unaccounted_charge"
	CodeStore             Code = "store" // the receipt store could not record a voucher before it was sent; nothing was sent
)

// Error is the SDK's error: an operation, a stable code and a cause. For an
// error the node answered, Code is the wire code and Err the *wire.Error,
// so errors.As(err, new(*wire.Error)) finds it.
type Error struct {
	Op      string // "submit", "discover", "open", …
	Code    Code
	JobID   string // the job concerned, if any
	Message string
	// Retryable tells whether the same call may succeed later.
	Retryable bool
	Err       error
}

func (e *Error) Error() string {
	s := "agent: " + e.Op
	if e.JobID != "" {
		s += fmt.Sprintf(" job %q", e.JobID)
	}
	s += ": " + string(e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil && e.Message == "" {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code of the first *Error or *wire.Error in err's
// chain, or "" for any other error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Code(wire.CodeOf(err))
}

func errorf(op string, code Code, format string, args ...any) *Error {
	return &Error{Op: op, Code: code, Message: fmt.Sprintf(format, args...)}
}

// remoteError wraps an error the node answered.
func remoteError(op, jobID string, we *wire.Error) *Error {
	return &Error{Op: op, Code: Code(we.Code), JobID: jobID, Message: we.Message, Retryable: we.Retryable, Err: we}
}

// ErrUntrusted is wrapped by every error that refuses to pay an untrusted
// provider.
var ErrUntrusted = errors.New("provider untrusted")

// BudgetError says which limit of a Budget refused a job, and by how much.
// It is the Err of an *Error whose Code is one of the budget codes.
type BudgetError struct {
	Code     Code
	Asset    common.Address
	Provider common.Address
	// Limit is the limit that refused (nil for the allow lists); Spent what
	// counts against it already (settled costs and the max cost of jobs in
	// flight); Need the job's max cost.
	Limit, Spent, Need *big.Int
}

func (e *BudgetError) Error() string {
	switch e.Code {
	case CodeProviderNotAllowed:
		return fmt.Sprintf("provider %s is not in the mandate's allowed providers", e.Provider)
	case CodeAssetNotAllowed:
		return fmt.Sprintf("asset %s is not in the mandate's allowed assets", assetName(e.Asset))
	case CodeBudgetPerJob:
		return fmt.Sprintf("the job's max cost %s is above the per-job limit %s", e.Need, e.Limit)
	case CodeBudgetTotal:
		return fmt.Sprintf("spent %s of the total cap %s; the job's max cost %s would pass it", e.Spent, e.Limit, e.Need)
	case CodeBudgetPerHour:
		return fmt.Sprintf("spent %s in the last hour of the hourly cap %s; the job's max cost %s would pass it", e.Spent, e.Limit, e.Need)
	}
	return string(e.Code)
}

func assetName(a common.Address) string {
	if a == (common.Address{}) {
		return "ETH"
	}
	return a.Hex()
}

// ChargeError is a node's account of a channel (its answer to sync) that
// the agent refused: beyond the agent's own jobs in flight, it claims more
// than the highest voucher the agent signed and more than the agent's
// receipts plus its gap credit (docs/protocol.md, "Resync"). It is the
// Err, joined with ErrUntrusted, of an *Error whose Code is
// CodeUnaccountedCharge.
type ChargeError struct {
	Channel common.Hash
	// The node's figures: charged at receipt seq Seq, and reserved for
	// the jobs in flight on the channel.
	Seq               uint64
	Charged, Reserved *big.Int
	// The agent's: the max cost of its own jobs in flight, the highest
	// voucher it signed, the costs of the receipts it holds and its gap
	// credit; Bound = max(Signed, Costs + Credit).
	InFlight, Signed, Costs, Credit, Bound *big.Int
}

func (e *ChargeError) Error() string {
	over := new(big.Int).Add(e.Charged, e.Reserved)
	over.Sub(over, e.InFlight)
	over.Sub(over, e.Bound)
	return fmt.Sprintf("the node says channel %s was charged %s by receipt seq %d, with %s reserved; beyond the %s of this agent's own jobs in flight that is %s more than it can account for: the highest voucher it signed is %s, its receipts cost %s and its gap credit is %s",
		e.Channel, e.Charged, e.Seq, e.Reserved, e.InFlight, over, e.Signed, e.Costs, e.Credit)
}
