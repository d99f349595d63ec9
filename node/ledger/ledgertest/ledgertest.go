// Package ledgertest is the conformance suite of node/ledger: every Ledger
// implementation runs Run in its tests, so they all keep the same promises
// about money, errors and atomicity.
package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/ledger"
)

// Run runs the conformance suite. open returns a new, empty ledger for one
// subtest; it should close it in t.Cleanup, ignoring ErrClosed since some
// subtests close it themselves.
func Run(t *testing.T, open func(t *testing.T) ledger.Ledger) {
	tests := []struct {
		name string
		fn   func(t *testing.T, l ledger.Ledger)
	}{
		{"UnknownChannel", testUnknownChannel},
		{"Reserve", testReserve},
		{"ReserveExisting", testReserveExisting},
		{"ReserveInvalid", testReserveInvalid},
		{"ReserveLimit", testReserveLimit},
		{"ReserveCapHighestVoucher", testReserveCapHighestVoucher},
		{"VoucherNeverLowers", testVoucherNeverLowers},
		{"Charge", testCharge},
		{"ChargeErrors", testChargeErrors},
		{"ChargeFill", testChargeFill},
		{"Release", testRelease},
		{"ReservedJobsAndJobs", testReservedJobsAndJobs},
		{"Receipts", testReceipts},
		{"Batches", testBatches},
		{"ConfirmClaims", testConfirmClaims},
		{"Meta", testMeta},
		{"Copies", testCopies},
		{"CanceledContext", testCanceledContext},
		{"Close", testClose},
		{"MoneySums", func(t *testing.T, l ledger.Ledger) {
			MoneySums(t, l, MoneySumsConfig{})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// ------------------------------------------------------------ test helpers

// Chan returns a channel id for tests: i in the last bytes, so that
// channels i and i+1 are neighbours in key order.
func Chan(i int) common.Hash { return common.BigToHash(big.NewInt(int64(0xc0ffee00 + i))) }

// JobHash is the receipt job id the suite uses for a job id string.
func JobHash(jobID string) common.Hash { return crypto.Keccak256Hash([]byte(jobID)) }

// Receipt returns the receipt the suite charges with: cumulative is the
// channel's Charged after the charge.
func Receipt(ch common.Hash, jobID string, cost, cumulative *big.Int) ledger.Receipt {
	return ledger.Receipt{
		Receipt: contracts.Receipt{
			ChannelID:         ch,
			JobID:             JobHash(jobID),
			Cost:              new(big.Int).Set(cost),
			CumulativeCharged: new(big.Int).Set(cumulative),
			InputTokens:       uint64(len(jobID)),
			OutputTokens:      7,
			ResultHash:        crypto.Keccak256Hash([]byte("result " + jobID)),
		},
		Signature: fakeSig(jobID),
	}
}

func fakeSig(s string) []byte {
	h := crypto.Keccak256([]byte(s))
	return append(append(h, crypto.Keccak256(h)...), 27)
}

func n(x int64) *big.Int { return big.NewInt(x) }

// big1e30 makes sure amounts beyond 64 bits work everywhere.
func big1e30() *big.Int { return new(big.Int).Exp(n(10), n(30), nil) }

func reserve(t *testing.T, l ledger.Ledger, ch common.Hash, id string, maxCost *big.Int) *ledger.Job {
	t.Helper()
	j, err := l.Reserve(t.Context(), ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: id, MaxCost: maxCost}})
	if err != nil {
		t.Fatalf("reserve %q: %v", id, err)
	}
	return j
}

// charge charges a job with a receipt built from the channel's state.
func charge(t *testing.T, l ledger.Ledger, ch common.Hash, id string, cost *big.Int) *ledger.Receipt {
	t.Helper()
	st := channel(t, l, ch)
	cum := new(big.Int).Add(st.Charged, cost)
	r, err := l.Charge(t.Context(), ledger.ChargeOp{ChannelID: ch, JobID: id, Cost: cost, Receipt: Receipt(ch, id, cost, cum)})
	if err != nil {
		t.Fatalf("charge %q: %v", id, err)
	}
	return r
}

func channel(t *testing.T, l ledger.Ledger, ch common.Hash) ledger.ChannelState {
	t.Helper()
	st, err := l.Channel(t.Context(), ch)
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	return st
}

func job(t *testing.T, l ledger.Ledger, ch common.Hash, id string) *ledger.Job {
	t.Helper()
	j, err := l.Job(t.Context(), ch, id)
	if err != nil {
		t.Fatalf("job %q: %v", id, err)
	}
	return j
}

func eqInt(a, b *big.Int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Cmp(b) == 0
}

func wantInt(t testing.TB, what string, got, want *big.Int) {
	t.Helper()
	if !eqInt(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

// sameChannel compares two channel states to the last unit.
func sameChannel(a, b ledger.ChannelState) bool {
	return a.ID == b.ID && eqInt(a.Charged, b.Charged) && eqInt(a.Reserved, b.Reserved) &&
		eqInt(a.Voucher.Amount, b.Voucher.Amount) && string(a.Voucher.Signature) == string(b.Voucher.Signature) &&
		a.ReceiptSeq == b.ReceiptSeq && eqInt(a.Claimed, b.Claimed) && a.SettledSeq == b.SettledSeq
}

func fmtChannel(c ledger.ChannelState) string {
	return fmt.Sprintf("{charged %v reserved %v voucher %v seq %d claimed %v settled %d}",
		c.Charged, c.Reserved, c.Voucher.Amount, c.ReceiptSeq, c.Claimed, c.SettledSeq)
}

func wantChannel(t *testing.T, got, want ledger.ChannelState) {
	t.Helper()
	if !sameChannel(got, want) {
		t.Errorf("channel = %s, want %s", fmtChannel(got), fmtChannel(want))
	}
}

func sameReceipt(a, b *ledger.Receipt) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ChannelID == b.ChannelID && a.JobID == b.JobID && eqInt(a.Cost, b.Cost) &&
		eqInt(a.CumulativeCharged, b.CumulativeCharged) && a.InputTokens == b.InputTokens &&
		a.OutputTokens == b.OutputTokens && a.ResultHash == b.ResultHash && a.Seq == b.Seq &&
		string(a.Signature) == string(b.Signature)
}

func sameJob(a, b *ledger.Job) bool {
	return a.ChannelID == b.ChannelID && a.ID == b.ID && a.BodyHash == b.BodyHash &&
		eqInt(a.MaxCost, b.MaxCost) && a.State == b.State && eqInt(a.Cost, b.Cost) &&
		sameReceipt(a.Receipt, b.Receipt) && a.FailCode == b.FailCode && a.Created.Equal(b.Created)
}

// ------------------------------------------------------------------ tests

func testUnknownChannel(t *testing.T, l ledger.Ledger) {
	st := channel(t, l, Chan(1))
	if st.Charged == nil || st.Reserved == nil || st.Voucher.Amount == nil || st.Claimed == nil {
		t.Fatalf("unknown channel has nil amounts: %+v", st)
	}
	wantChannel(t, st, ledger.ChannelState{ID: Chan(1), Charged: n(0), Reserved: n(0), Voucher: ledger.Voucher{Amount: n(0)}, Claimed: n(0)})
	chans, err := l.Channels(t.Context())
	if err != nil || len(chans) != 0 {
		t.Errorf("Channels = %v, %v; want none", chans, err)
	}
	if _, err := l.Job(t.Context(), Chan(1), "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Job of unknown: %v, want ErrNotFound", err)
	}
	if _, err := l.Receipt(t.Context(), Chan(1), "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Receipt of unknown: %v, want ErrNotFound", err)
	}
	if rs, err := l.Receipts(t.Context(), Chan(1), 1, 10); err != nil || len(rs) != 0 {
		t.Errorf("Receipts of unknown = %v, %v; want none", rs, err)
	}
	if js, err := l.Jobs(t.Context(), Chan(1)); err != nil || len(js) != 0 {
		t.Errorf("Jobs of unknown = %v, %v; want none", js, err)
	}
	if js, err := l.ReservedJobs(t.Context()); err != nil || len(js) != 0 {
		t.Errorf("ReservedJobs = %v, %v; want none", js, err)
	}
	if bs, err := l.Batches(t.Context()); err != nil || len(bs) != 0 {
		t.Errorf("Batches = %v, %v; want none", bs, err)
	}
}

func testReserve(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	ch := Chan(1)
	body := crypto.Keccak256Hash([]byte("body"))
	created := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)
	sig := fakeSig("v1")
	in := ledger.ReserveOp{
		Job: ledger.Job{
			ChannelID: ch, ID: "job-1", BodyHash: body, MaxCost: big1e30(), Created: created,
			// Ignored: a new job is reserved, uncharged.
			State: ledger.JobCharged, Cost: n(5), FailCode: "x",
			Receipt: &ledger.Receipt{Seq: 9},
		},
		Voucher: ledger.Voucher{Amount: new(big.Int).Mul(big1e30(), n(2)), Signature: sig},
	}
	got, err := l.Reserve(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := &ledger.Job{ChannelID: ch, ID: "job-1", BodyHash: body, MaxCost: big1e30(), State: ledger.JobReserved, Cost: n(0), Created: created}
	if !sameJob(got, want) {
		t.Errorf("Reserve returned %+v, want %+v", got, want)
	}
	if stored := job(t, l, ch, "job-1"); !sameJob(stored, want) {
		t.Errorf("stored job %+v, want %+v", stored, want)
	}
	wantChannel(t, channel(t, l, ch), ledger.ChannelState{
		ID: ch, Charged: n(0), Reserved: big1e30(),
		Voucher: ledger.Voucher{Amount: new(big.Int).Mul(big1e30(), n(2)), Signature: sig}, Claimed: n(0),
	})

	// Created defaults to now.
	before := time.Now().Add(-time.Second)
	j2, err := l.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "job-2", MaxCost: n(10)}})
	if err != nil {
		t.Fatal(err)
	}
	if j2.Created.Before(before) || j2.Created.After(time.Now().Add(time.Second)) {
		t.Errorf("Created = %v, want about now", j2.Created)
	}
	if stored := job(t, l, ch, "job-2"); !stored.Created.Equal(j2.Created) {
		t.Errorf("stored Created %v, returned %v", stored.Created, j2.Created)
	}
	// No voucher leaves the stored one; a zero max cost is fine.
	reserve(t, l, ch, "job-3", n(0))
	st := channel(t, l, ch)
	wantInt(t, "reserved", st.Reserved, new(big.Int).Add(big1e30(), n(10)))
	wantInt(t, "voucher", st.Voucher.Amount, new(big.Int).Mul(big1e30(), n(2)))

	chans, err := l.Channels(ctx)
	if err != nil || len(chans) != 1 || !sameChannel(chans[0], st) {
		t.Errorf("Channels = %v, %v; want [%s]", chans, err, fmtChannel(st))
	}
}

