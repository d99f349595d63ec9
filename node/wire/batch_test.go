package wire

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/paynode/paynode/contracts"
)

// The receipt checks of docs/protocol.md on a ReceiptBook alone: each
// receipt against its neighbours, the batch rule ("Verifying receipts in
// batches") and the bound on gaps ("Receipts above a gap").

var (
	forgerKey     = mustKey("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")
	batchPrice, _ = contracts.ParsePrice("1000", "2000000", "8000000")
	batchMaxCost  = batchPrice.Cost(40, 64)
	// genuineChain is a channel's first 64 results, as the provider signed
	// them.
	genuineChain = sync.OnceValue(func() []*Result {
		out := make([]*Result, 64)
		before := new(big.Int)
		for i := range out {
			id, output := fmt.Sprintf("job-%d", i+1), fmt.Sprintf("output %d", i+1)
			in, toks := uint64(10+i%7), uint64(5+i%11)
			cost := batchPrice.Cost(in, toks)
			rc := &contracts.Receipt{ChannelID: channelID, JobID: JobKey(id), Cost: cost,
				CumulativeCharged: new(big.Int).Add(before, cost), InputTokens: in, OutputTokens: toks, ResultHash: ResultHash(output)}
			out[i] = &Result{ID: id, Output: output}
			signAs(out[i], rc, uint64(i+1), providerKey)
			before = rc.CumulativeCharged
		}
		return out
	})
)

// signAs makes rc, signed by key, r's receipt seq, and r's cost and usage
// its.
func signAs(r *Result, rc *contracts.Receipt, seq uint64, key *ecdsa.PrivateKey) {
	digest, err := domain.ReceiptDigest(rc)
	if err != nil {
		panic(err)
	}
	sig, err := contracts.Sign(digest, key)
	if err != nil {
		panic(err)
	}
	r.Receipt = NewReceipt(rc, seq, sig)
	r.Cost = NewAmount(rc.Cost)
	r.Usage = Usage{InputTokens: rc.InputTokens, OutputTokens: rc.OutputTokens}
}

// chainOf returns the first n genuine results, copied so that they may be
// changed.
func chainOf(n int) []*Result {
	out := make([]*Result, n)
	for i, r := range genuineChain()[:n] {
		c := *r
		c.Receipt.Signature = append(Signature(nil), r.Receipt.Signature...)
		out[i] = &c
	}
	return out
}

// forge signs r's receipt, after change, with a key that is not the
// provider's.
func forge(r *Result, change func(*contracts.Receipt)) {
	rc := r.Receipt.EIP712()
	if change != nil {
		change(rc)
	}
	signAs(r, rc, r.Receipt.Seq, forgerKey)
}

// resignBy the provider: a receipt that is the provider's own, after
// change.
func resignBy(r *Result, change func(*contracts.Receipt)) {
	rc := r.Receipt.EIP712()
	change(rc)
	signAs(r, rc, r.Receipt.Seq, providerKey)
}

// lowerCum takes one from a receipt's cumulative_charged: a receipt that
// does not follow the one before it.
func lowerCum(rc *contracts.Receipt) { rc.CumulativeCharged.Sub(rc.CumulativeCharged, big.NewInt(1)) }

// lowerCost takes one from a receipt's cost and cumulative_charged: a
// receipt that misstates the running total.
func lowerCost(rc *contracts.Receipt) {
	rc.Cost.Sub(rc.Cost, big.NewInt(1))
	rc.CumulativeCharged.Sub(rc.CumulativeCharged, big.NewInt(1))
}

func testReceiptBook(every int, capCost *big.Int) *ReceiptBook {
	return NewReceiptBook(channelID, every, capCost, func(r *Receipt) error { return r.Verify(domain, providerAdr) })
}

// take has b take r as an agent does: the result's own checks first (for
// a job of max cost batchMaxCost), then the book's, under gapAllowance.
func take(b *ReceiptBook, r *Result, gapAllowance *big.Int) error {
	if err := r.Check(channelID); err != nil {
		return &ReceiptError{&r.Receipt, err}
	}
	if c := r.Receipt.Cost.Big(); c.Cmp(batchMaxCost) > 0 || c.Cmp(batchPrice.Cost(r.Receipt.InputTokens, r.Receipt.OutputTokens)) > 0 {
		return &ReceiptError{&r.Receipt, fmt.Errorf("cost %s above the max cost or the price", c)}
	}
	_, _, err := b.Take(&r.Receipt, batchMaxCost, gapAllowance, false)
	return err
}

