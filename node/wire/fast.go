package wire

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
)

// The messages of every job (submit, accepted, chunk, result, error,
// assign, cancel, done) are decoded first by hand, without encoding/json's
// reflection, when their frame has the plain shape that Encode writes:
// "type" first, every key spelt exactly and given once, no null, numbers
// in the form their field takes. Anything else — a key in another case,
// a repeated or unknown key, a malformed value, a value out of range,
// trailing bytes — makes the hand decoder give up, and the frame goes the
// general way, which decides it (and words its refusal) as it always
// has. So the hand decoder only ever takes frames that encoding/json
// decodes to the same message: FuzzDecode holds the two equal on every
// frame it finds.

// fastTypes are the message types decoded by hand, with their decoders.
var fastTypes = map[string]func(*scanner) Message{
	TypeSubmit:   decodeSubmit,
	TypeAccepted: decodeAccepted,
	TypeChunk:    decodeChunk,
	TypeResult:   decodeResult,
	TypeError:    decodeError,
	TypeAssign:   decodeAssign,
	TypeCancel:   decodeCancel,
	TypeDone:     decodeDone,
}

// decodeFast decodes frame by hand when it is a job message of the plain
// shape that reg takes; ok false means: decode it the general way.
func decodeFast(reg constructors, frame []byte) (m Message, ok bool) {
	const prefix = `{"type":"`
	if len(frame) < len(prefix) || string(frame[:len(prefix)]) != prefix {
		return nil, false
	}
	s := &scanner{b: frame, i: len(prefix) - 1, ok: true}
	typ := s.rawString()
	if !s.ok {
		return nil, false
	}
	decode := fastTypes[string(typ)]
	if decode == nil || reg[string(typ)] == nil {
		return nil, false
	}
	m = decode(s)
	s.space()
	if !s.ok || s.i != len(s.b) {
		return nil, false
	}
	return m, true
}

// scanner reads a frame's JSON by hand. ok turns false at the first byte
// it does not take, and every method is then a no-op.
type scanner struct {
	b  []byte
	i  int
	ok bool
}

func (s *scanner) fail() { s.ok = false }

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte reads c, after white space.
func (s *scanner) byte(c byte) {
	s.space()
	if !s.ok || s.i >= len(s.b) || s.b[s.i] != c {
		s.fail()
		return
	}
	s.i++
}

// members reads the members of an object whose '{' is read, calling
// member with each key once its ':' is read; member reads the value, and
// returns false for a key it does not take. opened says whether the
// object has members read already (the top level's "type").
func (s *scanner) members(opened bool, member func(key []byte) bool) {
	s.space()
	if s.ok && s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return
	}
	for s.ok {
		if opened {
			s.byte(',')
		}
		opened = true
		s.space()
		k := s.rawString()
		s.byte(':')
		if !s.ok || !member(k) {
			s.fail()
			return
		}
		s.space()
		if s.ok && s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return
		}
	}
}

// rawString reads a string without escapes and returns its bytes, which
// alias the frame; any escape fails.
func (s *scanner) rawString() []byte {
	s.space()
	if !s.ok || s.i >= len(s.b) || s.b[s.i] != '"' {
		s.fail()
		return nil
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j]
		case c == '\\' || c < 0x20:
			s.fail()
			return nil
		}
	}
	s.fail()
	return nil
}

// str reads a string value. One with escapes or bytes that are not UTF-8
// is unquoted by encoding/json itself, so that it reads exactly as there.
func (s *scanner) str() string {
	s.space()
	if !s.ok || s.i >= len(s.b) || s.b[s.i] != '"' {
		s.fail()
		return ""
	}
	start, plain, ascii := s.i, true, true
	for j := start + 1; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			raw := s.b[start+1 : j]
			if plain && (ascii || utf8.Valid(raw)) {
				return intern(raw)
			}
			var v string
			if json.Unmarshal(s.b[start:s.i], &v) != nil {
				s.fail()
			}
			return v
		case c == '\\':
			plain = false
			j++ // the escaped byte; \uXXXX's digits need no care
		case c < 0x20:
			s.fail() // invalid JSON: the general way says so
			return ""
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	s.fail()
	return ""
}

// number reads a JSON number's bytes.
func (s *scanner) number() []byte {
	s.space()
	start, b, i := s.i, s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() bool {
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > d
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		s.fail()
		return nil
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			s.fail()
			return nil
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			s.fail()
			return nil
		}
	}
	s.i = i
	return b[start:i]
}

// uint reads a whole number of 0 to 2⁶⁴−1.
func (s *scanner) uint() uint64 {
	n := s.number()
	if !s.ok || len(n) == 0 || len(n) > 20 {
		s.fail()
		return 0
	}
	var u uint64
	for _, c := range n {
		if c < '0' || c > '9' {
			s.fail() // a sign, a fraction, an exponent
			return 0
		}
		d := uint64(c - '0')
		if u > (1<<64-1-d)/10 {
			s.fail()
			return 0
		}
		u = u*10 + d
	}
	return u
}