func testReserveExisting(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	ch := Chan(1)
	first, err := l.Reserve(ctx, ledger.ReserveOp{
		Job:     ledger.Job{ChannelID: ch, ID: "j", MaxCost: n(100), BodyHash: common.Hash{1}},
		Voucher: ledger.Voucher{Amount: n(100), Signature: fakeSig("a")},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := channel(t, l, ch)
	again, err := l.Reserve(ctx, ledger.ReserveOp{
		Job:     ledger.Job{ChannelID: ch, ID: "j", MaxCost: n(999), BodyHash: common.Hash{2}},
		Voucher: ledger.Voucher{Amount: n(5000), Signature: fakeSig("b")},
	})
	wantErr(t, "reserve again", err, ledger.ErrJobExists)
	if again == nil || !sameJob(again, first) {
		t.Errorf("reserve again returned %+v, want the existing %+v", again, first)
	}
	wantChannel(t, channel(t, l, ch), before) // voucher not raised either

	// The job id is looked up before the limit and the cap: a resubmission
	// whose voucher no longer covers gets the existing job, not
	// ErrInsufficient.
	again, err = l.Reserve(ctx, ledger.ReserveOp{
		Job:   ledger.Job{ChannelID: ch, ID: "j", MaxCost: n(100), BodyHash: common.Hash{1}},
		Limit: n(1), Cap: n(1),
	})
	wantErr(t, "reserve again past the limit and cap", err, ledger.ErrJobExists)
	if again == nil || !sameJob(again, first) {
		t.Errorf("reserve again past the limit and cap returned %+v, want the existing %+v", again, first)
	}

	// Same id on another channel is another job.
	reserve(t, l, Chan(2), "j", n(1))

	// The existing job comes back in whatever state it is, receipt included.
	r := charge(t, l, ch, "j", n(60))
	again, err = l.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "j", MaxCost: n(1)}})
	wantErr(t, "reserve charged", err, ledger.ErrJobExists)
	if again == nil || again.State != ledger.JobCharged || !sameReceipt(again.Receipt, r) {
		t.Errorf("reserve of charged job returned %+v", again)
	}
}

func testReserveInvalid(t *testing.T, l ledger.Ledger) {
	tooBig := new(big.Int).Lsh(n(1), 256)
	max256 := new(big.Int).Sub(tooBig, n(1))
	mk := func(id string, maxCost *big.Int) ledger.Job { return ledger.Job{ID: id, MaxCost: maxCost} }
	for i, tt := range []struct {
		name string
		op   ledger.ReserveOp
		ok   bool
	}{
		{"empty id", ledger.ReserveOp{Job: mk("", n(1))}, false},
		{"id of 129 bytes", ledger.ReserveOp{Job: mk(strings.Repeat("x", 129), n(1))}, false},
		{"nil max cost", ledger.ReserveOp{Job: mk("a", nil)}, false},
		{"negative max cost", ledger.ReserveOp{Job: mk("a", n(-1))}, false},
		{"max cost of 2^256", ledger.ReserveOp{Job: mk("a", tooBig)}, false},
		{"negative voucher", ledger.ReserveOp{Job: mk("a", n(1)), Voucher: ledger.Voucher{Amount: n(-1)}}, false},
		{"voucher of 2^256", ledger.ReserveOp{Job: mk("a", n(1)), Voucher: ledger.Voucher{Amount: tooBig}}, false},
		{"negative limit", ledger.ReserveOp{Job: mk("a", n(1)), Limit: n(-1)}, false},
		{"id of 128 bytes", ledger.ReserveOp{Job: mk(strings.Repeat("y", 128), n(1))}, true},
		{"binary id", ledger.ReserveOp{Job: mk("\x00\xff/\n", n(1))}, true},
		{"max cost of 2^256-1", ledger.ReserveOp{Job: mk("max", max256)}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch := Chan(i)
			tt.op.Job.ChannelID = ch
			before := channel(t, l, ch)
			_, err := l.Reserve(t.Context(), tt.op)
			if tt.ok {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				job(t, l, ch, tt.op.Job.ID)
				return
			}
			wantErr(t, "reserve", err, ledger.ErrInvalid)
			wantChannel(t, channel(t, l, ch), before)
			if tt.op.Job.ID != "" && len(tt.op.Job.ID) <= ledger.MaxJobIDLen {
				if _, err := l.Job(t.Context(), ch, tt.op.Job.ID); !errors.Is(err, ledger.ErrNotFound) {
					t.Errorf("job stored after invalid reserve: %v", err)
				}
			}
		})
	}
	// A channel's total past uint256 is refused too, and changes nothing.
	ch := Chan(99)
	reserve(t, l, ch, "max", max256)
	before := channel(t, l, ch)
	_, err := l.Reserve(t.Context(), ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "one more", MaxCost: n(1)}})
	wantErr(t, "reserve past uint256", err, ledger.ErrInvalid)
	wantChannel(t, channel(t, l, ch), before)
}

