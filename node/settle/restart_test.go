package settle_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
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

// The tests in this file stop settlement at each point where a node can
// crash — batch recorded but not sent, sent and mined but not confirmed in
// the ledger, ledger closed between jobs and settlement — or where the
// chain misbehaves (a transaction lost on its way, a channel withdrawn
// before its claim), resume with a fresh Settler, and check every channel
// to the last base unit with checkSettled.

// sender is the chain with a hand on SendTransaction: it records what the
// settler sends and forwards it, except what drop says to lose on the way
// (a transaction that never reaches any pool). beforeTip, when set, runs
// before the n-th (from 0) SuggestGasTipCap, which Settler.sign calls
// between its look at the chain and its estimate of the claims.
type sender struct {
	*ethclient.Client

	mu        sync.Mutex
	drop      func(n int, tx *types.Transaction) bool // n counts the calls from 0; nil drops none
	sent      []*types.Transaction                    // forwarded
	dropped   []*types.Transaction                    // lost
	beforeTip func(n int)
	tips      int
}

func (s *sender) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	s.mu.Lock()
	if s.drop != nil && s.drop(len(s.sent)+len(s.dropped), tx) {
		s.dropped = append(s.dropped, tx)
		s.mu.Unlock()
		return nil
	}
	s.sent = append(s.sent, tx)
	s.mu.Unlock()
	return s.Client.SendTransaction(ctx, tx)
}

func (s *sender) SuggestGasTipCap(ctx context.Context) (*big.Int, error) {
	s.mu.Lock()
	n, hook := s.tips, s.beforeTip
	s.tips++
	s.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return s.Client.SuggestGasTipCap(ctx)
}

func (s *sender) counts() (sent, dropped []*types.Transaction) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*types.Transaction(nil), s.sent...), append([]*types.Transaction(nil), s.dropped...)
}

// newSettler is what a restarted node makes: a Settler over the same
// ledger and watcher, sending through chain.
func (e *env) newSettler(chain settle.Backend, channels settle.Channels) *settle.Settler {
	s := settle.New(chain, e.d, e.provider.Key, e.ledger, channels)
	s.PollInterval = 10 * time.Millisecond
	return s
}

