package agent

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

// The SDK's part of the receipt checks, on the book alone: the evidence
// it keeps (the receipt that failed, with its job id) and the bound on
// gaps with the vouchers it signs (docs/protocol.md, "Receipts above a
// gap"). The checks themselves, and the batch rule, are
// wire.ReceiptBook's, tested in node/wire.

var (
	forgerKey, _ = crypto.HexToECDSA("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")
	batchMaxCost = fuzzPrice.Cost(40, 64)
	// genuineChain is a channel's first 64 results, as the provider signed
	// them.
	genuineChain = sync.OnceValue(func() []*wire.Result {
		out := make([]*wire.Result, 64)
		before := new(big.Int)
		for i := range out {
			out[i] = signedResult(nil, fmt.Sprintf("job-%d", i+1), fmt.Sprintf("output %d", i+1), uint64(10+i%7), uint64(5+i%11), before, uint64(i+1))
			before = out[i].Receipt.CumulativeCharged.Big()
		}
		return out
	})
)

// chainOf returns the first n genuine results, copied so that they may be
// changed.
func chainOf(n int) []*wire.Result {
	out := make([]*wire.Result, n)
	for i, r := range genuineChain()[:n] {
		c := *r
		c.Receipt.Signature = append(wire.Signature(nil), r.Receipt.Signature...)
		out[i] = &c
	}
	return out
}

// forge signs r's receipt, after change, with a key that is not the
// provider's.
func forge(r *wire.Result, change func(*contracts.Receipt)) {
	rc := r.Receipt.EIP712()
	if change != nil {
		change(rc)
	}
	digest, err := fuzzDomain.ReceiptDigest(rc)
	if err != nil {
		panic(err)
	}
	sig, err := contracts.Sign(digest, forgerKey)
	if err != nil {
		panic(err)
	}
	r.Receipt = wire.NewReceipt(rc, r.Receipt.Seq, sig)
	r.Cost = wire.NewAmount(rc.Cost)
	r.Usage = wire.Usage{InputTokens: rc.InputTokens, OutputTokens: rc.OutputTokens}
}

// jump has the provider sign r's receipt again with add more in its
// cumulative_charged: a charge for receipts the agent does not hold.
func jump(r *wire.Result, add *big.Int) *wire.Result {
	rc := r.Receipt.EIP712()
	rc.CumulativeCharged.Add(rc.CumulativeCharged, add)
	return resign(nil, rc, r.ID, r.Output, r.Receipt.Seq)
}

// lowerCost takes one from a receipt's cost and cumulative_charged: a
// forged receipt that misstates the running total.
func lowerCost(rc *contracts.Receipt) {
	rc.Cost.Sub(rc.Cost, big.NewInt(1))
	rc.CumulativeCharged.Sub(rc.CumulativeCharged, big.NewInt(1))
}

func total(rs []*wire.Result) *big.Int {
	return rs[len(rs)-1].Receipt.CumulativeCharged.Big()
}

// sumCosts is the sum of the costs of rs.
func sumCosts(rs ...*wire.Result) *big.Int {
	sum := new(big.Int)
	for _, r := range rs {
		sum.Add(sum, r.Receipt.Cost.Big())
	}
	return sum
}

// times is n × x.
func times(n int, x *big.Int) *big.Int { return new(big.Int).Mul(big.NewInt(int64(n)), x) }

// sum adds xs.
func sum(xs ...*big.Int) *big.Int {
	s := new(big.Int)
	for _, x := range xs {
		s.Add(s, x)
	}
	return s
}

// nextVoucher is the voucher b would sign for one more job of max cost
// batchMaxCost, which it then forgets.
func nextVoucher(t testing.TB, b *book) *big.Int {
	t.Helper()
	v, err := b.reserve("next", batchMaxCost)
	if err != nil {
		t.Fatal(err)
	}
	b.release("next")
	return v
}

// send puts the jobs of rs in flight at batchMaxCost, as their submits
// would.
func send(t testing.TB, b *book, rs ...*wire.Result) {
	t.Helper()
	for _, r := range rs {
		if _, err := b.reserve(r.ID, batchMaxCost); err != nil {
			t.Fatal(err)
		}
	}
}

