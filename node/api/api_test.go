package api

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/wire"
)

// Fifty jobs pipelined on one connection: every result's receipt is the
// provider's for this channel, job and output; the chunks of the jobs
// that stream make their outputs; and the costs add up to what the
// ledger charged, to the unit.
func TestPaidJobsPipelined(t *testing.T) {
	f := newFixture(t, nil)
	a := f.newAgent(tusd, 1_000_000_000)
	c := f.connect(a)
	ch := c.challenge
	if ch.Provider != f.srv.opts.Provider || ch.ChainID != f.d.ChainID || ch.Contract != f.d.PaymentChannels {
		t.Fatalf("challenge names %s on %d/%s", ch.Provider, ch.ChainID, ch.Contract)
	}

	const jobs = 50
	subs := map[string]*wire.Submit{}
	for i := range jobs {
		id := fmt.Sprintf("job-%02d", i)
		var maxTokens uint64
		if i%3 == 1 {
			maxTokens = 20
		}
		m := f.submit(a, id, modelBuiltin, fmt.Sprintf("question %d?", i), maxTokens, i%2 == 0)
		subs[id] = m
		c.send(m)
	}
	accepted := map[string]*wire.Accepted{}
	streamed := map[string]string{}
	seqs := map[string]uint64{}
	results := map[string]*wire.Result{}
	for len(results) < jobs {
		switch m := c.next().(type) {
		case *wire.Accepted:
			s := subs[m.ID]
			if s == nil || accepted[m.ID] != nil {
				t.Fatalf("accepted %q twice or unknown", m.ID)
			}
			accepted[m.ID] = m
			want := s.Request.MaxTokens
			if want == 0 {
				want = offerMax
			}
			if m.InputTokens != s.Request.InputTokenBound() || m.MaxTokens != want ||
				m.MaxCost.Big().Cmp(f.price.Cost(m.InputTokens, want)) != 0 {
				t.Errorf("%s: accepted %+v", m.ID, m)
			}
		case *wire.Chunk:
			if accepted[m.ID] == nil || results[m.ID] != nil || !subs[m.ID].Request.Stream {
				t.Fatalf("chunk of %q out of turn", m.ID)
			}
			if m.Seq != seqs[m.ID]+1 {
				t.Fatalf("%s: chunk %d after %d", m.ID, m.Seq, seqs[m.ID])
			}
			seqs[m.ID] = m.Seq
			streamed[m.ID] += m.Delta
		case *wire.Result:
			if accepted[m.ID] == nil || results[m.ID] != nil {
				t.Fatalf("result of %q out of turn", m.ID)
			}
			results[m.ID] = m
		default:
			t.Fatalf("got %s", describe(m))
		}
	}

	sum := new(big.Int)
	seen := map[uint64]bool{}
	for id, r := range results {
		if err := r.Verify(f.d.Domain(), ch.Provider, a.channel); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		if r.Output == "" || r.Replayed || r.OutputDropped {
			t.Errorf("%s: result %+v", id, r)
		}
		if subs[id].Request.Stream && streamed[id] != r.Output {
			t.Errorf("%s: chunks make %q, output %q", id, streamed[id], r.Output)
		}
		if r.Cost.Cmp(accepted[id].MaxCost) > 0 {
			t.Errorf("%s: cost %s above max cost %s", id, r.Cost, accepted[id].MaxCost)
		}
		seen[r.Receipt.Seq] = true
		sum.Add(sum, r.Cost.Big())
	}
	for seq := uint64(1); seq <= jobs; seq++ {
		if !seen[seq] {
			t.Errorf("no receipt %d", seq)
		}
	}
	st := f.channel(a)
	if st.Charged.Cmp(sum) != 0 || st.Reserved.Sign() != 0 || st.ReceiptSeq != jobs {
		t.Fatalf("ledger charged %s reserved %s seq %d; the results sum to %s", st.Charged, st.Reserved, st.ReceiptSeq, sum)
	}

	// sync says the same.
	c.send(&wire.Sync{ChannelID: a.channel})
	cs := expect[*wire.Channel](c)
	if cs.Charged.Big().Cmp(sum) != 0 || cs.Reserved.Big().Sign() != 0 || cs.ReceiptSeq != jobs ||
		cs.Deposit.Big().Int64() != 1_000_000_000 || cs.Voucher.Big().Cmp(a.committed) != 0 || cs.Closing {
		t.Fatalf("channel %+v", cs)
	}
	if s := f.srv.Stats(); s.Connections != 1 || s.Signers != 1 || s.JobsInFlight != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// An offer named by id, and a model offered in two assets: the channel's
// asset picks the offer.
func TestOfferChoice(t *testing.T) {
	f := newFixture(t, nil)
	eth := f.newAgent([20]byte{}, 1_000_000_000)
	c := f.connect(eth)
	c.paid(f.submit(eth, "eth-1", modelBuiltin, "hello", 0, false))

	m := f.submit(eth, "eth-2", "", "hello", 0, false)
	m.Offer = wire.AmountOf(1) // the TUSD offer
	f.sign(eth, m, eth.committed)
	c.send(m)
	c.expectError("eth-2", wire.CodeWrongAsset)

	a := f.newAgent(tusd, 1_000_000_000)
	c = f.connect(a)
	m = f.submit(a, "by-id", "", "hello", 0, false)
	m.Offer = wire.AmountOf(1)
	f.sign(a, m, a.committed)
	c.paid(m)
}

// Every bad input gets its documented code, the connection stays usable
// where the protocol says, and nothing is reserved or charged.
func TestRefusals(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Limits.MaxFrameBytes = 4096 })
	a := f.newAgent(tusd, 1_000_000_000)
	other := f.newAgent(tusd, 1_000_000_000)
	c := f.connect(a)

	tests := []struct {
		name string
		send func() // sends the bad input on c
		id   string
		code wire.Code
	}{
		{"malformed JSON", func() { c.sendRaw(websocket.TextMessage, []byte(`{"type":"ping",`)) }, "", wire.CodeBadFrame},
		{"not an object", func() { c.sendRaw(websocket.TextMessage, []byte(`[1,2]`)) }, "", wire.CodeBadFrame},
		{"unknown type", func() { c.sendRaw(websocket.TextMessage, []byte(`{"type":"result","id":"x"}`)) }, "x", wire.CodeUnknownType},
		{"oversize frame", func() {
			c.sendRaw(websocket.TextMessage, []byte(`{"type":"ping","nonce":"`+strings.Repeat("a", 5000)+`"}`))
		}, "", wire.CodeFrameTooLarge},
		{"binary frame", func() { c.sendRaw(websocket.BinaryMessage, []byte(`{"type":"ping"}`)) }, "", wire.CodeBadFrame},
		{"unknown field", func() {
			c.sendRaw(websocket.TextMessage, []byte(`{"type":"cancel","id":"j","top_p":1}`))
		}, "j", wire.CodeBadField},
		{"unknown offer", func() {
			m := f.submit(a, "r-offer", "", "hi", 0, false)
			m.Offer = wire.AmountOf(99)
			f.sign(a, m, a.committed)
			c.send(m)
		}, "r-offer", wire.CodeUnknownModel},
		{"model and offer disagree", func() {
			m := f.submit(a, "r-disagree", modelGate, "hi", 0, false)
			m.Offer = wire.AmountOf(1)
			f.sign(a, m, a.committed)
			c.send(m)
		}, "r-disagree", wire.CodeBadRequest},
		{"model not offered", func() { c.send(f.submit(a, "r-model", "gpt-9", "hi", 0, false)) }, "r-model", wire.CodeUnknownModel},
		{"model no worker serves", func() { c.send(f.submit(a, "r-ghost", modelGhost, "hi", 0, false)) }, "r-ghost", wire.CodeUnknownModel},
		{"max_tokens above the offer's", func() { c.send(f.submit(a, "r-max", modelBuiltin, "hi", offerMax+1, false)) }, "r-max", wire.CodeBadRequest},
		{"empty messages", func() {
			m := f.submit(a, "r-empty", modelBuiltin, "hi", 0, false)
			m.Request.Messages = nil
			frame, _ := encodeLoose(m)
			c.sendRaw(websocket.TextMessage, frame)
		}, "r-empty", wire.CodeBadField},
		{"another signer's channel", func() {
			m := f.submit(other, "r-other", modelBuiltin, "hi", 0, false)
			c.send(m)
		}, "r-other", wire.CodeWrongSigner},
		{"unknown channel", func() {
			m := f.submit(a, "r-chan", modelBuiltin, "hi", 0, false)
			m.ChannelID[0] ^= 0xff
			f.sign(a, m, a.committed)
			c.send(m)
		}, "r-chan", wire.CodeUnknownChannel},
		{"voucher too low", func() {
			m := f.submit(a, "r-low", modelBuiltin, "hi", 0, false)
			f.sign(a, m, big.NewInt(10))
			c.send(m)
		}, "r-low", wire.CodeVoucherTooLow},
		{"voucher by another key", func() {
			m := f.submit(a, "r-sig", modelBuiltin, "hi", 0, false)
			f.sign(other, m, a.committed)
			c.send(m)
		}, "r-sig", wire.CodeWrongSigner},
		{"cancel of an unknown job", func() { c.send(&wire.Cancel{ID: "nope"}) }, "nope", wire.CodeUnknownJob},
		{"second hello", func() { c.hello(a.key) }, "", wire.CodeUnexpectedMessage},
		{"sync of another signer's channel", func() { c.send(&wire.Sync{ChannelID: other.channel}) }, "", wire.CodeWrongSigner},
		{"sync of an unknown channel", func() { c.send(&wire.Sync{ChannelID: [32]byte{1}}) }, "", wire.CodeUnknownChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			tt.send()
			c.expectError(tt.id, tt.code)
			c.ping()
			for _, ag := range []*agent{a, other} {
				if st := f.channel(ag); st.Charged.Sign() != 0 || st.Reserved.Sign() != 0 {
					t.Fatalf("ledger charged %s reserved %s", st.Charged, st.Reserved)
				}
			}
			if n := f.sched.places(); n != 0 {
				t.Fatalf("%d places held on the scheduler", n)
			}
		})
	}
	c.t = t
	// And the connection still takes a paid job.
	c.paid(f.submit(a, "after", modelBuiltin, "hi", 0, false))
}

