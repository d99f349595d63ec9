package agent_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/internal/devstack"
	"github.com/paynode/paynode/node/config"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/nodetest"
	"github.com/paynode/paynode/node/wire"
)

// The tests in this file pay the real node: internal/devstack runs the
// embedded chain, the contracts and a provider node with a builtin worker
// in this process, exactly as `paynode dev` does.

type stackEnv struct {
	stack    *devstack.Stack
	channels *agent.Channels // pays from the dev agent account
}

func startStack(t *testing.T, opts devstack.Options) *stackEnv {
	t.Helper()
	opts.TokenOffer = true
	opts.NoSync = true
	configure := opts.Configure
	opts.Configure = func(c *config.Config) {
		c.Settlement.Interval = config.Duration{Duration: time.Hour} // settled by hand
		if configure != nil {
			configure(c)
		}
	}
	stack, err := devstack.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Close(context.Background()); err != nil {
			t.Errorf("close the stack: %v", err)
		}
	})
	ch := agent.NewChannels(stack.Chain.Client(), stack.Deployment, stack.AgentKey)
	ch.PollInterval = 10 * time.Millisecond
	return &stackEnv{stack: stack, channels: ch}
}

func (e *stackEnv) offer(t *testing.T, asset common.Address) agent.Offer {
	t.Helper()
	o, err := agent.NewDiscovery(e.stack.Chain.Client(), e.stack.Deployment).Choose(t.Context(), agent.Filter{Model: builtin.Name, Asset: &asset}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// open opens a channel for offer o, signed for by a new hot key.
func (e *stackEnv) open(t *testing.T, o agent.Offer, deposit *big.Int) (*ecdsa.PrivateKey, common.Hash) {
	t.Helper()
	signer, _ := crypto.GenerateKey()
	opened, err := e.channels.Open(t.Context(), agent.OpenParams{Provider: o.Provider, Signer: crypto.PubkeyToAddress(signer.PublicKey), Asset: o.Asset, Deposit: deposit})
	if err != nil {
		t.Fatal(err)
	}
	return signer, opened.ID
}

func (e *stackEnv) dial(t *testing.T, cfg agent.Config) *agent.Client {
	t.Helper()
	cfg.Deployment = e.stack.Deployment
	if cfg.Backoff == (agent.Backoff{}) {
		cfg.Backoff = agent.Backoff{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond}
	}
	c, err := agent.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// settle has the node claim everything it charged.
func (e *stackEnv) settle(t *testing.T) {
	t.Helper()
	for range 10 {
		b, err := e.stack.Node.Settler().Settle(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			return
		}
	}
	t.Fatal("settlement did not finish in 10 rounds")
}

func (e *stackEnv) ledgerCharged(t *testing.T, id common.Hash) (*big.Int, uint64) {
	t.Helper()
	cs, err := e.stack.Node.Ledger().Channel(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Reserved.Sign() != 0 {
		t.Errorf("channel %s: %s still reserved on the node after every job ended", id, cs.Reserved)
	}
	return cs.Charged, cs.ReceiptSeq
}

func prompt(i int) []wire.ChatMessage {
	return []wire.ChatMessage{{Role: "user", Content: fmt.Sprintf("Job %d: tell me a story about paying per job.", i)}}
}

// TestRealNodePipelined: the SDK opens a channel on the real node's chain,
// pays for 50 jobs at once on one connection, and what its verified
// receipts add up to is what the node's ledger charged and, after
// settlement, what was claimed on chain — to the wei, in ETH and in TUSD.
func TestRealNodePipelined(t *testing.T) {
	e := startStack(t, devstack.Options{})
	for _, asset := range []common.Address{{}, *e.stack.Deployment.Token} {
		t.Run(map[bool]string{true: "ETH", false: "TUSD"}[asset == common.Address{}], func(t *testing.T) {
			o := e.offer(t, asset)
			signer, id := e.open(t, o, big.NewInt(1e12))
			store, err := agent.OpenStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			c := e.dial(t, agent.Config{Offer: o, Signer: signer, Channel: id, Store: store})
			const jobs = 50
			var wg sync.WaitGroup
			costs := make([]*big.Int, jobs)
			for i := range jobs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					jb := agent.Job{ID: fmt.Sprintf("job-%d", i), Messages: prompt(i), MaxTokens: uint64(1 + i%40)}
					var streamed strings.Builder
					if i%3 == 0 {
						jb.OnChunk = func(d string) { streamed.WriteString(d) }
					}
					res, err := c.Submit(t.Context(), jb)
					if err != nil {
						t.Errorf("job %d: %v", i, err)
						return
					}
					if jb.OnChunk != nil && streamed.String() != res.Output {
						t.Errorf("job %d: streamed %q, output %q", i, streamed.String(), res.Output)
					}
					if res.Cost.Cmp(res.MaxCost) > 0 || res.Receipt.Cost.Big().Cmp(res.Cost) != 0 {
						t.Errorf("job %d: cost %s, max cost %s, receipt cost %s", i, res.Cost, res.MaxCost, res.Receipt.Cost)
					}
					costs[i] = res.Cost
				}()
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			sum := new(big.Int)
			for _, x := range costs {
				sum.Add(sum, x)
			}
			acct := c.Account()
			if acct.Charged.Cmp(sum) != 0 || acct.Receipts != jobs || acct.Gaps != 0 {
				t.Fatalf("SDK account %+v; the results' costs add up to %s over %d jobs", acct, sum, jobs)
			}
			charged, seq := e.ledgerCharged(t, id)
			if charged.Cmp(acct.Charged) != 0 || seq != jobs {
				t.Fatalf("node ledger charged %s in %d receipts; the SDK holds %s in %d", charged, seq, acct.Charged, acct.Receipts)
			}
			// The stored receipts say the same, without the node.
			st, err := e.channels.Status(t.Context(), id, store)
			if err != nil {
				t.Fatal(err)
			}
			if st.Charged.Cmp(sum) != 0 || st.Receipts != jobs {
				t.Fatalf("status from the store: charged %s in %d receipts", st.Charged, st.Receipts)
			}
			e.settle(t)
			if claimed := nodetest.Claimed(t, e.stack.Chain.Client(), e.stack.Deployment, id); claimed.Cmp(sum) != 0 {
				t.Fatalf("claimed on chain %s; receipts add up to %s", claimed, sum)
			}
		})
	}
}

// TestRealNodeDroppedMidJob: the connection is cut while a job streams;
// the SDK reconnects and resubmits it under the same id, and the node
// charges it exactly once.
func TestRealNodeDroppedMidJob(t *testing.T) {
	e := startStack(t, devstack.Options{Builtin: &builtin.Model{TokenDelay: 20 * time.Millisecond}})
	o := e.offer(t, common.Address{})
	signer, id := e.open(t, o, big.NewInt(1e12))
	proxy, err := nodetest.NewProxy(strings.TrimSuffix(strings.TrimPrefix(e.stack.Node.AgentURL(), "ws://"), "/v1/agent"))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	viaProxy := o
	viaProxy.Endpoint = "ws://" + proxy.Addr() + "/v1/agent"
	c := e.dial(t, agent.Config{Offer: viaProxy, Signer: signer, Channel: id})

	chunks := make(chan string, 100)
	done := make(chan struct{})
	var res *agent.Result
	go func() {
		defer close(done)
		res, err = c.Submit(t.Context(), agent.Job{ID: "the-job", Messages: prompt(1), MaxTokens: 30,
			OnChunk: func(d string) { chunks <- d }})
	}()
	select {
	case <-chunks:
	case <-time.After(30 * time.Second):
		t.Fatal("no chunk")
	}
	proxy.Cut()
	time.Sleep(100 * time.Millisecond)
	proxy.Restore()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts < 2 {
		t.Errorf("the job took %d submission(s); the cut should have made it resubmit", res.Attempts)
	}
	charged, seq := e.ledgerCharged(t, id)
	if seq != 1 || charged.Cmp(res.Cost) != 0 {
		t.Fatalf("the node issued %d receipts charging %s; want one charge of %s", seq, charged, res.Cost)
	}
	if got := c.Account().Charged; got.Cmp(res.Cost) != 0 {
		t.Fatalf("the SDK counts %s charged; want %s", got, res.Cost)
	}
	// The same id once more: replayed, not paid again.
	again, err := c.Submit(t.Context(), agent.Job{ID: "the-job", Messages: prompt(1), MaxTokens: 30})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed {
		t.Error("a resubmitted id was not replayed")
	}
	if charged, seq := e.ledgerCharged(t, id); seq != 1 || charged.Cmp(res.Cost) != 0 {
		t.Fatalf("after the replay the node issued %d receipts charging %s", seq, charged)
	}
}

// TestRealNodeWithdrawal: after jobs and settlement, the payer requests
// the withdrawal, the node refuses new jobs on the channel, and once the
// delay has passed the payer gets back exactly deposit − claimed (in TUSD,
// so that gas does not blur the balance).
func TestRealNodeWithdrawal(t *testing.T) {
	e := startStack(t, devstack.Options{})
	d := e.stack.Deployment
	o := e.offer(t, *d.Token)
	deposit := big.NewInt(5_000_000) // 5 TUSD
	signer, id := e.open(t, o, deposit)
	c := e.dial(t, agent.Config{Offer: o, Signer: signer, Channel: id})
	for i := range 5 {
		if _, err := c.Submit(t.Context(), agent.Job{Messages: prompt(i), MaxTokens: 16}); err != nil {
			t.Fatal(err)
		}
	}
	charged := c.Account().Charged
	e.settle(t)

	at, err := e.channels.RequestWithdrawal(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	// The node sees the request and takes no more jobs on the channel.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.Submit(t.Context(), agent.Job{Messages: prompt(9), MaxTokens: 16})
		if agent.CodeOf(err) == agent.Code(wire.CodeChannelClosing) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a job on a channel being withdrawn: %v; want channel_closing", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	charged = c.Account().Charged // a job may have passed before the node saw the request
	e.settle(t)

	// Too early: the contract refuses.
	if _, err := e.channels.FinalizeWithdrawal(t.Context(), id); err == nil {
		t.Fatal("finalized before the withdrawal delay")
	}
	head, err := e.stack.Chain.Client().HeaderByNumber(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.stack.Chain.AdjustTime(at.Sub(time.Unix(int64(head.Time), 0)) + time.Second); err != nil {
		t.Fatal(err)
	}
	payer := e.channels.PayerAddress()
	before := tokenBalance(t, e, payer)
	refund, err := e.channels.FinalizeWithdrawal(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	after := tokenBalance(t, e, payer)
	claimed := nodetest.Claimed(t, e.stack.Chain.Client(), d, id)
	want := new(big.Int).Sub(deposit, claimed)
	if claimed.Cmp(charged) != 0 {
		t.Errorf("claimed %s; the receipts add up to %s", claimed, charged)
	}
	if refund.Cmp(want) != 0 || new(big.Int).Sub(after, before).Cmp(want) != 0 {
		t.Fatalf("refund %s, payer's balance rose by %s; want deposit %s − claimed %s = %s", refund, new(big.Int).Sub(after, before), deposit, claimed, want)
	}
}

func tokenBalance(t *testing.T, e *stackEnv, who common.Address) *big.Int {
	t.Helper()
	tok := bindings.NewTestUSD()
	b, err := bind.Call(tok.Instance(e.stack.Chain.Client(), *e.stack.Deployment.Token), &bind.CallOpts{Context: t.Context()}, tok.PackBalanceOf(who), tok.UnpackBalanceOf)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRealNodeBadInput: what an agent gets wrong, or the world does, is an
// error that names the cause, and nothing is signed that was not needed.
func TestRealNodeBadInput(t *testing.T) {
	e := startStack(t, devstack.Options{})
	ctx := t.Context()
	disc := agent.NewDiscovery(e.stack.Chain.Client(), e.stack.Deployment)
	eth := common.Address{}
	o := e.offer(t, eth)

	t.Run("unknown model", func(t *testing.T) {
		_, err := disc.Choose(ctx, agent.Filter{Model: "gpt-9"}, nil)
		wantErr(t, err, agent.CodeNoOffer, `model "gpt-9"`)
	})
	t.Run("no offer under the max price", func(t *testing.T) {
		_, err := disc.Choose(ctx, agent.Filter{Model: builtin.Name, Asset: &eth, MaxJobCost: big.NewInt(100)}, nil)
		wantErr(t, err, agent.CodeNoOffer, "the cap is 100")
	})
	t.Run("channel too small", func(t *testing.T) {
		// 1000 wei cannot pay for a job whose max cost is above it: the
		// node refuses the voucher, and nothing is charged.
		signer, id := e.open(t, o, big.NewInt(1000))
		c := e.dial(t, agent.Config{Offer: o, Signer: signer, Channel: id})
		_, err := c.Submit(ctx, agent.Job{Messages: prompt(1), MaxTokens: 16})
		wantErr(t, err, agent.Code(wire.CodeVoucherAboveDeposit), "")
		if charged, _ := e.ledgerCharged(t, id); charged.Sign() != 0 {
			t.Errorf("charged %s", charged)
		}
		// The Payer says so before dialling.
		p := &agent.Payer{Discovery: disc, Channels: e.channels, Signer: signer}
		_, _, err = p.ChannelFor(ctx, &o, big.NewInt(5000))
		wantErr(t, err, agent.CodeChannelTooSmall, "top it up")
	})
	t.Run("budget exceeded", func(t *testing.T) {
		signer, id := e.open(t, o, big.NewInt(1e12))
		c := e.dial(t, agent.Config{Offer: o, Signer: signer, Channel: id,
			Budget: &agent.Budget{Limits: map[common.Address]agent.Limits{eth: {PerJob: big.NewInt(1100)}}}})
		_, err := c.Submit(ctx, agent.Job{Messages: prompt(1), MaxTokens: 100})
		wantErr(t, err, agent.CodeBudgetPerJob, "per-job limit 1100")
		if _, seq := e.ledgerCharged(t, id); seq != 0 {
			t.Errorf("the node issued %d receipts", seq)
		}
	})
	t.Run("provider unreachable", func(t *testing.T) {
		signer, id := e.open(t, o, big.NewInt(1e12))
		dead := o
		dead.Endpoint = "ws://127.0.0.1:1/v1/agent"
		_, err := agent.Dial(ctx, agent.Config{Offer: dead, Deployment: e.stack.Deployment, Signer: signer, Channel: id,
			Reconnects: 2, Backoff: agent.Backoff{Min: time.Millisecond, Max: time.Millisecond}})
		wantErr(t, err, agent.CodeUnreachable, "127.0.0.1:1")
	})
	t.Run("wrong node", func(t *testing.T) {
		// An offer whose endpoint is another provider's node.
		signer, id := e.open(t, o, big.NewInt(1e12))
		other := o
		other.Provider = crypto.PubkeyToAddress(e.stack.AgentKey.PublicKey)
		_, err := agent.Dial(ctx, agent.Config{Offer: other, Deployment: e.stack.Deployment, Signer: signer, Channel: id})
		wantErr(t, err, agent.CodeWrongNode, "is provider "+o.Provider.Hex())
	})
}

func wantErr(t *testing.T, err error, code agent.Code, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %s", code)
	}
	if got := agent.CodeOf(err); got != code || !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q (code %s); want code %s naming %q", err, got, code, substr)
	}
	t.Logf("%v", err)
}

// TestRealNodeVoucherHeadroom: with VoucherHeadroom the SDK signs about
// one voucher per headroom's worth of jobs, the node never holds a
// voucher more than the headroom above the tight policy's, and
// VoucherCap keeps every voucher within the deposit, so a channel is used
// to its end without a voucher_above_deposit.
func TestRealNodeVoucherHeadroom(t *testing.T) {
	e := startStack(t, devstack.Options{})
	o := e.offer(t, common.Address{})
	job := func(i int) agent.Job {
		return agent.Job{ID: fmt.Sprintf("h-%d", i), Messages: prompt(i % 10), MaxTokens: 16}
	}
	maxCost, _, err := o.MaxCost(&wire.ChatRequest{Messages: prompt(0), MaxTokens: 16})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("signs ahead within the bound", func(t *testing.T) {
		signer, id := e.open(t, o, big.NewInt(1e12))
		headroom := new(big.Int).Mul(maxCost, big.NewInt(10))
		c := e.dial(t, agent.Config{Offer: o, Signer: signer, Channel: id, VoucherHeadroom: headroom, VoucherCap: big.NewInt(1e12)})
		vouchers := map[string]bool{}
		for i := range 60 {
			res, err := c.Submit(t.Context(), job(i))
			if err != nil {
				t.Fatalf("job %d: %v", i, err)
			}
			vouchers[res.Voucher.String()] = true
			cs, err := e.stack.Node.Ledger().Channel(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			limit := new(big.Int).Add(cs.Charged, headroom)
			if limit.Add(limit, maxCost); cs.Voucher.Amount.Cmp(limit) > 0 {
				t.Fatalf("after job %d the node holds a voucher for %s, above charged %s + one max cost + headroom %s", i, cs.Voucher.Amount, cs.Charged, headroom)
			}
		}
		if len(vouchers) > 60/10+1 {
			t.Errorf("%d vouchers signed for 60 jobs with a headroom of 10 jobs", len(vouchers))
		}
		charged, _ := e.ledgerCharged(t, id)
		if acct := c.Account(); acct.Charged.Cmp(charged) != 0 {
			t.Errorf("SDK charged %s, node %s", acct.Charged, charged)
		}
	})

	t.Run("capped by the deposit", func(t *testing.T) {
		deposit := new(big.Int).Mul(maxCost, big.NewInt(8))
		signer, id := e.open(t, o, deposit)
		c := e.dial(t, agent.Config{Offer: o, Signer: signer, Channel: id,
			VoucherHeadroom: new(big.Int).Mul(maxCost, big.NewInt(100)), VoucherCap: deposit})
		// Jobs cost less than their max cost, so at least 8 fit.
		for i := range 8 {
			res, err := c.Submit(t.Context(), job(i))
			if err != nil {
				t.Fatalf("job %d within the deposit: %v", i, err)
			}
			if res.Voucher.Cmp(deposit) > 0 {
				t.Fatalf("job %d: voucher %s above the deposit %s", i, res.Voucher, deposit)
			}
		}
	})
}

// TestRealNodeVerifyReceiptsInBatches: pipelined jobs on the real node
// with VerifyReceiptsEvery verify a fraction of the receipts' signatures,
// and what the client holds is still what the node's ledger charged and
// settlement claimed, to the wei.
func TestRealNodeVerifyReceiptsInBatches(t *testing.T) {
	e := startStack(t, devstack.Options{})
	o := e.offer(t, common.Address{})
	signer, id := e.open(t, o, big.NewInt(1e15))
	const jobs, every = 200, 128
	c := e.dial(t, agent.Config{Offer: o, Signer: signer, Channel: id, VerifyReceiptsEvery: every})
	res, errs := submitAll(t, c, jobs)
	sum := new(big.Int)
	for i := range jobs {
		if errs[i] != nil {
			t.Fatalf("job %d: %v", i, errs[i])
		}
		sum.Add(sum, res[i].Cost)
	}
	acct := c.Account()
	charged, seq := e.ledgerCharged(t, id)
	if acct.Charged.Cmp(sum) != 0 || charged.Cmp(sum) != 0 || seq != jobs || acct.Receipts != jobs || acct.Untrusted != nil {
		t.Fatalf("SDK %+v; ledger charged %s in %d receipts; results' costs %s", acct, charged, seq, sum)
	}
	if acct.Verified > jobs/4 {
		t.Errorf("%d of %d signatures verified with VerifyReceiptsEvery %d", acct.Verified, jobs, every)
	}
	t.Logf("%d of %d receipts' signatures verified", acct.Verified, jobs)
	e.settle(t)
	if claimed := nodetest.Claimed(t, e.stack.Chain.Client(), e.stack.Deployment, id); claimed.Cmp(sum) != 0 {
		t.Fatalf("claimed on chain %s; receipts add up to %s", claimed, sum)
	}
}

// TestRealNodeResync (docs/protocol.md, "Resync"): a client whose store
// lost its last receipts reads the real node's account of the channel and
// resumes paying, each voucher the ledger's charged + the job's max cost;
// two clients of one channel that share no account take turns, each
// recovering from the voucher_too_low the other's charges cause. What
// the node's ledger charged and settlement claimed is what the results
// cost, to the wei.
func TestRealNodeResync(t *testing.T) {
	e := startStack(t, devstack.Options{})
	o := e.offer(t, common.Address{})
	job := func(name string, i int) agent.Job {
		return agent.Job{ID: fmt.Sprint(name, i), Messages: prompt(i), MaxTokens: uint64(4 + i%8)}
	}
	settled := func(t *testing.T, id common.Hash, paid *big.Int) {
		t.Helper()
		if charged, _ := e.ledgerCharged(t, id); charged.Cmp(paid) != 0 {
			t.Fatalf("ledger charged %s; the results cost %s", charged, paid)
		}
		e.settle(t)
		if claimed := nodetest.Claimed(t, e.stack.Chain.Client(), e.stack.Deployment, id); claimed.Cmp(paid) != 0 {
			t.Fatalf("claimed on chain %s; the results cost %s", claimed, paid)
		}
	}

	t.Run("receipts lost", func(t *testing.T) {
		signer, id := e.open(t, o, big.NewInt(1e12))
		dir := t.TempDir()
		store, _ := agent.OpenStore(dir)
		cfg := agent.Config{Offer: o, Signer: signer, Channel: id, Store: store}
		c := e.dial(t, cfg)
		paid := new(big.Int)
		for i := range 5 {
			res, err := c.Submit(t.Context(), job("before-", i))
			if err != nil {
				t.Fatal(err)
			}
			paid.Add(paid, res.Cost)
		}
		c.Close()
		store.Close()
		keepReceipts(t, dir, id, 2)
		cfg.Store, _ = agent.OpenStore(dir)
		c = e.dial(t, cfg)
		for i := range 3 {
			jb := job("after-", i)
			charged, _ := e.ledgerCharged(t, id)
			res, err := c.Submit(t.Context(), jb)
			if err != nil {
				t.Fatalf("job %d after the loss: %v", i, err)
			}
			want, _, _ := o.MaxCost(&wire.ChatRequest{Messages: jb.Messages, MaxTokens: jb.MaxTokens})
			if want.Add(want, charged); res.Voucher.Cmp(want) != 0 {
				t.Fatalf("job %d: voucher %s, want the ledger's charged %s + the max cost = %s", i, res.Voucher, charged, want)
			}
			paid.Add(paid, res.Cost)
		}
		if a := c.Account(); a.Charged.Cmp(paid) != 0 || a.Committed.Cmp(paid) != 0 {
			t.Fatalf("SDK account %+v; the results cost %s", a, paid)
		}
		settled(t, id, paid)
	})

	t.Run("two clients take turns", func(t *testing.T) {
		signer, id := e.open(t, o, big.NewInt(1e12))
		cfg := agent.Config{Offer: o, Signer: signer, Channel: id, SharedChargeCap: big.NewInt(1e12)}
		clients := []*agent.Client{e.dial(t, cfg), e.dial(t, cfg)}
		paid := new(big.Int)
		for i := range 8 {
			res, err := clients[i%2].Submit(t.Context(), job("turn-", i))
			if err != nil {
				t.Fatalf("job %d: %v", i, err)
			}
			// Each client's first job reads the account before it is sent;
			// every later one is refused once, too low after the other's.
			if want := min(i/2+1, 2); res.Attempts != want {
				t.Errorf("job %d took %d submissions; want %d", i, res.Attempts, want)
			}
			paid.Add(paid, res.Cost)
		}
		if a := clients[1].Account(); a.Charged.Cmp(paid) != 0 {
			t.Fatalf("the last client's account %+v; the results cost %s", a, paid)
		}
		settled(t, id, paid)
	})
}
