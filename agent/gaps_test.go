package agent_test

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

// The bound on gaps in seq (docs/protocol.md, "Receipts above a gap")
// against the fake node.

// A provider that signs a receipt above a gap no job of the client's can
// fill (one wei of charge for a receipt the client will never get) is
// refused and untrusted; the receipt is kept as evidence, and no voucher
// is signed after it.
func TestGapForgedJumpUntrusts(t *testing.T) {
	e := newEnv(t)
	store, _ := agent.OpenStore(t.TempDir())
	cfg := e.config()
	cfg.Store = store
	c := e.dial(t, cfg)
	first, err := c.Submit(t.Context(), chat("honest"))
	if err != nil {
		t.Fatal(err)
	}
	before := c.Account()
	e.node.mutate = func(id string, r *wire.Result) {
		// Seq 3 for seq 2: seq 2 "charged" one wei.
		r.Receipt.Seq++
		resign(e, r, func(rc *contracts.Receipt) { rc.CumulativeCharged.Add(rc.CumulativeCharged, big.NewInt(1)) })
	}
	_, err = c.Submit(t.Context(), chat("jump"))
	if agent.CodeOf(err) != agent.CodeBadReceipt || !errors.Is(err, agent.ErrUntrusted) || !strings.Contains(err.Error(), "receipts not held") {
		t.Fatalf("a jump of one wei above a gap: %v", err)
	}
	a := c.Account()
	// The jump's job stays counted at its max cost (the node may claim
	// it), as after any bad receipt; the jump itself counts for nothing.
	wantCommitted := new(big.Int).Add(first.Cost, maxCost(e.offer, chat("jump")))
	if a.Charged.Cmp(before.Charged) != 0 || a.Committed.Cmp(wantCommitted) != 0 || a.Untrusted == nil {
		t.Fatalf("after the jump %+v; want charged %s, committed %s", a, before.Charged, wantCommitted)
	}
	submits, _ := e.node.stats(e.channel)
	if _, err := c.Submit(t.Context(), chat("after")); agent.CodeOf(err) != agent.CodeUntrusted {
		t.Fatalf("after the jump: %v", err)
	}
	if after, _ := e.node.stats(e.channel); after != submits {
		t.Fatal("a voucher was signed after the jump")
	}
	recs, _ := store.Load(e.channel)
	if n := len(recs); n != 2 || recs[1].Receipt.Seq != 3 || !strings.Contains(recs[1].Rejected, "receipts not held") {
		t.Fatalf("evidence %+v", recs)
	}
}

// Two clients on one channel (the same signer): the second reads the
// node's account before its first job, which claims the first's charge.
// Without SharedChargeCap it can account for none of it, and refuses it
// before it signs anything; with it, the charge is adopted up to the cap,
// and the second's vouchers build on it, tight. (Without the account, its
// first voucher would have been too low, and a voucher signed ahead would
// have brought the first's charge as a gap, refused as a jump.)
func TestGapSharedChannel(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprint("shared ", shared), func(t *testing.T) {
			e := newEnv(t)
			a := e.dial(t, e.config())
			cfg := e.config()
			if shared {
				cfg.SharedChargeCap = big.NewInt(1 << 40)
			}
			b := e.dial(t, cfg)
			ra, err := a.Submit(t.Context(), chat("from a"))
			if err != nil {
				t.Fatal(err)
			}
			submits, _ := e.node.stats(e.channel)
			jb := chat("from b")
			rb, err := b.Submit(t.Context(), jb)
			if !shared {
				var ce *agent.ChargeError
				if agent.CodeOf(err) != agent.CodeUnaccountedCharge || !errors.Is(err, agent.ErrUntrusted) || !errors.As(err, &ce) || ce.Charged.Cmp(ra.Cost) != 0 {
					t.Fatalf("the other client's charge taken: %v", err)
				}
				if after, _ := e.node.stats(e.channel); after != submits {
					t.Fatal("b signed a voucher for a charge it cannot account for")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := new(big.Int).Add(ra.Cost, maxCost(e.offer, jb)); rb.Voucher.Cmp(want) != 0 {
				t.Fatalf("b's voucher %s, want a's charge + the job's max cost = %s", rb.Voucher, want)
			}
			acct := b.Account()
			both := new(big.Int).Add(ra.Cost, rb.Cost)
			if acct.Charged.Cmp(both) != 0 || acct.ReceiptCosts.Cmp(rb.Cost) != 0 || acct.Committed.Cmp(both) != 0 {
				t.Fatalf("b's account %+v; want charged and committed %s", acct, both)
			}
		})
	}
}

// Clients that share one account of the channel (a Payer's, for two
// models of one provider) pipeline jobs together, out of order: every
// receipt is taken, each voucher covers the jobs in flight of both, and
// the account adds up to the node's charge to the wei.
func TestGapSharedAccount(t *testing.T) {
	e := newEnv(t)
	e.node.jobTimeFn = shuffled
	a := e.dial(t, e.config())
	cfg := e.config()
	agent.ShareAccount(&cfg, a)
	b := e.dial(t, cfg)
	const jobs = 24
	var wg sync.WaitGroup
	costs := make([]*big.Int, 2*jobs)
	errs := make([]error, 2*jobs)
	for i := range 2 * jobs {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			jb := chat(fmt.Sprint("shared ", i))
			jb.ID = fmt.Sprintf("b-%d", i)
			res, err := c.Submit(t.Context(), jb)
			if errs[i] = err; err == nil {
				costs[i] = res.Cost
			}
		}()
	}
	wg.Wait()
	sum := new(big.Int)
	for i := range 2 * jobs {
		if errs[i] != nil {
			t.Fatalf("job %d: %v", i, errs[i])
		}
		sum.Add(sum, costs[i])
	}
	_, charged := e.node.stats(e.channel)
	for _, c := range []*agent.Client{a, b} {
		acct := c.Account()
		if acct.Charged.Cmp(sum) != 0 || acct.ReceiptCosts.Cmp(sum) != 0 || acct.Committed.Cmp(sum) != 0 || charged.Cmp(sum) != 0 || acct.Receipts != 2*jobs {
			t.Fatalf("account %+v; node charged %s; results' costs %s", acct, charged, sum)
		}
	}
}