// holdsBounds fails unless b holds fewer than every receipts no verified
// receipt covers and charged exceeds what verified receipts prove by no
// more than limit.
func holdsBounds(t testing.TB, b *ReceiptBook, every int, limit *big.Int) {
	t.Helper()
	f := b.Figures()
	if f.Uncovered >= max(every, 1) {
		t.Fatalf("%d receipts held uncovered (%v); the rule allows %d", f.Uncovered, b.open, every-1)
	}
	if over := new(big.Int).Sub(f.Charged, f.Proven); limit != nil && over.Cmp(limit) > 0 {
		t.Fatalf("charged %s rests %s on unverified receipts; the cap is %s", f.Charged, over, limit)
	}
}

// feed has b take every result of rs, with no bound on gaps, and fails on
// the first refused; it holds the bounds after each.
func feed(t testing.TB, b *ReceiptBook, every int, limit *big.Int, rs ...*Result) {
	t.Helper()
	for _, r := range rs {
		if err := take(b, r, nil); err != nil {
			t.Fatalf("seq %d: %v", r.Receipt.Seq, err)
		}
		holdsBounds(t, b, every, limit)
	}
}

func total(rs []*Result) *big.Int {
	return rs[len(rs)-1].Receipt.CumulativeCharged.Big()
}

// blamed returns the seq of the receipt err keeps as evidence.
func blamed(t testing.TB, err error) uint64 {
	t.Helper()
	var re *ReceiptError
	if !errors.As(err, &re) {
		t.Fatalf("%v: names no receipt", err)
	}
	return re.Receipt.Seq
}

// Each receipt is checked against its neighbours held, whatever the order
// it comes in; a replay is a duplicate, not a new charge.
func TestReceiptBookNeighbours(t *testing.T) {
	rs := chainOf(5)
	b := testReceiptBook(0, nil)
	for _, i := range []int{2, 0, 4, 1, 3} {
		if err := take(b, rs[i], nil); err != nil {
			t.Fatalf("seq %d: %v", i+1, err)
		}
	}
	if dup, verified, err := b.Take(&rs[2].Receipt, nil, nil, false); !dup || !verified || err != nil {
		t.Fatalf("a replay: dup %v verified %v, %v", dup, verified, err)
	}
	f := b.Figures()
	if f.Charged.Cmp(total(rs)) != 0 || f.Costs.Cmp(total(rs)) != 0 || f.Held != 5 || f.Verified != 5 || f.LastSeq != 5 {
		t.Fatalf("%+v; want charged %s", f, total(rs))
	}

	genuine := chainOf(6)
	for name, tc := range map[string]struct {
		held   []int // the genuine receipts held first, by index
		bad    func(rs []*Result) *Result
		reason string
	}{
		"seq 0": {nil, func(rs []*Result) *Result { rs[0].Receipt.Seq = 0; return rs[0] }, "seq 0"},
		"seq 1 with more": {nil, func(rs []*Result) *Result {
			resignBy(rs[0], func(rc *contracts.Receipt) { rc.CumulativeCharged.Add(rc.CumulativeCharged, big.NewInt(1)) })
			return rs[0]
		}, "is not its cost"},
		"another channel": {nil, func(rs []*Result) *Result {
			resignBy(rs[0], func(rc *contracts.Receipt) { rc.ChannelID[0] ^= 1 })
			return rs[0]
		}, "for channel"},
		"a second seq 2": {[]int{0, 1}, func(rs []*Result) *Result { resignBy(rs[1], lowerCost); return rs[1] }, "two different receipts"},
		"a job twice": {[]int{0}, func(rs []*Result) *Result {
			rs[1].Receipt.JobID = rs[0].Receipt.JobID
			resignBy(rs[1], func(*contracts.Receipt) {})
			return rs[1]
		}, "charged twice"},
		"below seq 1": {[]int{0}, func(rs []*Result) *Result { resignBy(rs[1], lowerCum); return rs[1] }, "the cumulative of seq 1"},
		"below seq 2, across a gap": {[]int{0, 1}, func(rs []*Result) *Result {
			resignBy(rs[4], func(rc *contracts.Receipt) { rc.CumulativeCharged.Set(rs[1].Receipt.CumulativeCharged.Big()) })
			return rs[4]
		}, "below"},
		"not leading to seq 4": {[]int{3}, func(rs []*Result) *Result { resignBy(rs[2], lowerCost); return rs[2] }, "says"},
		"above seq 6, across a gap": {[]int{5}, func(rs []*Result) *Result {
			resignBy(rs[2], func(rc *contracts.Receipt) { rc.CumulativeCharged.Set(rs[5].Receipt.CumulativeCharged.Big()) })
			return rs[2]
		}, "above what the later seq 6"},
	} {
		t.Run(name, func(t *testing.T) {
			rs := chainOf(len(genuine))
			b := testReceiptBook(0, nil)
			for _, i := range tc.held {
				if err := take(b, rs[i], nil); err != nil {
					t.Fatal(err)
				}
			}
			bad := tc.bad(chainOf(len(genuine)))
			_, _, err := b.Take(&bad.Receipt, nil, nil, false)
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("%v; want %q", err, tc.reason)
			}
			if blamed(t, err) != bad.Receipt.Seq || b.Err() == nil {
				t.Fatalf("%v: blamed seq %d; book failed: %v", err, blamed(t, err), b.Err())
			}
			// A book that failed takes nothing more.
			if _, _, err := b.Take(&rs[len(rs)-1].Receipt, nil, nil, false); err == nil {
				t.Fatal("a failed book takes a receipt")
			}
		})
	}
}

