package payment

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/wire"
)

// fakeChannels is a Channels with fixed answers.
type fakeChannels struct {
	mu   sync.Mutex
	chs  map[common.Hash]chainwatch.Channel
	errs map[common.Hash]error
}

func (f *fakeChannels) Lookup(_ context.Context, id common.Hash) (chainwatch.Channel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.errs[id]; err != nil {
		return chainwatch.Channel{}, err
	}
	ch, ok := f.chs[id]
	if !ok {
		return chainwatch.Channel{}, chainwatch.ErrUnknownChannel
	}
	return ch.Clone(), nil
}

type fixture struct {
	p        *Payments
	l        ledger.Ledger
	chans    *fakeChannels
	d        *contracts.Deployment
	provider *ecdsa.PrivateKey
	price    contracts.Price
}

var tusd = common.HexToAddress("0x7777")

func newFixture(t testing.TB) *fixture {
	t.Helper()
	l, err := bolt.Open(t.TempDir(), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	provider, _ := crypto.GenerateKey()
	d := &contracts.Deployment{ChainID: 1337, PaymentChannels: common.HexToAddress("0xc0ffee"), OfferRegistry: common.HexToAddress("0x1")}
	chans := &fakeChannels{chs: map[common.Hash]chainwatch.Channel{}, errs: map[common.Hash]error{}}
	price, err := contracts.ParsePrice("1000", "2000000", "8000000")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{p: New(d, provider, l, chans, nil), l: l, chans: chans, d: d, provider: provider, price: price}
}

// commit returns once every reservation made so far is on disk: Authorize
// reserves without waiting for the commit, and any write that waits is
// committed with or after them.
func (f *fixture) commit(t testing.TB) {
	t.Helper()
	if err := f.l.PutMeta(t.Context(), "test-commit", nil); err != nil {
		t.Fatal(err)
	}
}

// open adds a channel of deposit base units signed by a new key.
func (f *fixture) open(id common.Hash, deposit int64) *ecdsa.PrivateKey {
	signer, _ := crypto.GenerateKey()
	f.chans.mu.Lock()
	defer f.chans.mu.Unlock()
	f.chans.chs[id] = chainwatch.Channel{
		ID: id, Signer: crypto.PubkeyToAddress(signer.PublicKey), Asset: tusd,
		Provider: crypto.PubkeyToAddress(f.provider.PublicKey), Deposit: big.NewInt(deposit), Claimed: new(big.Int),
	}
	return signer
}

func signVoucher(t testing.TB, d *contracts.Domain, key *ecdsa.PrivateKey, id common.Hash, amount *big.Int) Voucher {
	digest, err := d.VoucherDigest(&contracts.Voucher{ChannelID: id, CumulativeAmount: amount})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := contracts.Sign(digest, key)
	if err != nil {
		t.Fatal(err)
	}
	return Voucher{Amount: new(big.Int).Set(amount), Signature: sig}
}

func (f *fixture) request(id common.Hash, job string, v Voucher) Request {
	return Request{
		ChannelID: id, JobID: job, BodyHash: crypto.Keccak256Hash([]byte(job)),
		Asset: tusd, Price: f.price, InputTokens: 10, MaxTokens: 100, Voucher: v,
	}
}

// maxCost of f.request: 1000 + ceil((10·2e6 + 100·8e6)/1e6) = 1820.
const maxCost = 1820

func TestAuthorizeChargeReceipt(t *testing.T) {
	f := newFixture(t)
	id := common.HexToHash("0xa1")
	signer := f.open(id, 1_000_000)
	ctx := t.Context()

	a, err := f.p.Authorize(ctx, f.request(id, "job-1", signVoucher(t, f.p.Domain(), signer, id, big.NewInt(maxCost))))
	if err != nil {
		t.Fatal(err)
	}
	if a.MaxCost.Int64() != maxCost {
		t.Fatalf("max cost %s, want %d", a.MaxCost, maxCost)
	}
	f.commit(t)
	st, _ := f.l.Channel(ctx, id)
	if st.Reserved.Int64() != maxCost || st.Voucher.Amount.Int64() != maxCost {
		t.Fatalf("after authorize: reserved %s voucher %s", st.Reserved, st.Voucher.Amount)
	}

	result := crypto.Keccak256Hash([]byte("output"))
	r, err := f.p.Charge(ctx, a, Usage{InputTokens: 10, OutputTokens: 7}, result)
	if err != nil {
		t.Fatal(err)
	}
	wantCost := int64(1000 + 20 + 56)
	if r.Cost.Int64() != wantCost || r.CumulativeCharged.Int64() != wantCost || r.Seq != 1 {
		t.Fatalf("receipt cost %s cumulative %s seq %d, want %d", r.Cost, r.CumulativeCharged, r.Seq, wantCost)
	}
	if r.JobID != wire.JobKey("job-1") || r.ResultHash != result || r.InputTokens != 10 || r.OutputTokens != 7 {
		t.Fatalf("receipt fields %+v", r.Receipt)
	}
	digest, _ := f.p.Domain().ReceiptDigest(&r.Receipt)
	if got, err := contracts.Recover(digest, r.Signature); err != nil || got != crypto.PubkeyToAddress(f.provider.PublicKey) {
		t.Fatalf("receipt signed by %s (%v)", got, err)
	}
	st, _ = f.l.Channel(ctx, id)
	if st.Charged.Int64() != wantCost || st.Reserved.Sign() != 0 {
		t.Fatalf("after charge: charged %s reserved %s", st.Charged, st.Reserved)
	}

	// Usage beyond max_tokens is charged at most the max cost.
	v := signVoucher(t, f.p.Domain(), signer, id, big.NewInt(wantCost+maxCost))
	a2, err := f.p.Authorize(ctx, f.request(id, "job-2", v))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := f.p.Charge(ctx, a2, Usage{InputTokens: 10, OutputTokens: 5000}, result)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Cost.Int64() != maxCost || r2.CumulativeCharged.Int64() != wantCost+maxCost {
		t.Fatalf("overrun: cost %s cumulative %s", r2.Cost, r2.CumulativeCharged)
	}
}

func TestIdempotentJobIDs(t *testing.T) {
	f := newFixture(t)
	id := common.HexToHash("0xa2")
	signer := f.open(id, 1_000_000)
	ctx := t.Context()
	v := signVoucher(t, f.p.Domain(), signer, id, big.NewInt(10*maxCost))

	a, err := f.p.Authorize(ctx, f.request(id, "once", v))
	if err != nil {
		t.Fatal(err)
	}
	// While it runs, a resubmission is told to retry.
	if _, err := f.p.Authorize(ctx, f.request(id, "once", v)); CodeOf(err) != CodeJobInProgress {
		t.Fatalf("resubmitted while running: %v", err)
	}
	r, err := f.p.Charge(ctx, a, Usage{InputTokens: 1, OutputTokens: 1}, common.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	// After it completed, a resubmission replays the receipt and charges
	// nothing. The ledger keeps the receipt unsigned; the replay is signed
	// again, to the very bytes the first result carried.
	if stored, err := f.l.Receipt(ctx, id, "once"); err != nil || len(stored.Signature) != 0 {
		t.Fatalf("stored receipt: %+v, %v; want it unsigned", stored, err)
	}
	again, err := f.p.Authorize(ctx, f.request(id, "once", v))
	if err != nil || again.Replay == nil || again.Replay.Receipt.Seq != r.Seq {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	if !bytes.Equal(again.Replay.Receipt.Signature, r.Signature) || again.Replay.Receipt.CumulativeCharged.Cmp(r.CumulativeCharged) != 0 {
		t.Fatalf("replayed receipt %+v, first %+v", again.Replay.Receipt, r)
	}
	// The same id with another body is a conflict.
	other := f.request(id, "once", v)
	other.BodyHash = common.HexToHash("0xbad")
	if _, err := f.p.Authorize(ctx, other); CodeOf(err) != CodeJobConflict {
		t.Fatalf("conflict: %v", err)
	}
	// A failed job is not run again and costs nothing.
	b, err := f.p.Authorize(ctx, f.request(id, "fails", v))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.Release(ctx, b, "worker_failed"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Authorize(ctx, f.request(id, "fails", v)); CodeOf(err) != CodeJobFailed {
		t.Fatalf("resubmitted failed job: %v", err)
	}
	st, _ := f.l.Channel(ctx, id)
	if st.Charged.Cmp(r.Cost) != 0 || st.Reserved.Sign() != 0 || st.ReceiptSeq != 1 {
		t.Fatalf("charged %s reserved %s receipts %d; want only the one job", st.Charged, st.Reserved, st.ReceiptSeq)
	}
}

// TestRefusals is the table of bad payments: each gets its code, and
// nothing is reserved or charged for it.
func TestRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	id := common.HexToHash("0xb1")
	signer := f.open(id, 100_000)
	dom := f.p.Domain()
	stranger, _ := crypto.GenerateKey()
	enough := big.NewInt(10 * maxCost)

	withdrawing := common.HexToHash("0xb2")
	wSigner := f.open(withdrawing, 100_000)
	f.chans.chs[withdrawing] = func() chainwatch.Channel { c := f.chans.chs[withdrawing]; c.WithdrawableAt = 1; return c }()
	ethChan := common.HexToHash("0xb3")
	ethSigner := f.open(ethChan, 100_000)
	f.chans.chs[ethChan] = func() chainwatch.Channel { c := f.chans.chs[ethChan]; c.Asset = common.Address{}; return c }()
	pending, foreign := common.HexToHash("0xb4"), common.HexToHash("0xb5")
	f.chans.errs[pending] = fmt.Errorf("lookup: %w", chainwatch.ErrNotConfirmed)
	f.chans.errs[foreign] = fmt.Errorf("lookup: %w", chainwatch.ErrWrongProvider)
	otherChain := contracts.NewDomain(big.NewInt(1), f.d.PaymentChannels)
	otherContract := contracts.NewDomain(big.NewInt(1337), common.HexToAddress("0xdead"))

	good := func() Voucher { return signVoucher(t, dom, signer, id, enough) }
	cases := []struct {
		name      string
		req       Request
		code      Code
		retryable bool
	}{
		{"empty job id", f.request(id, "", good()), CodeBadRequest, false},
		{"negative voucher", f.request(id, "j", Voucher{Amount: big.NewInt(-1), Signature: good().Signature}), CodeBadRequest, false},
		{"truncated signature", f.request(id, "j", Voucher{Amount: enough, Signature: good().Signature[:64]}), CodeBadSignature, false},
		{"signed by a stranger", f.request(id, "j", signVoucher(t, dom, stranger, id, enough)), CodeWrongSigner, false},
		{"signed for another chain", f.request(id, "j", signVoucher(t, otherChain, signer, id, enough)), CodeWrongSigner, false},
		{"signed for another contract", f.request(id, "j", signVoucher(t, otherContract, signer, id, enough)), CodeWrongSigner, false},
		{"declares another chain", f.request(id, "j", func() Voucher { v := good(); v.ChainID = big.NewInt(1); return v }()), CodeWrongDomain, false},
		{"declares another contract", f.request(id, "j", func() Voucher { v := good(); a := common.HexToAddress("0xdead"); v.Contract = &a; return v }()), CodeWrongDomain, false},
		{"signed for another amount", f.request(id, "j", Voucher{Amount: new(big.Int).Add(enough, big.NewInt(1)), Signature: good().Signature}), CodeWrongSigner, false},
		{"voucher below max cost", f.request(id, "j", signVoucher(t, dom, signer, id, big.NewInt(maxCost-1))), CodeVoucherTooLow, false},
		{"voucher above deposit", f.request(id, "j", signVoucher(t, dom, signer, id, big.NewInt(100_001))), CodeVoucherAboveDeposit, false},
		{"unknown channel", f.request(common.HexToHash("0xeeee"), "j", good()), CodeUnknownChannel, false},
		{"another provider's channel", f.request(foreign, "j", good()), CodeWrongProvider, false},
		{"channel in withdrawal", f.request(withdrawing, "j", signVoucher(t, dom, wSigner, withdrawing, enough)), CodeChannelClosing, false},
		{"asset not the offer's", f.request(ethChan, "j", signVoucher(t, dom, ethSigner, ethChan, enough)), CodeWrongAsset, false},
		{"deposit not yet confirmed", f.request(pending, "j", good()), CodeDepositUnconfirmed, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := f.p.Authorize(ctx, c.req)
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != c.code || pe.Retryable != c.retryable {
				t.Fatalf("got %v (authorization %v), want code %s retryable %v", err, a, c.code, c.retryable)
			}
			for _, ch := range []common.Hash{id, withdrawing, ethChan, pending, foreign} {
				st, _ := f.l.Channel(ctx, ch)
				if st.Charged.Sign() != 0 || st.Reserved.Sign() != 0 || st.Voucher.Amount != nil && st.Voucher.Amount.Sign() != 0 {
					t.Fatalf("channel %s changed by a refused payment: %+v", ch, st)
				}
			}
		})
	}
}

func TestVoucherMustCoverInFlight(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	id := common.HexToHash("0xc1")
	signer := f.open(id, 1_000_000)
	dom := f.p.Domain()
	// Two jobs in flight need a voucher for both max costs; one covering
	// only one of them is refused for the second.
	if _, err := f.p.Authorize(ctx, f.request(id, "a", signVoucher(t, dom, signer, id, big.NewInt(maxCost)))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Authorize(ctx, f.request(id, "b", signVoucher(t, dom, signer, id, big.NewInt(2*maxCost-1)))); CodeOf(err) != CodeVoucherTooLow {
		t.Fatalf("voucher short of two in flight: %v", err)
	}
	if _, err := f.p.Authorize(ctx, f.request(id, "b", signVoucher(t, dom, signer, id, big.NewInt(2*maxCost)))); err != nil {
		t.Fatal(err)
	}
}

func TestRecoverReleasesInterruptedJobs(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	id := common.HexToHash("0xd1")
	signer := f.open(id, 1_000_000)
	v := signVoucher(t, f.p.Domain(), signer, id, big.NewInt(3*maxCost))
	for _, j := range []string{"x", "y", "z"} {
		if _, err := f.p.Authorize(ctx, f.request(id, j, v)); err != nil {
			t.Fatal(err)
		}
	}
	f.commit(t) // the reservations reached the disk before the crash
	n, err := f.p.Recover(ctx)
	if err != nil || n != 3 {
		t.Fatalf("recover: %d, %v", n, err)
	}
	st, _ := f.l.Channel(ctx, id)
	if st.Reserved.Sign() != 0 || st.Charged.Sign() != 0 {
		t.Fatalf("after recover: %+v", st)
	}
}

// TestConcurrentJobsSums runs 1,000 jobs with random usage and random
// failures, up to 16 in flight per channel over 20 channels, each paid with
// a voucher for what the agent has committed, then checks every channel to
// the last unit: charged == Σ receipt costs == last cumulativeCharged,
// nothing reserved, failed jobs charged nothing.
func TestConcurrentJobsSums(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	const channels, jobsPerChannel, inFlight = 20, 50, 16
	dom := f.p.Domain()

	type agent struct {
		mu        sync.Mutex
		committed *big.Int // charged as receipts say + max cost of jobs in flight
		signer    *ecdsa.PrivateKey
		costs     *big.Int // Σ receipt costs
		failed    int
	}
	var wg sync.WaitGroup
	agents := make([]*agent, channels)
	for c := range channels {
		id := common.BigToHash(big.NewInt(int64(1000 + c)))
		ag := &agent{committed: new(big.Int), signer: f.open(id, 1_000_000_000), costs: new(big.Int)}
		agents[c] = ag
		sem := make(chan struct{}, inFlight)
		for j := range jobsPerChannel {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				rng := rand.New(rand.NewPCG(uint64(c), uint64(j)))
				req := f.request(id, fmt.Sprintf("c%d-j%d", c, j), Voucher{})
				req.InputTokens = rng.Uint64N(500)
				req.MaxTokens = 1 + rng.Uint64N(500)
				mc := f.price.Cost(req.InputTokens, req.MaxTokens)
				ag.mu.Lock()
				ag.committed.Add(ag.committed, mc)
				req.Voucher = signVoucher(t, dom, ag.signer, id, ag.committed)
				ag.mu.Unlock()

				a, err := f.p.Authorize(ctx, req)
				if err != nil {
					t.Errorf("authorize: %v", err)
					return
				}
				if rng.IntN(5) == 0 { // the worker failed
					if err := f.p.Release(ctx, a, "worker_failed"); err != nil {
						t.Error(err)
					}
					ag.mu.Lock()
					ag.committed.Sub(ag.committed, mc)
					ag.failed++
					ag.mu.Unlock()
					return
				}
				r, err := f.p.Charge(ctx, a, Usage{InputTokens: req.InputTokens, OutputTokens: rng.Uint64N(req.MaxTokens + 1)}, common.Hash{})
				if err != nil {
					t.Errorf("charge: %v", err)
					return
				}
				ag.mu.Lock()
				ag.committed.Sub(ag.committed, new(big.Int).Sub(mc, r.Cost))
				ag.costs.Add(ag.costs, r.Cost)
				ag.mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	totalFailed := 0
	for c, ag := range agents {
		id := common.BigToHash(big.NewInt(int64(1000 + c)))
		st, err := f.l.Channel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		receipts, err := f.l.Receipts(ctx, id, 1, st.ReceiptSeq)
		if err != nil {
			t.Fatal(err)
		}
		sum := new(big.Int)
		for i, r := range receipts {
			sum.Add(sum, r.Cost)
			if r.Seq != uint64(i+1) || r.CumulativeCharged.Cmp(sum) != 0 {
				t.Fatalf("channel %d receipt %d: seq %d cumulative %s, running sum %s", c, i, r.Seq, r.CumulativeCharged, sum)
			}
		}
		if st.Charged.Cmp(sum) != 0 || sum.Cmp(ag.costs) != 0 || st.Reserved.Sign() != 0 {
			t.Fatalf("channel %d: ledger charged %s, receipts %s, agent %s, reserved %s", c, st.Charged, sum, ag.costs, st.Reserved)
		}
		if got := len(receipts) + ag.failed; got != jobsPerChannel {
			t.Fatalf("channel %d: %d receipts + %d failed != %d jobs", c, len(receipts), ag.failed, jobsPerChannel)
		}
		totalFailed += ag.failed
	}
	if totalFailed == 0 {
		t.Fatal("no job failed: the test did not exercise release")
	}
}

// FuzzAuthorizeVoucher: whatever bytes and amount a voucher carries, the
// check never panics, and it accepts only a signature the channel's signer
// made for exactly that amount.
func FuzzAuthorizeVoucher(f *testing.F) {
	fx := newFixture(f)
	id := common.HexToHash("0xf0")
	signer := fx.open(id, 1_000_000)
	good := signVoucher(f, fx.p.Domain(), signer, id, big.NewInt(5*maxCost))
	f.Add(good.Signature, good.Amount.Bytes(), "job")
	f.Add(make([]byte, 65), []byte{1}, "x")
	f.Add([]byte{}, []byte{}, "")
	n := 0
	f.Fuzz(func(t *testing.T, sig, amount []byte, job string) {
		n++
		v := Voucher{Amount: new(big.Int).SetBytes(amount), Signature: sig}
		a, err := fx.p.Authorize(t.Context(), fx.request(id, fmt.Sprint(job, n), v))
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("refusal without a code: %v", err)
			}
			return
		}
		want := signVoucher(t, fx.p.Domain(), signer, id, v.Amount)
		if !bytes.Equal(sig, want.Signature) {
			t.Fatalf("accepted a signature the signer did not make: %x for %s", sig, v.Amount)
		}
		if err := fx.p.Release(t.Context(), a, "fuzz"); err != nil {
			t.Fatal(err)
		}
	})
}