func testReserveLimit(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	ch := Chan(1)
	// Charged 30 after this.
	reserve(t, l, ch, "a", n(50))
	charge(t, l, ch, "a", n(30))
	reserve(t, l, ch, "b", n(40)) // reserved 40

	// 30 + 40 + 30 = 100: exactly at the limit is fine.
	if _, err := l.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "c", MaxCost: n(30)}, Limit: n(100)}); err != nil {
		t.Fatalf("reserve at the limit: %v", err)
	}
	before := channel(t, l, ch)
	_, err := l.Reserve(ctx, ledger.ReserveOp{
		Job:     ledger.Job{ChannelID: ch, ID: "d", MaxCost: n(1)},
		Voucher: ledger.Voucher{Amount: n(1000), Signature: fakeSig("d")},
		Limit:   n(100),
	})
	wantErr(t, "reserve over the limit", err, ledger.ErrInsufficient)
	wantChannel(t, channel(t, l, ch), before) // the voucher is not stored either
	if _, err := l.Job(ctx, ch, "d"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("job stored after ErrInsufficient: %v", err)
	}
	// Releasing frees room.
	if err := l.Release(ctx, ch, "b", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "d", MaxCost: n(40)}, Limit: n(100)}); err != nil {
		t.Fatalf("reserve after release: %v", err)
	}
}

func testReserveCapHighestVoucher(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	ch := Chan(1)
	op := func(id string, maxCost, voucher, capAmount int64) ledger.ReserveOp {
		return ledger.ReserveOp{
			Job:     ledger.Job{ChannelID: ch, ID: id, MaxCost: n(maxCost)},
			Voucher: ledger.Voucher{Amount: n(voucher), Signature: fakeSig(id)},
			Cap:     n(capAmount),
		}
	}
	// The later job's voucher (100) arrives first and covers both jobs.
	if _, err := l.Reserve(ctx, op("second", 60, 100, 1000)); err != nil {
		t.Fatal(err)
	}
	// The earlier job's own voucher (40) covers only itself, but the
	// stored 100 covers 60 + 40.
	if _, err := l.Reserve(ctx, op("first", 40, 40, 1000)); err != nil {
		t.Fatalf("reserve covered by the highest voucher: %v", err)
	}
	// Past the highest voucher: refused, nothing stored.
	before := channel(t, l, ch)
	_, err := l.Reserve(ctx, op("third", 1, 100, 1000))
	wantErr(t, "reserve past the highest voucher", err, ledger.ErrInsufficient)
	wantChannel(t, channel(t, l, ch), before)
	// A higher voucher is bounded by the cap (the deposit).
	_, err = l.Reserve(ctx, op("third", 1, 500, 100))
	wantErr(t, "reserve past the cap", err, ledger.ErrInsufficient)
	if _, err := l.Reserve(ctx, op("third", 1, 500, 101)); err != nil {
		t.Fatalf("reserve within a raised cap: %v", err)
	}
	if got := channel(t, l, ch).Voucher.Amount; got.Cmp(n(500)) != 0 {
		t.Fatalf("stored voucher %s, want 500", got)
	}
}

func testVoucherNeverLowers(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	ch := Chan(1)
	for i, v := range []int64{100, 50, 100, 200, 0} {
		_, err := l.Reserve(ctx, ledger.ReserveOp{
			Job:     ledger.Job{ChannelID: ch, ID: fmt.Sprint("j", i), MaxCost: n(1)},
			Voucher: ledger.Voucher{Amount: n(v), Signature: fakeSig(fmt.Sprint("sig", i))},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	st := channel(t, l, ch)
	wantInt(t, "voucher", st.Voucher.Amount, n(200))
	if string(st.Voucher.Signature) != string(fakeSig("sig3")) {
		t.Errorf("voucher signature is not the one of the highest voucher")
	}
	// An equal amount keeps the first signature.
	st1 := channel(t, l, ch)
	if _, err := l.Reserve(ctx, ledger.ReserveOp{
		Job:     ledger.Job{ChannelID: ch, ID: "eq", MaxCost: n(1)},
		Voucher: ledger.Voucher{Amount: n(200), Signature: fakeSig("other")},
	}); err != nil {
		t.Fatal(err)
	}
	if string(channel(t, l, ch).Voucher.Signature) != string(st1.Voucher.Signature) {
		t.Errorf("an equal voucher replaced the stored one")
	}
}

func testCharge(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	ch := Chan(1)
	reserve(t, l, ch, "a", n(100))
	reserve(t, l, ch, "b", big1e30())
	reserve(t, l, Chan(2), "a", n(7))

	in := Receipt(ch, "a", n(60), n(60))
	in.Seq = 42 // assigned by the ledger
	r, err := l.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: "a", Cost: n(60), Receipt: in})
	if err != nil {
		t.Fatal(err)
	}
	want := Receipt(ch, "a", n(60), n(60))
	want.Seq = 1
	if !sameReceipt(r, &want) {
		t.Errorf("Charge returned %+v, want %+v", r, want)
	}
	wantChannel(t, channel(t, l, ch), ledger.ChannelState{
		ID: ch, Charged: n(60), Reserved: big1e30(), Voucher: ledger.Voucher{Amount: n(0)}, ReceiptSeq: 1, Claimed: n(0),
	})
	j := job(t, l, ch, "a")
	if j.State != ledger.JobCharged || !eqInt(j.Cost, n(60)) || !sameReceipt(j.Receipt, &want) {
		t.Errorf("job after charge: %+v", j)
	}
	if got, err := l.Receipt(ctx, ch, "a"); err != nil || !sameReceipt(got, &want) {
		t.Errorf("Receipt = %+v, %v", got, err)
	}

	// The whole max cost, beyond 64 bits.
	cum := new(big.Int).Add(big1e30(), n(60))
	r2, err := l.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: "b", Cost: big1e30(), Receipt: Receipt(ch, "b", big1e30(), cum)})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Seq != 2 {
		t.Errorf("second receipt seq %d, want 2", r2.Seq)
	}
	wantChannel(t, channel(t, l, ch), ledger.ChannelState{
		ID: ch, Charged: cum, Reserved: n(0), Voucher: ledger.Voucher{Amount: n(0)}, ReceiptSeq: 2, Claimed: n(0),
	})
	// A zero cost is a charge too, with its receipt.
	reserve(t, l, ch, "free", n(10))
	if r := charge(t, l, ch, "free", n(0)); r.Seq != 3 {
		t.Errorf("zero-cost receipt seq %d, want 3", r.Seq)
	}
	// The other channel is untouched.
	wantChannel(t, channel(t, l, Chan(2)), ledger.ChannelState{
		ID: Chan(2), Charged: n(0), Reserved: n(7), Voucher: ledger.Voucher{Amount: n(0)}, Claimed: n(0),
	})
	if js, _ := l.ReservedJobs(ctx); len(js) != 1 || js[0].ChannelID != Chan(2) {
		t.Errorf("ReservedJobs after charges = %+v", js)
	}
}

