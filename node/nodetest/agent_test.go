package nodetest

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

// provider signs receipts under domain d, with its key or a forger's.
type provider struct {
	d    *contracts.Domain
	addr common.Address
	sign func(forged bool, rc *contracts.Receipt) []byte
}

func newProvider() *provider {
	key, _ := crypto.GenerateKey()
	forger, _ := crypto.GenerateKey()
	p := &provider{d: contracts.NewDomain(big.NewInt(1337), contract), addr: crypto.PubkeyToAddress(key.PublicKey)}
	p.sign = func(forged bool, rc *contracts.Receipt) []byte {
		k := key
		if forged {
			k = forger
		}
		digest, err := p.d.ReceiptDigest(rc)
		if err != nil {
			panic(err)
		}
		sig, err := contracts.Sign(digest, k)
		if err != nil {
			panic(err)
		}
		return sig
	}
	return p
}

var (
	contract = common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
	price, _ = contracts.ParsePrice("1000", "2000000", "8000000")
	channel  = common.HexToHash("0xbeef")
)

// offline returns an Agent of p's that has not dialled, to feed results
// to, and p's signer.
func offline(every int) (*Agent, func(forged bool, rc *contracts.Receipt) []byte) {
	p := newProvider()
	a := &Agent{
		ChannelID: channel, Price: price, VerifyEvery: every, domain: p.d, provider: p.addr,
		committed: new(big.Int), charged: new(big.Int), pending: map[string]chan wire.Message{},
	}
	return a, p.sign
}

// results are n results for a's channel, seq 1 … n; those forged says are
// signed by the forger, after change.
func results(a *Agent, sign func(bool, *contracts.Receipt) []byte, n int, forged func(uint64) bool, change func(*contracts.Receipt)) []*wire.Result {
	out := make([]*wire.Result, n)
	cum := new(big.Int)
	for i := range out {
		seq := uint64(i + 1)
		id, output := fmt.Sprint("job-", seq), fmt.Sprint("output of job ", seq)
		in, toks := 20+seq%5, 3+seq%9
		cost := a.Price.Cost(in, toks)
		cum = new(big.Int).Add(cum, cost)
		rc := &contracts.Receipt{ChannelID: a.ChannelID, JobID: wire.JobKey(id), Cost: cost, CumulativeCharged: new(big.Int).Set(cum),
			InputTokens: in, OutputTokens: toks, ResultHash: wire.ResultHash(output)}
		byForger := forged != nil && forged(seq)
		if byForger && change != nil {
			change(rc)
		}
		out[i] = &wire.Result{ID: id, Output: output, Usage: wire.Usage{InputTokens: in, OutputTokens: toks},
			Cost: wire.NewAmount(rc.Cost), Receipt: wire.NewReceipt(rc, seq, sign(byForger, rc))}
	}
	return out
}

var maxCost = big.NewInt(1 << 20)

// uncovered counts the receipts a holds that no verified receipt covers.
func (a *Agent) uncovered() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bookLocked().Figures().Uncovered
}

// VerifyEvery's rule on receipts that come out of order: its bounds hold
// after every receipt, a fraction of the signatures are verified, and
// Verify leaves every receipt covered. VerifyEvery 0 verifies each.
func TestVerifyEvery(t *testing.T) {
	for _, every := range []int{0, 2, 16} {
		a, sign := offline(every)
		rs := results(a, sign, 200, nil, nil)
		rng := rand.New(rand.NewPCG(uint64(every), 1))
		for i := range rs {
			j := i + rng.IntN(min(6, len(rs)-i))
			rs[i], rs[j] = rs[j], rs[i]
		}
		for _, m := range rs {
			if _, err := a.check(m, maxCost); err != nil {
				t.Fatalf("every %d, seq %d: %v", every, m.Receipt.Seq, err)
			}
			if open := a.uncovered(); open >= max(every, 1) {
				t.Fatalf("every %d: %d receipts uncovered", every, open)
			}
		}
		if err := a.Verify(); err != nil {
			t.Fatal(err)
		}
		held, verified := a.Receipts()
		switch {
		case held != 200 || a.uncovered() != 0:
			t.Fatalf("every %d: %d held, %d uncovered after Verify", every, held, a.uncovered())
		case every == 0 && verified != 200, every > 1 && (verified == 0 || verified > 200/every*3):
			t.Fatalf("every %d: %d of 200 verified", every, verified)
		}
	}
}