// In seq order, the rule verifies exactly one receipt in every N, and
// charged is the provider's total to the wei.
func TestBatchInOrder(t *testing.T) {
	for _, n := range []int{2, 8, 64} {
		b := testReceiptBook(n, nil)
		rs := chainOf(64)
		feed(t, b, n, new(big.Int).Mul(batchMaxCost, big.NewInt(int64(n))), rs...)
		if err := b.Prove(); err != nil {
			t.Fatal(err)
		}
		f := b.Figures()
		if f.Charged.Cmp(total(rs)) != 0 || f.Costs.Cmp(total(rs)) != 0 || f.Proven.Cmp(total(rs)) != 0 || f.Held != 64 || f.Verified != 64/n {
			t.Fatalf("every %d: %+v; want charged %s and %d signatures verified", n, f, total(rs), 64/n)
		}
	}
	// The default verifies each.
	b := testReceiptBook(0, nil)
	feed(t, b, 0, nil, chainOf(10)...)
	if f := b.Figures(); f.Verified != 10 {
		t.Fatalf("default: %d of 10 verified", f.Verified)
	}
}

// The cost cap verifies sooner than the count.
func TestBatchCostCap(t *testing.T) {
	rs := chainOf(30)
	limit := new(big.Int).Mul(rs[0].Receipt.Cost.Big(), big.NewInt(3))
	b := testReceiptBook(64, limit)
	feed(t, b, 64, limit, rs...)
	if v := b.Figures().Verified; v < 30/4 || v > 30/2 {
		t.Fatalf("%d of 30 verified under a cap of about three receipts' cost", v)
	}
}

// Receipts out of order and a gap that never fills: the bounds hold, and
// Prove leaves nothing uncovered.
func TestBatchGapNeverFilled(t *testing.T) {
	rs := chainOf(40)
	b := testReceiptBook(6, nil)
	limit := new(big.Int).Mul(batchMaxCost, big.NewInt(6))
	feed(t, b, 6, limit, rs[:9]...)
	feed(t, b, 6, limit, rs[10:]...) // seq 10 never comes
	if err := b.Prove(); err != nil {
		t.Fatal(err)
	}
	f := b.Figures()
	if f.Uncovered != 0 || f.Proven.Cmp(total(rs)) != 0 || b.Gaps().Cmp(rs[9].Receipt.Cost.Big()) != 0 {
		t.Fatalf("after Prove: %+v, gaps %s; want %s proven and seq 10's cost in the gap", f, b.Gaps(), total(rs))
	}
	// The lost receipt comes after all: it fits, and is covered.
	feed(t, b, 6, limit, rs[9])
	if f := b.Figures(); f.Held != 40 || f.Costs.Cmp(total(rs)) != 0 || b.Gaps().Sign() != 0 {
		t.Fatalf("%+v", f)
	}
}