func (s *scanner) float() float64 {
	n := s.number()
	if !s.ok {
		return 0
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		s.fail()
	}
	return f
}

func (s *scanner) boolean() bool {
	s.space()
	switch {
	case !s.ok:
	case len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "true":
		s.i += 4
		return true
	case len(s.b)-s.i >= 5 && string(s.b[s.i:s.i+5]) == "false":
		s.i += 5
		return false
	}
	s.fail()
	return false
}

// amount reads an amount in Amount's one spelling.
func (s *scanner) amount() *Amount {
	raw := s.rawString()
	if !s.ok {
		return nil
	}
	if len(raw) > 0 && len(raw) <= 19 && (raw[0] != '0' || len(raw) == 1) {
		var u uint64
		for _, c := range raw {
			if c < '0' || c > '9' {
				s.fail()
				return nil
			}
			u = u*10 + uint64(c-'0')
		}
		return AmountOf(u)
	}
	x, reason := parseDigits(string(raw))
	if reason != "" {
		s.fail()
		return nil
	}
	return (*Amount)(x)
}

// hexInto reads "0x" and exactly 2·len(out) hex digits into out.
func (s *scanner) hexInto(out []byte) {
	raw := s.rawString()
	if !s.ok || len(raw) != 2+2*len(out) || raw[0] != '0' || raw[1] != 'x' {
		s.fail()
		return
	}
	if _, err := hex.Decode(out, raw[2:]); err != nil {
		s.fail()
	}
}

func (s *scanner) hash() (h common.Hash) {
	s.hexInto(h[:])
	return h
}

func (s *scanner) address() (a common.Address) {
	s.hexInto(a[:])
	return a
}

func (s *scanner) signature() Signature {
	sig := make(Signature, SignatureLen)
	s.hexInto(sig)
	return sig
}

// field is how the hand decoder reads one key of an object into a T.
type field[T any] struct {
	key  string
	read func(s *scanner, v *T)
}

// fields reads the members of an object into v, each key one of fs and
// given once; opened as for members. At most 32 fields.
func fields[T any](s *scanner, v *T, opened bool, fs []field[T]) {
	var seen uint32
	s.members(opened, func(k []byte) bool {
		for i := range fs {
			if string(k) != fs[i].key {
				continue
			}
			if seen&(1<<i) != 0 {
				return false // given twice: encoding/json keeps the last
			}
			seen |= 1 << i
			fs[i].read(s, v)
			return true
		}
		return false
	})
}

// object reads a whole object into v.
func object[T any](s *scanner, v *T, fs []field[T]) {
	s.byte('{')
	if s.ok {
		fields(s, v, false, fs)
	}
}

// message returns the decoder of a message type with fields fs, which
// follow its "type".
func message[T any, PT interface {
	*T
	Message
}](fs []field[T]) func(*scanner) Message {
	return func(s *scanner) Message {
		m := new(T)
		fields(s, m, true, fs)
		return PT(m)
	}
}

