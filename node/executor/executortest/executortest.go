// Package executortest is the conformance suite every executor.Executor
// passes: the contract of Executor.Run, checked the same way against the
// builtin model and against the OpenAI-compatible client.
package executortest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paynode/paynode/node/executor"
)

// Run runs the suite against exec, asking for model. exec must answer the
// suite's prompts with at least 4 chunks of output when streaming and must
// be safe for concurrent use.
func Run(t *testing.T, exec executor.Executor, model string) {
	req := func(stream bool, maxTokens int) executor.ChatRequest {
		return executor.ChatRequest{
			Model: model,
			Messages: []executor.Message{
				{Role: "system", Content: "You are a test."},
				{Role: "user", Content: "Say something long, please: at least a few sentences."},
			},
			MaxTokens: maxTokens,
			Stream:    stream,
		}
	}

	t.Run("BadRequest", func(t *testing.T) {
		neg := -1.0
		for name, r := range map[string]executor.ChatRequest{
			"no messages":          {Model: model, MaxTokens: 10},
			"zero max tokens":      {Model: model, Messages: req(true, 1).Messages},
			"negative max tokens":  {Model: model, Messages: req(true, 1).Messages, MaxTokens: -5},
			"negative temperature": {Model: model, Messages: req(true, 1).Messages, MaxTokens: 5, Temperature: &neg},
		} {
			t.Run(name, func(t *testing.T) {
				res, err := exec.Run(t.Context(), r, failEmit(t))
				if got := executor.CodeOf(err); got != executor.CodeBadRequest {
					t.Fatalf("err = %v (code %q), want %s", err, got, executor.CodeBadRequest)
				}
				if executor.IsRetryable(err) {
					t.Error("bad request is retryable")
				}
				if res != (executor.Result{}) {
					t.Errorf("result on error = %+v, want zero", res)
				}
			})
		}
	})

	t.Run("Stream", func(t *testing.T) {
		r := req(true, 1000)
		var chunks []string
		res, err := exec.Run(t.Context(), r, func(d string) error {
			chunks = append(chunks, d)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, r, res)
		if len(chunks) < 4 {
			t.Errorf("%d chunks, want a stream of at least 4", len(chunks))
		}
		for i, c := range chunks {
			if c == "" {
				t.Errorf("chunk %d is empty", i)
			}
		}
		if got := strings.Join(chunks, ""); got != res.Output {
			t.Errorf("chunks join to %q, output is %q", got, res.Output)
		}
	})

	t.Run("NoStream", func(t *testing.T) {
		r := req(false, 1000)
		var chunks []string
		res, err := exec.Run(t.Context(), r, func(d string) error {
			chunks = append(chunks, d)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, r, res)
		if len(chunks) != 1 || chunks[0] != res.Output {
			t.Errorf("chunks = %q, want the output %q once", chunks, res.Output)
		}
	})

	t.Run("NilEmit", func(t *testing.T) {
		for _, stream := range []bool{true, false} {
			r := req(stream, 1000)
			res, err := exec.Run(t.Context(), r, nil)
			if err != nil {
				t.Fatalf("stream %v: %v", stream, err)
			}
			checkResult(t, r, res)
		}
	})

	t.Run("MaxTokens", func(t *testing.T) {
		for _, n := range []int{1, 3} {
			r := req(true, n)
			res, err := exec.Run(t.Context(), r, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, r, res)
			if res.FinishReason != executor.FinishLength {
				t.Errorf("max_tokens %d: finish reason %q, want %q", n, res.FinishReason, executor.FinishLength)
			}
		}
	})

	t.Run("EmitError", func(t *testing.T) {
		errStop := errors.New("consumer went away")
		calls, done := 0, false
		res, err := exec.Run(t.Context(), req(true, 1000), func(string) error {
			if done {
				t.Error("emit called after Run returned")
			}
			calls++
			if calls == 2 {
				return errStop
			}
			return nil
		})
		done = true
		if !errors.Is(err, errStop) || executor.CodeOf(err) != executor.CodeCancelled {
			t.Fatalf("err = %v, want %s wrapping the emit error", err, executor.CodeCancelled)
		}
		if calls != 2 {
			t.Errorf("emit called %d times, want 2: the job goes on after its consumer failed", calls)
		}
		if res != (executor.Result{}) {
			t.Errorf("result on error = %+v, want zero", res)
		}
	})

	t.Run("CancelMidStream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		calls := 0
		res, err := exec.Run(ctx, req(true, 1000), func(string) error {
			calls++
			if calls == 2 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) || executor.CodeOf(err) != executor.CodeCancelled {
			t.Fatalf("err = %v, want %s wrapping context.Canceled", err, executor.CodeCancelled)
		}
		if calls != 2 {
			t.Errorf("emit called %d times, want 2: the job goes on after its cancel", calls)
		}
		if res != (executor.Result{}) {
			t.Errorf("result on error = %+v, want zero", res)
		}
	})

	t.Run("Deadline", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := exec.Run(ctx, req(true, 1000), failEmit(t))
		if !errors.Is(err, context.DeadlineExceeded) || executor.CodeOf(err) != executor.CodeJobTimeout {
			t.Fatalf("err = %v, want %s wrapping context.DeadlineExceeded", err, executor.CodeJobTimeout)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				r := req(i%2 == 0, 50+i)
				r.Messages = append(r.Messages, executor.Message{Role: "user", Content: fmt.Sprint("job ", i)})
				res, err := exec.Run(t.Context(), r, func(string) error { return nil })
				if err == nil && res.Usage.OutputTokens > uint64(r.MaxTokens) {
					err = fmt.Errorf("job %d: %d output tokens, max %d", i, res.Usage.OutputTokens, r.MaxTokens)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}

// checkResult checks what every successful result of r must satisfy.
func checkResult(t *testing.T, r executor.ChatRequest, res executor.Result) {
	t.Helper()
	if res.Output == "" {
		t.Error("empty output")
	}
	if res.FinishReason == "" {
		t.Error("no finish reason")
	}
	if res.Usage.OutputTokens == 0 || res.Usage.OutputTokens > uint64(r.MaxTokens) {
		t.Errorf("output tokens %d, want 1..%d", res.Usage.OutputTokens, r.MaxTokens)
	}
	if res.Usage.InputTokens == 0 {
		t.Error("no input tokens")
	}
	if bound := (executor.Conservative{}).CountPrompt(r.Messages); res.Usage.InputTokens > bound {
		t.Errorf("input tokens %d above the conservative bound %d: the node would reserve too little", res.Usage.InputTokens, bound)
	}
}

func failEmit(t *testing.T) func(string) error {
	return func(d string) error {
		t.Errorf("emit(%q) on a job that must not run", d)
		return nil
	}
}
