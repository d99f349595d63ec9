package wire

import (
	"bytes"
	"errors"
	"testing"
)

var directions = []Direction{AgentToNode, NodeToAgent, WorkerToNode, NodeToWorker}

// FuzzDecode: Decode never panics; it decides every frame as decoding
// with encoding/json alone does; what it refuses it refuses with an
// *Error the node can send back; what it accepts re-encodes (to the bytes
// encoding/json would write), and decodes again to the same message and
// the same bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range samples() {
		frame, err := Encode(s.msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(s.dir), frame)
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"type":"ping"}`, `{"TYPE":"Ping","nonce":"x"}`,
		`{"type":"ping","type":"cancel","id":"a"}`, `{"type":"cancel","id":"a","id":""}`,
		`{"type":"submit","id":"a","model":"m","channel_id":"0x01"}`,
		`{"type":"error","code":"x","message":"\ud800"}`,
		`{"type":"chunk","id":"\u00e9","seq":1,"delta":"\xff\xfe"}`,
		`{"type":"models","capacity":0,"models":null}`,
		`{"type":"submit","request":{"temperature":-0}}`,
		`{"type":"cancel" , "id" : "a\n\u00e9\"" }`, `{"type":"cancel","id":"a","id":"b"}`,
		`{"type":"done","id":"n-1","usage":{"input_tokens":1,"output_tokens":18446744073709551615}}`,
		`{"type":"accepted","id":"j","max_cost":"0","input_tokens":0,"max_tokens":0}`,
	} {
		for _, d := range directions {
			f.Add(uint8(d), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, dirByte uint8, frame []byte) {
		dir := directions[int(dirByte)%len(directions)]
		m, err := Decode(dir, frame)
		// The hand decoder of job messages decides every frame as
		// encoding/json's way does.
		general, gerr := (&Decoder{Direction: dir}).decode(frame, false)
		if (m == nil) != (general == nil) || m != nil && !equal(m, general) || !sameError(err, gerr) {
			t.Fatalf("%q in %s: Decode gave %#v, %v; encoding/json's way %#v, %v", frame, dir, m, err, general, gerr)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *wire.Error", err, err)
			}
			if !e.Code.Known() || e.Retryable {
				t.Fatalf("error %#v: unknown or retryable code", e)
			}
			if _, err := Encode(e); err != nil {
				t.Fatalf("the refusal %#v cannot be sent: %v", e, err)
			}
			return
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("decoded %#v from %q but cannot encode it: %v", m, frame, err)
		}
		if ref, err := encodeJSON(m); err != nil || !bytes.Equal(enc, ref) {
			t.Fatalf("%q decoded to %#v: Encode gave %q, encoding/json %q (%v)", frame, m, enc, ref, err)
		}
		// Re-encoding may grow a frame (invalid UTF-8 becomes \ufffd).
		d := Decoder{Direction: dir, MaxFrameBytes: 4*len(frame) + 64}
		m2, err := d.Decode(enc)
		if err != nil {
			t.Fatalf("%q decoded, re-encoded as %q, which does not decode: %v", frame, enc, err)
		}
		if !equal(m, m2) {
			t.Fatalf("%q → %#v → %q → %#v", frame, m, enc, m2)
		}
		enc2, err := Encode(m2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable: %q then %q (%v)", enc, enc2, err)
		}
	})
}

// sameError reports whether two of Decode's errors say the same.
func sameError(a, b error) bool {
	var ea, eb *Error
	if !errors.As(a, &ea) || !errors.As(b, &eb) {
		return (a == nil) == (b == nil)
	}
	return *ea == *eb
}
