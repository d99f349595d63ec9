package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// Direction is one way of one connection. A message type is taken only in
// the directions the package doc lists for it: a `result` sent by an
// agent is unknown_type, not a result.
type Direction uint8

const (
	AgentToNode  Direction = iota + 1 // read by the node on /v1/agent
	NodeToAgent                       // read by the agent on /v1/agent
	WorkerToNode                      // read by the node on /v1/worker
	NodeToWorker                      // read by the worker on /v1/worker
)

func (d Direction) String() string {
	switch d {
	case AgentToNode:
		return "agent→node"
	case NodeToAgent:
		return "node→agent"
	case WorkerToNode:
		return "worker→node"
	case NodeToWorker:
		return "node→worker"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// Strict reports whether the reader of d refuses unknown fields. The node
// does: a client's misspelt or unsupported field ("maxTokens", "top_p")
// would otherwise be dropped without a word and the job run and priced
// other than asked. Agents and workers do not, so that a newer node may
// add fields without breaking them.
func (d Direction) Strict() bool { return d == AgentToNode || d == WorkerToNode }

// Frame and request bounds.
const (
	// DefaultMaxFrameBytes bounds the frames the node reads.
	DefaultMaxFrameBytes = 1 << 20
	// DefaultMaxNodeFrameBytes bounds the frames agents and workers read
	// from the node: a result carries a whole output, an assign a whole
	// request.
	DefaultMaxNodeFrameBytes = 16 << 20
	// DefaultMaxMessages bounds the chat messages of one request.
	DefaultMaxMessages = 1024
)

// Decoder decodes the frames of one direction. The zero MaxFrameBytes and
// MaxMessages mean the defaults. A Decoder is safe for concurrent use.
type Decoder struct {
	Direction     Direction
	MaxFrameBytes int
	MaxMessages   int
}

// Decode decodes one frame read in direction dir with the default limits.
func Decode(dir Direction, frame []byte) (Message, error) {
	d := Decoder{Direction: dir}
	return d.Decode(frame)
}

// probe reads what Decode needs before it knows the message type.
type probe struct {
	Type json.RawMessage `json:"type"`
	ID   json.RawMessage `json:"id"`
}

// Decode reads one frame: a JSON object with a "type" this direction
// takes, and the fields of that type. It returns the message as its
// concrete pointer type (*Submit, *Result, …), or an *Error with the code
// to send back: frame_too_large, bad_frame, unknown_type or bad_field
// (Field names the field). The error carries the frame's job id when the
// frame had a valid one, so the reply can name the job.
func (d *Decoder) Decode(frame []byte) (Message, error) { return d.decode(frame, true) }

// decode is Decode, without the hand decoder of job messages unless fast.
func (d *Decoder) decode(frame []byte, fast bool) (Message, error) {
	reg := registry(d.Direction)
	if reg == nil {
		return nil, fmt.Errorf("wire: decoder for unknown direction %s", d.Direction)
	}
	max := d.MaxFrameBytes
	if max <= 0 {
		max = DefaultMaxFrameBytes
		if !d.Direction.Strict() {
			max = DefaultMaxNodeFrameBytes
		}
	}
	if len(frame) > max {
		return nil, NewError("", CodeFrameTooLarge, "frame is %d bytes, the limit is %d", len(frame), max)
	}
	lim := limits{maxMessages: d.MaxMessages}
	if lim.maxMessages <= 0 {
		lim.maxMessages = DefaultMaxMessages
	}
	if fast {
		if m, ok := decodeFast(reg, frame); ok {
			if e := m.validate(&lim); e != nil {
				e.ID = ""
				if id := m.(JobMessage).JobID(); checkID("id", id) == nil {
					e.ID = id
				}
				return nil, e
			}
			return m, nil
		}
	}
	trimmed := bytes.TrimLeft(frame, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, NewError("", CodeBadFrame, "a frame is one JSON object")
	}
	var p probe
	if err := json.Unmarshal(frame, &p); err != nil {
		return nil, NewError("", CodeBadFrame, "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	id := probedID(p.ID)
	var typ string
	if p.Type == nil || json.Unmarshal(p.Type, &typ) != nil || typ == "" {
		return nil, NewError(id, CodeBadFrame, `a frame needs a "type" string`)
	}
	newMsg, ok := reg[typ]
	if !ok {
		return nil, NewError(id, CodeUnknownType, "%q is not a message type of %s", truncate(typ), d.Direction)
	}
	m, dst := newMsg()
	var err error
	if d.Direction.Strict() {
		dec := json.NewDecoder(bytes.NewReader(frame))
		dec.DisallowUnknownFields()
		err = dec.Decode(dst)
	} else {
		err = json.Unmarshal(frame, dst)
	}
	if err != nil {
		e := fromJSON(err)
		if e.Code == CodeBadFrame && strings.HasPrefix(err.Error(), "hex string has length") {
			// go-ethereum reports a hash or address of the wrong
			// length without the field's path; find it.
			if field := hexLengthField(frame, reflect.TypeOf(m)); field != "" {
				e = badField(field, "%s", err.Error())
			}
		}
		e.ID = id
		return nil, e
	}
	if e := m.validate(&lim); e != nil {
		e.ID = id
		return nil, e
	}
	return m, nil
}

// probedID returns raw as a job id if it is a valid one, else "".
func probedID(raw json.RawMessage) string {
	var id string
	if raw == nil || json.Unmarshal(raw, &id) != nil || checkID("id", id) != nil {
		return ""
	}
	return id
}

// fromJSON turns encoding/json's errors into bad_field or bad_frame.
func fromJSON(err error) *Error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		// Decode decodes into a struct embedding the message, whose Go
		// type name leads the path: "Submit.voucher.amount".
		if i := strings.IndexByte(field, '.'); i > 0 && field[0] >= 'A' && field[0] <= 'Z' {
			field = field[i+1:]
		}
		if field == "" {
			field = "(frame)"
		}
		return badField(field, "%s", describe(te))
	case errors.As(err, &se):
		return NewError("", CodeBadFrame, "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	// DisallowUnknownFields reports `json: unknown field "key"`.
	if rest, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		key, qerr := strconv.Unquote(rest)
		if qerr != nil {
			key = rest
		}
		return badField(truncate(key), "unknown field")
	}
	return NewError("", CodeBadFrame, "%s", strings.TrimPrefix(err.Error(), "json: "))
}

var (
	hashType    = reflect.TypeFor[common.Hash]()
	addressType = reflect.TypeFor[common.Address]()
)

// hexLengthField returns the path of the first hash or address field of
// message type t whose hex string in frame has the wrong length, or "".
func hexLengthField(frame []byte, t reflect.Type) string {
	var v any
	if json.Unmarshal(frame, &v) != nil {
		return ""
	}
	return walkHex(v, t, "")
}

func walkHex(v any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	obj, ok := v.(map[string]any)
	if !ok || t.Kind() != reflect.Struct {
		return ""
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		var val any
		for k, kv := range obj { // encoding/json matches keys case-insensitively
			if strings.EqualFold(k, name) {
				val = kv
			}
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft == hashType || ft == addressType {
			if s, ok := val.(string); ok && len(s) >= 2 && len(s)-2 != 2*ft.Len() {
				return p
			}
			continue
		}
		if q := walkHex(val, ft, p); q != "" {
			return q
		}
	}
	return ""
}

// describe says what was wrong with a value: our own types and
// go-ethereum's hex types put the reason in Value; encoding/json puts the
// JSON kind it found there.
func describe(te *json.UnmarshalTypeError) string {
	v := te.Value
	switch {
	case v == "non-string":
		return "want a 0x-prefixed hex string"
	case v == "bool", v == "string", v == "number", v == "array", v == "object", v == "null",
		strings.HasPrefix(v, "number "):
		return fmt.Sprintf("got %s, want %s", truncate(v), kindOf(te.Type))
	}
	return truncateN(v, 256) // a reason of ours or go-ethereum's
}

func kindOf(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return fmt.Sprintf("a whole number from 0 to %d", uint64(1)<<(t.Bits()-1)<<1-1)
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// Encode returns m as one frame: a JSON object whose first key is "type".
// It checks m as Decode would (bar a peer's configured limits), so a node
// never sends what its peers must refuse.
func Encode(m Message) ([]byte, error) {
	if m == nil {
		return nil, errors.New("wire: encode nil message")
	}
	if v := reflect.ValueOf(m); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, fmt.Errorf("wire: encode nil %T", m)
	}
	if e := m.validate(nil); e != nil {
		return nil, fmt.Errorf("wire: encode %s: %w", m.Type(), e)
	}
	if a, ok := m.(appender); ok {
		return encodeAppender(a), nil
	}
	return encodeJSON(m)
}

// encodeJSON encodes a checked message with encoding/json: the reference
// that the appenders' output equals.
func encodeJSON(m Message) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"type":"`)
	buf.WriteString(m.Type())
	buf.WriteByte('"')
	start := buf.Len()
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // chat text is full of <, > and &; \u003c helps no one here
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("wire: encode %s: %w", m.Type(), err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(b)-start == 2 { // {}
		return append(b[:start], '}'), nil
	}
	b[start] = ','
	return b, nil
}

// typeKey stands for the "type" key when a frame is decoded into its
// concrete type, which Decode has already read.
type typeKey struct{}

func (*typeKey) UnmarshalJSON([]byte) error { return nil }

type constructors map[string]func() (Message, any)

func registry(d Direction) constructors {
	switch d {
	case AgentToNode:
		return agentToNode
	case NodeToAgent:
		return nodeToAgent
	case WorkerToNode:
		return workerToNode
	case NodeToWorker:
		return nodeToWorker
	}
	return nil
}

// Each constructor returns the message and the value to decode the frame
// into: the message's fields and the "type" key.
var (
	newHello = func() (Message, any) {
		m := new(Hello)
		return m, &struct {
			T typeKey `json:"type"`
			*Hello
		}{Hello: m}
	}
	newSubmit = func() (Message, any) {
		m := new(Submit)
		return m, &struct {
			T typeKey `json:"type"`
			*Submit
		}{Submit: m}
	}
	newCancel = func() (Message, any) {
		m := new(Cancel)
		return m, &struct {
			T typeKey `json:"type"`
			*Cancel
		}{Cancel: m}
	}
	newSync = func() (Message, any) {
		m := new(Sync)
		return m, &struct {
			T typeKey `json:"type"`
			*Sync
		}{Sync: m}
	}
	newPing = func() (Message, any) {
		m := new(Ping)
		return m, &struct {
			T typeKey `json:"type"`
			*Ping
		}{Ping: m}
	}
	newChallenge = func() (Message, any) {
		m := new(Challenge)
		return m, &struct {
			T typeKey `json:"type"`
			*Challenge
		}{Challenge: m}
	}
	newReady = func() (Message, any) {
		m := new(Ready)
		return m, &struct {
			T typeKey `json:"type"`
			*Ready
		}{Ready: m}
	}
	newAccepted = func() (Message, any) {
		m := new(Accepted)
		return m, &struct {
			T typeKey `json:"type"`
			*Accepted
		}{Accepted: m}
	}
	newChunk = func() (Message, any) {
		m := new(Chunk)
		return m, &struct {
			T typeKey `json:"type"`
			*Chunk
		}{Chunk: m}
	}
	newResult = func() (Message, any) {
		m := new(Result)
		return m, &struct {
			T typeKey `json:"type"`
			*Result
		}{Result: m}
	}
	newError = func() (Message, any) {
		m := new(Error)
		return m, &struct {
			T typeKey `json:"type"`
			*Error
		}{Error: m}
	}
	newChannel = func() (Message, any) {
		m := new(Channel)
		return m, &struct {
			T typeKey `json:"type"`
			*Channel
		}{Channel: m}
	}
	newPong = func() (Message, any) {
		m := new(Pong)
		return m, &struct {
			T typeKey `json:"type"`
			*Pong
		}{Pong: m}
	}
	newRegister = func() (Message, any) {
		m := new(Register)
		return m, &struct {
			T typeKey `json:"type"`
			*Register
		}{Register: m}
	}
	newModels = func() (Message, any) {
		m := new(Models)
		return m, &struct {
			T typeKey `json:"type"`
			*Models
		}{Models: m}
	}
	newDone = func() (Message, any) {
		m := new(Done)
		return m, &struct {
			T typeKey `json:"type"`
			*Done
		}{Done: m}
	}
	newFail = func() (Message, any) {
		m := new(Fail)
		return m, &struct {
			T typeKey `json:"type"`
			*Fail
		}{Fail: m}
	}
	newRegistered = func() (Message, any) {
		m := new(Registered)
		return m, &struct {
			T typeKey `json:"type"`
			*Registered
		}{Registered: m}
	}
	newAssign = func() (Message, any) {
		m := new(Assign)
		return m, &struct {
			T typeKey `json:"type"`
			*Assign
		}{Assign: m}
	}

	agentToNode = constructors{
		TypeHello: newHello, TypeSubmit: newSubmit, TypeCancel: newCancel,
		TypeSync: newSync, TypePing: newPing,
	}
	nodeToAgent = constructors{
		TypeChallenge: newChallenge, TypeReady: newReady, TypeAccepted: newAccepted,
		TypeChunk: newChunk, TypeResult: newResult, TypeError: newError,
		TypeChannel: newChannel, TypePong: newPong,
	}
	workerToNode = constructors{
		TypeRegister: newRegister, TypeModels: newModels, TypeChunk: newChunk,
		TypeDone: newDone, TypeFail: newFail, TypePing: newPing,
	}
	nodeToWorker = constructors{
		TypeRegistered: newRegistered, TypeAssign: newAssign, TypeCancel: newCancel,
		TypeError: newError, TypePong: newPong,
	}
)