func testChargeErrors(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	ch := Chan(1)
	reserve(t, l, ch, "a", n(100))
	reserve(t, l, ch, "done", n(100))
	charge(t, l, ch, "done", n(10))
	reserve(t, l, ch, "gone", n(100))
	if err := l.Release(ctx, ch, "gone", "failed"); err != nil {
		t.Fatal(err)
	}
	// Charged is 10 now.
	ok := func(cost int64) ledger.ChargeOp {
		return ledger.ChargeOp{ChannelID: ch, JobID: "a", Cost: n(cost), Receipt: Receipt(ch, "a", n(cost), n(10+cost))}
	}
	for _, tt := range []struct {
		name string
		op   func() ledger.ChargeOp
		want error
	}{
		{"unknown job", func() ledger.ChargeOp { o := ok(5); o.JobID = "nope"; return o }, ledger.ErrNotFound},
		{"charged job", func() ledger.ChargeOp {
			return ledger.ChargeOp{ChannelID: ch, JobID: "done", Cost: n(1), Receipt: Receipt(ch, "done", n(1), n(11))}
		}, ledger.ErrJobState},
		{"released job", func() ledger.ChargeOp {
			return ledger.ChargeOp{ChannelID: ch, JobID: "gone", Cost: n(1), Receipt: Receipt(ch, "gone", n(1), n(11))}
		}, ledger.ErrJobState},
		{"cost above max cost", func() ledger.ChargeOp { return ok(101) }, ledger.ErrInvalid},
		{"wrong cumulative", func() ledger.ChargeOp { o := ok(5); o.Receipt.CumulativeCharged = n(5); return o }, ledger.ErrInvalid},
		{"cumulative one too high", func() ledger.ChargeOp { o := ok(5); o.Receipt.CumulativeCharged = n(16); return o }, ledger.ErrInvalid},
		{"receipt cost differs", func() ledger.ChargeOp { o := ok(5); o.Receipt.Cost = n(4); return o }, ledger.ErrInvalid},
		{"receipt of another channel", func() ledger.ChargeOp { o := ok(5); o.Receipt.ChannelID = Chan(2); return o }, ledger.ErrInvalid},
		{"nil cost", func() ledger.ChargeOp { o := ok(5); o.Cost = nil; return o }, ledger.ErrInvalid},
		{"negative cost", func() ledger.ChargeOp {
			return ledger.ChargeOp{ChannelID: ch, JobID: "a", Cost: n(-1), Receipt: Receipt(ch, "a", n(-1), n(9))}
		}, ledger.ErrInvalid},
		{"empty job id", func() ledger.ChargeOp { o := ok(5); o.JobID = ""; return o }, ledger.ErrInvalid},
		{"filled in, cost above max cost", func() ledger.ChargeOp { o := ok(101); o.Receipt.CumulativeCharged = nil; return o }, ledger.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := channel(t, l, ch)
			_, err := l.Charge(ctx, tt.op())
			if err == nil {
				t.Fatalf("charge succeeded")
			}
			if tt.want != nil {
				wantErr(t, "charge", err, tt.want)
			}
			wantChannel(t, channel(t, l, ch), before)
			if j := job(t, l, ch, "a"); j.State != ledger.JobReserved || j.Receipt != nil {
				t.Errorf("job a changed: %+v", j)
			}
		})
	}
	// After all that, a right charge still works and gets seq 2.
	r, err := l.Charge(ctx, ok(100))
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 2 {
		t.Errorf("seq %d, want 2", r.Seq)
	}
}

func testChargeFill(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	ch := Chan(3)
	const jobs = 40
	for i := range jobs {
		reserve(t, l, ch, fmt.Sprint("s", i), n(1000))
	}
	// Concurrent charges of one channel need no coordination: the ledger
	// fills in each running total in the order it applies them.
	var wg sync.WaitGroup
	errs := make(chan error, jobs)
	receipts := make(chan *ledger.Receipt, jobs)
	for i := range jobs {
		wg.Go(func() {
			id := fmt.Sprint("s", i)
			in := Receipt(ch, id, n(0), n(0))
			in.ChannelID, in.Cost, in.CumulativeCharged, in.Signature = common.Hash{}, nil, nil, nil
			r, err := l.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: id, Cost: n(int64(i + 1)), Receipt: in})
			switch {
			case err != nil:
			case r.ChannelID != ch || !eqInt(r.Cost, n(int64(i+1))) || r.CumulativeCharged == nil || r.JobID != JobHash(id) || len(r.Signature) != 0:
				err = fmt.Errorf("job %s: receipt %+v", id, r)
			default:
				receipts <- r
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	close(receipts)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// Ordered by seq, each running total is the previous one plus its cost,
	// and the ledger returns each receipt as it stored it.
	bySeq := map[uint64]*ledger.Receipt{}
	for r := range receipts {
		bySeq[r.Seq] = r
	}
	sum := new(big.Int)
	for seq := uint64(1); seq <= jobs; seq++ {
		r := bySeq[seq]
		if r == nil {
			t.Fatalf("no receipt with seq %d", seq)
		}
		sum.Add(sum, r.Cost)
		wantInt(t, fmt.Sprint("cumulative charged of seq ", seq), r.CumulativeCharged, sum)
		stored, err := l.Receipts(ctx, ch, seq, seq)
		if err != nil || len(stored) != 1 || !sameReceipt(&stored[0], r) {
			t.Errorf("stored receipt %d: %+v, %v; charge returned %+v", seq, stored, err, r)
		}
	}
	st := channel(t, l, ch)
	wantInt(t, "charged", st.Charged, n(jobs*(jobs+1)/2))
	if st.ReceiptSeq != jobs {
		t.Errorf("receipt seq %d, want %d", st.ReceiptSeq, jobs)
	}
	CheckMoney(t, l)

	// A signature given with a filled-in receipt is stored as given.
	reserve(t, l, ch, "signed", n(5))
	in := Receipt(ch, "signed", n(5), n(0))
	in.CumulativeCharged = nil
	r, err := l.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: "signed", Cost: n(5), Receipt: in})
	if err != nil || string(r.Signature) != string(fakeSig("signed")) || !eqInt(r.CumulativeCharged, new(big.Int).Add(st.Charged, n(5))) {
		t.Errorf("charge of a filled-in receipt with a signature: %+v, %v", r, err)
	}
}

