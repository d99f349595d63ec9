package executor

import (
	"context"
	"errors"
	"fmt"
)

// Error codes. They are stable: workers send them to the node in `fail`
// and the node passes them on to agents. None of them is charged.
const (
	// CodeUpstreamError: the inference server failed: a 5xx or 429
	// answer, a refused or dropped connection, a stream cut short, a
	// malformed answer. Retryable unless the answer was malformed.
	CodeUpstreamError = "upstream_error"
	// CodeUpstreamRejected: the inference server refused the request
	// (a 4xx answer other than 408 and 429: unknown model, prompt too
	// long). Not retryable: the same request fails the same way.
	CodeUpstreamRejected = "upstream_rejected"
	// CodeJobTimeout: the job's deadline passed before it finished.
	CodeJobTimeout = "job_timeout"
	// CodeCancelled: the job was cancelled, or its consumer (emit) failed.
	CodeCancelled = "cancelled"
	// CodeBadRequest: the request is invalid (ChatRequest.Validate), or
	// names a model the executor does not run.
	CodeBadRequest = "bad_request"
)

// Error is a failed job: a stable code, a message for people, whether the
// same job may succeed if run again, and the cause when there is one.
type Error struct {
	Code      string
	Msg       string
	Retryable bool
	Err       error // the cause, for errors.Is and errors.As; may be nil
}

func (e *Error) Error() string { return "executor: " + e.Code + ": " + e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func newError(code, msg string) *Error { return &Error{Code: code, Msg: msg} }

// Errorf returns an *Error with the given code and a formatted message; a
// %w verb in format sets Err. Executors use it for their own failures.
func Errorf(code string, retryable bool, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Msg: err.Error(), Retryable: retryable, Err: errors.Unwrap(err)}
}

// CodeOf returns the code of an executor error, or "" for any other error.
func CodeOf(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return ""
}

// IsRetryable reports whether err is an executor error marked retryable.
func IsRetryable(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Retryable
}

// ContextError returns the error a job whose ctx has ended fails with:
// CodeJobTimeout for a deadline, CodeCancelled otherwise, wrapping
// ctx.Err() (and naming context.Cause when it says more). It returns nil
// while ctx is live.
func ContextError(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	code, msg := CodeCancelled, "job cancelled"
	if errors.Is(err, context.DeadlineExceeded) {
		code, msg = CodeJobTimeout, "job timed out"
	}
	if cause := context.Cause(ctx); cause != nil && cause != err {
		msg += ": " + cause.Error()
	}
	return &Error{Code: code, Msg: msg, Err: err}
}

// EmitError returns the error a job aborted by its consumer fails with:
// CodeCancelled, wrapping the error emit returned.
func EmitError(err error) error {
	return &Error{Code: CodeCancelled, Msg: "consumer stopped: " + err.Error(), Err: err}
}
