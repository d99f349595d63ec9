package api

import (
	"strconv"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/node/wire"
)

// FuzzServerFrames sends random frames into an authenticated connection:
// the server never crashes, answers every frame (a ping after it is
// answered), and never reserves or charges anything, since no frame can
// carry a voucher the channel's signer made.
func FuzzServerFrames(f *testing.F) {
	fx := newFixture(f, func(o *Options) { o.Limits.MaxFrameBytes = 64 << 10 })
	a := fx.newAgent(tusd, 1_000_000_000)

	sub := fx.submit(a, "j-1", modelBuiltin, "hello", 16, true)
	sub.Voucher.Signature[5] ^= 1 // no longer the signer's
	seeds := []wire.Message{
		sub,
		&wire.Cancel{ID: "j-1"},
		&wire.Sync{ChannelID: a.channel},
		&wire.Ping{Nonce: "x"},
		&wire.Hello{Signer: a.addr(), Signature: sub.Voucher.Signature},
	}
	for _, m := range seeds {
		frame, err := wire.Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(frame, false)
	}
	f.Add([]byte(`{"type":"submit","id":"x","model":"gate-1","offer":"2","channel_id":"0x01","request":{}}`), false)
	f.Add([]byte(`{"type":`), false)
	f.Add([]byte("\x00\xff"), true)
	f.Add([]byte(`{"type":"submit","id":"","request":{"messages":[{"role":"user","content":"\ud800"}]}}`), false)

	c := fx.connect(a)
	n := 0
	f.Fuzz(func(t *testing.T, frame []byte, binary bool) {
		if len(frame) > 16*fx.srv.opts.Limits.MaxFrameBytes {
			t.Skip("a frame the server closes the connection for")
		}
		c.t = t
		typ := websocket.TextMessage
		if binary {
			typ = websocket.BinaryMessage
		}
		c.sendRaw(typ, frame)
		n++
		nonce := "fuzz-" + strconv.Itoa(n)
		c.send(&wire.Ping{Nonce: nonce})
		for {
			m, err := c.read()
			if err != nil {
				t.Fatalf("the connection ended: %v", err)
			}
			if p, ok := m.(*wire.Pong); ok && p.Nonce == nonce {
				break
			}
		}
		st, err := fx.ledger.Channel(t.Context(), a.channel)
		if err != nil {
			t.Fatal(err)
		}
		if st.Charged.Sign() != 0 || st.Reserved.Sign() != 0 {
			t.Fatalf("charged %s, reserved %s", st.Charged, st.Reserved)
		}
	})
}