// A forged receipt that misstates the running total is caught when its
// neighbour comes, and kept as evidence with its job id.
func TestBatchForgedTotal(t *testing.T) {
	rs := chainOf(30)
	forge(rs[12], lowerCost) // seq 13
	b := testBook(8, nil)
	for i, r := range rs {
		send(t, b, r)
		err := check(b, batchMaxCost, r)
		if i < 13 {
			if err != nil {
				t.Fatalf("seq %d: %v", i+1, err)
			}
			continue
		}
		var re *receiptError
		if !errors.As(err, &re) || re.r.Seq != 13 || re.jobID != "job-13" || !strings.Contains(err.Error(), "not by the provider") {
			t.Fatalf("seq %d: %v, want the forged seq 13 named", i+1, err)
		}
		break
	}
	if b.badErr() == nil {
		t.Fatal("the provider is still trusted")
	}
	if _, err := b.reserve("next", batchMaxCost); err == nil {
		t.Fatal("an untrusted provider gets another voucher")
	}
}

// A forged receipt found when the agent goes idle: the last one, with its
// job id; the book proves no more.
func TestBatchForgedLast(t *testing.T) {
	rs := chainOf(5)
	forge(rs[4], nil)
	b := testBook(8, nil)
	for _, r := range rs {
		send(t, b, r)
		if err := check(b, batchMaxCost, r); err != nil {
			t.Fatal(err)
		}
	}
	var re *receiptError
	if err := b.prove(false); !errors.As(err, &re) || re.r.Seq != 5 || re.jobID != "job-5" {
		t.Fatalf("prove: %v", err)
	}
	if err := b.prove(false); err != nil || b.badErr() == nil {
		t.Fatalf("proved again: %v; untrusted: %v", err, b.badErr())
	}
}

