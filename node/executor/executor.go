// Package executor is what a worker runs a job with: a chat completion
// request in, streamed text and an honest token count out.
//
// This package holds the request and result types, the Executor interface,
// the error codes every executor reports, and the prompt token counters the
// node uses to price a job before it runs. Implementations live in
// subpackages named after what they run on: node/executor/builtin, a
// deterministic test model that needs no server, and node/executor/openai,
// a client for an OpenAI-compatible inference server (vLLM, llama.cpp's
// server, Ollama). The conformance suite in node/executor/executortest runs
// against every implementation.
//
// # Money
//
// Nothing here is money, but token counts become money: the node reserves a
// job's max cost from Counter's prompt count and the request's MaxTokens
// before the job runs, and charges from Result.Usage after it, never more
// than it reserved. See docs/executors.md.
package executor

import (
	"context"
	"math"
)

// Executor runs chat completion jobs. Implementations are safe for
// concurrent use.
type Executor interface {
	// Run runs one job. If emit is not nil it receives the output in
	// order, one chunk (a token or a few) per call while the job runs when
	// req.Stream is set, or the whole output in one call at the end
	// otherwise; the chunks always concatenate to Result.Output, and emit
	// is never called with an empty chunk nor after Run returns.
	//
	// An error from emit aborts the job: Run returns an *Error with code
	// CodeCancelled that wraps it. When ctx ends Run stops promptly and
	// returns an *Error with code CodeJobTimeout (deadline) or
	// CodeCancelled (cancel) that wraps ctx.Err(). An invalid request is an
	// *Error with code CodeBadRequest. On any error the Result is the zero
	// value: a job that did not finish has no partial success.
	Run(ctx context.Context, req ChatRequest, emit func(delta string) error) (Result, error)
}

// Message is one turn of a chat.
type Message struct {
	Role    string // "system", "user", "assistant"
	Content string
}

// ChatRequest is a job as an executor sees it. It is deliberately plain:
// the node maps its wire messages onto it.
type ChatRequest struct {
	// Model is the offer's model name; an executor may map it to its own
	// (openai.Options.ModelMap).
	Model    string
	Messages []Message
	// MaxTokens bounds the output tokens; it must be positive. The node
	// prices a job for exactly this many output tokens.
	MaxTokens int
	// Temperature is the sampling temperature, nil for the executor's
	// default. It is not money, so a float is fine.
	Temperature *float64
	// Stream asks for the output chunk by chunk through emit.
	Stream bool
}

// Validate reports an *Error with code CodeBadRequest for a request no
// executor can run: no messages, MaxTokens ≤ 0, or a temperature that is
// negative, NaN or infinite.
func (r ChatRequest) Validate() error {
	switch {
	case len(r.Messages) == 0:
		return newError(CodeBadRequest, "no messages")
	case r.MaxTokens <= 0:
		return newError(CodeBadRequest, "max_tokens must be positive")
	case r.Temperature != nil && (*r.Temperature < 0 || math.IsNaN(*r.Temperature) || math.IsInf(*r.Temperature, 0)):
		return newError(CodeBadRequest, "temperature must be a non-negative number")
	}
	return nil
}

// Usage is a job's token count. The node charges
// base + ceil((InputTokens·inPerM + OutputTokens·outPerM)/1e6), capped at
// the max cost it reserved.
type Usage struct {
	InputTokens  uint64
	OutputTokens uint64
	// Estimated is set when the executor could not get the count from the
	// model (an upstream that reports no usage) and estimated it instead;
	// see docs/executors.md for how.
	Estimated bool
}

// Finish reasons executors report in Result.FinishReason. An upstream
// server may report others ("content_filter", "tool_calls"), which are
// passed through.
const (
	FinishStop   = "stop"   // the model ended its answer
	FinishLength = "length" // the output reached MaxTokens
)

// Result is a finished job.
type Result struct {
	Output       string
	Usage        Usage
	FinishReason string
}