// attach replaces the env's ledger with a bbolt ledger in dir, and the
// watcher, payment check and settler with new ones on it, as a node
// starting on that directory does. detach stops the watcher and closes the
// ledger; it runs at cleanup too.
func (e *env) attach(t *testing.T, dir string) (detach func()) {
	t.Helper()
	l, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := chainwatch.New(e.client, e.d, e.provider.Address, ledger.MetaStore{L: l})
	w.PollInterval = 20 * time.Millisecond
	// Loaded before Run starts, so the channels the last run stored are
	// known from the first read on.
	if err := w.Open(t.Context()); err != nil {
		l.Close(context.Background())
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	e.ledger, e.watcher = l, w
	e.pay = payment.New(e.d, e.provider.Key, l, w, nil)
	e.settler = e.newSettler(e.client, w)
	var once sync.Once
	detach = func() {
		once.Do(func() {
			cancel()
			<-done
			if err := l.Close(context.Background()); err != nil {
				t.Errorf("close ledger: %v", err)
			}
		})
	}
	t.Cleanup(detach)
	return detach
}

// runJobs pays for n jobs on each channel, one at a time, with random
// usage and failures from seed.
func (e *env) runJobs(t *testing.T, chans []*channel, n int, prefix string, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0))
	for c, ch := range chans {
		for j := range n {
			e.runJob(t, ch, fmt.Sprintf("%s-c%d-j%d", prefix, c, j), rng)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// recordBatch does what Settler.build does up to the send: it claims every
// channel whose charged total exceeds what the ledger has claimed, with the
// ledger's latest voucher and the root of the receipts not yet settled,
// largest amount first, at the provider's pending nonce; signs the
// transaction as Settler.sign first signs it; and records the batch,
// pending, with that transaction's hash. The transaction is not sent.
func (e *env) recordBatch(t *testing.T) (ledger.Batch, *types.Transaction) {
	t.Helper()
	ctx := t.Context()
	states, err := e.ledger.Channels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var claims []ledger.Claim
	for _, st := range states {
		if st.Charged.Cmp(st.Claimed) <= 0 || st.ReceiptSeq <= st.SettledSeq {
			continue
		}
		rs, err := e.ledger.Receipts(ctx, st.ID, st.SettledSeq+1, st.ReceiptSeq)
		if err != nil {
			t.Fatal(err)
		}
		ptrs := make([]*contracts.Receipt, len(rs))
		for i := range rs {
			ptrs[i] = &rs[i].Receipt
		}
		root, err := contracts.ReceiptsRoot(ptrs)
		if err != nil {
			t.Fatal(err)
		}
		claims = append(claims, ledger.Claim{
			ChannelID: st.ID, Amount: st.Charged,
			VoucherAmount: st.Voucher.Amount, VoucherSig: st.Voucher.Signature,
			ReceiptsRoot: root, FromSeq: st.SettledSeq + 1, ToSeq: st.ReceiptSeq,
		})
	}
	if len(claims) == 0 {
		t.Fatal("record batch: nothing to claim")
	}
	sort.Slice(claims, func(i, j int) bool { return claims[i].Amount.Cmp(claims[j].Amount) > 0 })
	nonce, err := e.client.PendingNonceAt(ctx, e.provider.Address)
	if err != nil {
		t.Fatal(err)
	}
	b := ledger.Batch{Claims: claims, Nonce: nonce, State: ledger.BatchPending}
	tx := e.signClaims(t, b)
	b.TxHashes = []common.Hash{tx.Hash()}
	if b.ID, err = e.ledger.AddBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	return b, tx
}

// signClaims signs b's claimMany at b.Nonce with the fees and gas of
// Settler.sign's first signing: fee cap 2·base fee + suggested tip, gas
// estimate + 20%.
func (e *env) signClaims(t *testing.T, b ledger.Batch) *types.Transaction {
	t.Helper()
	ctx := t.Context()
	arg := make([]bindings.PaymentChannelsClaim, len(b.Claims))
	for i, c := range b.Claims {
		r, vs, err := contracts.Compact(c.VoucherSig)
		if err != nil {
			t.Fatal(err)
		}
		arg[i] = bindings.PaymentChannelsClaim{
			ChannelId: c.ChannelID, VoucherAmount: c.VoucherAmount, Amount: c.Amount,
			ReceiptsRoot: c.ReceiptsRoot, R: r, Vs: vs,
		}
	}
	data, err := e.pc.TryPackClaimMany(arg)
	if err != nil {
		t.Fatal(err)
	}
	head, err := e.client.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := e.client.SuggestGasTipCap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	baseFee := head.BaseFee
	if baseFee == nil {
		baseFee = new(big.Int)
	}
	feeCap := new(big.Int).Add(new(big.Int).Mul(baseFee, big.NewInt(2)), tip)
	gas, err := e.client.EstimateGas(ctx, ethereum.CallMsg{From: e.provider.Address, To: &e.d.PaymentChannels, Data: data})
	if err != nil {
		t.Fatalf("estimate claimMany: %v", err)
	}
	gas += gas / 5
	chainID := new(big.Int).SetUint64(e.d.ChainID)
	tx, err := types.SignTx(types.NewTx(&types.DynamicFeeTx{
		ChainID: chainID, Nonce: b.Nonce, GasTipCap: tip, GasFeeCap: feeCap,
		Gas: gas, To: &e.d.PaymentChannels, Data: data,
	}), types.LatestSignerForChainID(chainID), e.provider.Key)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// claimedEvents returns the contract's Claimed events, by channel, in
// chain order.
func (e *env) claimedEvents(t *testing.T) map[common.Hash][]*bindings.PaymentChannelsClaimed {
	t.Helper()
	logs, err := e.client.FilterLogs(t.Context(), ethereum.FilterQuery{
		FromBlock: big.NewInt(0),
		Addresses: []common.Address{e.d.PaymentChannels},
		Topics:    [][]common.Hash{{e.pc.GetABI().Events["Claimed"].ID}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[common.Hash][]*bindings.PaymentChannelsClaimed{}
	for i := range logs {
		ev, err := e.pc.UnpackClaimedEvent(&logs[i])
		if err != nil {
			t.Fatalf("log %d: %v", i, err)
		}
		out[ev.ChannelId] = append(out[ev.ChannelId], ev)
	}
	return out
}

// checkSettled checks each channel to the last base unit: claimed on chain
// == the ledger's charged == its claimed == Σ receipt costs == Σ costs the
// agent was given; nothing reserved; every receipt settled. And that no
// claim took effect twice: the chain holds exactly one Claimed event per
// claim of the channel in a confirmed batch, in the batch's block and
// transaction, with the batch's amount and receipts root. It leaves nothing
// pending or mined in the ledger.
func (e *env) checkSettled(t *testing.T, chans []*channel) {
	t.Helper()
	ctx := t.Context()
	open, err := e.ledger.Batches(ctx, ledger.BatchPending, ledger.BatchMined)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 0 {
		t.Fatalf("%d batches still in flight: %+v", len(open), open)
	}
	confirmed, err := e.ledger.Batches(ctx, ledger.BatchConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	events := e.claimedEvents(t)
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
		onChain := e.onChain(t, ch.id).Claimed
		ch.mu.Lock()
		costs := new(big.Int).Set(ch.costs)
		ch.mu.Unlock()
		if sum.Sign() == 0 || onChain.Cmp(st.Charged) != 0 || st.Charged.Cmp(sum) != 0 || st.Claimed.Cmp(sum) != 0 || sum.Cmp(costs) != 0 {
			t.Fatalf("channel %d: on chain %s, ledger charged %s claimed %s, receipts %s, agent %s",
				i, onChain, st.Charged, st.Claimed, sum, costs)
		}
		if st.Reserved.Sign() != 0 || st.SettledSeq != st.ReceiptSeq {
			t.Fatalf("channel %d: reserved %s, settled %d of %d receipts", i, st.Reserved, st.SettledSeq, st.ReceiptSeq)
		}

		type claimIn struct {
			b ledger.Batch
			c ledger.Claim
		}
		var claims []claimIn
		for _, b := range confirmed {
			for _, c := range b.Claims {
				if c.ChannelID == ch.id {
					claims = append(claims, claimIn{b, c})
				}
			}
		}
		evs := events[ch.id]
		if len(evs) != len(claims) {
			t.Fatalf("channel %d: %d Claimed events on chain for %d confirmed claims", i, len(evs), len(claims))
		}
		for k, ev := range evs {
			b, c := claims[k].b, claims[k].c
			if ev.TotalClaimed.Cmp(c.Amount) != 0 || ev.ReceiptsRoot != c.ReceiptsRoot ||
				ev.Raw.BlockNumber != b.Block || !containsHash(b.TxHashes, ev.Raw.TxHash) {
				t.Fatalf("channel %d, claim %d: event (total %s, root %s, block %d, tx %s) is not batch %d's (amount %s, root %s, block %d, txs %v)",
					i, k, ev.TotalClaimed, common.Hash(ev.ReceiptsRoot), ev.Raw.BlockNumber, ev.Raw.TxHash,
					b.ID, c.Amount, c.ReceiptsRoot, b.Block, b.TxHashes)
			}
		}
	}
}

func containsHash(hs []common.Hash, h common.Hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// openETH opens n ETH channels of one ether each.
func (e *env) openETH(t *testing.T, n int) []*channel {
	t.Helper()
	chans := make([]*channel, n)
	for i := range chans {
		chans[i] = e.open(t, common.Address{}, big.NewInt(params.Ether), int64(i+1))
	}
	return chans
}

func (e *env) nonce(t *testing.T) uint64 {
	t.Helper()
	n, err := e.client.NonceAt(t.Context(), e.provider.Address, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// settleAll runs rounds until one has nothing to do.
func settleAll(t *testing.T, s *settle.Settler) {
	t.Helper()
	for range 5 {
		b, err := s.Settle(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			return
		}
	}
	t.Fatal("settlement still had work after 5 rounds")
}

// TestRestartBeforeSend: the node recorded a batch and crashed before its
// transaction left. A new settler on the same ledger finds the batch,
// signs the same claims again at the same nonce — the same transaction,
// since fees have not moved and signatures are deterministic — sends it,
// and confirms the batch. One batch, one transaction, one Claimed event a
// channel.
func TestRestartBeforeSend(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	chans := e.openETH(t, 3)
	e.runJobs(t, chans, 8, "a", 1)

	b, tx := e.recordBatch(t)
	nonce := e.nonce(t)
	if nonce != b.Nonce {
		t.Fatalf("provider nonce %d, batch nonce %d", nonce, b.Nonce)
	}

	chain := &sender{Client: e.client}
	s := e.newSettler(chain, e.watcher)
	got, err := s.Settle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.ID != b.ID || got.State != ledger.BatchConfirmed {
		t.Fatalf("settle returned %+v, want batch %d confirmed", got, b.ID)
	}
	all, err := e.ledger.Batches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].State != ledger.BatchConfirmed {
		t.Fatalf("ledger batches %+v, want the one recorded, confirmed", all)
	}
	if len(all[0].TxHashes) != 1 || all[0].TxHashes[0] != tx.Hash() {
		t.Fatalf("batch transactions %v, want only the recorded %s signed again", all[0].TxHashes, tx.Hash())
	}
	r, err := e.client.TransactionReceipt(ctx, tx.Hash())
	if err != nil || r.Status != types.ReceiptStatusSuccessful || r.BlockNumber.Uint64() != all[0].Block {
		t.Fatalf("recorded transaction: receipt %+v, %v; batch block %d", r, err, all[0].Block)
	}
	if sent, _ := chain.counts(); len(sent) != 1 {
		t.Fatalf("sent %d transactions, want 1", len(sent))
	}
	if n := e.nonce(t); n != b.Nonce+1 {
		t.Fatalf("provider nonce %d after settlement, want %d", n, b.Nonce+1)
	}
	if st := s.Stats(); st.Confirmed != 1 || st.Batches != 0 || st.Replaced != 0 {
		t.Fatalf("stats %+v: want the recorded batch confirmed, none built, none replaced", st)
	}
	if lat := s.TakeClaimLatencies(); len(lat) != 0 {
		t.Errorf("claim latency %v measured for a batch sent before the restart", lat)
	}
	e.checkSettled(t, chans)
	settleAll(t, s) // nothing left: no second claim
	if sent, _ := chain.counts(); len(sent) != 1 {
		t.Fatalf("sent %d transactions after a round with nothing to do", len(sent))
	}
}

// TestRestartAfterMined: the batch's transaction was sent and mined, and
// the node crashed before the ledger confirmed it; meanwhile more jobs were
// charged on two of the channels. A new settler confirms the batch from its
// receipt without sending anything for it, then claims what was charged
// since in a second batch. Each channel has exactly one Claimed event per
// batch it is in.
func TestRestartAfterMined(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	chans := e.openETH(t, 3)
	e.runJobs(t, chans, 8, "b", 2)

	b, tx := e.recordBatch(t)
	if err := e.client.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	mined, err := contracts.WaitMined(ctx, e.client, tx.Hash(), 5*time.Millisecond)
	if err != nil || mined.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("claim %s: %+v, %v", tx.Hash(), mined, err)
	}
	// Charged after the crash, on two channels: claimable only by a new batch.
	e.runJobs(t, chans[:2], 5, "b-after", 3)

	chain := &sender{Client: e.client}
	s := e.newSettler(chain, e.watcher)
	// The first round confirms the mined batch before building a new one.
	if _, err := s.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := e.ledger.Batches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 || first[0].ID != b.ID || first[0].State != ledger.BatchConfirmed ||
		first[0].Block != mined.BlockNumber.Uint64() || first[0].GasUsed != mined.GasUsed ||
		len(first[0].TxHashes) != 1 {
		t.Fatalf("recorded batch after restart: %+v; mined in block %d", first, mined.BlockNumber)
	}
	settleAll(t, s)

	all, err := e.ledger.Batches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[1].State != ledger.BatchConfirmed || len(all[1].Claims) != 2 {
		t.Fatalf("batches %+v: want the recorded one and one more for the two channels charged since", all)
	}
	sent, _ := chain.counts()
	if len(sent) != 1 || !containsHash(all[1].TxHashes, sent[0].Hash()) {
		t.Fatalf("sent %d transactions; want only the second batch's", len(sent))
	}
	if st := s.Stats(); st.Confirmed != 2 || st.Batches != 1 || st.Failed != 0 {
		t.Fatalf("stats %+v: want 2 confirmed, 1 built", st)
	}
	e.checkSettled(t, chans)
	events := e.claimedEvents(t)
	for i, ch := range chans {
		want := 1
		if i < 2 {
			want = 2
		}
		if len(events[ch.id]) != want {
			t.Fatalf("channel %d: %d Claimed events, want %d", i, len(events[ch.id]), want)
		}
	}
}

// TestRestartLedgerReopened: the node stops between jobs and settlement
// with jobs still running. Its ledger is closed and opened again from the
// same directory, with a new watcher on it, a new payment check and a new
// settler. Recover releases the interrupted jobs, which are not run again
// and cost nothing; jobs paid after the restart continue the receipt
// sequence; settlement claims exactly what was charged.
func TestRestartLedgerReopened(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	dir := t.TempDir()
	detach := e.attach(t, dir)

	token := bindings.NewTestUSD()
	tokenAt := token.Instance(e.client, *e.d.Token)
	e.send(t, e.payer.Key, tokenAt, token.PackApprove(e.d.PaymentChannels, big.NewInt(1e12)), nil)
	chans := append(e.openETH(t, 2), e.open(t, *e.d.Token, big.NewInt(1e12), 99))
	e.runJobs(t, chans, 6, "c", 4)

	// Jobs in flight when the node stops: reserved, never charged.
	type interrupted struct {
		ch      *channel
		req     payment.Request
		maxCost *big.Int
	}
	var running []interrupted
	for c, ch := range chans {
		for j := range 2 {
			job := fmt.Sprintf("c-running-c%d-j%d", c, j)
			req := payment.Request{
				ChannelID: ch.id, JobID: job, BodyHash: crypto.Keccak256Hash([]byte(job)), Asset: ch.asset,
				Price: ch.price, InputTokens: 100, MaxTokens: 200,
			}
			mc := ch.price.Cost(req.InputTokens, req.MaxTokens)
			ch.committed.Add(ch.committed, mc)
			digest, _ := e.pay.Domain().VoucherDigest(&contracts.Voucher{ChannelID: ch.id, CumulativeAmount: ch.committed})
			sig, _ := contracts.Sign(digest, ch.signer)
			req.Voucher = payment.Voucher{Amount: new(big.Int).Set(ch.committed), Signature: sig}
			if _, err := e.pay.Authorize(ctx, req); err != nil {
				t.Fatal(err)
			}
			running = append(running, interrupted{ch, req, mc})
		}
	}
	// The watcher has stored the channels' state with its cursor.
	head, err := e.client.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.watcher.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
	// Authorize does not wait for its reservation's commit; a write that
	// waits commits it, so that reads see it.
	if err := e.ledger.PutMeta(ctx, "test-commit", nil); err != nil {
		t.Fatal(err)
	}
	before := map[common.Hash]ledger.ChannelState{}
	for _, ch := range chans {
		st, err := e.ledger.Channel(ctx, ch.id)
		if err != nil {
			t.Fatal(err)
		}
		before[ch.id] = st
	}
	detach()
	if _, err := e.ledger.Channel(ctx, chans[0].id); !errors.Is(err, ledger.ErrClosed) {
		t.Fatalf("closed ledger answered: %v", err)
	}

	e.attach(t, dir)
	for _, ch := range chans {
		if _, ok := e.watcher.Channel(ch.id); !ok {
			t.Fatalf("reopened watcher does not know channel %s", ch.id)
		}
		st, err := e.ledger.Channel(ctx, ch.id)
		if err != nil {
			t.Fatal(err)
		}
		was := before[ch.id]
		if st.Charged.Cmp(was.Charged) != 0 || st.Reserved.Cmp(was.Reserved) != 0 || st.ReceiptSeq != was.ReceiptSeq ||
			st.Voucher.Amount.Cmp(was.Voucher.Amount) != 0 {
			t.Fatalf("channel after reopening %+v, before closing %+v", st, was)
		}
	}
	n, err := e.pay.Recover(ctx)
	if err != nil || n != len(running) {
		t.Fatalf("recover released %d jobs (%v), want %d", n, err, len(running))
	}
	if n, err := e.pay.Recover(ctx); err != nil || n != 0 {
		t.Fatalf("second recover released %d jobs (%v)", n, err)
	}
	for _, r := range running {
		j, err := e.ledger.Job(ctx, r.ch.id, r.req.JobID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != ledger.JobReleased || j.FailCode != "node_restarted" || j.Receipt != nil || j.Cost.Sign() != 0 {
			t.Fatalf("interrupted job %s after recover: %+v", j.ID, j)
		}
		// Resubmitted, it is not run again.
		if _, err := e.pay.Authorize(ctx, r.req); payment.CodeOf(err) != payment.CodeJobFailed {
			t.Fatalf("resubmitted interrupted job %s: %v", j.ID, err)
		}
		r.ch.committed.Sub(r.ch.committed, r.maxCost) // the agent learns it failed
	}
	for _, ch := range chans {
		st, _ := e.ledger.Channel(ctx, ch.id)
		if st.Reserved.Sign() != 0 || st.Charged.Cmp(before[ch.id].Charged) != 0 {
			t.Fatalf("after recover: reserved %s charged %s, was charged %s", st.Reserved, st.Charged, before[ch.id].Charged)
		}
	}

	// Paid after the restart: receipts go on from where they were.
	e.runJobs(t, chans, 3, "c-after", 5)
	for _, ch := range chans {
		st, _ := e.ledger.Channel(ctx, ch.id)
		rs, err := e.ledger.Receipts(ctx, ch.id, 1, st.ReceiptSeq)
		if err != nil {
			t.Fatal(err)
		}
		sum := new(big.Int)
		for i, r := range rs {
			sum.Add(sum, r.Cost)
			if r.Seq != uint64(i+1) || r.CumulativeCharged.Cmp(sum) != 0 {
				t.Fatalf("receipt %d: seq %d cumulative %s, running sum %s", i, r.Seq, r.CumulativeCharged, sum)
			}
		}
		if st.ReceiptSeq <= before[ch.id].ReceiptSeq {
			t.Fatalf("no receipt after the restart: %d before, %d after", before[ch.id].ReceiptSeq, st.ReceiptSeq)
		}
	}

	settleAll(t, e.settler)
	e.checkSettled(t, chans)
}

// TestStuckClaimReplaced: the settler's first transaction never reaches the
// chain. After ReplaceAfter the settler signs a replacement at the same
// nonce with higher fees; it is mined and the batch confirmed, once.
func TestStuckClaimReplaced(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	chans := e.openETH(t, 2)
	e.runJobs(t, chans, 6, "d", 6)

	chain := &sender{Client: e.client, drop: func(n int, _ *types.Transaction) bool { return n == 0 }}
	s := e.newSettler(chain, e.watcher)
	s.ReplaceAfter = 100 * time.Millisecond
	b, err := s.Settle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent, dropped := chain.counts()
	if b == nil || b.State != ledger.BatchConfirmed || len(dropped) != 1 || len(sent) == 0 {
		t.Fatalf("batch %+v, %d sent, %d dropped", b, len(sent), len(dropped))
	}
	if st := s.Stats(); st.Replaced < 1 || st.Confirmed != 1 || st.Batches != 1 || st.Failed != 0 {
		t.Fatalf("stats %+v: want one batch, replaced at least once, confirmed once", st)
	}
	stuck, replacement := dropped[0], sent[0]
	if replacement.Nonce() != stuck.Nonce() || replacement.GasTipCap().Cmp(stuck.GasTipCap()) <= 0 ||
		replacement.GasFeeCap().Cmp(stuck.GasFeeCap()) <= 0 {
		t.Fatalf("replacement nonce %d tip %s cap %s; stuck nonce %d tip %s cap %s", replacement.Nonce(),
			replacement.GasTipCap(), replacement.GasFeeCap(), stuck.Nonce(), stuck.GasTipCap(), stuck.GasFeeCap())
	}
	all, err := e.ledger.Batches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || !containsHash(all[0].TxHashes, stuck.Hash()) || !containsHash(all[0].TxHashes, replacement.Hash()) {
		t.Fatalf("ledger batches %+v: want one, recording the stuck transaction and its replacement", all)
	}
	if _, err := e.client.TransactionReceipt(ctx, stuck.Hash()); !errors.Is(err, ethereum.NotFound) {
		t.Fatalf("the dropped transaction has a receipt (%v)", err)
	}
	e.checkSettled(t, chans)
}

// TestStuckClaimMinedLate: no transaction of the settler reaches the
// chain until the first one, lost for a while, turns up and is mined. The
// batch is settled by whichever transaction is mined — here the original —
// once, and its replacements can no longer be mined: one nonce, one claim.
// The original turns up either while the settler is signing a replacement
// (between its look at the chain and its estimate, which then sees the
// claims already made) or after a replacement went out.
func TestStuckClaimMinedLate(t *testing.T) {
	for _, whileSigning := range []bool{true, false} {
		name := "after a replacement"
		if whileSigning {
			name = "while signing a replacement"
		}
		t.Run(name, func(t *testing.T) { testStuckClaimMinedLate(t, whileSigning) })
	}
}

func testStuckClaimMinedLate(t *testing.T, whileSigning bool) {
	e := newEnv(t)
	ctx := t.Context()
	chans := e.openETH(t, 2)
	e.runJobs(t, chans, 6, "d2", 7)

	chain := &sender{Client: e.client, drop: func(int, *types.Transaction) bool { return true }}
	var (
		mined   *types.Receipt
		minedMu sync.Mutex
	)
	deliver := func() {
		minedMu.Lock()
		defer minedMu.Unlock()
		if mined != nil {
			return
		}
		_, dropped := chain.counts()
		original := dropped[0]
		if err := e.client.SendTransaction(ctx, original); err != nil {
			t.Errorf("send the original: %v", err)
			return
		}
		r, err := contracts.WaitMined(ctx, e.client, original.Hash(), 5*time.Millisecond)
		if err != nil || r.Status != types.ReceiptStatusSuccessful {
			t.Errorf("original claim: %+v, %v", r, err)
			return
		}
		mined = r
	}
	if whileSigning {
		// Call 0 signs the batch's first transaction, call 1 its first
		// replacement.
		chain.beforeTip = func(n int) {
			if n == 1 {
				deliver()
			}
		}
	}
	s := e.newSettler(chain, e.watcher)
	s.ReplaceAfter = 50 * time.Millisecond
	type result struct {
		b   *ledger.Batch
		err error
	}
	done := make(chan result, 1)
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	go func() {
		b, err := s.Settle(sctx)
		done <- result{b, err}
	}()
	if !whileSigning {
		deadline := time.Now().Add(10 * time.Second)
		for s.Stats().Replaced < 1 {
			if time.Now().After(deadline) {
				t.Fatal("the settler did not replace its stuck transaction")
			}
			time.Sleep(5 * time.Millisecond)
		}
		deliver()
	}
	res := <-done
	if t.Failed() {
		return
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	_, dropped := chain.counts()
	original := dropped[0]
	if res.b == nil || res.b.State != ledger.BatchConfirmed || res.b.Block != mined.BlockNumber.Uint64() || res.b.TxHashes[0] != original.Hash() {
		t.Fatalf("batch %+v; the original %s was mined in block %d", res.b, original.Hash(), mined.BlockNumber)
	}
	if st := s.Stats(); st.Confirmed != 1 || st.Failed != 0 || st.Batches != 1 {
		t.Fatalf("stats %+v: want one batch, confirmed, none failed", st)
	}
	for _, tx := range dropped[1:] {
		if tx.Nonce() != original.Nonce() {
			t.Fatalf("replacement at nonce %d, original at %d", tx.Nonce(), original.Nonce())
		}
		if err := e.client.SendTransaction(ctx, tx); err == nil {
			t.Fatalf("replacement %s accepted after its nonce was used", tx.Hash())
		}
	}
	e.checkSettled(t, chans)
	settleAll(t, s)
}

// staleView is a watcher that has not seen a channel's withdrawal: it
// reports the channel open, so only the chain can tell.
type staleView struct {
	settle.Channels
	id common.Hash
}

func (v staleView) Channel(id common.Hash) (chainwatch.Channel, bool) {
	ch, ok := v.Channels.Channel(id)
	if id == v.id {
		ch.Closed, ch.WithdrawableAt = false, 0
	}
	return ch, ok
}

// TestWithdrawnChannelDropped: a channel's payer requested withdrawal and
// finalized it (the delay passed, the provider did not claim in time)
// before settlement. The withdrawn channel is left out of the batch —
// because the watcher says it is closed, or, when the watcher has not seen
// it yet, because simulating the batch reverts with ChannelClosed — and the
// other channels settle exactly. The withdrawn channel stays unclaimed and
// later rounds do not try it again.
func TestWithdrawnChannelDropped(t *testing.T) {
	for _, stale := range []bool{false, true} {
		name := "watcher saw the withdrawal"
		if stale {
			name = "watcher has not seen it"
		}
		t.Run(name, func(t *testing.T) { testWithdrawnChannelDropped(t, stale) })
	}
}

func testWithdrawnChannelDropped(t *testing.T, stale bool) {
	e := newEnv(t)
	ctx := t.Context()
	chans := e.openETH(t, 3)
	e.runJobs(t, chans, 6, "e", 8)
	gone, kept := chans[1], []*channel{chans[0], chans[2]}

	e.send(t, e.payer.Key, e.pcAt, e.pc.PackRequestWithdrawal(gone.id), nil)
	if _, err := e.chain.AdjustTime(testnet.DefaultWithdrawalDelay + time.Second); err != nil {
		t.Fatal(err)
	}
	e.send(t, e.payer.Key, e.pcAt, e.pc.PackFinalizeWithdrawal(gone.id), nil)
	if !e.onChain(t, gone.id).Closed {
		t.Fatal("channel not closed on chain after finalizing its withdrawal")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, ok := e.watcher.Channel(gone.id); ok && c.Closed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not see the withdrawal")
		}
		time.Sleep(10 * time.Millisecond)
	}

	var view settle.Channels = e.watcher
	if stale {
		view = staleView{e.watcher, gone.id}
	}
	s := e.newSettler(e.client, view)
	b, err := s.Settle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b == nil || b.State != ledger.BatchConfirmed || len(b.Claims) != len(kept) {
		t.Fatalf("batch %+v: want the %d channels still open, confirmed", b, len(kept))
	}
	for _, c := range b.Claims {
		if c.ChannelID == gone.id {
			t.Fatal("the withdrawn channel is in the batch")
		}
	}
	if b, err := s.Settle(ctx); err != nil || b != nil {
		t.Fatalf("a later round: batch %+v, %v; want nothing to do", b, err)
	}
	if st := s.Stats(); st.Batches != 1 || st.Confirmed != 1 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
	e.checkSettled(t, kept)

	st, err := e.ledger.Channel(ctx, gone.id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Charged.Cmp(gone.costs) != 0 || st.Claimed.Sign() != 0 || st.SettledSeq != 0 || e.onChain(t, gone.id).Claimed.Sign() != 0 {
		t.Fatalf("withdrawn channel: charged %s (agent %s), claimed %s on chain %s", st.Charged, gone.costs, st.Claimed, e.onChain(t, gone.id).Claimed)
	}
	if n := len(e.claimedEvents(t)[gone.id]); n != 0 {
		t.Fatalf("%d Claimed events for the withdrawn channel", n)
	}
	// The contract holds what the open channels have left: the withdrawn
	// one's deposit went back whole.
	held, err := e.client.BalanceAt(ctx, e.d.PaymentChannels, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := big.NewInt(2 * params.Ether)
	for _, ch := range kept {
		want.Sub(want, ch.costs)
	}
	if held.Cmp(want) != 0 {
		t.Fatalf("contract holds %s wei, want %s", held, want)
	}
}