// A jump above a gap: jobs 1–4 are pipelined on one connection; results
// 1 and 2 come, then job 4's, whose cumulative_charged says seq 3 cost
// more than job 3, still in flight, may cost. One wei over is refused,
// its receipt kept as evidence, and nothing more is signed; exactly at
// the bound it is taken, and the next voucher is what it would have been
// with the genuine receipt: the jump does not raise it by one wei.
func TestGapForgedJumpRefused(t *testing.T) {
	rs := chainOf(4)
	// Job 3's max cost explains the gap up to that: seq 3's own cost
	// and bound more.
	bound := new(big.Int).Sub(batchMaxCost, rs[2].Receipt.Cost.Big())
	for name, over := range map[string]int64{"one wei over": 1, "at the bound": 0} {
		t.Run(name, func(t *testing.T) {
			b := testBook(0, nil)
			send(t, b, rs...)
			for _, r := range rs[:2] {
				if err := check(b, batchMaxCost, r); err != nil {
					t.Fatal(err)
				}
			}
			// Before: seqs 1 and 2 held, jobs 3 and 4 in flight.
			before := b.account().Committed
			if want := sum(sumCosts(rs[:2]...), times(2, batchMaxCost)); before.Cmp(want) != 0 {
				t.Fatalf("committed %s, want %s", before, want)
			}
			forged := jump(rs[3], new(big.Int).Add(bound, big.NewInt(over)))
			err := check(b, batchMaxCost, forged)
			if over > 0 {
				var re *receiptError
				if !errors.As(err, &re) || re.r.Seq != 4 || re.jobID != "job-4" || !strings.Contains(err.Error(), "receipts not held") {
					t.Fatalf("a jump one wei over the bound: %v", err)
				}
				if _, err := b.reserve("next", batchMaxCost); err == nil {
					t.Fatal("a voucher signed after the jump")
				}
				a := b.account()
				if a.Committed.Cmp(before) != 0 || a.Charged.Cmp(rs[1].Receipt.CumulativeCharged.Big()) != 0 || a.Untrusted == nil {
					t.Fatalf("after the refusal: %+v; committed was %s", a, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("a jump at the bound: %v", err)
			}
			// Job 3 is in flight: its max cost explains the gap, forged
			// part included. The voucher builds on the costs held.
			want := sum(sumCosts(rs[0], rs[1], rs[3]), batchMaxCost, batchMaxCost)
			if v := nextVoucher(t, b); v.Cmp(want) != 0 {
				t.Fatalf("next voucher %s, want %s: the costs of seqs 1, 2, 4 + job 3's and the next job's max cost", v, want)
			}
			a := b.account()
			if a.Charged.Cmp(sum(total(rs), bound)) != 0 || a.ReceiptCosts.Cmp(sumCosts(rs[0], rs[1], rs[3])) != 0 {
				t.Fatalf("%+v", a)
			}
			// Seq 3 comes: it does not lead to the jump.
			if err := check(b, batchMaxCost, rs[2]); err == nil {
				t.Fatal("the receipt below the jump taken")
			}
		})
	}
}

// One connection's pipelined jobs end out of order: every receipt is
// taken, and after each the next voucher is the costs held plus the max
// cost of every job in flight, to the wei; it always covers what the
// node needs (all eight were charged, since the highest seq came first).
func TestGapOutOfOrderOneConnection(t *testing.T) {
	rs := chainOf(8)
	b := testBook(0, nil)
	send(t, b, rs...)
	held := []*wire.Result{}
	for k, i := range []int{7, 2, 0, 6, 1, 5, 3, 4} {
		if err := check(b, batchMaxCost, rs[i]); err != nil {
			t.Fatalf("seq %d: %v", i+1, err)
		}
		held = append(held, rs[i])
		inFlight := 8 - (k + 1)
		want := sum(sumCosts(held...), times(inFlight+1, batchMaxCost))
		v := nextVoucher(t, b)
		if v.Cmp(want) != 0 {
			t.Fatalf("after seq %d: voucher %s, want %s", i+1, v, want)
		}
		if need := sum(total(rs), batchMaxCost); v.Cmp(need) < 0 {
			t.Fatalf("after seq %d: voucher %s below what the node needs, %s", i+1, v, need)
		}
	}
	a := b.account()
	if a.Charged.Cmp(total(rs)) != 0 || a.ReceiptCosts.Cmp(total(rs)) != 0 || a.Committed.Cmp(total(rs)) != 0 || a.Gaps != 0 || a.Jobs != 0 {
		t.Fatalf("%+v; want %s charged, committed", a, total(rs))
	}
}

// A channel shared with another client: seq 3 is its job. Without a
// SharedChargeCap the gap is refused; with one it is taken up to the cap
// to the wei, and the vouchers build on at most the cap of it.
func TestGapSharedChargeCap(t *testing.T) {
	rs := chainOf(4)
	theirs := rs[2].Receipt.Cost.Big()
	for name, tc := range map[string]struct {
		shared *big.Int
		ok     bool
	}{
		"not shared":        {nil, false},
		"the cap one short": {new(big.Int).Sub(theirs, big.NewInt(1)), false},
		"the cap, exactly":  {theirs, true},
		"more than the cap": {new(big.Int).Mul(theirs, big.NewInt(3)), true},
	} {
		t.Run(name, func(t *testing.T) {
			provider := crypto.PubkeyToAddress(fuzzProvider.PublicKey)
			b := newBook(fuzzChannel, 0, nil, tc.shared, func(r *wire.Receipt) error { return r.Verify(fuzzDomain, provider) })
			mine := []*wire.Result{rs[0], rs[1], rs[3]}
			send(t, b, mine...)
			for _, r := range mine[:2] {
				if err := check(b, batchMaxCost, r); err != nil {
					t.Fatal(err)
				}
			}
			err := check(b, batchMaxCost, rs[3])
			if !tc.ok {
				if err == nil {
					t.Fatal("another client's charge taken beyond the cap")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := sum(sumCosts(mine...), theirs, batchMaxCost)
			if v := nextVoucher(t, b); v.Cmp(want) != 0 {
				t.Fatalf("next voucher %s, want %s", v, want)
			}
		})
	}
}

// Receipts read back from the store with a gap (the process that held
// the job filling it is gone) are taken, and their gap credited: the next
// voucher covers the highest cumulative_charged. What comes after is
// bounded as ever.
func TestGapReloadCredit(t *testing.T) {
	rs := chainOf(6)
	b := testBook(0, nil)
	for _, r := range []*wire.Result{rs[0], rs[1], rs[3]} { // seq 3 lost
		if _, err := b.load(&r.Receipt, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	b.loaded()
	if v, want := nextVoucher(t, b), sum(rs[3].Receipt.CumulativeCharged.Big(), batchMaxCost); v.Cmp(want) != 0 {
		t.Fatalf("voucher after reload %s, want %s", v, want)
	}
	send(t, b, rs[5])
	// Job 6 is charged as seq 6: seq 5 belongs to no job of this
	// process, and the credit is spent on seq 3.
	if err := check(b, batchMaxCost, rs[5]); err == nil || !strings.Contains(err.Error(), "receipts not held") {
		t.Fatalf("a new gap after reload: %v", err)
	}
}

// FuzzGapVouchers runs one connection's pipelined jobs through a book:
// up to window jobs in flight, each charged (given its seq) when it is
// sent, their results taken in a fuzzed order. One receipt may carry the
// provider's jump of jump wei (it and those after it); the book may have
// a SharedChargeCap. It holds that the voucher the book would sign next
// is, after every step, the costs of the receipts taken plus the max
// cost of the jobs in flight and of the next, plus at most the cap of the
// gaps, to the wei; that in an honest run it covers what the node needs
// and nothing is refused; and that a jump is refused by the end, kept
// with the job id of its receipt.
func FuzzGapVouchers(f *testing.F) {
	f.Add(uint8(4), uint64(1), uint8(0), uint64(0), uint64(0))
	f.Add(uint8(8), uint64(2), uint8(5), uint64(1), uint64(0))
	f.Add(uint8(1), uint64(3), uint8(3), uint64(1_000_000), uint64(500))
	f.Add(uint8(16), uint64(4), uint8(20), uint64(5000), uint64(1<<20))
	f.Add(uint8(3), uint64(9), uint8(0), uint64(1<<60), uint64(0))
	f.Fuzz(func(t *testing.T, window uint8, seed uint64, at uint8, jumpBy, shared uint64) {
		const size = 24
		rs := chainOf(size)
		jumpAt := -1
		if jumpBy > 0 {
			jumpAt = 1 + int(at)%(size-1)
			for i := jumpAt; i < size; i++ {
				rs[i] = jump(rs[i], new(big.Int).SetUint64(jumpBy))
			}
		}
		capCost := new(big.Int).SetUint64(shared)
		provider := crypto.PubkeyToAddress(fuzzProvider.PublicKey)
		b := newBook(fuzzChannel, 0, nil, capCost, func(r *wire.Receipt) error { return r.Verify(fuzzDomain, provider) })
		rng := rand.New(rand.NewPCG(seed, uint64(window)))
		w := 1 + int(window)%16
		var inFlight []int
		taken := new(big.Int) // Σ cost of the receipts taken
		next := 0
		for len(inFlight) > 0 || next < size {
			for next < size && (len(inFlight) < w && rng.IntN(3) > 0 || len(inFlight) == 0) {
				send(t, b, rs[next])
				inFlight = append(inFlight, next)
				next++
			}
			k := rng.IntN(len(inFlight))
			i := inFlight[k]
			inFlight = append(inFlight[:k], inFlight[k+1:]...)
			if err := check(b, batchMaxCost, rs[i]); err != nil {
				if jumpAt < 0 {
					t.Fatalf("an honest run refused: %v", err)
				}
				var re *receiptError
				if !errors.As(err, &re) || wire.JobKey(re.jobID) != re.r.JobID || int(re.r.Seq) < jumpAt {
					t.Fatalf("a jump at seq %d: %v kept as evidence", jumpAt+1, err)
				}
				return
			}
			taken.Add(taken, rs[i].Receipt.Cost.Big())
			v := nextVoucher(t, b)
			tight := sum(taken, times(len(inFlight)+1, batchMaxCost))
			if extra := new(big.Int).Sub(v, tight); extra.Sign() < 0 || extra.Cmp(capCost) > 0 {
				t.Fatalf("after seq %d: voucher %s, %s above the costs taken and the max costs in flight; the cap is %s", i+1, v, extra, capCost)
			}
			if jumpAt < 0 {
				// The node charged every job sent: the last one's total.
				if need := sum(genuineChain()[next-1].Receipt.CumulativeCharged.Big(), batchMaxCost); v.Cmp(need) < 0 {
					t.Fatalf("after seq %d: voucher %s below the node's need %s", i+1, v, need)
				}
			}
		}
		if jumpAt >= 0 {
			t.Fatalf("a jump of %d at seq %d taken", jumpBy, jumpAt+1)
		}
		if a := b.account(); a.Charged.Cmp(total(rs)) != 0 || a.ReceiptCosts.Cmp(total(rs)) != 0 || a.Committed.Cmp(total(rs)) != 0 {
			t.Fatalf("%+v; the provider charged %s", a, total(rs))
		}
	})
}
