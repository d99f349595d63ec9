package executor_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/paynode/paynode/node/executor"
)

func TestValidate(t *testing.T) {
	msgs := []executor.Message{{Role: "user", Content: "hi"}}
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name string
		req  executor.ChatRequest
		ok   bool
	}{
		{"ok", executor.ChatRequest{Messages: msgs, MaxTokens: 1}, true},
		{"temperature 0", executor.ChatRequest{Messages: msgs, MaxTokens: 1, Temperature: f(0)}, true},
		{"temperature 2", executor.ChatRequest{Messages: msgs, MaxTokens: 1, Temperature: f(2)}, true},
		{"empty content", executor.ChatRequest{Messages: []executor.Message{{Role: "user"}}, MaxTokens: 1}, true},
		{"no messages", executor.ChatRequest{MaxTokens: 1}, false},
		{"zero max tokens", executor.ChatRequest{Messages: msgs}, false},
		{"negative max tokens", executor.ChatRequest{Messages: msgs, MaxTokens: -1}, false},
		{"negative temperature", executor.ChatRequest{Messages: msgs, MaxTokens: 1, Temperature: f(-0.1)}, false},
		{"NaN temperature", executor.ChatRequest{Messages: msgs, MaxTokens: 1, Temperature: f(math.NaN())}, false},
		{"infinite temperature", executor.ChatRequest{Messages: msgs, MaxTokens: 1, Temperature: f(math.Inf(1))}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate()
			if tc.ok != (err == nil) {
				t.Fatalf("Validate() = %v", err)
			}
			if err != nil && (executor.CodeOf(err) != executor.CodeBadRequest || executor.IsRetryable(err)) {
				t.Fatalf("err = %#v, want a non-retryable %s", err, executor.CodeBadRequest)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	cause := errors.New("connection refused")
	var err error = executor.Errorf(executor.CodeUpstreamError, true, "dial: %w", cause)
	wrapped := fmt.Errorf("worker: %w", err)
	if executor.CodeOf(wrapped) != executor.CodeUpstreamError || !executor.IsRetryable(wrapped) || !errors.Is(wrapped, cause) {
		t.Fatalf("%#v", err)
	}
	if got, want := err.Error(), "executor: upstream_error: dial: connection refused"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if executor.CodeOf(cause) != "" || executor.IsRetryable(cause) || executor.CodeOf(nil) != "" {
		t.Fatal("a plain error has a code")
	}

	if executor.ContextError(t.Context()) != nil {
		t.Fatal("live context has an error")
	}
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errors.New("agent sent cancel"))
	err = executor.ContextError(ctx)
	if executor.CodeOf(err) != executor.CodeCancelled || !errors.Is(err, context.Canceled) || executor.IsRetryable(err) {
		t.Fatalf("cancel: %v", err)
	}
	if got, want := err.Error(), "executor: cancelled: job cancelled: agent sent cancel"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	ctx, cancel2 := context.WithTimeout(t.Context(), -1)
	defer cancel2()
	err = executor.ContextError(ctx)
	if executor.CodeOf(err) != executor.CodeJobTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}

	stop := errors.New("closed")
	if err := executor.EmitError(stop); executor.CodeOf(err) != executor.CodeCancelled || !errors.Is(err, stop) {
		t.Fatalf("emit: %v", err)
	}
}