// encodeLoose encodes m without the checks of wire.Encode, for frames the
// server must refuse.
func encodeLoose(m *wire.Submit) ([]byte, error) {
	m2 := *m
	m2.Request.Messages = []wire.ChatMessage{{Role: "user", Content: "x"}}
	frame, err := wire.Encode(&m2)
	if err != nil {
		return nil, err
	}
	return []byte(strings.Replace(string(frame), `"messages":[{"role":"user","content":"x"}]`, `"messages":[]`, 1)), nil
}

// TestSyncBesideReads: a sync whose channel must be read from the chain
// does not hold the connection's other frames, and a second sync waits
// for the first rather than running beside it.
func TestSyncBesideReads(t *testing.T) {
	f := newFixture(t, nil)
	a := f.newAgent(tusd, 1_000_000)
	c := f.connect(a)
	hold := make(chan struct{})
	f.chans.setHold(hold)
	c.send(&wire.Sync{ChannelID: [32]byte{1}})
	c.ping() // read and answered while the sync waits for the chain
	c.send(&wire.Sync{ChannelID: a.channel})
	f.chans.setHold(nil)
	hold <- struct{}{} // the first sync's lookup only: the second waits for the first
	c.expectError("", wire.CodeUnknownChannel)
	close(hold)
	if st := expect[*wire.Channel](c); st.ChannelID != a.channel {
		t.Fatalf("second sync answered for %s", st.ChannelID)
	}
}