func testRelease(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	ch := Chan(1)
	reserve(t, l, ch, "a", n(100))
	reserve(t, l, ch, "b", n(30))
	if err := l.Release(ctx, ch, "a", "timeout"); err != nil {
		t.Fatal(err)
	}
	j := job(t, l, ch, "a")
	if j.State != ledger.JobReleased || j.FailCode != "timeout" || !eqInt(j.Cost, n(0)) || j.Receipt != nil {
		t.Errorf("released job: %+v", j)
	}
	st := channel(t, l, ch)
	wantInt(t, "reserved", st.Reserved, n(30))
	wantInt(t, "charged", st.Charged, n(0))

	// Again: a no-op, the first fail code stays.
	if err := l.Release(ctx, ch, "a", "other"); err != nil {
		t.Errorf("second release: %v", err)
	}
	if j := job(t, l, ch, "a"); j.FailCode != "timeout" {
		t.Errorf("fail code after second release %q", j.FailCode)
	}
	wantChannel(t, channel(t, l, ch), st)

	charge(t, l, ch, "b", n(20))
	st = channel(t, l, ch)
	wantErr(t, "release charged", l.Release(ctx, ch, "b", "x"), ledger.ErrJobState)
	wantErr(t, "release unknown", l.Release(ctx, ch, "zzz", "x"), ledger.ErrNotFound)
	wantErr(t, "release empty id", l.Release(ctx, ch, "", "x"), ledger.ErrInvalid)
	wantChannel(t, channel(t, l, ch), st)
	if j := job(t, l, ch, "b"); j.State != ledger.JobCharged {
		t.Errorf("charged job after release attempt: %s", j.State)
	}
}

func testReservedJobsAndJobs(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	reserve(t, l, Chan(1), "x", n(1))
	reserve(t, l, Chan(1), "y", n(2))
	reserve(t, l, Chan(1), "z", n(3))
	reserve(t, l, Chan(2), "x", n(4))
	reserve(t, l, Chan(0), "q", n(5))
	charge(t, l, Chan(1), "y", n(1))
	if err := l.Release(ctx, Chan(1), "z", "f"); err != nil {
		t.Fatal(err)
	}
	js, err := l.ReservedJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range js {
		if j.State != ledger.JobReserved {
			t.Errorf("ReservedJobs has a %s job", j.State)
		}
		got = append(got, fmt.Sprintf("%d/%s", j.ChannelID.Big().Int64()-0xc0ffee00, j.ID))
	}
	slices.Sort(got)
	if want := []string{"0/q", "1/x", "2/x"}; !slices.Equal(got, want) {
		t.Errorf("ReservedJobs = %v, want %v", got, want)
	}

	js, err = l.Jobs(ctx, Chan(1))
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, j := range js {
		if j.ChannelID != Chan(1) {
			t.Errorf("Jobs(1) has a job of %s", j.ChannelID)
		}
		got = append(got, j.ID+":"+j.State.String())
	}
	if want := []string{"x:reserved", "y:charged", "z:released"}; !slices.Equal(got, want) {
		t.Errorf("Jobs = %v, want %v", got, want)
	}
	if js[1].Receipt == nil || js[1].Receipt.Seq != 1 {
		t.Errorf("charged job from Jobs without its receipt: %+v", js[1])
	}
}