var (
	usageFields = []field[Usage]{
		{"input_tokens", func(s *scanner, u *Usage) { u.InputTokens = s.uint() }},
		{"output_tokens", func(s *scanner, u *Usage) { u.OutputTokens = s.uint() }},
	}
	chatMessageFields = []field[ChatMessage]{
		{"role", func(s *scanner, m *ChatMessage) { m.Role = s.str() }},
		{"content", func(s *scanner, m *ChatMessage) { m.Content = s.str() }},
	}
	chatRequestFields = []field[ChatRequest]{
		{"messages", func(s *scanner, r *ChatRequest) { r.Messages = s.chatMessages() }},
		{"max_tokens", func(s *scanner, r *ChatRequest) { r.MaxTokens = s.uint() }},
		{"temperature", func(s *scanner, r *ChatRequest) { t := s.float(); r.Temperature = &t }},
		{"stream", func(s *scanner, r *ChatRequest) { r.Stream = s.boolean() }},
	}
	voucherFields = []field[Voucher]{
		{"amount", func(s *scanner, v *Voucher) { v.Amount = s.amount() }},
		{"signature", func(s *scanner, v *Voucher) { v.Signature = s.signature() }},
		{"chain_id", func(s *scanner, v *Voucher) { v.ChainID = s.uint() }},
		{"contract", func(s *scanner, v *Voucher) { a := s.address(); v.Contract = &a }},
	}
	receiptFields = []field[Receipt]{
		{"channel_id", func(s *scanner, r *Receipt) { r.ChannelID = s.hash() }},
		{"job_id", func(s *scanner, r *Receipt) { r.JobID = s.hash() }},
		{"cost", func(s *scanner, r *Receipt) { r.Cost = s.amount() }},
		{"cumulative_charged", func(s *scanner, r *Receipt) { r.CumulativeCharged = s.amount() }},
		{"input_tokens", func(s *scanner, r *Receipt) { r.InputTokens = s.uint() }},
		{"output_tokens", func(s *scanner, r *Receipt) { r.OutputTokens = s.uint() }},
		{"result_hash", func(s *scanner, r *Receipt) { r.ResultHash = s.hash() }},
		{"seq", func(s *scanner, r *Receipt) { r.Seq = s.uint() }},
		{"signature", func(s *scanner, r *Receipt) { r.Signature = s.signature() }},
	}

	decodeSubmit = message([]field[Submit]{
		{"id", func(s *scanner, m *Submit) { m.ID = s.str() }},
		{"model", func(s *scanner, m *Submit) { m.Model = s.str() }},
		{"offer", func(s *scanner, m *Submit) { m.Offer = s.amount() }},
		{"channel_id", func(s *scanner, m *Submit) { m.ChannelID = s.hash() }},
		{"request", func(s *scanner, m *Submit) { object(s, &m.Request, chatRequestFields) }},
		{"voucher", func(s *scanner, m *Submit) { object(s, &m.Voucher, voucherFields) }},
	})
	decodeAccepted = message([]field[Accepted]{
		{"id", func(s *scanner, m *Accepted) { m.ID = s.str() }},
		{"max_cost", func(s *scanner, m *Accepted) { m.MaxCost = s.amount() }},
		{"input_tokens", func(s *scanner, m *Accepted) { m.InputTokens = s.uint() }},
		{"max_tokens", func(s *scanner, m *Accepted) { m.MaxTokens = s.uint() }},
	})
	decodeChunk = message([]field[Chunk]{
		{"id", func(s *scanner, m *Chunk) { m.ID = s.str() }},
		{"seq", func(s *scanner, m *Chunk) { m.Seq = s.uint() }},
		{"delta", func(s *scanner, m *Chunk) { m.Delta = s.str() }},
	})
	decodeResult = message([]field[Result]{
		{"id", func(s *scanner, m *Result) { m.ID = s.str() }},
		{"output", func(s *scanner, m *Result) { m.Output = s.str() }},
		{"usage", func(s *scanner, m *Result) { object(s, &m.Usage, usageFields) }},
		{"cost", func(s *scanner, m *Result) { m.Cost = s.amount() }},
		{"receipt", func(s *scanner, m *Result) { object(s, &m.Receipt, receiptFields) }},
		{"replayed", func(s *scanner, m *Result) { m.Replayed = s.boolean() }},
		{"output_dropped", func(s *scanner, m *Result) { m.OutputDropped = s.boolean() }},
	})
	decodeError = message([]field[Error]{
		{"id", func(s *scanner, m *Error) { m.ID = s.str() }},
		{"code", func(s *scanner, m *Error) { m.Code = Code(s.str()) }},
		{"message", func(s *scanner, m *Error) { m.Message = s.str() }},
		{"retryable", func(s *scanner, m *Error) { m.Retryable = s.boolean() }},
		{"retry_after_ms", func(s *scanner, m *Error) { m.RetryAfterMS = s.uint() }},
		{"field", func(s *scanner, m *Error) { m.Field = s.str() }},
	})
	decodeAssign = message([]field[Assign]{
		{"id", func(s *scanner, m *Assign) { m.ID = s.str() }},
		{"model", func(s *scanner, m *Assign) { m.Model = s.str() }},
		{"request", func(s *scanner, m *Assign) { object(s, &m.Request, chatRequestFields) }},
		{"timeout_ms", func(s *scanner, m *Assign) { m.TimeoutMS = s.uint() }},
	})
	decodeCancel = message([]field[Cancel]{
		{"id", func(s *scanner, m *Cancel) { m.ID = s.str() }},
	})
	decodeDone = message([]field[Done]{
		{"id", func(s *scanner, m *Done) { m.ID = s.str() }},
		{"usage", func(s *scanner, m *Done) { object(s, &m.Usage, usageFields) }},
	})
)

// chatMessages reads an array of chat messages.
func (s *scanner) chatMessages() []ChatMessage {
	s.byte('[')
	s.space()
	msgs := make([]ChatMessage, 0, 4)
	if s.ok && s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return msgs
	}
	for s.ok {
		msgs = append(msgs, ChatMessage{})
		object(s, &msgs[len(msgs)-1], chatMessageFields)
		s.space()
		if s.ok && s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return msgs
		}
		s.byte(',')
	}
	return nil
}

// intern returns the chat roles without allocating a copy; any other
// string is copied.
func intern(raw []byte) string {
	switch string(raw) {
	case "user":
		return "user"
	case "assistant":
		return "assistant"
	case "system":
		return "system"
	case "developer":
		return "developer"
	}
	return string(raw)
}