// A forger that takes over at seq 11 is caught before VerifyEvery of its
// receipts are taken; a receipt whose cost the forger lowered is caught
// when the next one comes, and named.
func TestVerifyEveryForgery(t *testing.T) {
	const every = 8
	a, sign := offline(every)
	taken := 0
	var err error
	for _, m := range results(a, sign, 60, func(seq uint64) bool { return seq >= 11 }, nil) {
		if _, err = a.check(m, maxCost); err != nil {
			break
		}
		if m.Receipt.Seq >= 11 {
			taken++
		}
	}
	if err == nil || taken >= every || !strings.Contains(err.Error(), "not by the provider") {
		t.Fatalf("%d forged receipts taken: %v", taken, err)
	}
	if _, err := a.Run(context.Background(), Job{}); err == nil {
		t.Fatal("a job after the forgery")
	}

	a, sign = offline(every)
	lower := func(rc *contracts.Receipt) {
		rc.Cost.Sub(rc.Cost, big.NewInt(1))
		rc.CumulativeCharged.Sub(rc.CumulativeCharged, big.NewInt(1))
	}
	for _, m := range results(a, sign, 30, func(seq uint64) bool { return seq == 13 }, lower) {
		_, err = a.check(m, maxCost)
		if m.Receipt.Seq < 14 && err != nil {
			t.Fatalf("seq %d: %v", m.Receipt.Seq, err)
		}
		if m.Receipt.Seq == 14 {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "receipt seq 13, held unverified") {
		t.Fatalf("lowered cost at seq 13: %v", err)
	}
}

// serve runs a node for p with neither chain, ledger nor model: it
// answers each job on channel with a result whose receipt takes the next
// seq, signed by p, or by the forger where forged says, and returns its
// URL and what it charged.
func (p *provider) serve(t *testing.T, forged func(seq uint64) bool) (string, func() *big.Int) {
	var mu sync.Mutex
	seq, charged := uint64(0), new(big.Int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		var wmu sync.Mutex
		send := func(m wire.Message) {
			frame, _ := wire.Encode(m)
			wmu.Lock()
			defer wmu.Unlock()
			ws.WriteMessage(websocket.TextMessage, frame)
		}
		send(&wire.Challenge{Nonce: wire.NewNonce(), Provider: p.addr, ChainID: 1337, Contract: contract,
			Limits: wire.Limits{MaxFrameBytes: 1 << 20, MaxMessages: 64, MaxJobsInFlight: 64, MaxConnectionsPerSigner: 1, AuthTimeoutMS: 1000, JobTimeoutMS: 1000}})
		dec := wire.Decoder{Direction: wire.AgentToNode}
		for {
			_, frame, err := ws.ReadMessage()
			if err != nil {
				return
			}
			switch m, _ := dec.Decode(frame); m := m.(type) {
			case *wire.Hello:
				send(&wire.Ready{Signer: m.Signer})
			case *wire.Submit:
				output := "done: " + m.ID
				in, out := m.Request.InputTokenBound()/2, uint64(3)
				mu.Lock()
				seq++
				rc := &contracts.Receipt{ChannelID: m.ChannelID, JobID: wire.JobKey(m.ID), Cost: price.Cost(in, out),
					InputTokens: in, OutputTokens: out, ResultHash: wire.ResultHash(output)}
				rc.CumulativeCharged = new(big.Int).Set(charged.Add(charged, rc.Cost))
				res := &wire.Result{ID: m.ID, Output: output, Usage: wire.Usage{InputTokens: in, OutputTokens: out},
					Cost: wire.NewAmount(rc.Cost), Receipt: wire.NewReceipt(rc, seq, p.sign(forged != nil && forged(seq), rc))}
				mu.Unlock()
				// Jobs end out of order.
				go func() {
					time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
					send(res)
				}()
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), func() *big.Int {
		mu.Lock()
		defer mu.Unlock()
		return new(big.Int).Set(charged)
	}
}

// Jobs run through Run with VerifyEvery: a fraction of the signatures
// are verified, the last job to end finds the agent idle and covers every
// receipt, and the receipts add up to what the node charged. A forger
// that takes over mid-run is caught before VerifyEvery of its receipts
// are taken, and the agent runs no job after.
func TestVerifyEveryRun(t *testing.T) {
	const every, workers, perWorker = 16, 12, 25
	for _, forgedFrom := range []uint64{0, 100} {
		p := newProvider()
		url, charged := p.serve(t, func(seq uint64) bool { return forgedFrom > 0 && seq >= forgedFrom })
		key, _ := crypto.GenerateKey()
		a, err := Dial(t.Context(), url, key, p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		a.ChannelID, a.Price, a.VerifyEvery = channel, price, every
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failed []error
		forgedTaken := 0
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perWorker {
					out, err := a.Run(t.Context(), Job{})
					mu.Lock()
					if err != nil {
						failed = append(failed, err)
					} else if forgedFrom > 0 && out.Result.Receipt.Seq >= forgedFrom {
						forgedTaken++
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
		held, verified := a.Receipts()
		if forgedFrom > 0 {
			if len(failed) == 0 || forgedTaken >= every || !strings.Contains(failed[0].Error(), "not by the provider") {
				t.Fatalf("forger from seq %d: %d forged receipts taken; errors %v", forgedFrom, forgedTaken, failed)
			}
			if _, err := a.Run(t.Context(), Job{}); err == nil {
				t.Fatal("a job after the forgery was caught")
			}
			continue
		}
		open := a.uncovered()
		if len(failed) > 0 || open != 0 || held != workers*perWorker || verified == 0 || verified > held/4 || a.Charged().Cmp(charged()) != 0 {
			t.Fatalf("errors %v; %d uncovered once idle; %d held, %d verified; charged %s, the node's %s", failed, open, held, verified, a.Charged(), charged())
		}
		if err := a.Verify(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d of %d signatures verified", verified, held)
	}
}