func testReceipts(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	for _, c := range []int{1, 2, 0} {
		for i := range 5 {
			id := fmt.Sprint("r", i)
			reserve(t, l, Chan(c), id, n(10))
			charge(t, l, Chan(c), id, n(int64(i+1)))
		}
	}
	seqs := func(rs []ledger.Receipt) []uint64 {
		var s []uint64
		for _, r := range rs {
			if r.ChannelID != Chan(1) {
				t.Errorf("receipt of channel %s", r.ChannelID)
			}
			s = append(s, r.Seq)
		}
		return s
	}
	for _, tt := range []struct {
		from, to uint64
		want     []uint64
	}{
		{1, 5, []uint64{1, 2, 3, 4, 5}},
		{0, 100, []uint64{1, 2, 3, 4, 5}},
		{2, 3, []uint64{2, 3}},
		{4, 4, []uint64{4}},
		{5, 4, nil},
		{6, 9, nil},
		{9, 1, nil},
	} {
		rs, err := l.Receipts(ctx, Chan(1), tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		if got := seqs(rs); !slices.Equal(got, tt.want) {
			t.Errorf("Receipts(%d, %d) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
	rs, _ := l.Receipts(ctx, Chan(1), 1, 5)
	cum := int64(0)
	for i, r := range rs {
		cum += int64(i + 1)
		want := Receipt(Chan(1), fmt.Sprint("r", i), n(int64(i+1)), n(cum))
		want.Seq = uint64(i + 1)
		if !sameReceipt(&r, &want) {
			t.Errorf("receipt %d = %+v, want %+v", i+1, r, want)
		}
	}
	// Receipt of a job not charged.
	reserve(t, l, Chan(1), "open", n(1))
	if _, err := l.Receipt(ctx, Chan(1), "open"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Receipt of reserved job: %v, want ErrNotFound", err)
	}
}

func claim(ch common.Hash, amount int64, from, to uint64) ledger.Claim {
	return ledger.Claim{
		ChannelID: ch, Amount: n(amount), VoucherAmount: n(amount + 100), VoucherSig: fakeSig(fmt.Sprint(amount)),
		ReceiptsRoot: crypto.Keccak256Hash([]byte(fmt.Sprint(from, to))), FromSeq: from, ToSeq: to,
	}
}

func sameBatch(a, b ledger.Batch) bool {
	if a.ID != b.ID || a.Nonce != b.Nonce || a.State != b.State || a.Block != b.Block || a.GasUsed != b.GasUsed ||
		!slices.Equal(a.TxHashes, b.TxHashes) || len(a.Claims) != len(b.Claims) {
		return false
	}
	for i := range a.Claims {
		x, y := a.Claims[i], b.Claims[i]
		if x.ChannelID != y.ChannelID || !eqInt(x.Amount, y.Amount) || !eqInt(x.VoucherAmount, y.VoucherAmount) ||
			string(x.VoucherSig) != string(y.VoucherSig) || x.ReceiptsRoot != y.ReceiptsRoot || x.FromSeq != y.FromSeq || x.ToSeq != y.ToSeq {
			return false
		}
	}
	return true
}

func testBatches(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	b1 := ledger.Batch{Claims: []ledger.Claim{claim(Chan(1), 10, 1, 3), claim(Chan(2), 5, 1, 1)}, Nonce: 7}
	id1, err := l.AddBatch(ctx, b1)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := l.AddBatch(ctx, ledger.Batch{Claims: []ledger.Claim{claim(Chan(1), 20, 4, 6)}, Nonce: 8, State: ledger.BatchMined})
	if err != nil {
		t.Fatal(err)
	}
	id3, err := l.AddBatch(ctx, ledger.Batch{Nonce: 9, State: ledger.BatchFailed})
	if err != nil {
		t.Fatal(err)
	}
	if id1 != 1 || id2 != 2 || id3 != 3 {
		t.Errorf("batch ids %d, %d, %d; want 1, 2, 3", id1, id2, id3)
	}
	b1.ID, b1.State = 1, ledger.BatchPending
	all, err := l.Batches(ctx)
	if err != nil || len(all) != 3 || !sameBatch(all[0], b1) || all[1].ID != 2 || all[2].ID != 3 {
		t.Fatalf("Batches() = %+v, %v", all, err)
	}
	pick := func(states ...ledger.BatchState) []uint64 {
		bs, err := l.Batches(ctx, states...)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint64
		for _, b := range bs {
			ids = append(ids, b.ID)
		}
		return ids
	}
	if got := pick(ledger.BatchPending); !slices.Equal(got, []uint64{1}) {
		t.Errorf("pending = %v", got)
	}
	if got := pick(ledger.BatchPending, ledger.BatchMined); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("pending or mined = %v", got)
	}
	if got := pick(ledger.BatchConfirmed); len(got) != 0 {
		t.Errorf("confirmed = %v", got)
	}

	// Update: a replacement transaction, then mined.
	b1.TxHashes = []common.Hash{{0xaa}, {0xbb}}
	b1.State, b1.Block, b1.GasUsed = ledger.BatchMined, 120, 53_000
	if err := l.UpdateBatch(ctx, b1); err != nil {
		t.Fatal(err)
	}
	if all, _ := l.Batches(ctx); !sameBatch(all[0], b1) {
		t.Errorf("after update: %+v, want %+v", all[0], b1)
	}

	for _, tt := range []struct {
		name string
		err  error
		call func() error
	}{
		{"update unknown", ledger.ErrNotFound, func() error { return l.UpdateBatch(ctx, ledger.Batch{ID: 99, State: ledger.BatchPending}) }},
		{"update to confirmed", ledger.ErrInvalid, func() error { b := b1; b.State = ledger.BatchConfirmed; return l.UpdateBatch(ctx, b) }},
		{"update to zero state", ledger.ErrInvalid, func() error { b := b1; b.State = 0; return l.UpdateBatch(ctx, b) }},
		{"add confirmed", ledger.ErrInvalid, func() error { _, err := l.AddBatch(ctx, ledger.Batch{State: ledger.BatchConfirmed}); return err }},
		{"add bad state", ledger.ErrInvalid, func() error { _, err := l.AddBatch(ctx, ledger.Batch{State: 77}); return err }},
		{"add nil amount", ledger.ErrInvalid, func() error {
			c := claim(Chan(1), 1, 1, 1)
			c.Amount = nil
			_, err := l.AddBatch(ctx, ledger.Batch{Claims: []ledger.Claim{c}})
			return err
		}},
		{"add negative voucher", ledger.ErrInvalid, func() error {
			c := claim(Chan(1), 1, 1, 1)
			c.VoucherAmount = n(-3)
			_, err := l.AddBatch(ctx, ledger.Batch{Claims: []ledger.Claim{c}})
			return err
		}},
		{"confirm unknown", ledger.ErrNotFound, func() error { return l.ConfirmClaims(ctx, 99, 1, 1) }},
	} {
		wantErr(t, tt.name, tt.call(), tt.err)
	}
	if all, _ := l.Batches(ctx); len(all) != 3 || !sameBatch(all[0], b1) {
		t.Errorf("batches changed by failed calls: %+v", all)
	}
	// The next id continues after the failed adds.
	if id, err := l.AddBatch(ctx, ledger.Batch{}); err != nil || id != 4 {
		t.Errorf("AddBatch = %d, %v; want 4", id, err)
	}
}

func testConfirmClaims(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	for _, c := range []int{1, 2} {
		for i := range 6 {
			id := fmt.Sprint("j", i)
			reserve(t, l, Chan(c), id, n(100))
			charge(t, l, Chan(c), id, n(10))
		}
	}
	id1, _ := l.AddBatch(ctx, ledger.Batch{Claims: []ledger.Claim{claim(Chan(1), 30, 1, 3), claim(Chan(2), 20, 1, 2)}})
	id2, _ := l.AddBatch(ctx, ledger.Batch{Claims: []ledger.Claim{claim(Chan(1), 60, 4, 6)}})
	// A batch that claims one channel twice takes the higher claim.
	id3, _ := l.AddBatch(ctx, ledger.Batch{Claims: []ledger.Claim{claim(Chan(2), 50, 3, 5), claim(Chan(2), 40, 3, 4)}})

	if err := l.ConfirmClaims(ctx, id2, 200, 60_000); err != nil {
		t.Fatal(err)
	}
	st := channel(t, l, Chan(1))
	wantInt(t, "claimed", st.Claimed, n(60))
	if st.SettledSeq != 6 {
		t.Errorf("settled seq %d, want 6", st.SettledSeq)
	}
	// Confirming an earlier, lower batch later never lowers them.
	if err := l.ConfirmClaims(ctx, id1, 199, 70_000); err != nil {
		t.Fatal(err)
	}
	st = channel(t, l, Chan(1))
	wantInt(t, "claimed", st.Claimed, n(60))
	if st.SettledSeq != 6 {
		t.Errorf("settled seq %d, want 6", st.SettledSeq)
	}
	st2 := channel(t, l, Chan(2))
	wantInt(t, "claimed 2", st2.Claimed, n(20))
	if st2.SettledSeq != 2 {
		t.Errorf("settled seq 2: %d", st2.SettledSeq)
	}
	// The rest of the money state is untouched.
	wantInt(t, "charged", st.Charged, n(60))
	if st.ReceiptSeq != 6 {
		t.Errorf("receipt seq %d", st.ReceiptSeq)
	}

	if err := l.ConfirmClaims(ctx, id3, 201, 80_000); err != nil {
		t.Fatal(err)
	}
	st2 = channel(t, l, Chan(2))
	wantInt(t, "claimed 2", st2.Claimed, n(50))
	if st2.SettledSeq != 5 {
		t.Errorf("settled seq 2: %d, want 5", st2.SettledSeq)
	}

	bs, err := l.Batches(ctx, ledger.BatchConfirmed)
	if err != nil || len(bs) != 3 {
		t.Fatalf("confirmed batches = %v, %v", bs, err)
	}
	if b := bs[1]; b.ID != id2 || b.Block != 200 || b.GasUsed != 60_000 {
		t.Errorf("confirmed batch %+v", b)
	}
	// Confirming again is harmless; updating a confirmed batch is not allowed.
	if err := l.ConfirmClaims(ctx, id2, 200, 60_000); err != nil {
		t.Errorf("confirm again: %v", err)
	}
	wantChannel(t, channel(t, l, Chan(1)), st)
	b := bs[0]
	b.State = ledger.BatchFailed
	wantErr(t, "update confirmed", l.UpdateBatch(ctx, b), ledger.ErrBatchState)
}

func testMeta(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	if _, err := l.GetMeta(ctx, "cursor"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("missing meta: %v, want ErrNotFound", err)
	}
	get := func(k string) string {
		t.Helper()
		v, err := l.GetMeta(ctx, k)
		if err != nil {
			t.Fatalf("get %q: %v", k, err)
		}
		return string(v)
	}
	if err := l.PutMeta(ctx, "cursor", []byte("100")); err != nil {
		t.Fatal(err)
	}
	if err := l.PutMeta(ctx, "cursor", []byte("101")); err != nil {
		t.Fatal(err)
	}
	if v := get("cursor"); v != "101" {
		t.Errorf("cursor = %q", v)
	}
	if err := l.PutMetas(ctx, map[string][]byte{"cursor": []byte("102"), "snapshot": []byte{0, 1, 2}, "empty": {}}); err != nil {
		t.Fatal(err)
	}
	if get("cursor") != "102" || get("snapshot") != "\x00\x01\x02" {
		t.Errorf("after PutMetas: %q %q", get("cursor"), get("snapshot"))
	}
	if v, err := l.GetMeta(ctx, "empty"); err != nil || v == nil || len(v) != 0 {
		t.Errorf("empty value = %v, %v; want empty, non-nil", v, err)
	}
	// nil deletes.
	if err := l.PutMetas(ctx, map[string][]byte{"snapshot": nil, "cursor": []byte("103")}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.GetMeta(ctx, "snapshot"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("deleted meta: %v", err)
	}
	wantErr(t, "empty key", l.PutMeta(ctx, "", []byte("x")), ledger.ErrInvalid)
	// A bad key fails the whole multi-put.
	wantErr(t, "multi-put with bad key", l.PutMetas(ctx, map[string][]byte{"cursor": []byte("999"), "": []byte("x")}), ledger.ErrInvalid)
	if v := get("cursor"); v != "103" {
		t.Errorf("cursor after failed multi-put = %q", v)
	}
	// Values are copied in and out.
	buf := []byte("abc")
	if err := l.PutMeta(ctx, "k", buf); err != nil {
		t.Fatal(err)
	}
	buf[0] = 'X'
	v, _ := l.GetMeta(ctx, "k")
	v[1] = 'Y'
	if get("k") != "abc" {
		t.Errorf("meta value aliased: %q", get("k"))
	}
	// Meta does not show up as money state.
	if chans, _ := l.Channels(ctx); len(chans) != 0 {
		t.Errorf("channels after meta: %v", chans)
	}
}

func testCopies(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	ch := Chan(1)
	maxCost := n(100)
	sig := fakeSig("v")
	j, err := l.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: ch, ID: "a", MaxCost: maxCost}, Voucher: ledger.Voucher{Amount: n(500), Signature: sig}})
	if err != nil {
		t.Fatal(err)
	}
	maxCost.SetInt64(1)
	sig[0]++
	j.MaxCost.SetInt64(2)
	st := channel(t, l, ch)
	st.Reserved.SetInt64(3)
	st.Voucher.Amount.SetInt64(4)
	st.Voucher.Signature[0]++
	wantChannel(t, channel(t, l, ch), ledger.ChannelState{ID: ch, Charged: n(0), Reserved: n(100), Voucher: ledger.Voucher{Amount: n(500), Signature: fakeSig("v")}, Claimed: n(0)})
	wantInt(t, "max cost", job(t, l, ch, "a").MaxCost, n(100))

	cost := n(40)
	in := Receipt(ch, "a", cost, n(40))
	r, err := l.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: "a", Cost: cost, Receipt: in})
	if err != nil {
		t.Fatal(err)
	}
	cost.SetInt64(1)
	in.Cost.SetInt64(1)
	in.Signature[0]++
	r.CumulativeCharged.SetInt64(7)
	got, _ := l.Receipt(ctx, ch, "a")
	want := Receipt(ch, "a", n(40), n(40))
	want.Seq = 1
	if !sameReceipt(got, &want) {
		t.Errorf("stored receipt aliased: %+v", got)
	}
}

