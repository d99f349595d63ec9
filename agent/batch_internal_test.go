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

// The batch rule of docs/protocol.md, "Verifying receipts in batches",
// on the book alone.

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

// lowerCost takes one from a receipt's cost and cumulative_charged: a
// forged receipt that misstates the running total.
func lowerCost(rc *contracts.Receipt) {
	rc.Cost.Sub(rc.Cost, big.NewInt(1))
	rc.CumulativeCharged.Sub(rc.CumulativeCharged, big.NewInt(1))
}

// holdsBounds fails unless b holds fewer than b.every receipts no verified
// receipt covers and charged exceeds what verified receipts prove by no
// more than limit.
func holdsBounds(t testing.TB, b *book, limit *big.Int) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.open) >= b.every {
		t.Fatalf("%d receipts held uncovered (%v); the rule allows %d", len(b.open), b.open, b.every-1)
	}
	if over := new(big.Int).Sub(b.charged, b.proven); over.Cmp(limit) > 0 {
		t.Fatalf("charged %s rests %s on unverified receipts; the cap is %s", b.charged, over, limit)
	}
}

// feed has b take every result of rs, and fails on the first refused;
// with limit set it holds the bounds after each.
func feed(t testing.TB, b *book, limit *big.Int, rs ...*wire.Result) {
	t.Helper()
	for _, r := range rs {
		if err := check(b, batchMaxCost, r); err != nil {
			t.Fatalf("seq %d: %v", r.Receipt.Seq, err)
		}
		if limit != nil {
			holdsBounds(t, b, limit)
		}
	}
}

func total(rs []*wire.Result) *big.Int {
	return rs[len(rs)-1].Receipt.CumulativeCharged.Big()
}

// In seq order, the rule verifies exactly one receipt in every N, and
// charged is the provider's total to the wei.
func TestBatchInOrder(t *testing.T) {
	for _, n := range []int{2, 8, 64} {
		b := testBook(n, nil)
		rs := chainOf(64)
		feed(t, b, new(big.Int).Mul(batchMaxCost, big.NewInt(int64(n))), rs...)
		if err := b.prove(false); err != nil {
			t.Fatal(err)
		}
		a := b.account()
		if a.Charged.Cmp(total(rs)) != 0 || a.ReceiptCosts.Cmp(total(rs)) != 0 || a.Receipts != 64 || a.Verified != 64/n {
			t.Fatalf("every %d: %+v; want charged %s and %d signatures verified", n, a, total(rs), 64/n)
		}
	}
	// The default verifies each.
	b := testBook(0, nil)
	feed(t, b, nil, chainOf(10)...)
	if a := b.account(); a.Verified != 10 {
		t.Fatalf("default: %d of 10 verified", a.Verified)
	}
}

// The cost cap verifies sooner than the count.
func TestBatchCostCap(t *testing.T) {
	rs := chainOf(30)
	limit := new(big.Int).Mul(rs[0].Receipt.Cost.Big(), big.NewInt(3))
	b := testBook(64, limit)
	feed(t, b, limit, rs...)
	if v := b.account().Verified; v < 30/4 || v > 30/2 {
		t.Fatalf("%d of 30 verified under a cap of about three receipts' cost", v)
	}
}

// Receipts out of order and a gap that never fills: the bounds hold, and
// prove leaves nothing uncovered.
func TestBatchGapNeverFilled(t *testing.T) {
	rs := chainOf(40)
	b := testBook(6, nil)
	limit := new(big.Int).Mul(batchMaxCost, big.NewInt(6))
	feed(t, b, limit, rs[:9]...)
	feed(t, b, limit, rs[10:]...) // seq 10 never comes
	if err := b.prove(false); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	open, proven := len(b.open), new(big.Int).Set(b.proven)
	b.mu.Unlock()
	if open != 0 || proven.Cmp(total(rs)) != 0 {
		t.Fatalf("after prove: %d uncovered, %s proven of %s", open, proven, total(rs))
	}
	// The lost receipt comes after all: it fits, and is covered.
	feed(t, b, limit, rs[9])
	if a := b.account(); a.Gaps != 0 || a.ReceiptCosts.Cmp(total(rs)) != 0 {
		t.Fatalf("%+v", a)
	}
}