func TestHandshake(t *testing.T) {
	t.Run("submit and sync before hello", func(t *testing.T) {
		f := newFixture(t, nil)
		a := f.newAgent(tusd, 1_000_000)
		c := f.dial()
		c.send(f.submit(a, "early", modelBuiltin, "hi", 0, false))
		c.expectError("early", wire.CodeNotAuthenticated)
		c.send(&wire.Sync{ChannelID: a.channel})
		c.expectError("", wire.CodeNotAuthenticated)
		c.ping()
		c.hello(a.key)
		expect[*wire.Ready](c)
		if st := f.channel(a); st.Reserved.Sign() != 0 || st.Charged.Sign() != 0 {
			t.Fatal("a refused job reserved money")
		}
	})
	t.Run("wrong signature", func(t *testing.T) {
		f := newFixture(t, nil)
		a := f.newAgent(tusd, 1_000_000)
		c := f.dial()
		h, _ := c.challenge.Answer(a.key)
		h.Signature[10] ^= 1
		c.send(h)
		c.expectError("", wire.CodeAuthFailed)
		c.expectClose(websocket.ClosePolicyViolation)
	})
	t.Run("hello naming another signer", func(t *testing.T) {
		f := newFixture(t, nil)
		a, b := f.newAgent(tusd, 1_000_000), f.newAgent(tusd, 1_000_000)
		c := f.dial()
		h, _ := c.challenge.Answer(a.key)
		h.Signer = b.addr()
		c.send(h)
		c.expectError("", wire.CodeAuthFailed)
		c.expectClose(websocket.ClosePolicyViolation)
	})
	t.Run("late hello", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.Limits.HandshakeTimeout = 100 * time.Millisecond })
		a := f.newAgent(tusd, 1_000_000)
		c := f.dial()
		if c.challenge.Limits.AuthTimeoutMS != 100 {
			t.Fatalf("limits %+v", c.challenge.Limits)
		}
		time.Sleep(200 * time.Millisecond)
		c.hello(a.key)
		c.expectError("", wire.CodeAuthFailed)
		c.expectClose(websocket.ClosePolicyViolation)
	})
	t.Run("too many connections", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.Limits.MaxConnsPerSigner = 2 })
		a := f.newAgent(tusd, 1_000_000)
		c1, _ := f.connect(a), f.connect(a)
		c := f.dial()
		c.hello(a.key)
		e := c.expectError("", wire.CodeTooManyConnections)
		if !e.Retryable {
			t.Error("too_many_connections is retryable")
		}
		c.expectClose(websocket.ClosePolicyViolation)
		// One closes; a new one gets in.
		c1.ws.Close()
		deadline := time.Now().Add(5 * time.Second)
		for f.srv.Stats().Connections > 2 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		f.connect(a)
	})
	t.Run("too many connections authenticating", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.Limits.MaxPendingConns = 2 })
		a := f.newAgent(tusd, 1_000_000)
		c1, c2 := f.dial(), f.dial()
		refused := func() {
			t.Helper()
			_, resp, err := websocket.DefaultDialer.Dial(f.url, nil)
			if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
				t.Fatalf("a third connection authenticating: %v, %+v; want HTTP 503 with Retry-After 1", err, resp)
			}
		}
		refused()
		// An authenticated connection no longer counts: a new one gets in.
		c1.hello(a.key)
		expect[*wire.Ready](c1)
		c3 := f.dial()
		refused()
		// Nor does one that went away.
		c2.ws.Close()
		c3.ws.Close()
		deadline := time.Now().Add(5 * time.Second)
		for f.srv.Stats().Connections > 1 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		f.dial()
		f.dial()
	})
	t.Run("idle", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.Limits.IdleTimeout = 150 * time.Millisecond })
		a := f.newAgent(tusd, 1_000_000)
		c := f.connect(a)
		c.expectClose(websocket.CloseNormalClosure)
		if c.closeErr.Text != "idle" {
			t.Errorf("close reason %q", c.closeErr.Text)
		}
	})
	t.Run("a running job is not idle", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.Limits.IdleTimeout = 100 * time.Millisecond })
		a := f.newAgent(tusd, 1_000_000)
		c := f.connect(a)
		c.send(f.submit(a, "slow", modelGate, "hi", 0, false))
		expect[*wire.Accepted](c)
		f.gate.waitStarted(t)
		time.Sleep(300 * time.Millisecond)
		close(f.gate.open)
		expect[*wire.Result](c)
	})
	t.Run("oversize beyond discarding", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.Limits.MaxFrameBytes = 1024 })
		a := f.newAgent(tusd, 1_000_000)
		c := f.connect(a)
		c.sendRaw(websocket.TextMessage, make([]byte, 17*1024))
		c.expectError("", wire.CodeFrameTooLarge)
		c.expectClose(websocket.CloseMessageTooBig)
	})
}

