package builtin_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode"

	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/executor/executortest"
)

func TestConformance(t *testing.T) {
	executortest.Run(t, &builtin.Model{}, builtin.Name)
}

func TestConformanceNoModelName(t *testing.T) {
	executortest.Run(t, &builtin.Model{}, "")
}

func chat(content string, maxTokens int) executor.ChatRequest {
	return executor.ChatRequest{
		Model:     builtin.Name,
		Messages:  []executor.Message{{Role: "user", Content: content}},
		MaxTokens: maxTokens,
		Stream:    true,
	}
}

func run(t *testing.T, m *builtin.Model, req executor.ChatRequest) (executor.Result, []string) {
	t.Helper()
	var chunks []string
	res, err := m.Run(t.Context(), req, func(d string) error {
		chunks = append(chunks, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, chunks
}

func TestDeterministic(t *testing.T) {
	m := &builtin.Model{}
	temp := 1.5
	a, ac := run(t, m, chat("hello", 1000))
	r := chat("hello", 1000)
	r.Temperature = &temp // ignored
	b, bc := run(t, m, r)
	if a != b || !slices.Equal(ac, bc) {
		t.Fatalf("same prompt, different answers:\n%+v\n%+v", a, b)
	}
	c, _ := run(t, m, chat("hello!", 1000))
	if c.Output == a.Output {
		t.Fatalf("different prompts, same answer %q", a.Output)
	}
	// The role is part of the prompt.
	r = chat("hello", 1000)
	r.Messages[0].Role = "system"
	if d, _ := run(t, m, r); d.Output == a.Output {
		t.Fatal("role does not change the answer")
	}
	// Message boundaries are part of the prompt.
	r = chat("hel", 1000)
	r.Messages = append(r.Messages, executor.Message{Role: "user", Content: "lo"})
	r2 := chat("he", 1000)
	r2.Messages = append(r2.Messages, executor.Message{Role: "user", Content: "llo"})
	if x, y := mustRun(t, m, r), mustRun(t, m, r2); x.Output == y.Output {
		t.Fatal("split messages collide")
	}
}

func mustRun(t *testing.T, m *builtin.Model, req executor.ChatRequest) executor.Result {
	res, _ := run(t, m, req)
	return res
}

func TestMaxTokensAndUsage(t *testing.T) {
	m := &builtin.Model{}
	for _, prompt := range []string{"hello", "What is 2+2?", "", "日本語のテキスト", "a\x80b"} {
		natural := mustRun(t, m, chat(prompt, 1<<30))
		n := int(natural.Usage.OutputTokens)
		if n < builtin.MinNaturalTokens || n > builtin.MaxNaturalTokens || natural.FinishReason != executor.FinishStop {
			t.Fatalf("%q: natural length %d, finish %q", prompt, n, natural.FinishReason)
		}
		if !strings.HasSuffix(natural.Output, ".") {
			t.Errorf("%q: natural output %q does not end a sentence", prompt, natural.Output)
		}
		for maxTokens := 1; maxTokens <= n+2; maxTokens++ {
			res, chunks := run(t, m, chat(prompt, maxTokens))
			want, finish := min(maxTokens, n), executor.FinishStop
			if maxTokens < n {
				finish = executor.FinishLength
			}
			if res.Usage.OutputTokens != uint64(want) || len(chunks) != want || res.FinishReason != finish {
				t.Fatalf("%q max %d: %d tokens in %d chunks, finish %q; want %d, %q",
					prompt, maxTokens, res.Usage.OutputTokens, len(chunks), res.FinishReason, want, finish)
			}
			if got := builtin.Count(res.Output); got != res.Usage.OutputTokens {
				t.Fatalf("%q max %d: output %q counts %d tokens, usage says %d", prompt, maxTokens, res.Output, got, res.Usage.OutputTokens)
			}
			if !strings.HasPrefix(natural.Output, res.Output) {
				t.Fatalf("%q max %d: %q is not a prefix of the natural answer %q", prompt, maxTokens, res.Output, natural.Output)
			}
			for i, c := range chunks {
				if builtin.Count(c) != 1 {
					t.Fatalf("chunk %d %q is not one token", i, c)
				}
			}
			req := chat(prompt, maxTokens)
			if res.Usage.InputTokens != m.CountPrompt(req.Messages) || res.Usage.Estimated {
				t.Fatalf("input usage %+v, CountPrompt %d", res.Usage, m.CountPrompt(req.Messages))
			}
		}
	}
}

func TestUnknownModel(t *testing.T) {
	r := chat("hi", 10)
	r.Model = "gpt-4"
	_, err := (&builtin.Model{}).Run(t.Context(), r, nil)
	if executor.CodeOf(err) != executor.CodeBadRequest {
		t.Fatalf("err = %v, want bad_request", err)
	}
}

func TestCountPrompt(t *testing.T) {
	msgs := []executor.Message{
		{Role: "system", Content: "Be brief."},         // 1 + 3
		{Role: "user", Content: "Hello, world! 1+1=?"}, // 1 + 9
	}
	if got := (&builtin.Model{}).CountPrompt(msgs); got != 14 {
		t.Fatalf("CountPrompt = %d, want 14", got)
	}
}

func TestTokens(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"spaces", " \t\n ", nil},
		{"words", "  hello   world ", []string{"hello", "world"}},
		{"punctuation", "Hello, world!", []string{"Hello", ",", "world", "!"}},
		{"apostrophe", "don't", []string{"don", "'", "t"}},
		{"number", "3.14", []string{"3", ".", "14"}},
		{"symbols", "€5+x=y", []string{"€", "5", "+", "x", "=", "y"}},
		{"unicode", "héllo wörld 日本語", []string{"héllo", "wörld", "日本語"}},
		{"invalid utf-8", "a\xffb", []string{"a", "\xff", "b"}},
		{"nbsp", "a\u00a0b", []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := builtin.Tokens(tc.in)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Tokens(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if n := builtin.Count(tc.in); n != uint64(len(tc.want)) {
				t.Fatalf("Count(%q) = %d, want %d", tc.in, n, len(tc.want))
			}
		})
	}
}

func FuzzTokens(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "a\xffb", "日本語 テキスト。", "x  \u00a0y\r\nz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := builtin.Tokens(s)
		if builtin.Count(s) != uint64(len(toks)) {
			t.Fatalf("Count(%q) = %d, Tokens = %q", s, builtin.Count(s), toks)
		}
		// Tokens are pieces of s, in order.
		rest := s
		for _, tok := range toks {
			// Skip the spaces rune by rune, as the tokenizer does: a byte
			// search could match inside a multi-byte rune.
			rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
			if tok == "" || !strings.HasPrefix(rest, tok) {
				t.Fatalf("token %q of %q", tok, s)
			}
			rest = rest[len(tok):]
		}
		if strings.TrimFunc(rest, unicode.IsSpace) != "" {
			t.Fatalf("%q left over from %q", rest, s)
		}
		// Joining tokens with spaces and splitting again is stable.
		if again := builtin.Tokens(strings.Join(toks, " ")); !slices.Equal(again, toks) {
			t.Fatalf("Tokens(join(Tokens(%q))) = %q, want %q", s, again, toks)
		}
	})
}

