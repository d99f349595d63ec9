package wire

import (
	"errors"
	"fmt"
)

// Code is a stable error code: the `code` of an `error` message. Codes are
// part of the protocol; clients branch on them, so a code is never renamed
// and never reused for another meaning. docs/protocol.md has the table.
type Code string

// The payment check's codes. They repeat node/payment's Code constants
// string for string, because the agent SDK may not import node/payment;
// they must stay equal, and the node side (which may import both) holds
// them so in a test. None of them charges anything, and none spends the
// job id.
const (
	CodeBadRequest          Code = "bad_request"           // a field is missing or malformed (job id, amounts)
	CodeBadSignature        Code = "bad_signature"         // the voucher signature is malformed or recovers to no key
	CodeWrongSigner         Code = "wrong_signer"          // signed by a key other than the channel's signer, or for another chain or contract
	CodeWrongDomain         Code = "wrong_domain"          // the voucher names another chain id or PaymentChannels address
	CodeVoucherTooLow       Code = "voucher_too_low"       // the highest voucher does not cover charged + in flight + this job's max cost
	CodeVoucherAboveDeposit Code = "voucher_above_deposit" // the voucher exceeds the channel's deposit; top up first
	CodeUnknownChannel      Code = "unknown_channel"       // no channel with this id is open to this provider
	CodeWrongProvider       Code = "wrong_provider"        // the channel exists but pays another provider
	CodeChannelClosing      Code = "channel_closing"       // withdrawal requested or finalized; the channel takes no more jobs
	CodeWrongAsset          Code = "wrong_asset"           // the channel's asset is not the offer's
	CodeJobConflict         Code = "job_conflict"          // the job id was used before for a different request
	CodeJobInProgress       Code = "job_in_progress"       // the job id is running now; retry to get its outcome
	CodeJobFailed           Code = "job_failed"            // the job id ran before and failed; it is not run again
	CodeDepositUnconfirmed  Code = "deposit_unconfirmed"   // the channel is on chain but not yet confirmed
	CodeUnavailable         Code = "unavailable"           // chain or store unreachable; nothing was recorded
)

// The protocol's own codes.
const (
	// Frames.
	CodeBadFrame      Code = "bad_frame"       // not a JSON object, or no usable "type"
	CodeUnknownType   Code = "unknown_type"    // a "type" this side of this connection does not take
	CodeBadField      Code = "bad_field"       // a field is missing, unknown or malformed; Error.Field names it
	CodeFrameTooLarge Code = "frame_too_large" // the frame exceeds max_frame_bytes; it was not read
	// Connections.
	CodeNotAuthenticated   Code = "not_authenticated"    // a submit or sync before ready
	CodeAuthFailed         Code = "auth_failed"          // the hello's signature does not prove the signer, or it came too late; the node closes
	CodeTooManyConnections Code = "too_many_connections" // the signer has max_connections_per_signer open already; the node closes
	CodeUnexpectedMessage  Code = "unexpected_message"   // a well-formed message out of turn: a second hello or register, a worker message before register
	CodeShuttingDown       Code = "shutting_down"        // the node is stopping; connect again later (or elsewhere)
	// Jobs.
	CodeTooManyJobs   Code = "too_many_jobs"  // the connection has max_jobs_in_flight jobs running
	CodeUnknownModel  Code = "unknown_model"  // no offer or worker for the model or offer id
	CodeUnknownJob    Code = "unknown_job"    // a cancel (or a worker's chunk, done, fail) names no job in flight; nothing happened
	CodeOverloaded    Code = "overloaded"     // no worker capacity now; see retry_after_ms
	CodeJobTimeout    Code = "job_timeout"    // the job ran past the node's time limit; not charged
	CodeCancelled     Code = "cancelled"      // the job was cancelled by its agent; not charged
	CodeWorkerFailed  Code = "worker_failed"  // the worker failed or went away; not charged
	CodeUpstreamError Code = "upstream_error" // the worker's inference backend failed; not charged
	CodeInternal      Code = "internal"       // a bug or unexpected state in the node; not charged
)

// codeInfo is each code's default retryability: whether trying again may
// succeed — with the same job id for a job the node never accepted, with a
// new job id for one it did (an accepted job id that fails is spent:
// a resubmission answers job_failed).
var codeInfo = map[Code]bool{
	CodeBadRequest:          false,
	CodeBadSignature:        false,
	CodeWrongSigner:         false,
	CodeWrongDomain:         false,
	CodeVoucherTooLow:       false,
	CodeVoucherAboveDeposit: false,
	CodeUnknownChannel:      false,
	CodeWrongProvider:       false,
	CodeChannelClosing:      false,
	CodeWrongAsset:          false,
	CodeJobConflict:         false,
	CodeJobInProgress:       true,
	CodeJobFailed:           false,
	CodeDepositUnconfirmed:  true,
	CodeUnavailable:         true,

	CodeBadFrame:           false,
	CodeUnknownType:        false,
	CodeBadField:           false,
	CodeFrameTooLarge:      false,
	CodeNotAuthenticated:   false,
	CodeAuthFailed:         false,
	CodeTooManyConnections: true,
	CodeUnexpectedMessage:  false,
	CodeShuttingDown:       true,
	CodeTooManyJobs:        true,
	CodeUnknownModel:       false,
	CodeUnknownJob:         false,
	CodeOverloaded:         true,
	CodeJobTimeout:         true,
	CodeCancelled:          false,
	CodeWorkerFailed:       true,
	CodeUpstreamError:      true,
	CodeInternal:           true,
}

