// Package builtin is paynode-test-1, the node's builtin model. It is a
// TEST model, not AI: it answers every prompt with a deterministic string
// of words derived from a hash of the prompt, so the whole payment path
// (pricing, streaming, usage, receipts) can run, be measured and be tested
// without an inference server or a GPU.
//
// What it does, exactly (docs/executors.md says the same):
//
//   - Tokens. Its tokenizer (Tokens, Count) splits text at white space,
//     which it drops, and at every punctuation or symbol character, which
//     is a token of its own; every other maximal run of characters is a
//     word token. "Hello, world!" is 4 tokens: Hello , world !
//   - Input. A prompt's input tokens are the tokens of every message's
//     role and content (CountPrompt), with no overhead.
//   - Output. The SHA-256 of the messages seeds a ChaCha8 generator that
//     picks a natural length of 16 to 128 tokens and the tokens: words
//     from a fixed list of 64, capitalized at the start of a sentence,
//     with commas and full stops between them, always ending with a full
//     stop. Temperature is ignored: the same messages give the same output.
//   - Limit. The output stops after exactly MaxTokens tokens when the
//     natural length is longer (finish reason "length"), else at the
//     natural length (finish reason "stop").
//   - Usage is honest: the output tokens are the tokens of Result.Output
//     by the same tokenizer, and the input tokens are CountPrompt's.
//   - Streaming. Each token is one emit call: a word with the space before
//     it, or a punctuation mark.
//   - Compute. None: a job costs microseconds, unless Model.TokenDelay
//     asks for a pause before each token (for demos and latency tests).
//
// The output is stable for a given version of this package, not across
// versions.
package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/paynode/paynode/node/executor"
)

// Name is the model name of the builtin model in offers and requests.
const Name = "paynode-test-1"

// The bounds of the builtin model's natural output length, in tokens.
const (
	MinNaturalTokens = 16
	MaxNaturalTokens = 128
)

// Model is the builtin test model. The zero value is ready to use and safe
// for concurrent use.
type Model struct {
	// TokenDelay is how long each output token takes. Zero means no
	// delay at all: no sleeping, no timers.
	TokenDelay time.Duration
}

var (
	_ executor.Executor = (*Model)(nil)
	_ executor.Counter  = (*Model)(nil)
)

// Run answers req as described in the package comment. It runs requests
// for Name or for no model name, and refuses any other with
// executor.CodeBadRequest.
func (m *Model) Run(ctx context.Context, req executor.ChatRequest, emit func(string) error) (executor.Result, error) {
	if err := req.Validate(); err != nil {
		return executor.Result{}, err
	}
	if req.Model != "" && req.Model != Name {
		return executor.Result{}, executor.Errorf(executor.CodeBadRequest, false, "model %q: the builtin model is %q", req.Model, Name)
	}
	if err := executor.ContextError(ctx); err != nil {
		return executor.Result{}, err
	}

	var timer *time.Timer
	if m.TokenDelay > 0 {
		timer = time.NewTimer(m.TokenDelay)
		defer timer.Stop()
	}
	gen := newGenerator(req.Messages)
	limit := gen.length
	finish := executor.FinishStop
	if req.MaxTokens < limit {
		limit, finish = req.MaxTokens, executor.FinishLength
	}
	var out strings.Builder
	out.Grow(8 * min(limit, 128)) // about a word and its space a token
	for i := range limit {
		if timer != nil {
			if i > 0 {
				timer.Reset(m.TokenDelay)
			}
			select {
			case <-ctx.Done():
				return executor.Result{}, executor.ContextError(ctx)
			case <-timer.C:
			}
		} else if err := executor.ContextError(ctx); err != nil {
			return executor.Result{}, err
		}
		delta := gen.next()
		out.WriteString(delta)
		if req.Stream && emit != nil {
			if err := emit(delta); err != nil {
				return executor.Result{}, executor.EmitError(err)
			}
		}
	}
	// A job cancelled as it finished is cancelled: it is not charged.
	if err := executor.ContextError(ctx); err != nil {
		return executor.Result{}, err
	}
	output := out.String()
	if !req.Stream && emit != nil && output != "" {
		if err := emit(output); err != nil {
			return executor.Result{}, executor.EmitError(err)
		}
	}
	return executor.Result{
		Output:       output,
		Usage:        executor.Usage{InputTokens: m.CountPrompt(req.Messages), OutputTokens: uint64(limit)},
		FinishReason: finish,
	}, nil
}

