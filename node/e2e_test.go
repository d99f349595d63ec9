package node_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/internal/devstack"
	"github.com/paynode/paynode/node/config"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/executor/openai"
	"github.com/paynode/paynode/node/nodetest"
	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/node/worker"
)

// TestEndToEnd runs the job path over real loopback sockets: 20 agent
// connections pay for 1,000 jobs that 3 remote workers run — two on the
// builtin model, one on an OpenAI-compatible upstream (SSE) — while one
// builtin worker is cut off mid-run. Every job must end in exactly one
// result with a receipt that verifies against the provider, or in an
// error saying why; what the agents hold must equal the ledger, to the
// last unit, and, after settlement, the chain.
func TestEndToEnd(t *testing.T) {
	const (
		agents      = 20
		jobsEach    = 50
		inFlight    = 5
		workerSlots = 8
	)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	stack, err := devstack.Start(ctx, devstack.Options{
		TokenOffer: true,
		Configure: func(c *config.Config) {
			c.Workers.Builtin = false // the three workers below are all there is
			c.API.MaxJobsPerConn = inFlight
			c.Settlement.Interval = config.Duration{Duration: time.Hour} // settled by hand below
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	n := stack.Node

	// Three workers: the first behind a proxy that will be cut.
	upstream := nodetest.NewUpstream(0)
	defer upstream.Close()
	proxy, err := nodetest.NewProxy(strings.TrimPrefix(strings.TrimSuffix(n.WorkerURL(), "/v1/worker"), "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	upClient, err := openai.New(upstream.URL, openai.Options{})
	if err != nil {
		t.Fatal(err)
	}
	workers := []*worker.Worker{
		{URL: "ws://" + proxy.Addr() + "/v1/worker", Name: "doomed", Executor: &builtin.Model{TokenDelay: time.Millisecond}},
		{URL: n.WorkerURL(), Name: "steady", Executor: &builtin.Model{TokenDelay: 200 * time.Microsecond}},
		{URL: n.WorkerURL(), Name: "upstream", Executor: upClient},
	}
	wctx, stopWorkers := context.WithCancel(ctx)
	var wwg sync.WaitGroup
	for _, w := range workers {
		w.Token, w.Capacity, w.Models = stack.WorkerToken, workerSlots, []string{builtin.Name}
		wwg.Add(1)
		go func() { defer wwg.Done(); w.Run(wctx) }()
	}
	defer func() { stopWorkers(); wwg.Wait() }()
	waitFor(t, ctx, "3 workers", func() bool { return len(n.Hub().Workers()) == 3 })

	// 20 channels: 16 in ETH, 4 in TUSD, from several payers, each signed
	// by a hot key of its own.
	d := stack.Deployment
	accounts := stack.Chain.Accounts()
	offers := map[common.Address]contracts.Price{}
	for _, o := range n.Offers() {
		offers[o.Offer.Asset] = o.Offer.Price
	}
	type agentState struct {
		a       *nodetest.Agent
		channel common.Hash
		results atomic.Int64
		failed  atomic.Int64
	}
	states := make([]*agentState, agents)
	for i := range states {
		asset, deposit := common.Address{}, big.NewInt(1e18)
		if i%5 == 4 {
			asset, deposit = *d.Token, big.NewInt(1_000_000_000) // 1000 TUSD
		}
		signer, _ := crypto.GenerateKey()
		payer := accounts[3+i%7].Key
		id := nodetest.OpenChannel(t, stack.Chain.Client(), d, payer, n.Provider(), signer, asset, deposit, common.BigToHash(big.NewInt(int64(i+1))))
		a, err := nodetest.Dial(ctx, n.AgentURL(), signer, n.Provider())
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		a.ChannelID, a.Price = id, offers[asset]
		states[i] = &agentState{a: a, channel: id}
	}

	// 1,000 jobs, up to 5 in flight per connection; the doomed worker is
	// cut off once a third of them are done.
	var done atomic.Int64
	cutAt := int64(agents * jobsEach / 3)
	var cutOnce sync.Once
	errs := make(chan error, agents*jobsEach)
	codes := sync.Map{} // code → *atomic.Int64
	var wg sync.WaitGroup
	for i, st := range states {
		sem := make(chan struct{}, inFlight)
		for j := range jobsEach {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				rng := rand.New(rand.NewPCG(uint64(i), uint64(j)))
				out, err := st.a.Run(ctx, nodetest.Job{
					ID: fmt.Sprintf("a%d-j%d", i, j), MaxTokens: 1 + rng.Uint64N(64), Stream: j%3 == 0,
					Prompt: fmt.Sprintf("Job %d of agent %d: tell a story.", j, i),
				})
				if err != nil {
					errs <- err
					return
				}
				if out.Err != nil {
					st.failed.Add(1)
					c, _ := codes.LoadOrStore(out.Err.Code, new(atomic.Int64))
					c.(*atomic.Int64).Add(1)
				} else {
					st.results.Add(1)
					if len(out.Chunks) > 0 && strings.Join(out.Chunks, "") != out.Result.Output {
						errs <- fmt.Errorf("job %s: chunks do not add up to the output", out.Result.ID)
					}
				}
				if done.Add(1) == cutAt {
					cutOnce.Do(proxy.Cut)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Every job ended once: a result, or an error saying the worker died.
	var results, failed int64
	for _, st := range states {
		results += st.results.Load()
		failed += st.failed.Load()
	}
	if results+failed != agents*jobsEach {
		t.Fatalf("%d results + %d errors for %d jobs", results, failed, agents*jobsEach)
	}
	codes.Range(func(k, v any) bool {
		t.Logf("%d jobs failed with %s", v.(*atomic.Int64).Load(), k)
		if k.(wire.Code) != wire.CodeWorkerFailed {
			t.Errorf("%d jobs failed with %s; only the cut worker's jobs that had streamed may fail (worker_failed)", v.(*atomic.Int64).Load(), k)
		}
		return true
	})
	if failed > workerSlots {
		t.Errorf("%d jobs failed; the cut worker had at most %d running", failed, workerSlots)
	}
	if got := upstream.Requests.Load(); got == 0 {
		t.Error("the upstream worker served no job")
	}
	t.Logf("%d results, %d failed; upstream served %d", results, failed, upstream.Requests.Load())

	// The agents' receipts, the ledger and (after settling) the chain
	// agree, channel by channel, to the last unit.
	l := n.Ledger()
	for i, st := range states {
		cs, err := l.Channel(ctx, st.channel)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cs.Charged, st.a.Charged(); got.Cmp(want) != 0 {
			t.Errorf("agent %d: ledger charged %s, receipts add up to %s", i, got, want)
		}
		if cs.Reserved.Sign() != 0 {
			t.Errorf("agent %d: %s still reserved after every job ended", i, cs.Reserved)
		}
		if cs.ReceiptSeq != uint64(st.results.Load()) {
			t.Errorf("agent %d: %d receipts issued for %d results", i, cs.ReceiptSeq, st.results.Load())
		}
	}
	for range 5 {
		b, err := n.Settler().Settle(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			break
		}
	}
	for i, st := range states {
		if got, want := nodetest.Claimed(t, stack.Chain.Client(), d, st.channel), st.a.Charged(); got.Cmp(want) != 0 {
			t.Errorf("agent %d: claimed on chain %s, receipts add up to %s", i, got, want)
		}
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestVoucherHeadroomBound: an agent that signs vouchers ahead by a
// headroom H (docs/protocol.md, Voucher headroom) signs about one voucher
// per H/max_cost jobs, and the node never holds a voucher more than H
// above what the tight policy would have given it.
func TestVoucherHeadroomBound(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	stack, a, _ := startPaying(t, ctx, devstack.Options{})
	n, id, price := stack.Node, a.ChannelID, a.Price
	job := nodetest.Job{Prompt: "Count to three.", MaxTokens: 16}
	maxCost := price.Cost((&wire.ChatRequest{Messages: []wire.ChatMessage{{Role: "user", Content: job.Prompt}}}).InputTokenBound(), job.MaxTokens)
	headroom := new(big.Int).Mul(maxCost, big.NewInt(10))
	a.Headroom = headroom

	vouchers := map[string]bool{}
	for i := range 100 {
		job.ID = fmt.Sprintf("h-%d", i)
		out, err := a.Run(ctx, job)
		if err != nil || out.Err != nil {
			t.Fatalf("job %d: %+v, %v", i, out, err)
		}
		cs, err := n.Ledger().Channel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		vouchers[cs.Voucher.Amount.String()] = true
		// Jobs run one at a time: the tight policy's voucher exceeds
		// what was charged by at most one max cost; headroom adds H.
		limit := new(big.Int).Add(cs.Charged, headroom)
		if limit.Add(limit, maxCost); cs.Voucher.Amount.Cmp(limit) > 0 {
			t.Fatalf("after job %d the node holds a voucher for %s, above charged %s + max cost %s + headroom %s", i, cs.Voucher.Amount, cs.Charged, maxCost, headroom)
		}
	}
	// Jobs cost less than their max cost, so a voucher with headroom for
	// 10 max costs lasts at least 10 jobs.
	if len(vouchers) > 100/10+1 {
		t.Errorf("%d distinct vouchers for 100 jobs with a headroom of 10 jobs", len(vouchers))
	}
	// Settlement claims what was charged, not the voucher's ceiling.
	if _, err := n.Settler().Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := nodetest.Claimed(t, stack.Chain.Client(), stack.Deployment, id), a.Charged(); got.Cmp(want) != 0 {
		t.Errorf("claimed %s, charged %s", got, want)
	}
}

// startPaying starts a dev stack with opts and a raw agent that pays, at
// the first offer's price, on a channel of 1 ETH it opened from the stack's
// funded key; both close when the test ends. It returns the agent's
// signing key too.
func startPaying(t *testing.T, ctx context.Context, opts devstack.Options) (*devstack.Stack, *nodetest.Agent, *ecdsa.PrivateKey) {
	t.Helper()
	stack, err := devstack.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close(context.Background()) })
	n := stack.Node
	signer, _ := crypto.GenerateKey()
	id := nodetest.OpenChannel(t, stack.Chain.Client(), stack.Deployment, stack.AgentKey, n.Provider(), signer, common.Address{}, big.NewInt(1e18), common.HexToHash("0x1"))
	a, err := nodetest.Dial(ctx, n.AgentURL(), signer, n.Provider())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.ChannelID, a.Price = id, n.Offers()[0].Offer.Price
	return stack, a, signer
}

// TestReplayCountedOnce: a resubmitted job id is answered with the first
// result, replayed, and the load generator counts its cost once, so its
// charged figure stays the node's.
func TestReplayCountedOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	stack, a, _ := startPaying(t, ctx, devstack.Options{NoSync: true})
	first, err := a.Run(ctx, nodetest.Job{ID: "again", MaxTokens: 8})
	if err != nil || first.Err != nil {
		t.Fatalf("first: %+v, %v", first, err)
	}
	second, err := a.Run(ctx, nodetest.Job{ID: "again", MaxTokens: 8})
	if err != nil || second.Err != nil || !second.Result.Replayed || second.Result.Receipt.Seq != first.Result.Receipt.Seq {
		t.Fatalf("resubmission: %+v, %v; want the first result replayed", second, err)
	}
	st, err := stack.Node.Ledger().Channel(ctx, a.ChannelID)
	if err != nil {
		t.Fatal(err)
	}
	if cost := first.Result.Cost.Big(); a.Charged().Cmp(cost) != 0 || st.Charged.Cmp(cost) != 0 {
		t.Fatalf("charged: agent %s, node %s; want the one job's cost %s", a.Charged(), st.Charged, cost)
	}
}