// A forged receipt that misstates the running total is caught when its
// neighbour comes, and named.
func TestBatchForgedTotal(t *testing.T) {
	rs := chainOf(30)
	forge(rs[12], lowerCost) // seq 13
	b := testReceiptBook(8, nil)
	for i, r := range rs {
		err := take(b, r, nil)
		if i < 13 {
			if err != nil {
				t.Fatalf("seq %d: %v", i+1, err)
			}
			continue
		}
		if blamed(t, err) != 13 || !strings.Contains(err.Error(), "receipt seq 13, held unverified") || !strings.Contains(err.Error(), "not by the provider") {
			t.Fatalf("seq %d: %v, want the forged seq 13 named", i+1, err)
		}
		break
	}
	if b.Err() == nil {
		t.Fatal("the provider is still trusted")
	}
}

// A forger that takes over mid-run (every receipt from seq 11 signed by
// another key, figures and all as the provider's would be) is caught
// within N receipts.
func TestBatchImpostorWithinN(t *testing.T) {
	const n = 8
	rs := chainOf(40)
	for _, r := range rs[10:] {
		forge(r, nil)
	}
	b := testReceiptBook(n, nil)
	taken := 0
	for _, r := range rs {
		if err := take(b, r, nil); err != nil {
			break
		}
		if r.Receipt.Seq >= 11 {
			taken++
		}
	}
	if b.Err() == nil || taken >= n {
		t.Fatalf("%d forged receipts taken (the bound is %d); failed: %v", taken, n-1, b.Err())
	}
}

// A forged receipt found by Prove (when the agent goes idle): the last one.
func TestBatchForgedLast(t *testing.T) {
	rs := chainOf(5)
	forge(rs[4], nil)
	b := testReceiptBook(8, nil)
	feed(t, b, 8, nil, rs...)
	if err := b.Prove(); err == nil || blamed(t, err) != 5 || b.Err() != err {
		t.Fatalf("Prove: %v", err)
	}
	if err := b.Prove(); err != nil {
		t.Fatalf("a failed book proved again: %v", err)
	}
}

// What the rule does not prove: a receipt whose figures are the
// provider's under a signature that is not, covered by a verified receipt
// above it, is not caught; the running total, which the verified receipt
// signs, is still exact. The default catches it.
func TestBatchLoneBadSignatureCovered(t *testing.T) {
	rs := chainOf(16)
	forge(rs[4], nil) // seq 5
	b := testReceiptBook(8, nil)
	feed(t, b, 8, nil, rs...)
	if err := b.Prove(); err != nil {
		t.Fatal(err)
	}
	if f := b.Figures(); f.Charged.Cmp(total(rs)) != 0 || f.Verified != 2 {
		t.Fatalf("%+v", f)
	}
	b = testReceiptBook(1, nil)
	feed(t, b, 1, nil, rs[:4]...)
	if err := take(b, rs[4], nil); err == nil || blamed(t, err) != 5 {
		t.Fatalf("default: the bad signature taken: %v", err)
	}
}

// shuffle reorders rs within a window of w: results end out of order by
// at most as many jobs as are in flight.
func shuffle(rs []*Result, seed uint64, w int) {
	rng := rand.New(rand.NewPCG(seed, seed>>32))
	for i := range rs {
		j := i + rng.IntN(min(w, len(rs)-i))
		rs[i], rs[j] = rs[j], rs[i]
	}
}