func testCanceledContext(t *testing.T, l ledger.Ledger) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := l.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: Chan(1), ID: "a", MaxCost: n(1)}})
	wantErr(t, "reserve with canceled context", err, context.Canceled)
	if _, err := l.Job(t.Context(), Chan(1), "a"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("a write whose context was done before the call was applied: %v", err)
	}
	wantErr(t, "put meta with canceled context", l.PutMeta(ctx, "k", []byte("v")), context.Canceled)
}

func testClose(t *testing.T, l ledger.Ledger) {
	ctx := t.Context()
	reserve(t, l, Chan(1), "a", n(1))
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := l.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: Chan(1), ID: "b", MaxCost: n(1)}})
	wantErr(t, "reserve after close", err, ledger.ErrClosed)
	wantErr(t, "release after close", l.Release(ctx, Chan(1), "a", ""), ledger.ErrClosed)
	wantErr(t, "put meta after close", l.PutMeta(ctx, "k", nil), ledger.ErrClosed)
	_, err = l.Channel(ctx, Chan(1))
	wantErr(t, "channel after close", err, ledger.ErrClosed)
	_, err = l.Job(ctx, Chan(1), "a")
	wantErr(t, "job after close", err, ledger.ErrClosed)
	wantErr(t, "close again", l.Close(ctx), ledger.ErrClosed)
}

// ------------------------------------------------------------------ money

// CheckMoney checks the ledger's money invariants from its reads alone, to
// the last unit. For every channel: Charged = Σ cost of its charged jobs
// = Σ cost of its receipts = the last receipt's CumulativeCharged, each
// receipt's CumulativeCharged is the running sum, receipts are numbered
// 1..ReceiptSeq without gaps, each charged job's receipt is the one at its
// seq, and Reserved = Σ MaxCost of its reserved jobs. ReservedJobs lists
// exactly the reserved jobs.
func CheckMoney(t testing.TB, l ledger.Ledger) {
	t.Helper()
	ctx := context.Background()
	chans, err := l.Channels(ctx)
	if err != nil {
		t.Fatalf("channels: %v", err)
	}
	reservedCount := 0
	for _, st := range chans {
		jobs, err := l.Jobs(ctx, st.ID)
		if err != nil {
			t.Fatalf("jobs: %v", err)
		}
		rs, err := l.Receipts(ctx, st.ID, 1, st.ReceiptSeq)
		if err != nil {
			t.Fatalf("receipts: %v", err)
		}
		if more, _ := l.Receipts(ctx, st.ID, st.ReceiptSeq+1, st.ReceiptSeq+1000); len(more) != 0 {
			t.Errorf("channel %s: %d receipts past ReceiptSeq %d", st.ID, len(more), st.ReceiptSeq)
		}
		if uint64(len(rs)) != st.ReceiptSeq {
			t.Errorf("channel %s: %d receipts, ReceiptSeq %d", st.ID, len(rs), st.ReceiptSeq)
		}
		sumReceipts := new(big.Int)
		bySeq := make(map[uint64]*ledger.Receipt)
		for i := range rs {
			r := &rs[i]
			if r.Seq != uint64(i+1) {
				t.Errorf("channel %s: receipt %d has seq %d", st.ID, i+1, r.Seq)
			}
			sumReceipts.Add(sumReceipts, r.Cost)
			if !eqInt(r.CumulativeCharged, sumReceipts) {
				t.Errorf("channel %s: receipt %d cumulative %s, running sum %s", st.ID, r.Seq, r.CumulativeCharged, sumReceipts)
			}
			bySeq[r.Seq] = r
		}
		sumCharged, sumReserved := new(big.Int), new(big.Int)
		charged := 0
		for i := range jobs {
			j := &jobs[i]
			switch j.State {
			case ledger.JobCharged:
				charged++
				sumCharged.Add(sumCharged, j.Cost)
				if j.Receipt == nil || !sameReceipt(j.Receipt, bySeq[j.Receipt.Seq]) || !eqInt(j.Receipt.Cost, j.Cost) {
					t.Errorf("channel %s job %q: receipt %+v does not match the channel's", st.ID, j.ID, j.Receipt)
				}
				if j.Cost.Cmp(j.MaxCost) > 0 {
					t.Errorf("channel %s job %q: cost %s above max %s", st.ID, j.ID, j.Cost, j.MaxCost)
				}
			case ledger.JobReserved:
				reservedCount++
				sumReserved.Add(sumReserved, j.MaxCost)
				fallthrough
			default:
				if j.Receipt != nil || j.Cost.Sign() != 0 {
					t.Errorf("channel %s job %q is %s with cost %s and receipt %v", st.ID, j.ID, j.State, j.Cost, j.Receipt)
				}
			}
		}
		if uint64(charged) != st.ReceiptSeq {
			t.Errorf("channel %s: %d charged jobs, %d receipts", st.ID, charged, st.ReceiptSeq)
		}
		wantInt(t, fmt.Sprintf("channel %s: Σ cost of charged jobs", st.ID), sumCharged, st.Charged)
		wantInt(t, fmt.Sprintf("channel %s: Σ receipt costs", st.ID), sumReceipts, st.Charged)
		if len(rs) > 0 {
			wantInt(t, fmt.Sprintf("channel %s: last cumulative", st.ID), rs[len(rs)-1].CumulativeCharged, st.Charged)
		}
		wantInt(t, fmt.Sprintf("channel %s: Σ max cost of reserved jobs", st.ID), sumReserved, st.Reserved)
	}
	rj, err := l.ReservedJobs(ctx)
	if err != nil {
		t.Fatalf("reserved jobs: %v", err)
	}
	if len(rj) != reservedCount {
		t.Errorf("ReservedJobs lists %d jobs, channels hold %d reserved", len(rj), reservedCount)
	}
}