// FuzzConservative checks that the node's conservative count never falls
// below the builtin model's own count: pricing a builtin job never
// reserves too little.
func FuzzConservative(f *testing.F) {
	f.Add("user", "Hello, world!", "system", "")
	f.Add("", "", "", "")
	f.Add("user", "!!!!....", "a", "\xff\xfe")
	f.Add("user", "a b c d e f", "assistant", "日本")
	f.Fuzz(func(t *testing.T, role1, content1, role2, content2 string) {
		for _, msgs := range [][]executor.Message{
			{{Role: role1, Content: content1}},
			{{Role: role1, Content: content1}, {Role: role2, Content: content2}},
		} {
			own := (&builtin.Model{}).CountPrompt(msgs)
			for _, c := range []executor.Conservative{{}, {PerMessage: 1, PerPrompt: 1}} {
				if bound := c.CountPrompt(msgs); bound < own {
					t.Fatalf("%+v: conservative %d < builtin %d for %q", c, bound, own, msgs)
				}
			}
		}
	})
}

func TestTokenDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &builtin.Model{TokenDelay: 50 * time.Millisecond}
		start := time.Now()
		var at []time.Duration
		res, err := m.Run(t.Context(), chat("hello", 10), func(string) error {
			at = append(at, time.Since(start))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Usage.OutputTokens != 10 {
			t.Fatalf("%d tokens", res.Usage.OutputTokens)
		}
		for i, d := range at {
			if want := time.Duration(i+1) * 50 * time.Millisecond; d != want {
				t.Fatalf("token %d at %v, want %v", i, d, want)
			}
		}

		// A deadline in the middle stops the job at once.
		ctx, cancel := context.WithTimeout(t.Context(), 175*time.Millisecond)
		defer cancel()
		start = time.Now()
		calls := 0
		_, err = m.Run(ctx, chat("hello", 10), func(string) error { calls++; return nil })
		if !errors.Is(err, context.DeadlineExceeded) || executor.CodeOf(err) != executor.CodeJobTimeout {
			t.Fatalf("err = %v, want job_timeout", err)
		}
		if calls != 3 || time.Since(start) != 175*time.Millisecond {
			t.Fatalf("%d tokens, stopped after %v; want 3 and 175ms", calls, time.Since(start))
		}
	})
}

func TestNoDelayTakesNoTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		mustRun(t, &builtin.Model{}, chat("hello", 1000))
		if d := time.Since(start); d != 0 {
			t.Fatalf("a job without delay took %v of fake time", d)
		}
	})
}

func BenchmarkRun(b *testing.B) {
	m := &builtin.Model{}
	req := chat("Write a haiku about payment channels.", 64)
	emit := func(string) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Run(b.Context(), req, emit); err != nil {
			b.Fatal(err)
		}
	}
}