func TestDuplicateJobIDs(t *testing.T) {
	f := newFixture(t, nil)
	a := f.newAgent(tusd, 1_000_000_000)
	c := f.connect(a)
	m := f.submit(a, "dup", modelBuiltin, "a question", 0, true)
	c.send(m)
	expect[*wire.Accepted](c)
	var first *wire.Result
	for first == nil {
		if r, ok := c.next().(*wire.Result); ok {
			first = r
		}
	}
	// Completed, same body (a newer voucher, not streaming): replayed.
	again := f.submit(a, "dup", modelBuiltin, "a question", 0, false)
	c.send(again)
	r := expect[*wire.Result](c)
	if !r.Replayed || r.OutputDropped || r.Output != first.Output || r.Receipt.Seq != first.Receipt.Seq ||
		string(r.Receipt.Signature) != string(first.Receipt.Signature) {
		t.Fatalf("replay %+v, first %+v", r, first)
	}
	if err := r.Verify(f.d.Domain(), f.srv.opts.Provider, a.channel); err != nil {
		t.Fatal(err)
	}
	// Completed, another body: job_conflict.
	c.send(f.submit(a, "dup", modelBuiltin, "another question", 0, false))
	c.expectError("dup", wire.CodeJobConflict)

	// In flight on this connection: job_in_progress.
	c.send(f.submit(a, "held", modelGate, "q", 0, false))
	expect[*wire.Accepted](c)
	c.send(f.submit(a, "held", modelGate, "q", 0, false))
	c.expectError("held", wire.CodeJobInProgress)
	// In flight, resubmitted on another connection: attached to it.
	c2 := f.connect(a)
	c2.send(f.submit(a, "held", modelGate, "q", 0, true))
	acc := expect[*wire.Accepted](c2)
	if acc.ID != "held" {
		t.Fatal(acc)
	}
	if ch := expect[*wire.Chunk](c2); ch.Seq != 1 || ch.Delta != "first" {
		t.Fatalf("chunk %+v", ch)
	}
	// ... and with another body, job_conflict.
	c3 := f.connect(a)
	c3.send(f.submit(a, "held", modelGate, "other", 0, false))
	c3.expectError("held", wire.CodeJobConflict)
	f.gate.waitStarted(t)
	close(f.gate.open)
	if ch := expect[*wire.Chunk](c2); ch.Seq != 2 || ch.Delta != " second" {
		t.Fatalf("chunk %+v", ch)
	}
	r1, r2 := expect[*wire.Result](c), expect[*wire.Result](c2)
	if r1.Output != "first second" || r2.Output != r1.Output || r1.Receipt.Seq != r2.Receipt.Seq || r1.Replayed || r2.Replayed {
		t.Fatalf("results %+v and %+v", r1, r2)
	}
	if st := f.channel(a); st.ReceiptSeq != 2 || st.Reserved.Sign() != 0 ||
		st.Charged.Cmp(new(big.Int).Add(first.Cost.Big(), r1.Cost.Big())) != 0 {
		t.Fatalf("ledger %+v", st)
	}
}

