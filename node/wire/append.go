package wire

import (
	"encoding/hex"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
)

// The messages of every job (submit, accepted, chunk, result, error,
// assign, cancel, done, fail) encode themselves by appending to a byte
// slice, without encoding/json's reflection: the same bytes, which
// TestAppendMatchesJSON and FuzzDecode hold equal to encoding/json's
// output for every sample and every frame the fuzzer finds. Encode has
// checked the message first (validate), so amounts are in range and
// signatures 65 bytes, which is all encoding/json could have refused.

// appender is a message that appends its fields, each with the comma
// before it, to a frame that has its "type" already.
type appender interface {
	Message
	// appendFields appends ,"key":value for each field, in the order
	// and with the omissions of the struct's json tags.
	appendFields(b []byte) []byte
	// sizeHint is about the length of the frame, for its first
	// allocation.
	sizeHint() int
}

// encodeAppender encodes a checked message.
func encodeAppender(m appender) []byte {
	b := make([]byte, 0, m.sizeHint())
	b = append(b, `{"type":"`...)
	b = append(b, m.Type()...)
	b = append(b, '"')
	b = m.appendFields(b)
	return append(b, '}')
}

// key appends ,"name": ; name is a plain ASCII field name.
func key(b []byte, name string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json does
// with HTML escaping off: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced by \ufffd, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendUint(b []byte, u uint64) []byte { return strconv.AppendUint(b, u, 10) }

func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// appendFloat appends f as encoding/json does: like ES6's number to
// string, 'e' form below 1e-6 and from 1e21, with e-09 written e-9. f is
// finite (validation refuses the rest).
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendHex appends "0x…" in lowercase, as hexutil does for hashes,
// addresses and signatures.
func appendHex(b []byte, raw []byte) []byte {
	b = append(b, '"', '0', 'x')
	b = hex.AppendEncode(b, raw)
	return append(b, '"')
}

func appendHash(b []byte, h common.Hash) []byte { return appendHex(b, h[:]) }

// appendAmount appends a checked amount as its decimal string; a nil one
// as null, as encoding/json does for a nil pointer.
func appendAmount(b []byte, a *Amount) []byte {
	if a == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	if x := (*big.Int)(a); x.IsUint64() {
		b = strconv.AppendUint(b, x.Uint64(), 10) // without big.Int's scratch buffer
	} else {
		b = x.Append(b, 10)
	}
	return append(b, '"')
}

// appendSignature appends a checked signature; an empty one as null, as
// encoding/json does for a nil slice. (Signature's MarshalJSON refuses
// an empty non-nil one; validation refuses both.)
func appendSignature(b []byte, s Signature) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendHex(b, s)
}

func appendUsage(b []byte, u *Usage) []byte {
	b = append(b, `{"input_tokens":`...)
	b = appendUint(b, u.InputTokens)
	b = append(b, `,"output_tokens":`...)
	b = appendUint(b, u.OutputTokens)
	return append(b, '}')
}