// FuzzVerifyReceiptsInBatches feeds a channel's receipts in a shuffled
// order (as pipelined jobs end), one of them forged in one of several
// ways, to a book under a fuzzed batch rule, and holds that the rule's
// bounds hold after every receipt; that an honest run is never refused
// and ends proven to the wei; that a forgery which misstates the running
// total is always caught by the time the book is proven; and that what
// is caught is the forged receipt.
func FuzzVerifyReceiptsInBatches(f *testing.F) {
	f.Add(uint8(8), uint8(0), uint8(0), uint8(12), uint64(1), uint8(4))
	f.Add(uint8(2), uint8(1), uint8(2), uint8(0), uint64(7), uint8(1))
	f.Add(uint8(5), uint8(2), uint8(1), uint8(23), uint64(3), uint8(8))
	f.Add(uint8(3), uint8(0), uint8(3), uint8(9), uint64(99), uint8(16))
	f.Add(uint8(64), uint8(1), uint8(4), uint8(15), uint64(5), uint8(2))
	f.Fuzz(func(t *testing.T, every, capSel, kind, at uint8, seed uint64, window uint8) {
		const size = 24
		rs := chainOf(size)
		n := 2 + int(every)%63
		var capCost *big.Int
		if capSel%3 > 0 {
			capCost = new(big.Int).Mul(rs[0].Receipt.Cost.Big(), big.NewInt(int64(capSel)))
		}
		limit := capCost
		if limit == nil {
			limit = new(big.Int).Mul(batchMaxCost, big.NewInt(int64(n)))
		}
		forged := int(at) % size
		changesTotal := false
		switch kind % 5 {
		case 1: // the provider's figures under another key
			forge(rs[forged], nil)
		case 2: // the running total misstated
			forge(rs[forged], lowerCost)
			changesTotal = true
		case 3: // another output
			rs[forged].Output += "!"
			forge(rs[forged], func(rc *contracts.Receipt) { rc.ResultHash = ResultHash(rs[forged].Output) })
		case 4: // cost moved to the next receipt, the total kept
			if forged == size-1 {
				return
			}
			forge(rs[forged], lowerCost)
			forge(rs[forged+1], func(rc *contracts.Receipt) { rc.Cost.Add(rc.Cost, big.NewInt(1)) })
		default:
			forged = -1
		}
		shuffle(rs, seed, 1+int(window)%16)

		b := testReceiptBook(n, capCost)
		var err error
		for _, r := range rs {
			if err = take(b, r, nil); err != nil {
				break
			}
			holdsBounds(t, b, n, limit)
		}
		if err == nil {
			err = b.Prove()
		}
		if err == nil {
			if changesTotal {
				t.Fatal("a receipt that misstates the running total was never caught")
			}
			f := b.Figures()
			if want := total(genuineChain()[:size]); f.Charged.Cmp(want) != 0 || f.Costs.Cmp(want) != 0 || f.Proven.Cmp(want) != 0 || f.Uncovered != 0 {
				t.Fatalf("%+v; the provider charged %s", f, want)
			}
			return
		}
		if forged < 0 {
			t.Fatalf("an honest run refused: %v", err)
		}
		if s := int(blamed(t, err)) - 1; s != forged && !(kind%5 == 4 && s == forged+1) {
			t.Fatalf("forged seq %d, blamed seq %d: %v", forged+1, s+1, err)
		}
	})
}

// A jump above a gap: the gaps may reach the allowance to the wei, and
// not one wei more; a receipt that would pass it is refused and named,
// and the book holds what it held.
func TestReceiptBookGapAllowance(t *testing.T) {
	rs := chainOf(6)
	gap := new(big.Int).Add(rs[2].Receipt.Cost.Big(), rs[3].Receipt.Cost.Big()) // seqs 3 and 4 missing
	for name, tc := range map[string]struct {
		jump, allowance int64 // the wei added to seq 5's cumulative_charged; the allowance above gap
		forger          bool  // seq 5 signed by another key
		every           int
		ok              bool
	}{
		"the gap, exactly":                 {0, 0, false, 0, true},
		"one wei over":                     {0, -1, false, 0, false},
		"a jump within the allowance":      {7, 7, false, 0, true},
		"a jump one wei over":              {8, 7, false, 0, false},
		"a jump one wei over, unverified":  {8, 7, false, 8, false},
		"a forged jump is named a forgery": {1 << 40, 0, true, 8, false},
	} {
		t.Run(name, func(t *testing.T) {
			rs := chainOf(6)
			b := testReceiptBook(tc.every, nil)
			feed(t, b, tc.every, nil, rs[:2]...)
			five := rs[4]
			if tc.jump != 0 || tc.forger {
				change := func(rc *contracts.Receipt) { rc.CumulativeCharged.Add(rc.CumulativeCharged, big.NewInt(tc.jump)) }
				if tc.forger {
					forge(five, change)
				} else {
					resignBy(five, change)
				}
			}
			allowance := new(big.Int).Add(gap, big.NewInt(tc.allowance))
			err := take(b, five, allowance)
			if tc.ok {
				wantGaps := new(big.Int).Add(gap, big.NewInt(tc.jump))
				if err != nil || b.Gaps().Cmp(wantGaps) != 0 {
					t.Fatalf("%v; gaps %s, want %s", err, b.Gaps(), wantGaps)
				}
				return
			}
			if err == nil || blamed(t, err) != 5 {
				t.Fatalf("taken: %v", err)
			}
			if tc.forger != strings.Contains(err.Error(), "not by the provider") || !tc.forger && !strings.Contains(err.Error(), "receipts not held") {
				t.Fatalf("the error says %q", err)
			}
			if f := b.Figures(); f.Held != 2 || f.Charged.Cmp(rs[1].Receipt.CumulativeCharged.Big()) != 0 || f.Costs.Cmp(f.Charged) != 0 {
				t.Fatalf("after a refusal the book holds %+v", f)
			}
		})
	}
}