// A dropped connection does not cancel its job: it runs to its end and is
// charged once, and the agent that resubmits its id gets the result.
func TestDisconnectResubmit(t *testing.T) {
	t.Run("while it runs", func(t *testing.T) {
		f := newFixture(t, nil)
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		m := f.submit(a, "j", modelGate, "q", 0, true)
		c.send(m)
		expect[*wire.Accepted](c)
		f.gate.waitStarted(t)
		c.ws.Close()

		c = f.connect(a)
		c.send(m)
		expect[*wire.Accepted](c)
		if ch := expect[*wire.Chunk](c); ch.Seq != 1 {
			t.Fatalf("chunk %+v", ch)
		}
		close(f.gate.open)
		expect[*wire.Chunk](c)
		r := expect[*wire.Result](c)
		if r.Output != "first second" || r.Replayed {
			t.Fatalf("result %+v", r)
		}
		if st := f.channel(a); st.ReceiptSeq != 1 || st.Charged.Cmp(r.Cost.Big()) != 0 || st.Reserved.Sign() != 0 {
			t.Fatalf("ledger %+v", st)
		}
	})
	t.Run("after it ended", func(t *testing.T) {
		f := newFixture(t, nil)
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		m := f.submit(a, "j", modelGate, "q", 0, false)
		c.send(m)
		expect[*wire.Accepted](c)
		f.gate.waitStarted(t)
		c.ws.Close()
		close(f.gate.open)
		waitFor(t, func() bool { return f.channel(a).ReceiptSeq == 1 })

		c = f.connect(a)
		c.send(m)
		r := expect[*wire.Result](c)
		if r.Output != "first second" || !r.Replayed || r.OutputDropped {
			t.Fatalf("result %+v", r)
		}
		if err := r.Verify(f.d.Domain(), f.srv.opts.Provider, a.channel); err != nil {
			t.Fatal(err)
		}
		if st := f.channel(a); st.ReceiptSeq != 1 || st.Charged.Cmp(r.Cost.Big()) != 0 {
			t.Fatalf("ledger %+v", st)
		}
	})
	t.Run("after it ended, with no place on a worker", func(t *testing.T) {
		f := newFixture(t, nil)
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		m := f.submit(a, "j", modelBuiltin, "q", 0, false)
		first := c.paid(m)
		// A replay gives back the place it may have taken.
		c.send(m)
		if r := expect[*wire.Result](c); !r.Replayed || r.Output != first.Output {
			t.Fatalf("replay %+v", r)
		}
		if n := f.sched.places(); n != 0 {
			t.Fatalf("%d places held after a replay", n)
		}
		// Every place taken: the known id is answered all the same,
		// and a new one is overloaded.
		f.sched.mu.Lock()
		f.sched.capacity = 1
		f.sched.mu.Unlock()
		c.send(f.submit(a, "g", modelGate, "q", 0, false))
		expect[*wire.Accepted](c)
		f.gate.waitStarted(t)
		c.send(m)
		if r := expect[*wire.Result](c); !r.Replayed || r.Output != first.Output {
			t.Fatalf("replay %+v", r)
		}
		c.send(f.submit(a, "new", modelBuiltin, "q", 0, false))
		c.expectError("new", wire.CodeOverloaded)
		close(f.gate.open)
		expect[*wire.Result](c)
		// No worker serves the model any more: the same.
		f.sched.mu.Lock()
		delete(f.sched.run, modelBuiltin)
		f.sched.mu.Unlock()
		c.send(m)
		if r := expect[*wire.Result](c); !r.Replayed || r.Output != first.Output {
			t.Fatalf("replay %+v", r)
		}
		c.send(f.submit(a, "new", modelBuiltin, "q", 0, false))
		c.expectError("new", wire.CodeUnknownModel)
	})
	t.Run("output dropped", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.OutputCacheBytes = -1 })
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		m := f.submit(a, "j", modelBuiltin, "q", 0, false)
		c.send(m)
		expect[*wire.Accepted](c)
		first := expect[*wire.Result](c)
		c.send(m)
		r := expect[*wire.Result](c)
		if r.Output != "" || !r.Replayed || !r.OutputDropped || r.Receipt.ResultHash != first.Receipt.ResultHash {
			t.Fatalf("result %+v", r)
		}
		if err := r.Verify(f.d.Domain(), f.srv.opts.Provider, a.channel); err != nil {
			t.Fatal(err)
		}
	})
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestCancelAndTimeout(t *testing.T) {
	t.Run("cancel", func(t *testing.T) {
		f := newFixture(t, nil)
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		m := f.submit(a, "j", modelGate, "q", 0, false)
		c.send(m)
		expect[*wire.Accepted](c)
		f.gate.waitStarted(t)
		c.send(&wire.Cancel{ID: "j"})
		c.expectError("j", wire.CodeCancelled)
		if st := f.channel(a); st.Charged.Sign() != 0 || st.Reserved.Sign() != 0 {
			t.Fatalf("ledger %+v", st)
		}
		c.send(&wire.Cancel{ID: "j"})
		c.expectError("j", wire.CodeUnknownJob)
		c.send(m)
		c.expectError("j", wire.CodeJobFailed)
	})
	t.Run("before it is accepted", func(t *testing.T) {
		f := newFixture(t, nil)
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		hold := make(chan struct{})
		f.chans.setHold(hold)
		m := f.submit(a, "j", modelBuiltin, "q", 0, false)
		c.send(m)
		c.send(&wire.Cancel{ID: "j"})
		c.ping() // the cancel was read
		f.chans.setHold(nil)
		close(hold)
		c.expectError("j", wire.CodeCancelled)
		if st := f.channel(a); st.Charged.Sign() != 0 || st.Reserved.Sign() != 0 {
			t.Fatalf("ledger %+v", st)
		}
		c.paid(m) // the id was not spent
	})
	t.Run("timeout", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.Limits.JobTimeout = 100 * time.Millisecond })
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		c.send(f.submit(a, "j", modelGate, "q", 0, false))
		expect[*wire.Accepted](c)
		c.expectError("j", wire.CodeJobTimeout)
		if st := f.channel(a); st.Charged.Sign() != 0 || st.Reserved.Sign() != 0 {
			t.Fatalf("ledger %+v", st)
		}
	})
}

