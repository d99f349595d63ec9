package wire

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"go/build"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
)

// Fixed keys and deployment, so that signatures in the samples are real.
var (
	agentKey    = mustKey("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	providerKey = mustKey("8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f")
	agentAddr   = crypto.PubkeyToAddress(agentKey.PublicKey)
	providerAdr = crypto.PubkeyToAddress(providerKey.PublicKey)
	chainID     = uint64(1337)
	contractAdr = common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")
	domain      = contracts.NewDomain(new(big.Int).SetUint64(chainID), contractAdr)
	channelID   = common.HexToHash("0x8f3c7c2a4b1e9d0f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f")
	nonce       = common.HexToHash("0x0badc0ffee0ddf00d0000000000000000000000000000000000000000000001")
)

func mustKey(h string) *ecdsa.PrivateKey {
	k, err := crypto.HexToECDSA(h)
	if err != nil {
		panic(err)
	}
	return k
}

func amt(s string) *Amount {
	a, err := ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

func f64(x float64) *float64 { return &x }

func voucherSig(amount *Amount) Signature {
	d, err := domain.VoucherDigest(&contracts.Voucher{ChannelID: channelID, CumulativeAmount: amount.Big()})
	if err != nil {
		panic(err)
	}
	sig, err := contracts.Sign(d, agentKey)
	if err != nil {
		panic(err)
	}
	return sig
}

func sampleChallenge() *Challenge {
	return &Challenge{
		Nonce: nonce, Provider: providerAdr, ChainID: chainID, Contract: contractAdr,
		Limits: Limits{
			MaxFrameBytes: DefaultMaxFrameBytes, MaxMessages: DefaultMaxMessages,
			MaxJobsInFlight: 16, MaxConnectionsPerSigner: 4,
			AuthTimeoutMS: 10_000, JobTimeoutMS: 300_000,
		},
	}
}

func sampleSubmit() *Submit {
	a := amt("1052001000")
	return &Submit{
		ID:        "job-0001",
		Model:     "paynode-test-1",
		ChannelID: channelID,
		Request: ChatRequest{
			Messages: []ChatMessage{
				{Role: "system", Content: "You are terse."},
				{Role: "user", Content: "Name three prime numbers."},
				{Role: "assistant", Content: "2, 3, 5."},
				{Role: "user", Content: "Three more, > 5 & < 20?"},
			},
			MaxTokens:   128,
			Temperature: f64(0.2),
			Stream:      true,
		},
		Voucher: Voucher{Amount: a, Signature: voucherSig(a), ChainID: chainID, Contract: &contractAdr},
	}
}

func sampleResult() *Result {
	output := strings.Repeat("7, 11, 13. ", 40)
	r := &contracts.Receipt{
		ChannelID: channelID, JobID: JobKey("job-0001"),
		Cost: big.NewInt(1_001_460), CumulativeCharged: big.NewInt(5_000_000_123),
		InputTokens: 42, OutputTokens: 180, ResultHash: ResultHash(output),
	}
	d, err := domain.ReceiptDigest(r)
	if err != nil {
		panic(err)
	}
	sig, err := contracts.Sign(d, providerKey)
	if err != nil {
		panic(err)
	}
	return &Result{
		ID: "job-0001", Output: output,
		Usage:   Usage{InputTokens: 42, OutputTokens: 180},
		Cost:    amt("1001460"),
		Receipt: NewReceipt(r, 7, sig),
	}
}

func sampleChannel() *Channel {
	return &Channel{
		ChannelID: channelID, Deposit: amt("10000000000"), Charged: amt("5000000123"),
		Reserved: amt("1001700"), Claimed: amt("4000000000"), Voucher: amt("5001001823"), ReceiptSeq: 7,
	}
}

type sample struct {
	name string
	dir  Direction
	msg  Message
}

// samples holds at least one message of every type in every direction
// that carries it.
func samples() []sample {
	hello, err := sampleChallenge().Answer(agentKey)
	if err != nil {
		panic(err)
	}
	minimal := &Submit{
		ID: "x", Offer: amt("3"), ChannelID: channelID,
		Request: ChatRequest{Messages: []ChatMessage{{Role: "user", Content: ""}}},
		Voucher: Voucher{Amount: amt("0"), Signature: voucherSig(amt("0"))},
	}
	replay := sampleResult()
	replay.Output, replay.Replayed, replay.OutputDropped = "", true, true
	return []sample{
		{"hello", AgentToNode, hello},
		{"submit", AgentToNode, sampleSubmit()},
		{"submit minimal", AgentToNode, minimal},
		{"submit max id", AgentToNode, &Submit{
			ID: strings.Repeat("é", 64), Model: "m", Offer: amt("115792089237316195423570985008687907853269984665640564039457584007913129639935"),
			ChannelID: channelID, Request: ChatRequest{Messages: []ChatMessage{{Role: "developer", Content: "<b>&\u2028\x00"}}, Temperature: f64(0)},
			Voucher: Voucher{Amount: amt("115792089237316195423570985008687907853269984665640564039457584007913129639935"), Signature: voucherSig(amt("1"))},
		}},
		{"cancel", AgentToNode, &Cancel{ID: "job-0001"}},
		{"sync", AgentToNode, &Sync{ChannelID: channelID}},
		{"ping", AgentToNode, &Ping{Nonce: "t-17"}},
		{"ping empty", AgentToNode, &Ping{}},

		{"challenge", NodeToAgent, sampleChallenge()},
		{"ready", NodeToAgent, &Ready{Signer: agentAddr}},
		{"accepted", NodeToAgent, &Accepted{ID: "job-0001", MaxCost: amt("1001700"), InputTokens: 42, MaxTokens: 128}},
		{"chunk", NodeToAgent, &Chunk{ID: "job-0001", Seq: 1, Delta: "7, 11"}},
		{"result", NodeToAgent, sampleResult()},
		{"result replayed, output dropped", NodeToAgent, replay},
		{"error", NodeToAgent, &Error{ID: "job-0001", Code: CodeOverloaded, Message: "no worker free", Retryable: true, RetryAfterMS: 250}},
		{"error connection", NodeToAgent, &Error{Code: CodeBadField, Message: "voucher.amount: negative", Field: "voucher.amount"}},
		{"error newer code", NodeToAgent, &Error{Code: "some_future_code", Message: "?"}},
		{"channel", NodeToAgent, sampleChannel()},
		{"channel closing", NodeToAgent, &Channel{
			ChannelID: channelID, Deposit: amt("1"), Charged: amt("0"), Reserved: amt("0"), Claimed: amt("0"), Voucher: amt("0"), Closing: true,
		}},
		{"pong", NodeToAgent, &Pong{Nonce: "t-17"}},

		{"register", WorkerToNode, &Register{Name: "gpu-box-3", Capacity: 8, Models: []string{"paynode-test-1", "llama-3.1-8b"}}},
		{"models", WorkerToNode, &Models{Capacity: 4, Models: []string{"paynode-test-1"}}},
		{"models drain", WorkerToNode, &Models{}},
		{"worker chunk", WorkerToNode, &Chunk{ID: "n-42", Seq: 3, Delta: ""}},
		{"done", WorkerToNode, &Done{ID: "n-42", Usage: Usage{InputTokens: 42, OutputTokens: 180}}},
		{"fail", WorkerToNode, &Fail{ID: "n-42", Code: CodeUpstreamError, Message: "backend answered 503", Retryable: new(true)}},
		{"worker ping", WorkerToNode, &Ping{}},

		{"registered", NodeToWorker, &Registered{MaxFrameBytes: DefaultMaxFrameBytes}},
		{"assign", NodeToWorker, &Assign{ID: "n-42", Model: "paynode-test-1", Request: sampleSubmit().Request, TimeoutMS: 300_000}},
		{"worker cancel", NodeToWorker, &Cancel{ID: "n-42"}},
		{"worker error", NodeToWorker, &Error{Code: CodeUnexpectedMessage, Message: "chunk for a job not assigned"}},
		{"worker pong", NodeToWorker, &Pong{}},
	}
}

// equal compares messages, amounts by value.
func equal(a, b any) bool { return deepEqual(reflect.ValueOf(a), reflect.ValueOf(b)) }

var bigType = reflect.TypeFor[big.Int]()

func deepEqual(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() || a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		if a.Type() == reflect.TypeFor[*Amount]() {
			return a.Interface().(*Amount).Cmp(b.Interface().(*Amount)) == 0
		}
		return deepEqual(a.Elem(), b.Elem())
	case reflect.Struct:
		if a.Type() == bigType {
			return false // only compared through *Amount
		}
		for i := range a.NumField() {
			if !deepEqual(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		fallthrough
	case reflect.Array:
		for i := range a.Len() {
			if !deepEqual(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Float64:
		return a.Float() == b.Float()
	}
	return a.Equal(b)
}

func TestRoundTrip(t *testing.T) {
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			frame, err := Encode(s.msg)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if want := `{"type":"` + s.msg.Type() + `"`; !bytes.HasPrefix(frame, []byte(want)) {
				t.Fatalf("frame %s does not start with %s", frame, want)
			}
			got, err := Decode(s.dir, frame)
			if err != nil {
				t.Fatalf("decode %s: %v", frame, err)
			}
			if !equal(got, s.msg) {
				t.Fatalf("round trip changed the message:\n sent %#v\n got  %#v", s.msg, got)
			}
			again, err := Encode(got)
			if err != nil || !bytes.Equal(again, frame) {
				t.Fatalf("re-encoding gave %s, %v; want %s", again, err, frame)
			}
		})
	}
}

// Every type constant is taken in some direction, and every type a
// direction takes has a sample.
func TestEveryTypeHasASample(t *testing.T) {
	have := map[Direction]map[string]bool{}
	for _, s := range samples() {
		if have[s.dir] == nil {
			have[s.dir] = map[string]bool{}
		}
		have[s.dir][s.msg.Type()] = true
	}
	seen := map[string]bool{}
	for _, dir := range []Direction{AgentToNode, NodeToAgent, WorkerToNode, NodeToWorker} {
		for typ, ctor := range registry(dir) {
			seen[typ] = true
			if !have[dir][typ] {
				t.Errorf("%s: no sample of %q", dir, typ)
			}
			if m, _ := ctor(); m.Type() != typ {
				t.Errorf("%s: %q builds a %q", dir, typ, m.Type())
			}
		}
	}
	for _, typ := range []string{
		TypeHello, TypeSubmit, TypeCancel, TypeSync, TypePing, TypeChallenge, TypeReady,
		TypeAccepted, TypeChunk, TypeResult, TypeError, TypeChannel, TypePong, TypeRegister,
		TypeModels, TypeDone, TypeFail, TypeRegistered, TypeAssign,
	} {
		if !seen[typ] {
			t.Errorf("type %q is taken in no direction", typ)
		}
	}
}

func TestEncodeOmitsAbsentFields(t *testing.T) {
	frame, err := Encode(&Ping{})
	if err != nil || string(frame) != `{"type":"ping"}` {
		t.Fatalf("Encode(Ping{}) = %s, %v", frame, err)
	}
	frame, err = Encode(&Cancel{ID: "a<b>&c"})
	if err != nil || string(frame) != `{"type":"cancel","id":"a<b>&c"}` {
		t.Fatalf("Encode(Cancel) = %s, %v", frame, err)
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	for name, m := range map[string]Message{
		"nil pointer":      (*Submit)(nil),
		"no id":            &Cancel{},
		"negative amount":  &Accepted{ID: "a", MaxCost: NewAmount(big.NewInt(-1))},
		"amount too big":   &Accepted{ID: "a", MaxCost: NewAmount(new(big.Int).Lsh(big.NewInt(1), 256))},
		"short signature":  &Hello{Signer: agentAddr, Signature: make(Signature, 64)},
		"invalid utf-8":    &Chunk{ID: "a", Seq: 1, Delta: "\xff"},
		"result mismatch":  func() Message { r := sampleResult(); r.Cost = amt("1"); return r }(),
		"error code":       &Error{Code: "Not-A-Code"},
		"assign no budget": &Assign{ID: "n", Model: "m", Request: ChatRequest{Messages: []ChatMessage{{Role: "user"}}}},
	} {
		if frame, err := Encode(m); err == nil {
			t.Errorf("%s: encoded %s", name, frame)
		}
	}
	if _, err := Encode(nil); err == nil {
		t.Error("encoded a nil message")
	}
}

// frame builds a submit frame with one field replaced: path is dotted,
// value is raw JSON, or "" to delete the field.
func submitFrame(t testing.TB, edits ...string) []byte {
	t.Helper()
	frame, err := Encode(sampleSubmit())
	if err != nil {
		t.Fatal(err)
	}
	return edit(t, frame, edits...)
}

func edit(t testing.TB, frame []byte, edits ...string) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(frame, &v); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(edits); i += 2 {
		path, raw := strings.Split(edits[i], "."), edits[i+1]
		obj := v
		for _, p := range path[:len(path)-1] {
			obj = obj[p].(map[string]any)
		}
		last := path[len(path)-1]
		if raw == "" {
			delete(obj, last)
			continue
		}
		obj[last] = json.RawMessage(raw)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRejections(t *testing.T) {
	sig := voucherSig(amt("1"))
	sigHex := `"` + common.Bytes2Hex(sig) + `"`
	cases := []struct {
		name  string
		dir   Direction
		frame []byte
		code  Code
		field string
	}{
		// frames
		{"empty frame", AgentToNode, []byte(""), CodeBadFrame, ""},
		{"blank frame", AgentToNode, []byte(" \n"), CodeBadFrame, ""},
		{"array", AgentToNode, []byte(`[{"type":"ping"}]`), CodeBadFrame, ""},
		{"string", AgentToNode, []byte(`"ping"`), CodeBadFrame, ""},
		{"null", AgentToNode, []byte(`null`), CodeBadFrame, ""},
		{"truncated", AgentToNode, []byte(`{"type":"ping"`), CodeBadFrame, ""},
		{"trailing data", AgentToNode, []byte(`{"type":"ping"} {}`), CodeBadFrame, ""},
		{"two objects", AgentToNode, []byte(`{"type":"ping"}{"type":"ping"}`), CodeBadFrame, ""},
		{"no type", AgentToNode, []byte(`{"id":"a"}`), CodeBadFrame, ""},
		{"type number", AgentToNode, []byte(`{"type":1}`), CodeBadFrame, ""},
		{"type null", AgentToNode, []byte(`{"type":null}`), CodeBadFrame, ""},
		{"type empty", AgentToNode, []byte(`{"type":""}`), CodeBadFrame, ""},
		{"unknown type", AgentToNode, []byte(`{"type":"submitt"}`), CodeUnknownType, ""},
		{"result from agent", AgentToNode, []byte(`{"type":"result"}`), CodeUnknownType, ""},
		{"assign from worker", WorkerToNode, []byte(`{"type":"assign"}`), CodeUnknownType, ""},
		{"submit from node", NodeToAgent, submitFrame(t), CodeUnknownType, ""},
		{"register to worker", NodeToWorker, []byte(`{"type":"register"}`), CodeUnknownType, ""},

		// unknown fields, where the node reads
		{"unknown field", AgentToNode, submitFrame(t, "top_p", "1"), CodeBadField, "top_p"},
		{"unknown request field", AgentToNode, submitFrame(t, "request.top_p", "1"), CodeBadField, "top_p"},
		{"camel case", AgentToNode, submitFrame(t, "request.maxTokens", "5"), CodeBadField, "maxTokens"},
		{"unknown voucher field", AgentToNode, submitFrame(t, "voucher.nonce", "1"), CodeBadField, "nonce"},
		{"unknown worker field", WorkerToNode, []byte(`{"type":"done","id":"n","usage":{},"output":"x"}`), CodeBadField, "output"},

		// submit
		{"id missing", AgentToNode, submitFrame(t, "id", ""), CodeBadField, "id"},
		{"id empty", AgentToNode, submitFrame(t, "id", `""`), CodeBadField, "id"},
		{"id too long", AgentToNode, submitFrame(t, "id", `"`+strings.Repeat("a", 129)+`"`), CodeBadField, "id"},
		{"id number", AgentToNode, submitFrame(t, "id", `7`), CodeBadField, "id"},
		{"no model nor offer", AgentToNode, submitFrame(t, "model", ""), CodeBadField, "model"},
		{"model too long", AgentToNode, submitFrame(t, "model", `"`+strings.Repeat("m", 257)+`"`), CodeBadField, "model"},
		{"offer zero", AgentToNode, submitFrame(t, "offer", `"0"`), CodeBadField, "offer"},
		{"offer number", AgentToNode, submitFrame(t, "offer", `3`), CodeBadField, "offer"},
		{"channel missing", AgentToNode, submitFrame(t, "channel_id", ""), CodeBadField, "channel_id"},
		{"channel zero", AgentToNode, submitFrame(t, "channel_id", `"0x`+strings.Repeat("0", 64)+`"`), CodeBadField, "channel_id"},
		{"channel short", AgentToNode, submitFrame(t, "channel_id", `"0x01"`), CodeBadField, "channel_id"},
		{"channel long", AgentToNode, submitFrame(t, "channel_id", `"0x`+strings.Repeat("1", 66)+`"`), CodeBadField, "channel_id"},
		{"channel odd", AgentToNode, submitFrame(t, "channel_id", `"0x`+strings.Repeat("1", 65)+`"`), CodeBadField, "channel_id"},
		{"channel no 0x", AgentToNode, submitFrame(t, "channel_id", `"`+strings.Repeat("1", 64)+`"`), CodeBadField, "channel_id"},
		{"channel bad hex", AgentToNode, submitFrame(t, "channel_id", `"0x`+strings.Repeat("g", 64)+`"`), CodeBadField, "channel_id"},
		{"channel number", AgentToNode, submitFrame(t, "channel_id", `1`), CodeBadField, "channel_id"},
		{"channel null", AgentToNode, submitFrame(t, "channel_id", `null`), CodeBadField, "channel_id"},
		{"request missing", AgentToNode, submitFrame(t, "request", ""), CodeBadField, "request.messages"},
		{"messages empty", AgentToNode, submitFrame(t, "request.messages", `[]`), CodeBadField, "request.messages"},
		{"messages object", AgentToNode, submitFrame(t, "request.messages", `{}`), CodeBadField, "request.messages"},
		{"role missing", AgentToNode, submitFrame(t, "request.messages", `[{"content":"hi"}]`), CodeBadField, "request.messages[0].role"},
		{"role tool", AgentToNode, submitFrame(t, "request.messages", `[{"role":"user","content":"a"},{"role":"tool","content":"b"}]`), CodeBadField, "request.messages[1].role"},
		{"content parts", AgentToNode, submitFrame(t, "request.messages", `[{"role":"user","content":[{"type":"text","text":"hi"}]}]`), CodeBadField, "request.messages.content"},
		{"message extra", AgentToNode, submitFrame(t, "request.messages", `[{"role":"user","content":"a","name":"bob"}]`), CodeBadField, "name"},
		{"max_tokens negative", AgentToNode, submitFrame(t, "request.max_tokens", `-1`), CodeBadField, "request.max_tokens"},
		{"max_tokens float", AgentToNode, submitFrame(t, "request.max_tokens", `1.5`), CodeBadField, "request.max_tokens"},
		{"max_tokens string", AgentToNode, submitFrame(t, "request.max_tokens", `"5"`), CodeBadField, "request.max_tokens"},
		{"max_tokens 2^64", AgentToNode, submitFrame(t, "request.max_tokens", `18446744073709551616`), CodeBadField, "request.max_tokens"},
		{"temperature high", AgentToNode, submitFrame(t, "request.temperature", `2.5`), CodeBadField, "request.temperature"},
		{"temperature negative", AgentToNode, submitFrame(t, "request.temperature", `-0.1`), CodeBadField, "request.temperature"},
		{"temperature huge", AgentToNode, submitFrame(t, "request.temperature", `1e400`), CodeBadField, "request.temperature"},
		{"stream string", AgentToNode, submitFrame(t, "request.stream", `"yes"`), CodeBadField, "request.stream"},
		{"voucher missing", AgentToNode, submitFrame(t, "voucher", ""), CodeBadField, "voucher.amount"},
		{"amount missing", AgentToNode, submitFrame(t, "voucher.amount", ""), CodeBadField, "voucher.amount"},
		{"amount null", AgentToNode, submitFrame(t, "voucher.amount", `null`), CodeBadField, "voucher.amount"},
		{"amount number", AgentToNode, submitFrame(t, "voucher.amount", `1000`), CodeBadField, "voucher.amount"},
		{"amount float", AgentToNode, submitFrame(t, "voucher.amount", `"1000.5"`), CodeBadField, "voucher.amount"},
		{"amount float number", AgentToNode, submitFrame(t, "voucher.amount", `1000.5`), CodeBadField, "voucher.amount"},
		{"amount negative", AgentToNode, submitFrame(t, "voucher.amount", `"-1"`), CodeBadField, "voucher.amount"},
		{"amount exponent", AgentToNode, submitFrame(t, "voucher.amount", `"1e18"`), CodeBadField, "voucher.amount"},
		{"amount plus", AgentToNode, submitFrame(t, "voucher.amount", `"+1"`), CodeBadField, "voucher.amount"},
		{"amount empty", AgentToNode, submitFrame(t, "voucher.amount", `""`), CodeBadField, "voucher.amount"},
		{"amount hex", AgentToNode, submitFrame(t, "voucher.amount", `"0x10"`), CodeBadField, "voucher.amount"},
		{"amount leading zero", AgentToNode, submitFrame(t, "voucher.amount", `"0100"`), CodeBadField, "voucher.amount"},
		{"amount space", AgentToNode, submitFrame(t, "voucher.amount", `" 100"`), CodeBadField, "voucher.amount"},
		{"amount 2^256", AgentToNode, submitFrame(t, "voucher.amount", `"115792089237316195423570985008687907853269984665640564039457584007913129639936"`), CodeBadField, "voucher.amount"},
		{"amount bool", AgentToNode, submitFrame(t, "voucher.amount", `true`), CodeBadField, "voucher.amount"},
		{"signature missing", AgentToNode, submitFrame(t, "voucher.signature", ""), CodeBadField, "voucher.signature"},
		{"signature short", AgentToNode, submitFrame(t, "voucher.signature", `"0x`+strings.Repeat("ab", 64)+`"`), CodeBadField, "voucher.signature"},
		{"signature long", AgentToNode, submitFrame(t, "voucher.signature", `"0x`+strings.Repeat("ab", 66)+`"`), CodeBadField, "voucher.signature"},
		{"signature no 0x", AgentToNode, submitFrame(t, "voucher.signature", sigHex), CodeBadField, "voucher.signature"},
		{"signature bad hex", AgentToNode, submitFrame(t, "voucher.signature", `"0x`+strings.Repeat("zz", 65)+`"`), CodeBadField, "voucher.signature"},
		{"signature bytes", AgentToNode, submitFrame(t, "voucher.signature", `[1,2]`), CodeBadField, "voucher.signature"},
		{"contract zero", AgentToNode, submitFrame(t, "voucher.contract", `"0x`+strings.Repeat("0", 40)+`"`), CodeBadField, "voucher.contract"},
		{"contract short", AgentToNode, submitFrame(t, "voucher.contract", `"0x1234"`), CodeBadField, "voucher.contract"},
		{"chain_id negative", AgentToNode, submitFrame(t, "voucher.chain_id", `-1`), CodeBadField, "voucher.chain_id"},
		{"chain_id string", AgentToNode, submitFrame(t, "voucher.chain_id", `"1337"`), CodeBadField, "voucher.chain_id"},

		// other agent messages
		{"hello no signer", AgentToNode, []byte(`{"type":"hello","signature":"0x` + strings.Repeat("ab", 65) + `"}`), CodeBadField, "signer"},
		{"hello no signature", AgentToNode, []byte(`{"type":"hello","signer":"` + agentAddr.Hex() + `"}`), CodeBadField, "signature"},
		{"hello short signer", AgentToNode, []byte(`{"type":"hello","signer":"0x1234","signature":"0x` + strings.Repeat("ab", 65) + `"}`), CodeBadField, "signer"},
		{"cancel no id", AgentToNode, []byte(`{"type":"cancel"}`), CodeBadField, "id"},
		{"sync no channel", AgentToNode, []byte(`{"type":"sync"}`), CodeBadField, "channel_id"},
		{"ping nonce long", AgentToNode, []byte(`{"type":"ping","nonce":"` + strings.Repeat("n", 65) + `"}`), CodeBadField, "nonce"},

		// node → agent
		{"challenge no limits", NodeToAgent, edit(t, mustEncode(t, sampleChallenge()), "limits", ""), CodeBadField, "limits.max_frame_bytes"},
		{"challenge no chain", NodeToAgent, edit(t, mustEncode(t, sampleChallenge()), "chain_id", ""), CodeBadField, "chain_id"},
		{"accepted no max cost", NodeToAgent, []byte(`{"type":"accepted","id":"a"}`), CodeBadField, "max_cost"},
		{"chunk seq 0", NodeToAgent, []byte(`{"type":"chunk","id":"a","seq":0,"delta":"x"}`), CodeBadField, "seq"},
		{"result cost mismatch", NodeToAgent, edit(t, mustEncode(t, sampleResult()), "cost", `"1"`), CodeBadField, "cost"},
		{"result usage mismatch", NodeToAgent, edit(t, mustEncode(t, sampleResult()), "usage.output_tokens", `1`), CodeBadField, "usage"},
		{"result dropped output", NodeToAgent, edit(t, mustEncode(t, sampleResult()), "replayed", "true", "output_dropped", "true"), CodeBadField, "output_dropped"},
		{"receipt seq 0", NodeToAgent, edit(t, mustEncode(t, sampleResult()), "receipt.seq", `0`), CodeBadField, "receipt.seq"},
		{"receipt no signature", NodeToAgent, edit(t, mustEncode(t, sampleResult()), "receipt.signature", ""), CodeBadField, "receipt.signature"},
		{"receipt short job id", NodeToAgent, edit(t, mustEncode(t, sampleResult()), "receipt.job_id", `"0x12"`), CodeBadField, "receipt.job_id"},
		{"receipt charged below cost", NodeToAgent, edit(t, mustEncode(t, sampleResult()), "receipt.cumulative_charged", `"1"`), CodeBadField, "receipt.cumulative_charged"},
		{"error bad code", NodeToAgent, []byte(`{"type":"error","code":"Bad Code","message":""}`), CodeBadField, "code"},
		{"error no code", NodeToAgent, []byte(`{"type":"error","message":"x"}`), CodeBadField, "code"},
		{"channel no voucher", NodeToAgent, edit(t, mustEncode(t, sampleChannel()), "voucher", ""), CodeBadField, "voucher"},

		// worker
		{"register no models", WorkerToNode, []byte(`{"type":"register","name":"w","capacity":1,"models":[]}`), CodeBadField, "models"},
		{"register no capacity", WorkerToNode, []byte(`{"type":"register","name":"w","models":["m"]}`), CodeBadField, "capacity"},
		{"register no name", WorkerToNode, []byte(`{"type":"register","capacity":1,"models":["m"]}`), CodeBadField, "name"},
		{"register twice listed", WorkerToNode, []byte(`{"type":"register","name":"w","capacity":1,"models":["m","n","m"]}`), CodeBadField, "models[2]"},
		{"register empty model", WorkerToNode, []byte(`{"type":"register","name":"w","capacity":1,"models":[""]}`), CodeBadField, "models[0]"},
		{"register token in frame", WorkerToNode, []byte(`{"type":"register","name":"w","capacity":1,"models":["m"],"token":"s3cret"}`), CodeBadField, "token"},
		{"models too many", WorkerToNode, []byte(`{"type":"models","capacity":1,"models":["` + strings.Repeat(`m","`, 64) + `m"]}`), CodeBadField, "models"},
		{"fail no code", WorkerToNode, []byte(`{"type":"fail","id":"n","message":"x"}`), CodeBadField, "code"},
		{"done no id", WorkerToNode, []byte(`{"type":"done","usage":{}}`), CodeBadField, "id"},
		{"assign no max_tokens", NodeToWorker, []byte(`{"type":"assign","id":"n","model":"m","request":{"messages":[{"role":"user","content":"x"}]}}`), CodeBadField, "request.max_tokens"},
		{"registered zero", NodeToWorker, []byte(`{"type":"registered"}`), CodeBadField, "max_frame_bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Decode(c.dir, c.frame)
			if err == nil {
				t.Fatalf("decoded %s as %#v", c.frame, m)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *wire.Error", err)
			}
			if e.Code != c.code || e.Field != c.field {
				t.Fatalf("got %s (field %q): %s; want %s (field %q)", e.Code, e.Field, e.Message, c.code, c.field)
			}
			if e.Retryable {
				t.Errorf("a malformed frame is never retryable")
			}
			// The error is fit to send back as it is.
			if _, err := Encode(e); err != nil {
				t.Errorf("cannot send the error back: %v", err)
			}
		})
	}
}

func mustEncode(t testing.TB, m Message) []byte {
	t.Helper()
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestErrorNamesTheJob(t *testing.T) {
	_, err := Decode(AgentToNode, submitFrame(t, "voucher.amount", `"-5"`))
	if e := err.(*Error); e.ID != "job-0001" || e.Field != "voucher.amount" {
		t.Fatalf("error %#v does not name job-0001 and voucher.amount", e)
	}
	_, err = Decode(AgentToNode, []byte(`{"type":"nope","id":"job-9"}`))
	if e := err.(*Error); e.ID != "job-9" || e.Code != CodeUnknownType {
		t.Fatalf("error %#v does not name job-9", e)
	}
	// An id that is itself invalid is not echoed.
	_, err = Decode(AgentToNode, submitFrame(t, "id", `"`+strings.Repeat("a", 200)+`"`))
	if e := err.(*Error); e.ID != "" {
		t.Fatalf("error echoes an invalid id: %#v", e)
	}
}

func TestFrameSizeLimit(t *testing.T) {
	frame := mustEncode(t, sampleSubmit())
	d := Decoder{Direction: AgentToNode, MaxFrameBytes: len(frame)}
	if _, err := d.Decode(frame); err != nil {
		t.Fatalf("a frame of exactly the limit: %v", err)
	}
	d.MaxFrameBytes--
	_, err := d.Decode(frame)
	if CodeOf(err) != CodeFrameTooLarge {
		t.Fatalf("one byte over the limit: %v", err)
	}
	big := []byte(`{"type":"ping","nonce":"` + strings.Repeat(" ", DefaultMaxFrameBytes) + `"}`)
	if _, err := Decode(AgentToNode, big); CodeOf(err) != CodeFrameTooLarge {
		t.Fatalf("default limit: %v", err)
	}
	// The node's frames may be larger: results carry whole outputs.
	if _, err := Decode(NodeToAgent, []byte(`{"type":"pong","nonce":"`+strings.Repeat(" ", DefaultMaxFrameBytes)+`"}`)); CodeOf(err) != CodeBadField {
		t.Fatalf("a 1 MiB node frame was not read: %v", err)
	}
}

func TestMessageCountLimit(t *testing.T) {
	s := sampleSubmit()
	frame := mustEncode(t, s)
	d := Decoder{Direction: AgentToNode, MaxMessages: len(s.Request.Messages)}
	if _, err := d.Decode(frame); err != nil {
		t.Fatal(err)
	}
	d.MaxMessages--
	_, err := d.Decode(frame)
	if e, ok := err.(*Error); !ok || e.Code != CodeBadField || e.Field != "request.messages" {
		t.Fatalf("too many messages: %v", err)
	}
	many := &Submit{ID: "a", Model: "m", ChannelID: channelID, Voucher: s.Voucher}
	for range DefaultMaxMessages + 1 {
		many.Request.Messages = append(many.Request.Messages, ChatMessage{Role: "user", Content: "x"})
	}
	if _, err := Decode(AgentToNode, mustEncode(t, many)); CodeOf(err) != CodeBadField {
		t.Fatalf("default message limit: %v", err)
	}
}

// The node refuses unknown fields; agents and workers skip them, so a
// newer node can add some.
func TestUnknownFieldsAcceptedFromTheNode(t *testing.T) {
	frame := edit(t, mustEncode(t, sampleResult()), "latency_ms", "12", "receipt.block", `"0x1"`)
	m, err := Decode(NodeToAgent, frame)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(m, sampleResult()) {
		t.Fatalf("got %#v", m)
	}
	if _, err := Decode(NodeToWorker, []byte(`{"type":"registered","max_frame_bytes":5,"node":"x"}`)); err != nil {
		t.Fatal(err)
	}
}

func TestCaseInsensitiveKeysDecodeToTheSameMessage(t *testing.T) {
	// encoding/json matches keys without regard to case; documented, and
	// harmless: the value is the same, and it re-encodes canonically.
	m, err := Decode(AgentToNode, []byte(`{"TYPE":"cancel","Id":"a"}`))
	if err != nil || m.(*Cancel).ID != "a" {
		t.Fatalf("got %#v, %v", m, err)
	}
}

func TestDecoderWithoutDirection(t *testing.T) {
	var d Decoder
	if _, err := d.Decode([]byte(`{"type":"ping"}`)); err == nil || CodeOf(err) != "" {
		t.Fatalf("zero decoder: %v", err)
	}
}

func TestCodes(t *testing.T) {
	seen := map[Code]bool{}
	for _, c := range Codes() {
		if seen[c] {
			t.Errorf("code %s listed twice", c)
		}
		seen[c] = true
		if !validCode(c) || !c.Known() {
			t.Errorf("code %q is not a valid known code", c)
		}
	}
	if len(seen) != len(codeInfo) {
		t.Errorf("Codes() has %d codes, the retryable table %d", len(seen), len(codeInfo))
	}
	if Code("nope").Known() || Code("nope").Retryable() {
		t.Error("an unknown code is known or retryable")
	}
	e := NewError("j", CodeOverloaded, "busy %d", 3)
	if !e.Retryable || e.Error() != `job "j": overloaded: busy 3` {
		t.Errorf("NewError: %#v %q", e, e.Error())
	}
	if CodeOf(errors.Join(errors.New("x"), e)) != CodeOverloaded || CodeOf(errors.New("x")) != "" {
		t.Error("CodeOf")
	}
}

// The agent SDK imports this package, so it may import only the standard
// library, go-ethereum's common, hexutil and crypto, and contracts.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"github.com/ethereum/go-ethereum/common":         true,
		"github.com/ethereum/go-ethereum/common/hexutil": true,
		"github.com/ethereum/go-ethereum/crypto":         true,
		"github.com/paynode/paynode/contracts":           true,
	}
	for _, imp := range pkg.Imports {
		if !allowed[imp] && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
			t.Errorf("node/wire imports %s", imp)
		}
	}
}