// Codes returns every code this package defines, payment codes first.
func Codes() []Code {
	return []Code{
		CodeBadRequest, CodeBadSignature, CodeWrongSigner, CodeWrongDomain,
		CodeVoucherTooLow, CodeVoucherAboveDeposit, CodeUnknownChannel,
		CodeWrongProvider, CodeChannelClosing, CodeWrongAsset, CodeJobConflict,
		CodeJobInProgress, CodeJobFailed, CodeDepositUnconfirmed, CodeUnavailable,

		CodeBadFrame, CodeUnknownType, CodeBadField, CodeFrameTooLarge,
		CodeNotAuthenticated, CodeAuthFailed, CodeTooManyConnections,
		CodeUnexpectedMessage, CodeShuttingDown,
		CodeTooManyJobs, CodeUnknownModel, CodeUnknownJob, CodeOverloaded,
		CodeJobTimeout, CodeCancelled, CodeWorkerFailed, CodeUpstreamError,
		CodeInternal,
	}
}

// Retryable reports the code's default retryability (see docs/protocol.md):
// whether the same request may succeed later — with the same job id if the
// job was never accepted, with a new one if it was. Unknown codes are not
// retryable.
func (c Code) Retryable() bool { return codeInfo[c] }

// Known reports whether c is one of the codes this package defines. A
// client meets codes it does not know when the node is newer; it treats
// them by the message's retryable flag.
func (c Code) Known() bool {
	_, ok := codeInfo[c]
	return ok
}

// validCode: codes are 1..64 bytes of [a-z0-9_], so newer codes decode.
func validCode(c Code) bool {
	if len(c) == 0 || len(c) > maxCodeLen {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '_' {
			return false
		}
	}
	return true
}

const maxCodeLen = 64

// Error is the `error` message and the Go error of this package: a
// decoder's refusal is an *Error the node can send back as it is, with the
// job id when the frame had a readable one.
type Error struct {
	// ID is the job the error concerns; empty for the connection.
	ID string `json:"id,omitempty"`
	// Code is stable; branch on it.
	Code Code `json:"code"`
	// Message is for people; never parse it.
	Message string `json:"message"`
	// Retryable tells whether trying again may succeed: with the same
	// job id if the job was never accepted, with a new id if it was.
	Retryable bool `json:"retryable"`
	// RetryAfterMS, when set, is how long to wait first (overloaded,
	// too_many_jobs, and by default shutting_down, unavailable and
	// deposit_unconfirmed: Code.RetryAfterMS).
	RetryAfterMS uint64 `json:"retry_after_ms,omitempty"`
	// Field is the offending field's path for bad_field, such as
	// "voucher.amount" or "request.messages[2].role".
	Field string `json:"field,omitempty"`
}

// defaultRetryAfterMS is the wait asked with the codes whose cause passes
// by itself, outside the client's hands: the chain or the store coming
// back, a deposit's confirmations, a node's restart. Without it a client
// with no floor of its own would retry in a tight loop.
var defaultRetryAfterMS = map[Code]uint64{
	CodeUnavailable:        1000,
	CodeDepositUnconfirmed: 1000,
	CodeShuttingDown:       1000,
}

// RetryAfterMS is the code's default retry_after_ms, 0 for none. Codes
// whose wait depends on the moment (overloaded, too_many_jobs) set their
// own.
func (c Code) RetryAfterMS() uint64 { return defaultRetryAfterMS[c] }

// NewError returns an error message for job id (empty: the connection)
// with code's default retryability and retry_after_ms.
func NewError(id string, code Code, format string, args ...any) *Error {
	return &Error{ID: id, Code: code, Message: fmt.Sprintf(format, args...), Retryable: code.Retryable(), RetryAfterMS: code.RetryAfterMS()}
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.ID != "" {
		s = fmt.Sprintf("job %q: %s", e.ID, s)
	}
	return s
}

// Type implements Message.
func (*Error) Type() string { return TypeError }

// JobID implements JobMessage; empty when the error concerns the connection.
func (e *Error) JobID() string { return e.ID }

// CodeOf returns the code of an *Error in err's chain, or "" for any other
// error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func badField(field, format string, args ...any) *Error {
	return &Error{Code: CodeBadField, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}