func TestJobLimits(t *testing.T) {
	t.Run("too many jobs", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.Limits.MaxJobsPerConn = 2 })
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		if c.challenge.Limits.MaxJobsInFlight != 2 {
			t.Fatalf("limits %+v", c.challenge.Limits)
		}
		c.send(f.submit(a, "j1", modelGate, "q", 0, false))
		c.send(f.submit(a, "j2", modelGate, "q", 0, false))
		expect[*wire.Accepted](c)
		expect[*wire.Accepted](c)
		reserved := f.channel(a).Reserved
		c.send(f.submit(a, "j3", modelGate, "q", 0, false))
		c.expectError("j3", wire.CodeTooManyJobs)
		if st := f.channel(a); st.Reserved.Cmp(reserved) != 0 {
			t.Fatal("the refused job reserved money")
		}
		close(f.gate.open)
		expect[*wire.Result](c)
		expect[*wire.Result](c)
		c.paid(f.submit(a, "j3", modelGate, "q", 0, false))
	})
	t.Run("overloaded", func(t *testing.T) {
		f := newFixture(t, nil)
		f.sched.capacity = 1
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		c.send(f.submit(a, "j1", modelGate, "q", 0, false))
		expect[*wire.Accepted](c)
		before := f.channel(a)
		c.send(f.submit(a, "j2", modelGate, "q", 0, false))
		e := c.expectError("j2", wire.CodeOverloaded)
		if !e.Retryable || e.RetryAfterMS != 250 {
			t.Fatalf("overloaded %+v", e)
		}
		if st := f.channel(a); st.Reserved.Cmp(before.Reserved) != 0 {
			t.Fatal("the refused job reserved money")
		}
		close(f.gate.open)
		expect[*wire.Result](c)
		// The refused id was not spent.
		c.paid(f.submit(a, "j2", modelGate, "q", 0, false))
	})
	t.Run("a refused payment gives its place back", func(t *testing.T) {
		f := newFixture(t, nil)
		f.sched.capacity = 1
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		m := f.submit(a, "j", modelBuiltin, "q", 0, false)
		f.sign(a, m, big.NewInt(1))
		c.send(m)
		c.expectError("j", wire.CodeVoucherTooLow)
		if n := f.sched.places(); n != 0 {
			t.Fatalf("%d places held", n)
		}
		f.sign(a, m, a.committed)
		c.paid(m)
	})
}