// appendMessages appends chat messages as an array; nil as null, as
// encoding/json does.
func appendMessages(b []byte, msgs []ChatMessage) []byte {
	if msgs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"role":`...)
		b = appendString(b, msgs[i].Role)
		b = append(b, `,"content":`...)
		b = appendString(b, msgs[i].Content)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendChatRequest(b []byte, r *ChatRequest) []byte {
	b = append(b, `{"messages":`...)
	b = appendMessages(b, r.Messages)
	if r.MaxTokens != 0 {
		b = appendUint(key(b, "max_tokens"), r.MaxTokens)
	}
	if r.Temperature != nil {
		b = appendFloat(key(b, "temperature"), *r.Temperature)
	}
	if r.Stream {
		b = append(key(b, "stream"), "true"...)
	}
	return append(b, '}')
}

func (r *ChatRequest) sizeHint() int {
	n := 64
	for i := range r.Messages {
		n += 32 + len(r.Messages[i].Role) + len(r.Messages[i].Content)
	}
	return n
}

func (m *Submit) appendFields(b []byte) []byte {
	b = appendString(key(b, "id"), m.ID)
	if m.Model != "" {
		b = appendString(key(b, "model"), m.Model)
	}
	if m.Offer != nil {
		b = appendAmount(key(b, "offer"), m.Offer)
	}
	b = appendHash(key(b, "channel_id"), m.ChannelID)
	b = appendChatRequest(key(b, "request"), &m.Request)
	v := &m.Voucher
	b = append(b, `,"voucher":{"amount":`...)
	b = appendAmount(b, v.Amount)
	b = appendSignature(key(b, "signature"), v.Signature)
	if v.ChainID != 0 {
		b = appendUint(key(b, "chain_id"), v.ChainID)
	}
	if v.Contract != nil {
		b = appendHex(key(b, "contract"), v.Contract[:])
	}
	return append(b, '}')
}

func (m *Submit) sizeHint() int {
	return 400 + len(m.ID) + len(m.Model) + m.Request.sizeHint()
}

func (m *Accepted) appendFields(b []byte) []byte {
	b = appendString(key(b, "id"), m.ID)
	b = appendAmount(key(b, "max_cost"), m.MaxCost)
	b = appendUint(key(b, "input_tokens"), m.InputTokens)
	return appendUint(key(b, "max_tokens"), m.MaxTokens)
}

func (m *Accepted) sizeHint() int { return 128 + len(m.ID) }

func (m *Chunk) appendFields(b []byte) []byte {
	b = appendString(key(b, "id"), m.ID)
	b = appendUint(key(b, "seq"), m.Seq)
	return appendString(key(b, "delta"), m.Delta)
}

func (m *Chunk) sizeHint() int { return 64 + len(m.ID) + len(m.Delta) }

func (m *Result) appendFields(b []byte) []byte {
	b = appendString(key(b, "id"), m.ID)
	b = appendString(key(b, "output"), m.Output)
	b = appendUsage(key(b, "usage"), &m.Usage)
	b = appendAmount(key(b, "cost"), m.Cost)
	r := &m.Receipt
	b = append(b, `,"receipt":{"channel_id":`...)
	b = appendHash(b, r.ChannelID)
	b = appendHash(key(b, "job_id"), r.JobID)
	b = appendAmount(key(b, "cost"), r.Cost)
	b = appendAmount(key(b, "cumulative_charged"), r.CumulativeCharged)
	b = appendUint(key(b, "input_tokens"), r.InputTokens)
	b = appendUint(key(b, "output_tokens"), r.OutputTokens)
	b = appendHash(key(b, "result_hash"), r.ResultHash)
	b = appendUint(key(b, "seq"), r.Seq)
	b = appendSignature(key(b, "signature"), r.Signature)
	b = append(b, '}')
	if m.Replayed {
		b = append(key(b, "replayed"), "true"...)
	}
	if m.OutputDropped {
		b = append(key(b, "output_dropped"), "true"...)
	}
	return b
}

func (m *Result) sizeHint() int { return 720 + len(m.ID) + len(m.Output) }

func (m *Error) appendFields(b []byte) []byte {
	if m.ID != "" {
		b = appendString(key(b, "id"), m.ID)
	}
	b = appendString(key(b, "code"), string(m.Code))
	b = appendString(key(b, "message"), m.Message)
	b = appendBool(key(b, "retryable"), m.Retryable)
	if m.RetryAfterMS != 0 {
		b = appendUint(key(b, "retry_after_ms"), m.RetryAfterMS)
	}
	if m.Field != "" {
		b = appendString(key(b, "field"), m.Field)
	}
	return b
}

func (m *Error) sizeHint() int { return 128 + len(m.ID) + len(m.Message) + 2*len(m.Field) }

func (m *Assign) appendFields(b []byte) []byte {
	b = appendString(key(b, "id"), m.ID)
	b = appendString(key(b, "model"), m.Model)
	b = appendChatRequest(key(b, "request"), &m.Request)
	if m.TimeoutMS != 0 {
		b = appendUint(key(b, "timeout_ms"), m.TimeoutMS)
	}
	return b
}

func (m *Assign) sizeHint() int { return 96 + len(m.ID) + len(m.Model) + m.Request.sizeHint() }

func (m *Cancel) appendFields(b []byte) []byte { return appendString(key(b, "id"), m.ID) }

func (m *Cancel) sizeHint() int { return 32 + len(m.ID) }

func (m *Done) appendFields(b []byte) []byte {
	b = appendString(key(b, "id"), m.ID)
	return appendUsage(key(b, "usage"), &m.Usage)
}

func (m *Done) sizeHint() int { return 96 + len(m.ID) }

func (m *Fail) appendFields(b []byte) []byte {
	b = appendString(key(b, "id"), m.ID)
	b = appendString(key(b, "code"), string(m.Code))
	b = appendString(key(b, "message"), m.Message)
	if m.Retryable != nil {
		b = appendBool(key(b, "retryable"), *m.Retryable)
	}
	return b
}

func (m *Fail) sizeHint() int { return 64 + len(m.ID) + len(m.Code) + len(m.Message) }