// MoneySumsConfig shapes MoneySums; zero fields take the defaults.
type MoneySumsConfig struct {
	Goroutines int // 32
	Ops        int // operations per goroutine, 2000 (200 with -short)
	Channels   int // 20
}

// MoneySums hammers l with random concurrent reserves, charges and
// releases, wrong ones included, then checks CheckMoney and that every
// channel holds exactly the sum of the charges that succeeded. Half the
// channels charge with complete receipts, under a per-channel lock as a
// caller must to know the running total; the other half with Sign.
func MoneySums(t *testing.T, l ledger.Ledger, cfg MoneySumsConfig) {
	if cfg.Goroutines == 0 {
		cfg.Goroutines = 32
	}
	if cfg.Ops == 0 {
		cfg.Ops = 2000
		if testing.Short() {
			cfg.Ops = 200
		}
	}
	if cfg.Channels == 0 {
		cfg.Channels = 20
	}
	ctx := t.Context()
	locks := make([]sync.Mutex, cfg.Channels)
	// What succeeded, per channel, as the callers saw it.
	var mu sync.Mutex
	chargedSum := make([]*big.Int, cfg.Channels)
	for i := range chargedSum {
		chargedSum[i] = new(big.Int)
	}
	unit := new(big.Int).Exp(n(10), n(20), nil) // amounts past 64 bits

	type pending struct {
		ch      int
		id      string
		maxCost *big.Int
	}
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Goroutines)
	for g := range cfg.Goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			var open []pending
			var done []pending // charged or released
			fail := func(format string, args ...any) {
				errs <- fmt.Errorf("goroutine %d: "+format, append([]any{g}, args...)...)
			}
			for i := range cfg.Ops {
				switch k := rng.IntN(100); {
				case k < 45 || len(open) == 0:
					c := rng.IntN(cfg.Channels)
					p := pending{ch: c, id: fmt.Sprintf("g%d-%d", g, i), maxCost: new(big.Int).Mul(unit, n(int64(1+rng.IntN(1000))))}
					p.maxCost.Add(p.maxCost, n(int64(rng.IntN(1000))))
					_, err := l.Reserve(ctx, ledger.ReserveOp{
						Job:     ledger.Job{ChannelID: Chan(c), ID: p.id, MaxCost: p.maxCost},
						Voucher: ledger.Voucher{Amount: new(big.Int).Mul(unit, n(int64(rng.IntN(1_000_000)))), Signature: fakeSig(p.id)},
					})
					if err != nil {
						fail("reserve: %v", err)
						return
					}
					open = append(open, p)
				case k < 50 && len(done) > 0:
					// Wrong on purpose: reserve, charge or release a finished job.
					p := done[rng.IntN(len(done))]
					var err, want error
					switch rng.IntN(3) {
					case 0:
						_, err = l.Reserve(ctx, ledger.ReserveOp{Job: ledger.Job{ChannelID: Chan(p.ch), ID: p.id, MaxCost: n(1)}})
						want = ledger.ErrJobExists
					case 1:
						_, err = l.Charge(ctx, ledger.ChargeOp{ChannelID: Chan(p.ch), JobID: p.id, Cost: n(0), Receipt: Receipt(Chan(p.ch), p.id, n(0), n(0))})
						want = ledger.ErrJobState
					default:
						err = l.Release(ctx, Chan(p.ch), p.id, "again")
						j, jerr := l.Job(ctx, Chan(p.ch), p.id)
						if jerr != nil {
							fail("job: %v", jerr)
							return
						}
						if j.State == ledger.JobCharged {
							want = ledger.ErrJobState
						}
					}
					if !errors.Is(err, want) && !(want == nil && err == nil) {
						fail("wrong op on %s: err %v, want %v", p.id, err, want)
						return
					}
				case k < 85:
					idx := rng.IntN(len(open))
					p := open[idx]
					open = slices.Delete(open, idx, idx+1)
					cost := new(big.Int).Mul(p.maxCost, n(rng.Int64N(1001)))
					cost.Div(cost, n(1000))
					if rng.IntN(10) == 0 {
						cost.Add(p.maxCost, n(1)) // above max: refused
					}
					over := cost.Cmp(p.maxCost) > 0
					var err error
					if p.ch%2 == 0 {
						locks[p.ch].Lock()
						var st ledger.ChannelState
						st, err = l.Channel(ctx, Chan(p.ch))
						if err == nil {
							cum := new(big.Int).Add(st.Charged, cost)
							_, err = l.Charge(ctx, ledger.ChargeOp{ChannelID: Chan(p.ch), JobID: p.id, Cost: cost, Receipt: Receipt(Chan(p.ch), p.id, cost, cum)})
						}
						locks[p.ch].Unlock()
					} else {
						in := Receipt(Chan(p.ch), p.id, cost, cost)
						in.CumulativeCharged = nil
						_, err = l.Charge(ctx, ledger.ChargeOp{ChannelID: Chan(p.ch), JobID: p.id, Cost: cost, Receipt: in})
					}
					switch {
					case over && !errors.Is(err, ledger.ErrInvalid):
						fail("charge above max cost: %v", err)
						return
					case over:
						open = append(open, p) // still reserved
					case err != nil:
						fail("charge %s: %v", p.id, err)
						return
					default:
						mu.Lock()
						chargedSum[p.ch].Add(chargedSum[p.ch], cost)
						mu.Unlock()
						done = append(done, p)
					}
				default:
					idx := rng.IntN(len(open))
					p := open[idx]
					open = slices.Delete(open, idx, idx+1)
					if err := l.Release(ctx, Chan(p.ch), p.id, "failed"); err != nil {
						fail("release %s: %v", p.id, err)
						return
					}
					done = append(done, p)
				}
			}
			// Midway check of the reserved total is racy; leave the open
			// jobs for the end.
			for _, p := range open {
				if err := l.Release(ctx, Chan(p.ch), p.id, "end"); err != nil {
					fail("release %s: %v", p.id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	CheckMoney(t, l)
	for c := range cfg.Channels {
		st := channel(t, l, Chan(c))
		wantInt(t, fmt.Sprintf("channel %d charged", c), st.Charged, chargedSum[c])
		wantInt(t, fmt.Sprintf("channel %d reserved", c), st.Reserved, n(0))
	}
	if js, err := l.ReservedJobs(ctx); err != nil || len(js) != 0 {
		t.Errorf("ReservedJobs at the end: %d, %v", len(js), err)
	}
}