// CountPrompt returns the builtin model's exact input token count of
// messages: the tokens of every role and content.
func (*Model) CountPrompt(messages []executor.Message) uint64 {
	var n uint64
	for _, msg := range messages {
		n += Count(msg.Role) + Count(msg.Content)
	}
	return n
}

// Count returns the number of tokens of s: len(Tokens(s)), without
// allocating.
func Count(s string) uint64 {
	var n uint64
	inWord := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			inWord = false
		case isMark(r):
			n++
			inWord = false
		case !inWord:
			n++
			inWord = true
		}
	}
	return n
}

// Tokens splits s into the builtin model's tokens: white space separates
// tokens and is dropped, each punctuation or symbol character is a token,
// and each other maximal run of characters is a token. A byte of invalid
// UTF-8 reads as U+FFFD, a symbol, so it is a token of its own.
func Tokens(s string) []string {
	var tokens []string
	start := -1
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		space, mark := unicode.IsSpace(r), isMark(r)
		if (space || mark) && start >= 0 {
			tokens = append(tokens, s[start:i])
			start = -1
		}
		switch {
		case mark:
			tokens = append(tokens, s[i:i+size])
		case !space && start < 0:
			start = i
		}
		i += size
	}
	if start >= 0 {
		tokens = append(tokens, s[start:])
	}
	return tokens
}

func isMark(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }

// vocabulary is the builtin model's words: 64, lowercase ASCII letters.
var vocabulary = [64]string{
	"agent", "amount", "answer", "asset", "balance", "batch", "block", "budget",
	"chain", "channel", "charge", "claim", "compute", "cost", "deposit", "digest",
	"ether", "event", "fee", "gas", "hash", "input", "job", "key",
	"ledger", "limit", "market", "merkle", "model", "node", "offer", "output",
	"payer", "payment", "price", "proof", "provider", "queue", "receipt", "request",
	"reserve", "result", "root", "router", "signer", "stream", "token", "value",
	"voucher", "wallet", "worker", "and", "the", "of", "to", "for",
	"with", "per", "each", "every", "then", "once", "again", "now",
}

// generator produces the builtin model's output one token at a time.
type generator struct {
	src       rand.ChaCha8 // rng's source, in the same allocation
	rng       rand.Rand
	length    int // natural length, in tokens
	emitted   int
	sentence  int  // words in the current sentence
	afterMark bool // the last token was a comma or full stop
}

func newGenerator(messages []executor.Message) *generator {
	h := sha256.New()
	var n [8]byte
	for _, msg := range messages {
		for _, s := range [2]string{msg.Role, msg.Content} {
			binary.BigEndian.PutUint64(n[:], uint64(len(s)))
			h.Write(n[:])
			h.Write([]byte(s))
		}
	}
	var seed [32]byte
	h.Sum(seed[:0])
	g := new(generator)
	g.src.Seed(seed)
	g.rng = *rand.New(&g.src)
	g.length = MinNaturalTokens + g.rng.IntN(MaxNaturalTokens-MinNaturalTokens+1)
	return g
}

// next returns the next token as it appears in the output text.
func (g *generator) next() string {
	i := g.emitted
	g.emitted++
	last := i == g.length-1
	switch {
	case last:
		g.afterMark, g.sentence = true, 0
		return "."
	case i > 0 && !g.afterMark && i < g.length-2 && g.sentence >= 4 && g.rng.IntN(8) == 0:
		g.afterMark, g.sentence = true, 0
		return "."
	case i > 0 && !g.afterMark && i < g.length-2 && g.sentence >= 2 && g.rng.IntN(7) == 0:
		g.afterMark = true
		return ","
	}
	form := spelled[g.rng.IntN(len(vocabulary))]
	capital := g.sentence == 0
	g.sentence++
	g.afterMark = false
	switch {
	case i == 0 && capital:
		return form.capital
	case i == 0:
		return form.plain
	case capital:
		return form.spaceCapital
	}
	return form.spacePlain
}

// spelling is a word of the vocabulary as it may appear in the output:
// capitalized at the start of a sentence, after a space but at the start.
type spelling struct{ plain, capital, spacePlain, spaceCapital string }

// spelled holds every spelling of every word, made once, so that a token
// costs no allocation.
var spelled = func() (s [len(vocabulary)]spelling) {
	for i, w := range vocabulary {
		c := strings.ToUpper(w[:1]) + w[1:]
		s[i] = spelling{plain: w, capital: c, spacePlain: " " + w, spaceCapital: " " + c}
	}
	return s
}()