// FuzzReceiptBookGaps runs one connection's pipelined jobs: up to window
// jobs in flight, each charged (given its seq) when it is sent, their
// results taken in a fuzzed order, each under an allowance of the max
// cost of the jobs still in flight. One receipt may be the provider's
// own jump: its cumulative_charged and those after it raised by jump
// wei. It holds that an honest run is never refused and ends with no
// gap, charged and the receipts' costs the provider's total to the wei;
// that after every receipt taken the gaps are within the allowance it
// was taken under; and that a jump is always refused by the end, blamed
// on a receipt that claims it (the jump or one above it) or on the
// receipt below it, which does not lead to it.
func FuzzReceiptBookGaps(f *testing.F) {
	f.Add(uint8(4), uint64(1), uint8(0), uint64(0), uint8(0))
	f.Add(uint8(8), uint64(2), uint8(5), uint64(1), uint8(8))
	f.Add(uint8(1), uint64(3), uint8(3), uint64(1_000_000), uint8(1))
	f.Add(uint8(16), uint64(4), uint8(20), uint64(5000), uint8(0))
	f.Add(uint8(3), uint64(9), uint8(0), uint64(1<<60), uint8(3))
	f.Fuzz(func(t *testing.T, window uint8, seed uint64, at uint8, jump uint64, every uint8) {
		const size = 32
		rs := chainOf(size)
		jumpAt := -1
		if jump > 0 {
			jumpAt = 1 + int(at)%(size-1) // above seq 1: a receipt whose seq − 1 exists
			for _, r := range rs[jumpAt:] {
				resignBy(r, func(rc *contracts.Receipt) {
					rc.CumulativeCharged.Add(rc.CumulativeCharged, new(big.Int).SetUint64(jump))
				})
			}
		}
		rng := rand.New(rand.NewPCG(seed, uint64(window)))
		w := 1 + int(window)%16
		b := testReceiptBook(int(every)%10, nil)
		var inFlight []int // indexes sent, result not taken
		next := 0
		var err error
		for len(inFlight) > 0 || next < size {
			// Send while the window allows, then take one result.
			for next < size && (len(inFlight) < w && rng.IntN(3) > 0 || len(inFlight) == 0) {
				inFlight = append(inFlight, next)
				next++
			}
			k := rng.IntN(len(inFlight))
			i := inFlight[k]
			inFlight = append(inFlight[:k], inFlight[k+1:]...)
			allowance := new(big.Int).Mul(batchMaxCost, big.NewInt(int64(len(inFlight))))
			if err = take(b, rs[i], allowance); err != nil {
				break
			}
			if b.Gaps().Cmp(allowance) > 0 {
				t.Fatalf("seq %d taken leaving gaps %s above the allowance %s", i+1, b.Gaps(), allowance)
			}
		}
		if err == nil {
			err = b.Prove()
		}
		if jumpAt < 0 {
			if err != nil {
				t.Fatalf("an honest run refused: %v", err)
			}
			f := b.Figures()
			if want := total(genuineChain()[:size]); f.Charged.Cmp(want) != 0 || f.Costs.Cmp(want) != 0 || b.Gaps().Sign() != 0 || f.Held != size {
				t.Fatalf("%+v, gaps %s; the provider charged %s", f, b.Gaps(), want)
			}
			return
		}
		if err == nil {
			t.Fatalf("a jump of %d at seq %d taken", jump, jumpAt+1)
		}
		if s := int(blamed(t, err)); s < jumpAt {
			t.Fatalf("a jump at seq %d, blamed seq %d: %v", jumpAt+1, s, err)
		}
	})
}