// A forged receipt that misstates the running total is caught when its
// neighbour comes, and named.
func TestBatchForgedTotal(t *testing.T) {
	rs := chainOf(30)
	forge(rs[12], lowerCost) // seq 13
	b := testBook(8, nil)
	for i, r := range rs {
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

// A forger that takes over mid-run (every receipt from seq 11 signed by
// another key, figures and all as the provider's would be) is caught
// within N receipts.
func TestBatchImpostorWithinN(t *testing.T) {
	const n = 8
	rs := chainOf(40)
	for _, r := range rs[10:] {
		forge(r, nil)
	}
	b := testBook(n, nil)
	taken := 0
	for _, r := range rs {
		if err := check(b, batchMaxCost, r); err != nil {
			break
		}
		if r.Receipt.Seq >= 11 {
			taken++
		}
	}
	if b.badErr() == nil || taken >= n {
		t.Fatalf("%d forged receipts taken (the bound is %d); untrusted: %v", taken, n-1, b.badErr())
	}
}

// A forged receipt found when the agent goes idle: the last one.
func TestBatchForgedLast(t *testing.T) {
	rs := chainOf(5)
	forge(rs[4], nil)
	b := testBook(8, nil)
	feed(t, b, nil, rs...)
	var re *receiptError
	if err := b.prove(false); !errors.As(err, &re) || re.r.Seq != 5 {
		t.Fatalf("prove: %v", err)
	}
}

// What the rule does not prove: a receipt whose figures are the
// provider's under a signature that is not, covered by a verified receipt
// above it, is not caught; the running total, which the verified receipt
// signs, is still exact. The default catches it.
func TestBatchLoneBadSignatureCovered(t *testing.T) {
	rs := chainOf(16)
	forge(rs[4], nil) // seq 5
	b := testBook(8, nil)
	feed(t, b, nil, rs...)
	if err := b.prove(false); err != nil {
		t.Fatal(err)
	}
	if a := b.account(); a.Charged.Cmp(total(rs)) != 0 || a.Verified != 2 {
		t.Fatalf("%+v", a)
	}
	b = testBook(1, nil)
	feed(t, b, nil, rs[:4]...)
	if err := check(b, batchMaxCost, rs[4]); err == nil {
		t.Fatal("default: the bad signature taken")
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
			forge(rs[forged], func(rc *contracts.Receipt) { rc.ResultHash = wire.ResultHash(rs[forged].Output) })
		case 4: // cost moved to the next receipt, the total kept
			if forged == size-1 {
				return
			}
			forge(rs[forged], lowerCost)
			forge(rs[forged+1], func(rc *contracts.Receipt) { rc.Cost.Add(rc.Cost, big.NewInt(1)) })
		default:
			forged = -1
		}
		// Shuffle within a window: results end out of order by at most as
		// many jobs as are in flight.
		rng := rand.New(rand.NewPCG(seed, seed>>32))
		w := 1 + int(window)%16
		for i := range rs {
			j := i + rng.IntN(min(w, size-i))
			rs[i], rs[j] = rs[j], rs[i]
		}

		b := testBook(n, capCost)
		var err error
		for _, r := range rs {
			if err = checkResult(fuzzChannel, &fuzzPrice, batchMaxCost, r); err != nil {
				err = &receiptError{&r.Receipt, r.ID, err}
				break
			}
			if _, _, err = b.accept(&r.Receipt, r.ID, batchMaxCost, false); err != nil {
				break
			}
			holdsBounds(t, b, limit)
		}
		if err == nil {
			err = b.prove(false)
		}
		if err == nil {
			if changesTotal {
				t.Fatal("a receipt that misstates the running total was never caught")
			}
			a := b.account()
			if want := genuineChain()[size-1].Receipt.CumulativeCharged.Big(); a.Charged.Cmp(want) != 0 || a.ReceiptCosts.Cmp(want) != 0 {
				t.Fatalf("proven charged %s, receipts' costs %s; the provider charged %s", a.Charged, a.ReceiptCosts, want)
			}
			return
		}
		if forged < 0 {
			t.Fatalf("an honest run refused: %v", err)
		}
		var re *receiptError
		if !errors.As(err, &re) {
			t.Fatalf("%v: names no receipt", err)
		}
		if s := int(re.r.Seq) - 1; s != forged && !(kind%5 == 4 && s == forged+1) {
			t.Fatalf("forged seq %d, blamed seq %d: %v", forged+1, re.r.Seq, err)
		}
	})
}