func TestShutdown(t *testing.T) {
	t.Run("drain", func(t *testing.T) {
		f := newFixture(t, nil)
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		c.send(f.submit(a, "j", modelGate, "q", 0, false))
		expect[*wire.Accepted](c)
		f.gate.waitStarted(t)
		done := make(chan error, 1)
		go func() { done <- f.srv.Shutdown(context.Background()) }()
		waitFor(t, f.srv.isClosing)
		c.send(f.submit(a, "late", modelBuiltin, "q", 0, false))
		e := c.expectError("late", wire.CodeShuttingDown)
		if !e.Retryable || e.RetryAfterMS == 0 {
			t.Fatalf("shutting_down %+v", e)
		}
		c2, _, err := websocket.DefaultDialer.Dial(f.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		nc := &client{t: t, ws: c2}
		nc.expectError("", wire.CodeShuttingDown)
		nc.expectClose(websocket.CloseGoingAway)

		close(f.gate.open)
		r := expect[*wire.Result](c)
		c.expectClose(websocket.CloseGoingAway)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if st := f.channel(a); st.Charged.Cmp(r.Cost.Big()) != 0 || st.Reserved.Sign() != 0 {
			t.Fatalf("ledger %+v", st)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		f := newFixture(t, nil)
		a := f.newAgent(tusd, 1_000_000_000)
		c := f.connect(a)
		c.send(f.submit(a, "j", modelGate, "q", 0, false))
		expect[*wire.Accepted](c)
		f.gate.waitStarted(t)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := f.srv.Shutdown(ctx); err == nil {
			t.Fatal("Shutdown cancelled a job and says nothing")
		}
		c.expectError("j", wire.CodeShuttingDown)
		c.expectClose(websocket.CloseGoingAway)
		if st := f.channel(a); st.Charged.Sign() != 0 || st.Reserved.Sign() != 0 {
			t.Fatalf("ledger %+v", st)
		}
		j, err := f.ledger.Job(context.Background(), a.channel, "j")
		if err != nil || j.State != ledger.JobReleased {
			t.Fatalf("job %+v, %v", j, err)
		}
	})
}

// An agent that stops reading is disconnected; its job runs on, is
// charged once, and its output is replayed to the agent's resubmission.
func TestSlowAgent(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Limits.WriteTimeout = 500 * time.Millisecond })
	piece := strings.Repeat("x", 1024)
	const pieces = 32 << 10 // 32 MiB in 1 KiB chunks: more than loopback buffers, more frames than the queue takes
	f.sched.run["flood"] = func(ctx context.Context, req wire.ChatRequest, emit func(string) error) (string, wire.Usage, error) {
		for range pieces {
			emit(piece)
		}
		// A short output, so the replay below is not one more flood.
		return "the end", wire.Usage{InputTokens: 5, OutputTokens: 100}, nil
	}
	if err := f.srv.SetOffers(append(slices.Clone(f.srv.opts.Offers), Offer{Model: "flood", Asset: tusd, Price: f.price, MaxTokens: offerMax})); err != nil {
		t.Fatal(err)
	}
	a := f.newAgent(tusd, 1_000_000_000)
	c := f.connect(a)
	m := f.submit(a, "flood-1", "flood", "q", 0, true)
	c.send(m) // and read no more
	waitFor(t, func() bool { return f.srv.Stats().Connections == 0 })
	waitFor(t, func() bool { return f.channel(a).ReceiptSeq == 1 })

	c = f.connect(a)
	m.Request.Stream = false
	c.send(m)
	r := expect[*wire.Result](c)
	if !r.Replayed || r.OutputDropped || r.Output != "the end" {
		t.Fatalf("replay %+v", r)
	}
	if st := f.channel(a); st.Charged.Cmp(r.Cost.Big()) != 0 || st.Reserved.Sign() != 0 {
		t.Fatalf("ledger %+v", st)
	}
}
