package node_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/internal/devstack"
	"github.com/paynode/paynode/node/config"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/nodetest"
	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/testnet"
)

// rawConn is a websocket connection driven frame by frame.
type rawConn struct {
	t   *testing.T
	c   *websocket.Conn
	ch  *wire.Challenge
	dec wire.Decoder
}

func dialRaw(t *testing.T, url string, header http.Header) (*rawConn, *http.Response, error) {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, dec: wire.Decoder{Direction: wire.NodeToAgent}}, resp, nil
}

func (r *rawConn) frame(mt int, b []byte) {
	r.t.Helper()
	if err := r.c.WriteMessage(mt, b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) send(m wire.Message) {
	r.t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		r.t.Fatal(err)
	}
	r.frame(websocket.TextMessage, b)
}

func (r *rawConn) next() wire.Message {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, b, err := r.c.ReadMessage()
	if err != nil {
		r.t.Fatalf("reading: %v", err)
	}
	m, err := r.dec.Decode(b)
	if err != nil {
		r.t.Fatalf("decoding %s: %v", b, err)
	}
	return m
}

// agentConn dials /v1/agent, reads the challenge and, with a key, proves
// the signer.
func agentConn(t *testing.T, url string, key *ecdsa.PrivateKey) *rawConn {
	t.Helper()
	r, _, err := dialRaw(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, ok := r.next().(*wire.Challenge)
	if !ok {
		t.Fatal("no challenge")
	}
	r.ch = ch
	if key != nil {
		h, _ := ch.Answer(key)
		r.send(h)
		if _, ok := r.next().(*wire.Ready); !ok {
			t.Fatal("no ready")
		}
	}
	return r
}

// TestBadInput sends the node every kind of bad input the protocol names
// — frames, messages, vouchers, worker frames, config — and checks each
// answer's documented code, that the connection stays usable where the
// protocol says so, and that nothing was reserved or charged.
func TestBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	stack, err := devstack.Start(ctx, devstack.Options{
		TokenOffer: true,
		Builtin:    &builtin.Model{},
		Configure: func(c *config.Config) {
			c.API.MaxFrameBytes = 64 << 10
			c.Offers = append(c.Offers, config.Offer{Model: "ghost-model", Asset: "ETH", Base: "1", InPerM: "1", OutPerM: "1", MaxTokens: 64})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close(context.Background()) })
	n, d := stack.Node, stack.Deployment
	client := stack.Chain.Client()
	acc := stack.Chain.Accounts()
	offerID := map[string]*big.Int{}
	var ethPrice contracts.Price
	for _, o := range n.Offers() {
		key := o.Offer.Model
		if o.Offer.Asset != (common.Address{}) {
			key += "/token"
		} else if o.Offer.Model == builtin.Name {
			ethPrice = o.Offer.Price
		}
		offerID[key] = o.ID
	}

	kA, _ := crypto.GenerateKey()
	kB, _ := crypto.GenerateKey()
	deposit := big.NewInt(1e16)
	open := func(provider common.Address, signer *ecdsa.PrivateKey, asset common.Address, amount *big.Int, salt int64) common.Hash {
		return nodetest.OpenChannel(t, client, d, acc[3].Key, provider, signer, asset, amount, common.BigToHash(big.NewInt(salt)))
	}
	chA := open(n.Provider(), kA, common.Address{}, deposit, 1)
	chT := open(n.Provider(), kA, *d.Token, big.NewInt(1_000_000), 2)
	chOther := open(acc[6].Address, kA, common.Address{}, deposit, 3)
	chClosing := open(n.Provider(), kA, common.Address{}, deposit, 4)
	chB := open(n.Provider(), kB, common.Address{}, deposit, 5)
	pc := bindings.NewPaymentChannels()
	testnet.TransactT(t, client, stack.Chain.ChainID(), acc[3].Key, pc.Instance(client, d.PaymentChannels), pc.PackRequestWithdrawal(chClosing), nil)
	channels := []common.Hash{chA, chT, chOther, chClosing, chB}
	waitFor(t, ctx, "the node to see the withdrawal request", func() bool {
		c, ok := n.Watcher().Channel(chClosing)
		return ok && c.WithdrawableAt != 0
	})

	conn := agentConn(t, n.AgentURL(), kA)
	domain := conn.ch.Domain()
	request := wire.ChatRequest{Messages: []wire.ChatMessage{{Role: "user", Content: "Hi."}}, MaxTokens: 16}
	maxCost := ethPrice.Cost(request.InputTokenBound(), 16)
	voucher := func(ch common.Hash, amount *big.Int, key *ecdsa.PrivateKey) wire.Voucher {
		dg, _ := domain.VoucherDigest(&contracts.Voucher{ChannelID: ch, CumulativeAmount: amount})
		sig, _ := contracts.Sign(dg, key)
		return wire.Voucher{Amount: wire.NewAmount(amount), Signature: sig}
	}
	submit := func(id string, ch common.Hash, v wire.Voucher) *wire.Submit {
		return &wire.Submit{ID: id, Model: builtin.Name, ChannelID: ch, Request: request, Voucher: v}
	}
	good := func(id string) *wire.Submit { return submit(id, chA, voucher(chA, maxCost, kA)) }
	garbage := bytes.Repeat([]byte{0xff}, 65)
	garbage[64] = 27

	type agentCase struct {
		name  string
		send  func(r *rawConn)
		code  wire.Code
		field string // for bad_field
	}
	raw := func(s string) func(r *rawConn) {
		return func(r *rawConn) { r.frame(websocket.TextMessage, []byte(s)) }
	}
	msg := func(m wire.Message) func(r *rawConn) { return func(r *rawConn) { r.send(m) } }
	withVoucher := func(id string, ch common.Hash, v wire.Voucher) func(r *rawConn) { return msg(submit(id, ch, v)) }
	cases := []agentCase{
		{"malformed JSON", raw(`{"type":"submit",`), wire.CodeBadFrame, ""},
		{"not an object", raw(`[1,2,3]`), wire.CodeBadFrame, ""},
		{"no type", raw(`{"id":"x"}`), wire.CodeBadFrame, ""},
		{"unknown message type", raw(`{"type":"teleport"}`), wire.CodeUnknownType, ""},
		{"a node message sent by the agent", raw(`{"type":"result","id":"x"}`), wire.CodeUnknownType, ""},
		{"oversize frame", raw(`{"type":"ping","nonce":"` + strings.Repeat("x", 70<<10) + `"}`), wire.CodeFrameTooLarge, ""},
		{"binary frame", func(r *rawConn) { r.frame(websocket.BinaryMessage, []byte(`{"type":"ping"}`)) }, wire.CodeBadFrame, ""},
		{"second hello", func(r *rawConn) { h, _ := r.ch.Answer(kA); r.send(h) }, wire.CodeUnexpectedMessage, ""},
		{"unknown field", raw(`{"type":"cancel","id":"x","reason":"bored"}`), wire.CodeBadField, "reason"},
		{"amount as a JSON number", raw(`{"type":"submit","id":"n1","model":"paynode-test-1","channel_id":"` + chA.Hex() + `","request":{"messages":[{"role":"user","content":"x"}]},"voucher":{"amount":1000,"signature":"0x` + strings.Repeat("11", 65) + `"}}`), wire.CodeBadField, "voucher.amount"},
		{"empty messages", raw(`{"type":"submit","id":"e1","model":"paynode-test-1","channel_id":"` + chA.Hex() + `","request":{"messages":[]},"voucher":{"amount":"1","signature":"0x` + strings.Repeat("11", 65) + `"}}`), wire.CodeBadField, "request.messages"},
		{"bad role", raw(`{"type":"submit","id":"r1","model":"paynode-test-1","channel_id":"` + chA.Hex() + `","request":{"messages":[{"role":"wizard","content":"x"}]},"voucher":{"amount":"1","signature":"0x` + strings.Repeat("11", 65) + `"}}`), wire.CodeBadField, "request.messages[0].role"},
		{"temperature out of range", raw(`{"type":"submit","id":"t1","model":"paynode-test-1","channel_id":"` + chA.Hex() + `","request":{"messages":[{"role":"user","content":"x"}],"temperature":3},"voucher":{"amount":"1","signature":"0x` + strings.Repeat("11", 65) + `"}}`), wire.CodeBadField, "request.temperature"},
		{"unknown offer", msg(&wire.Submit{ID: "o1", Offer: wire.AmountOf(999), ChannelID: chA, Request: request, Voucher: voucher(chA, maxCost, kA)}), wire.CodeUnknownModel, ""},
		{"unknown model", msg(&wire.Submit{ID: "m1", Model: "gpt-17", ChannelID: chA, Request: request, Voucher: voucher(chA, maxCost, kA)}), wire.CodeUnknownModel, ""},
		{"model no worker serves", msg(&wire.Submit{ID: "m2", Model: "ghost-model", ChannelID: chA, Request: request, Voucher: voucher(chA, big.NewInt(1e9), kA)}), wire.CodeUnknownModel, ""},
		{"max_tokens above the offer's", msg(&wire.Submit{ID: "x1", Model: builtin.Name, ChannelID: chA, Request: wire.ChatRequest{Messages: request.Messages, MaxTokens: 5000}, Voucher: voucher(chA, big.NewInt(1e15), kA)}), wire.CodeBadRequest, ""},
		{"cancel of an unknown job", msg(&wire.Cancel{ID: "never-ran"}), wire.CodeUnknownJob, ""},
		{"voucher too low", withVoucher("v1", chA, voucher(chA, big.NewInt(1), kA)), wire.CodeVoucherTooLow, ""},
		{"voucher above the deposit", withVoucher("v2", chA, voucher(chA, new(big.Int).Add(deposit, big.NewInt(1)), kA)), wire.CodeVoucherAboveDeposit, ""},
		{"voucher signed by another key", withVoucher("v3", chA, voucher(chA, maxCost, kB)), wire.CodeWrongSigner, ""},
		{"voucher for another chain", func(r *rawConn) {
			v := voucher(chA, maxCost, kA)
			v.ChainID = 999
			r.send(submit("v4", chA, v))
		}, wire.CodeWrongDomain, ""},
		{"voucher for another contract", func(r *rawConn) {
			v := voucher(chA, maxCost, kA)
			other := common.HexToAddress("0x00000000000000000000000000000000000000aa")
			v.Contract = &other
			r.send(submit("v5", chA, v))
		}, wire.CodeWrongDomain, ""},
		{"voucher signature that recovers no key", withVoucher("v6", chA, wire.Voucher{Amount: wire.NewAmount(maxCost), Signature: garbage}), wire.CodeBadSignature, ""},
		{"unknown channel", withVoucher("v7", common.HexToHash("0xdead"), voucher(common.HexToHash("0xdead"), maxCost, kA)), wire.CodeUnknownChannel, ""},
		{"another provider's channel", withVoucher("v8", chOther, voucher(chOther, maxCost, kA)), wire.CodeWrongProvider, ""},
		{"channel of another asset than the offer's", msg(&wire.Submit{ID: "v9", Offer: wire.NewAmount(offerID[builtin.Name]), ChannelID: chT, Request: request, Voucher: voucher(chT, maxCost, kA)}), wire.CodeWrongAsset, ""},
		{"channel being withdrawn", withVoucher("v10", chClosing, voucher(chClosing, maxCost, kA)), wire.CodeChannelClosing, ""},
		{"channel of another signer than the connection's", withVoucher("v11", chB, voucher(chB, maxCost, kB)), wire.CodeWrongSigner, ""},
		{"sync of another signer's channel", msg(&wire.Sync{ChannelID: chB}), wire.CodeWrongSigner, ""},
	}
	for _, tc := range cases {
		t.Run("agent/"+tc.name, func(t *testing.T) {
			conn.t = t
			tc.send(conn)
			m := conn.next()
			e, ok := m.(*wire.Error)
			if !ok {
				t.Fatalf("got %s %+v; want error %s", m.Type(), m, tc.code)
			}
			if e.Code != tc.code || (tc.field != "" && e.Field != tc.field) {
				t.Fatalf("got %s (field %q): %s; want %s (field %q)", e.Code, e.Field, e.Message, tc.code, tc.field)
			}
		})
	}
	conn.t = t

	// The connection is still usable: a good job runs and is charged.
	conn.send(good("good-1"))
	var cost *big.Int
	for cost == nil {
		switch m := conn.next().(type) {
		case *wire.Result:
			if err := m.Verify(domain, n.Provider(), chA); err != nil {
				t.Fatal(err)
			}
			cost = m.Cost.Big()
		case *wire.Error:
			t.Fatalf("the good job after the bad input: %v", m)
		}
	}
	// The same id for another request is a conflict; nothing charged.
	conflict := good("good-1")
	conflict.Request.Messages = []wire.ChatMessage{{Role: "user", Content: "Something else."}}
	conn.send(conflict)
	if e, ok := conn.next().(*wire.Error); !ok || e.Code != wire.CodeJobConflict {
		t.Fatalf("reused job id: %v; want job_conflict", e)
	}

	// Connection-level refusals.
	t.Run("agent/submit before hello", func(t *testing.T) {
		r := agentConn(t, n.AgentURL(), nil)
		r.send(good("early"))
		if e, ok := r.next().(*wire.Error); !ok || e.Code != wire.CodeNotAuthenticated {
			t.Fatalf("got %v; want not_authenticated", e)
		}
	})
	t.Run("agent/hello with a wrong signature", func(t *testing.T) {
		r := agentConn(t, n.AgentURL(), nil)
		h, _ := r.ch.Answer(kA)
		h.Signer = crypto.PubkeyToAddress(kB.PublicKey)
		r.send(h)
		if e, ok := r.next().(*wire.Error); !ok || e.Code != wire.CodeAuthFailed {
			t.Fatalf("got %v; want auth_failed", e)
		}
		r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := r.c.ReadMessage(); err == nil {
			t.Fatal("the node kept the connection open after auth_failed")
		}
	})

	// The worker API.
	t.Run("worker/no token", func(t *testing.T) {
		_, resp, err := dialRaw(t, n.WorkerURL(), nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial without a token: %v, %v; want HTTP 401", err, resp)
		}
	})
	t.Run("worker/wrong token", func(t *testing.T) {
		_, resp, err := dialRaw(t, n.WorkerURL(), http.Header{"Authorization": {"Bearer not-the-token"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial with a wrong token: %v, %v; want HTTP 401", err, resp)
		}
	})
	w, _, err := dialRaw(t, n.WorkerURL(), http.Header{"Authorization": {"Bearer " + stack.WorkerToken}})
	if err != nil {
		t.Fatal(err)
	}
	w.dec = wire.Decoder{Direction: wire.NodeToWorker}
	for _, tc := range []agentCase{
		{"malformed JSON", raw(`{"type":`), wire.CodeBadFrame, ""},
		{"unknown type", raw(`{"type":"submit"}`), wire.CodeUnknownType, ""},
		{"done before register", raw(`{"type":"done","id":"1","usage":{"input_tokens":1,"output_tokens":1}}`), wire.CodeUnexpectedMessage, ""},
		{"register without models", raw(`{"type":"register","name":"w","capacity":1,"models":[]}`), wire.CodeBadField, "models"},
	} {
		t.Run("worker/"+tc.name, func(t *testing.T) {
			w.t = t
			tc.send(w)
			e, ok := w.next().(*wire.Error)
			if !ok || e.Code != tc.code || (tc.field != "" && e.Field != tc.field) {
				t.Fatalf("got %+v; want %s %s", e, tc.code, tc.field)
			}
		})
	}
	w.t = t
	w.send(&wire.Register{Name: "probe", Capacity: 1, Models: []string{"ghost-model"}})
	if _, ok := w.next().(*wire.Registered); !ok {
		t.Fatal("register after bad frames: no registered")
	}
	t.Run("worker/chunk for an unknown job", func(t *testing.T) {
		w.t = t
		w.send(&wire.Chunk{ID: "424242", Seq: 1, Delta: "x"})
		if e, ok := w.next().(*wire.Error); !ok || e.Code != wire.CodeUnknownJob {
			t.Fatalf("got %+v; want unknown_job", e)
		}
	})

	// Config: each error names its key.
	for _, tc := range []struct{ name, toml, want string }{
		{"unknown key", "[api]\nlistn = \"x\"\n", "api.listn"},
		{"price as a float", "[[offers]]\nmodel = \"m\"\nasset = \"ETH\"\nbase = \"1\"\nin_per_m = \"2.5\"\nout_per_m = \"1\"\nmax_tokens = 1\n", "offers[0].in_per_m"},
		{"bad asset", "[[offers]]\nmodel = \"m\"\nasset = \"DOGE\"\nbase = \"1\"\nin_per_m = \"1\"\nout_per_m = \"1\"\nmax_tokens = 1\n", "offers[0].asset"},
		{"no offers", "", "offers"},
		{"batch too large", "[settlement]\nmax_batch = 1000\n", "settlement.max_batch"},
		{"listen not host:port", "[api]\nlisten = \"7070\"\n", "api.listen"},
		{"negative duration", "[api]\njob_timeout = \"-1s\"\n", "api.job_timeout"},
	} {
		t.Run("config/"+tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.toml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error naming %s", err, tc.want)
			}
		})
	}

	// Nothing was reserved, and nothing charged but the one good job.
	l := n.Ledger()
	for _, ch := range channels {
		cs, err := l.Channel(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		want := new(big.Int)
		if ch == chA {
			want = cost
		}
		if cs.Charged.Cmp(want) != 0 || cs.Reserved.Sign() != 0 {
			t.Errorf("channel %s: charged %s, reserved %s; want charged %s, nothing reserved", ch, cs.Charged, cs.Reserved, want)
		}
	}
}
