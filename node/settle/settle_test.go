package settle_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/payment"
	"github.com/paynode/paynode/node/settle"
	"github.com/paynode/paynode/testnet"
)

type env struct {
	client   *ethclient.Client
	chain    *testnet.Chain
	d        *contracts.Deployment
	provider testnet.DevAccount
	payer    testnet.DevAccount
	ledger   ledger.Ledger
	watcher  *chainwatch.Watcher
	pay      *payment.Payments
	settler  *settle.Settler
	pc       *bindings.PaymentChannels
	pcAt     *bind.BoundContract
}

func newEnv(t *testing.T) *env {
	t.Helper()
	chain := testnet.StartT(t, testnet.Config{})
	client := chain.Client()
	acc := chain.Accounts()
	d, err := testnet.Deploy(t.Context(), client, acc[0].Key, testnet.DeployOptions{
		TestToken: true, PollInterval: 10 * time.Millisecond,
		Mint: map[common.Address]*big.Int{acc[1].Address: big.NewInt(1e15)},
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	w := chainwatch.New(client, d, acc[2].Address, ledger.MetaStore{L: l})
	w.PollInterval = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	s := settle.New(client, d, acc[2].Key, l, w)
	s.PollInterval = 10 * time.Millisecond
	pc := bindings.NewPaymentChannels()
	return &env{
		client: client, chain: chain, d: d, provider: acc[2], payer: acc[1], ledger: l, watcher: w,
		pay: payment.New(d, acc[2].Key, l, w, nil), settler: s, pc: pc, pcAt: pc.Instance(client, d.PaymentChannels),
	}
}

func (e *env) send(t *testing.T, key *ecdsa.PrivateKey, to *bind.BoundContract, data []byte, value *big.Int) *types.Receipt {
	t.Helper()
	return testnet.TransactT(t, e.client, new(big.Int).SetUint64(e.d.ChainID), key, to, data, value)
}

type channel struct {
	id     common.Hash
	asset  common.Address
	signer *ecdsa.PrivateKey
	price  contracts.Price

	mu        sync.Mutex
	committed *big.Int // what the agent has signed for: receipts' total + max cost in flight
	costs     *big.Int // Σ receipt costs the agent got
	failed    int
	jobs      []string // charged job ids
}

// open opens a channel of asset with deposit from the payer, signed by a
// fresh hot key.
func (e *env) open(t *testing.T, asset common.Address, deposit *big.Int, salt int64) *channel {
	t.Helper()
	signer, _ := crypto.GenerateKey()
	hot := crypto.PubkeyToAddress(signer.PublicKey)
	s := common.BigToHash(big.NewInt(salt))
	value := deposit
	if asset != (common.Address{}) {
		value = nil
	}
	e.send(t, e.payer.Key, e.pcAt, e.pc.PackOpen(e.provider.Address, hot, asset, deposit, s), value)
	id, err := bind.Call(e.pcAt, nil, e.pc.PackChannelId(e.payer.Address, e.provider.Address, hot, asset, s), e.pc.UnpackChannelId)
	if err != nil {
		t.Fatal(err)
	}
	price, _ := contracts.ParsePrice("1000", "2000000", "8000000")
	if asset == (common.Address{}) {
		price, _ = contracts.ParsePrice("1000000000", "2000000000000", "8000000000000")
	}
	return &channel{id: id, asset: asset, signer: signer, price: price, committed: new(big.Int), costs: new(big.Int)}
}

func (e *env) onChain(t *testing.T, id common.Hash) bindings.PaymentChannelsChannel {
	t.Helper()
	ch, err := bind.Call(e.pcAt, nil, e.pc.PackGetChannel(id), e.pc.UnpackGetChannel)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// runJob pays for one job the way an agent does: a voucher for everything
// it has in flight, charged or released after.
func (e *env) runJob(t *testing.T, ch *channel, job string, rng *rand.Rand) {
	in, maxTokens := rng.Uint64N(400), 1+rng.Uint64N(400)
	mc := ch.price.Cost(in, maxTokens)
	ch.mu.Lock()
	ch.committed.Add(ch.committed, mc)
	digest, _ := e.pay.Domain().VoucherDigest(&contracts.Voucher{ChannelID: ch.id, CumulativeAmount: ch.committed})
	sig, _ := contracts.Sign(digest, ch.signer)
	v := payment.Voucher{Amount: new(big.Int).Set(ch.committed), Signature: sig}
	ch.mu.Unlock()

	a, err := e.pay.Authorize(t.Context(), payment.Request{
		ChannelID: ch.id, JobID: job, BodyHash: crypto.Keccak256Hash([]byte(job)), Asset: ch.asset,
		Price: ch.price, InputTokens: in, MaxTokens: maxTokens, Voucher: v,
	})
	if err != nil {
		t.Errorf("authorize %s: %v", job, err)
		return
	}
	if rng.IntN(6) == 0 {
		if err := e.pay.Release(t.Context(), a, "worker_failed"); err != nil {
			t.Error(err)
		}
		ch.mu.Lock()
		ch.committed.Sub(ch.committed, mc)
		ch.failed++
		ch.mu.Unlock()
		return
	}
	r, err := e.pay.Charge(t.Context(), a, payment.Usage{InputTokens: in, OutputTokens: rng.Uint64N(maxTokens + 1)},
		crypto.Keccak256Hash([]byte("out:"+job)))
	if err != nil {
		t.Errorf("charge %s: %v", job, err)
		return
	}
	ch.mu.Lock()
	ch.committed.Sub(ch.committed, new(big.Int).Sub(mc, r.Cost))
	ch.costs.Add(ch.costs, r.Cost)
	ch.jobs = append(ch.jobs, job)
	ch.mu.Unlock()
}

// TestSettlementSums pays 1,000 jobs with random costs and failures, up to
// 16 in flight on each of 20 channels (ETH and TestUSD), settles while
// jobs run and after, and checks every channel to the last base unit:
// claimed on chain == charged in the ledger == Σ receipt costs the agent
// holds; the contract holds exactly deposits − claimed; failed jobs cost
// nothing; any settled job proves against its claim's receipts root.
func TestSettlementSums(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const nChannels, jobsPerChannel, inFlight = 20, 50, 16
	ethDeposit := new(big.Int).Mul(big.NewInt(params.Ether), big.NewInt(5))
	tusdDeposit := big.NewInt(50_000_000_000) // 50,000 TUSD

	token := bindings.NewTestUSD()
	tokenAt := token.Instance(e.client, *e.d.Token)
	e.send(t, e.payer.Key, tokenAt, token.PackApprove(e.d.PaymentChannels, new(big.Int).Mul(tusdDeposit, big.NewInt(nChannels))), nil)
	chans := make([]*channel, nChannels)
	for i := range chans {
		if i%4 == 3 {
			chans[i] = e.open(t, *e.d.Token, tusdDeposit, int64(i))
		} else {
			chans[i] = e.open(t, common.Address{}, ethDeposit, int64(i))
		}
	}
	tusdBefore, err := bind.Call(tokenAt, nil, token.PackBalanceOf(e.provider.Address), token.UnpackBalanceOf)
	if err != nil {
		t.Fatal(err)
	}

	// Settlement rounds run while jobs are paid.
	stop := make(chan struct{})
	var rounds sync.WaitGroup
	rounds.Add(1)
	go func() {
		defer rounds.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := e.settler.Settle(ctx); err != nil {
					t.Errorf("settle during load: %v", err)
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for c, ch := range chans {
		sem := make(chan struct{}, inFlight)
		for j := range jobsPerChannel {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				e.runJob(t, ch, fmt.Sprintf("c%d-j%d", c, j), rand.New(rand.NewPCG(uint64(c), uint64(j))))
			}()
		}
	}
	wg.Wait()
	close(stop)
	rounds.Wait()
	if t.Failed() {
		return
	}
	// Settle what is left.
	for range 5 {
		b, err := e.settler.Settle(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			break
		}
	}

	claimedTUSD, claimedETH := new(big.Int), new(big.Int)
	failed := 0
	for i, ch := range chans {
		st, err := e.ledger.Channel(ctx, ch.id)
		if err != nil {
			t.Fatal(err)
		}
		receipts, err := e.ledger.Receipts(ctx, ch.id, 1, st.ReceiptSeq)
		if err != nil {
			t.Fatal(err)
		}
		sum := new(big.Int)
		for _, r := range receipts {
			sum.Add(sum, r.Cost)
		}
		onChain := e.onChain(t, ch.id)
		if onChain.Claimed.Cmp(st.Charged) != 0 || st.Charged.Cmp(sum) != 0 || sum.Cmp(ch.costs) != 0 || st.Claimed.Cmp(sum) != 0 {
			t.Fatalf("channel %d: on chain %s, ledger charged %s claimed %s, receipts %s, agent %s",
				i, onChain.Claimed, st.Charged, st.Claimed, sum, ch.costs)
		}
		if st.Reserved.Sign() != 0 || st.SettledSeq != st.ReceiptSeq || len(receipts)+ch.failed != jobsPerChannel {
			t.Fatalf("channel %d: reserved %s settled %d/%d receipts %d failed %d", i, st.Reserved, st.SettledSeq, st.ReceiptSeq, len(receipts), ch.failed)
		}
		failed += ch.failed
		if ch.asset == (common.Address{}) {
			claimedETH.Add(claimedETH, sum)
		} else {
			claimedTUSD.Add(claimedTUSD, sum)
		}
	}
	if failed == 0 {
		t.Fatal("no job failed: release was not exercised")
	}
	// The contract holds exactly deposits − claimed; the provider got
	// exactly the TUSD claimed.
	ethHeld, _ := e.client.BalanceAt(ctx, e.d.PaymentChannels, nil)
	wantETH := new(big.Int).Sub(new(big.Int).Mul(ethDeposit, big.NewInt(15)), claimedETH)
	if ethHeld.Cmp(wantETH) != 0 {
		t.Fatalf("contract holds %s wei, want %s", ethHeld, wantETH)
	}
	tusdAfter, _ := bind.Call(tokenAt, nil, token.PackBalanceOf(e.provider.Address), token.UnpackBalanceOf)
	if got := new(big.Int).Sub(tusdAfter, tusdBefore); got.Cmp(claimedTUSD) != 0 {
		t.Fatalf("provider received %s TUSD units, claimed %s", got, claimedTUSD)
	}
	stats := e.settler.Stats()
	if stats.Confirmed < 2 {
		t.Fatalf("settled in %d batches; the test wants settlement during load too", stats.Confirmed)
	}
	t.Logf("settled %d batches, %d channel claims, %d gas", stats.Confirmed, stats.ClaimedChannels, stats.GasUsed)
	if stats.LastConfirmed.IsZero() {
		t.Error("Stats.LastConfirmed is zero after confirmed batches")
	}
	if lat := e.settler.TakeClaimLatencies(); uint64(len(lat)) != stats.Confirmed {
		t.Errorf("%d claim latencies for %d batches sent and confirmed here", len(lat), stats.Confirmed)
	}
	if lat := e.settler.TakeClaimLatencies(); len(lat) != 0 {
		t.Errorf("%d claim latencies handed out twice", len(lat))
	}

	// Any settled job proves against the receiptsRoot its Claimed event
	// carries on chain.
	ch := chans[7]
	p, err := e.settler.Proof(ctx, ch.id, ch.jobs[len(ch.jobs)/2])
	if err != nil {
		t.Fatal(err)
	}
	if !contracts.VerifyMerkleProof(p.Proof, p.ReceiptsRoot, p.Leaf) {
		t.Fatal("proof does not verify")
	}
	logs, err := e.client.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(p.Block), ToBlock: new(big.Int).SetUint64(p.Block),
		Addresses: []common.Address{e.d.PaymentChannels},
	})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i := range logs {
		if ev, err := e.pc.UnpackClaimedEvent(&logs[i]); err == nil && ev.ChannelId == ch.id && ev.ReceiptsRoot == p.ReceiptsRoot {
			found = true
		}
	}
	if !found {
		t.Fatalf("no Claimed event in block %d carries root %s for the channel", p.Block, p.ReceiptsRoot)
	}
}

// TestWithdrawingChannelTakesNoJobs: once the payer requests withdrawal,
// the node refuses new jobs on the channel, and settlement still claims
// what was charged inside the window.
func TestWithdrawingChannelTakesNoJobs(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ch := e.open(t, common.Address{}, big.NewInt(params.Ether), 1)
	rng := rand.New(rand.NewPCG(1, 2))
	for j := range 3 {
		e.runJob(t, ch, fmt.Sprint("before-", j), rng)
	}
	e.send(t, e.payer.Key, e.pcAt, e.pc.PackRequestWithdrawal(ch.id), nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, ok := e.watcher.Channel(ch.id); ok && c.WithdrawableAt != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not see the withdrawal request")
		}
		time.Sleep(10 * time.Millisecond)
	}
	digest, _ := e.pay.Domain().VoucherDigest(&contracts.Voucher{ChannelID: ch.id, CumulativeAmount: big.NewInt(params.GWei)})
	sig, _ := contracts.Sign(digest, ch.signer)
	_, err := e.pay.Authorize(ctx, payment.Request{
		ChannelID: ch.id, JobID: "after", Asset: common.Address{}, Price: ch.price, MaxTokens: 1,
		Voucher: payment.Voucher{Amount: big.NewInt(params.GWei), Signature: sig},
	})
	if payment.CodeOf(err) != payment.CodeChannelClosing {
		t.Fatalf("job on a withdrawing channel: %v", err)
	}
	if _, err := e.settler.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.onChain(t, ch.id).Claimed; got.Cmp(ch.costs) != 0 {
		t.Fatalf("claimed %s inside the withdrawal window, charged %s", got, ch.costs)
	}
}