func TestConservative(t *testing.T) {
	msgs := []executor.Message{
		{Role: "system", Content: "Be brief."},      // 6 + 9
		{Role: "user", Content: "héllo"},            // 4 + 6
		{Role: "user", Content: "a\xffb"},           // 4 + 5: the invalid byte counts 3
		{Role: "assistant", Content: "日本"},          // 9 + 6
		{Role: "", Content: ""},                     // 0
		{Role: "user", Content: "\xff\xfe\xfd\xfc"}, // 4 + 12
	}
	const text = 6 + 9 + 4 + 6 + 4 + 5 + 9 + 6 + 4 + 12
	for _, tc := range []struct {
		c    executor.Conservative
		want uint64
	}{
		{executor.Conservative{}, text + 6*executor.DefaultPerMessage + executor.DefaultPerPrompt},
		{executor.Conservative{PerMessage: 4, PerPrompt: 3}, text + 6*4 + 3},
		{executor.Conservative{PerMessage: 1}, text + 6 + executor.DefaultPerPrompt},
	} {
		if got := tc.c.CountPrompt(msgs); got != tc.want {
			t.Errorf("%+v: CountPrompt = %d, want %d", tc.c, got, tc.want)
		}
	}
	if got := (executor.Conservative{}).CountPrompt(nil); got != executor.DefaultPerPrompt {
		t.Errorf("no messages: %d", got)
	}
}

// Worst-case token counts of common chat templates: every special token is
// one token and every byte of text, the template's own and the messages',
// is a token of its own. No byte-level BPE or byte-fallback SentencePiece
// tokenizer makes more.
var templates = map[string]func([]executor.Message) uint64{
	// <|im_start|>{role}\n{content}<|im_end|>\n … <|im_start|>assistant\n
	"chatml": func(msgs []executor.Message) uint64 {
		n := uint64(1 + len("assistant\n"))
		for _, m := range msgs {
			n += 2 + wire(m.Role) + 1 + wire(m.Content) + 1
		}
		return n
	},
	// <|begin_of_text|> <|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|> …
	// <|start_header_id|>assistant<|end_header_id|>\n\n
	"llama3": func(msgs []executor.Message) uint64 {
		n := uint64(1 + 2 + len("assistant") + 2)
		for _, m := range msgs {
			n += 3 + wire(m.Role) + 2 + wire(m.Content)
		}
		return n
	},
	// <bos> <start_of_turn>{role}\n{content}<end_of_turn>\n … <start_of_turn>model\n,
	// plus one dummy-prefix token per message for SentencePiece.
	"gemma": func(msgs []executor.Message) uint64 {
		n := uint64(1 + 1 + len("model\n"))
		for _, m := range msgs {
			n += 2 + wire(m.Role) + 2 + wire(m.Content) + 1
		}
		return n
	},
}

// wire is the byte length of s as JSON carries it to a server.
func wire(s string) uint64 {
	n := uint64(0)
	for _, r := range s {
		n += uint64(len(string(r)))
	}
	return n
}

func TestConservativeBoundsTemplates(t *testing.T) {
	for _, msgs := range [][]executor.Message{
		nil,
		{{Role: "user", Content: ""}},
		{{Role: "user", Content: "Hello, world!"}},
		{{Role: "system", Content: "You are helpful."}, {Role: "user", Content: "日本語で答えて"}, {Role: "assistant", Content: "はい"}},
	} {
		bound := (executor.Conservative{}).CountPrompt(msgs)
		for name, count := range templates {
			if worst := count(msgs); bound < worst {
				t.Errorf("%s: conservative %d < worst case %d for %q", name, bound, worst, msgs)
			}
		}
	}
}

func FuzzConservativeTemplates(f *testing.F) {
	f.Add("user", "Hello", "", "", uint8(1))
	f.Add("system", "\xff", "user", "日本", uint8(5))
	f.Fuzz(func(t *testing.T, role1, content1, role2, content2 string, n uint8) {
		var msgs []executor.Message
		for i := range int(n % 8) {
			if i%2 == 0 {
				msgs = append(msgs, executor.Message{Role: role1, Content: content1})
			} else {
				msgs = append(msgs, executor.Message{Role: role2, Content: content2})
			}
		}
		bound := (executor.Conservative{}).CountPrompt(msgs)
		for name, count := range templates {
			if worst := count(msgs); bound < worst {
				t.Fatalf("%s: conservative %d < worst case %d", name, bound, worst)
			}
		}
	})
}
