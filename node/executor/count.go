package executor

import "unicode/utf8"

// Counter counts a prompt's input tokens before the job runs, so the node
// can reserve the job's max cost. A Counter for pricing must never count
// fewer tokens than the model will be charged for, or the node reserves
// too little and charges less than the model's own count.
type Counter interface {
	CountPrompt(messages []Message) uint64
}

// The defaults of Conservative.
const (
	DefaultPerMessage = 8
	DefaultPerPrompt  = 16
)

// Conservative is the Counter the node prices a job with when it has no
// tokenizer of the model, which is always for an upstream server: an
// offer may name a real tokenizer, but the node carries none. Its count is
//
//	Σ over messages (bytes(role) + bytes(content) + PerMessage) + PerPrompt
//
// in UTF-8 bytes, where a byte of invalid UTF-8 counts 3 (the request
// carries it to the server as U+FFFD).
//
// It is an upper bound for the tokenizers in common use: a byte-level BPE
// (GPT's cl100k and o200k, Llama 3, Qwen) never makes more tokens of a
// text than the text has bytes, since every token stands for at least one
// byte; nor does a SentencePiece model with byte fallback (Llama 2,
// Mistral, Gemma), which adds at most one token (the dummy prefix) per
// piece of text. A chat template adds to each message a few special tokens
// and a few bytes of its own text, and once per prompt a beginning-of-text
// token and the assistant's opening: ChatML (Qwen, OpenAI) adds
// role+content+4 per message and 11 for the opening, Llama 3 role+content+5
// and 14, Gemma role+content+5 (a dummy prefix included) and 8, counting
// each byte of template text as a token of its own. PerMessage 8 and
// PerPrompt 16 bound all of them with room to spare.
//
// A template that injects text of its own (a default system prompt, as
// Llama 3.1's dates or Qwen 2.5's greeting) adds tokens this count does
// not see; set PerPrompt for such an offer. Even then the agent is never
// overcharged: the node charges from the usage the model reports, capped
// at what it reserved, so an undercount costs the provider at most the
// unseen tokens' price.
//
// The zero value is ready to use: a zero field means its default.
type Conservative struct {
	PerMessage uint64 // tokens added per message; 0 means DefaultPerMessage
	PerPrompt  uint64 // tokens added once; 0 means DefaultPerPrompt
}

var _ Counter = Conservative{}

// CountPrompt returns the conservative token count of messages.
func (c Conservative) CountPrompt(messages []Message) uint64 {
	perMessage, perPrompt := c.PerMessage, c.PerPrompt
	if perMessage == 0 {
		perMessage = DefaultPerMessage
	}
	if perPrompt == 0 {
		perPrompt = DefaultPerPrompt
	}
	n := perPrompt
	for _, m := range messages {
		n += wireBytes(m.Role) + wireBytes(m.Content) + perMessage
	}
	return n
}

// wireBytes is the length of s once encoding/json has replaced each byte
// of invalid UTF-8 with U+FFFD (3 bytes).
func wireBytes(s string) uint64 {
	n := uint64(len(s))
	if utf8.ValidString(s) {
		return n
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += 2
		}
		i += size
	}
	return n
}
