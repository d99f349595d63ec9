package payment

import (
	"errors"
	"fmt"
)

// Code is a stable, documented error code of the payment check. The agent
// API sends it as the `code` of an `error` message (docs/protocol.md).
type Code string

// The payment check's error codes. None of them charges anything.
const (
	// CodeBadRequest: a field is missing or malformed (job id, amounts).
	CodeBadRequest Code = "bad_request"
	// CodeBadSignature: the voucher's signature is malformed or recovers
	// to no key.
	CodeBadSignature Code = "bad_signature"
	// CodeWrongSigner: the voucher was signed by a key other than the
	// channel's signer (or for another chain or contract, which recovers
	// to another address).
	CodeWrongSigner Code = "wrong_signer"
	// CodeWrongDomain: the voucher names a chain id or PaymentChannels
	// address other than this node's.
	CodeWrongDomain Code = "wrong_domain"
	// CodeVoucherTooLow: the voucher does not cover charged + reserved
	// in-flight jobs + this job's max cost.
	CodeVoucherTooLow Code = "voucher_too_low"
	// CodeVoucherAboveDeposit: the voucher exceeds the channel's deposit;
	// top up first.
	CodeVoucherAboveDeposit Code = "voucher_above_deposit"
	// CodeUnknownChannel: no channel with this id is open to this provider.
	CodeUnknownChannel Code = "unknown_channel"
	// CodeWrongProvider: the channel exists but pays another provider.
	CodeWrongProvider Code = "wrong_provider"
	// CodeChannelClosing: the payer requested withdrawal (or finalized it);
	// the channel takes no more jobs.
	CodeChannelClosing Code = "channel_closing"
	// CodeWrongAsset: the channel's asset is not the offer's.
	CodeWrongAsset Code = "wrong_asset"
	// CodeJobConflict: the job id was used before with a different body.
	CodeJobConflict Code = "job_conflict"
	// CodeJobInProgress: the job id is running now (a resubmission raced
	// the first submission). Retryable: the retry gets the outcome.
	CodeJobInProgress Code = "job_in_progress"
	// CodeJobFailed: the job id ran before and failed; it is not run again.
	CodeJobFailed Code = "job_failed"
	// CodeDepositUnconfirmed: the channel is on chain but not yet under
	// enough confirmations. Retryable.
	CodeDepositUnconfirmed Code = "deposit_unconfirmed"
	// CodeUnavailable: the node could not check or record the payment
	// (chain or store unreachable). Retryable; nothing was charged.
	CodeUnavailable Code = "unavailable"
)

// Error is a refused payment: a stable code, a message for people, and
// whether the same request may succeed later.
type Error struct {
	Code      Code
	Msg       string
	Retryable bool
	Err       error // the cause, when there is one
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Msg) }
func (e *Error) Unwrap() error { return e.Err }

func refuse(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func retryable(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Retryable: true, Err: cause}
}

// CodeOf returns the code of a payment error, or "" for any other error.
func CodeOf(err error) Code {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
