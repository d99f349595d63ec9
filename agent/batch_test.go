package agent_test

import (
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

// submitAll submits jobs 0 … n−1 at once and returns their results and
// errors by index.
func submitAll(t *testing.T, c *agent.Client, n int) ([]*agent.Result, []error) {
	t.Helper()
	res, errs := make([]*agent.Result, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jb := chat(fmt.Sprint("batch job ", i))
			jb.ID = fmt.Sprintf("b-%d", i)
			res[i], errs[i] = c.Submit(t.Context(), jb)
		}()
	}
	wg.Wait()
	return res, errs
}

// shuffled makes the fake node end jobs out of order.
func shuffled(id string) time.Duration {
	var n int
	fmt.Sscanf(id, "b-%d", &n)
	return time.Duration((n*7)%5) * 2 * time.Millisecond
}

// With VerifyReceiptsEvery the client verifies fewer signatures, and what
// it holds still adds up to the node's charge to the wei; a restart reads
// the receipts kept unverified back, verifying each. The default verifies
// every receipt.
func TestVerifyReceiptsInBatches(t *testing.T) {
	for _, every := range []int{0, 8} {
		t.Run(fmt.Sprint("every ", every), func(t *testing.T) {
			e := newEnv(t)
			e.node.jobTimeFn = shuffled
			dir := t.TempDir()
			store, _ := agent.OpenStore(dir)
			cfg := e.config()
			cfg.Store, cfg.VerifyReceiptsEvery = store, every
			c := e.dial(t, cfg)
			const jobs = 64
			res, errs := submitAll(t, c, jobs)
			sum, unverified := new(big.Int), 0
			for i := range jobs {
				if errs[i] != nil {
					t.Fatalf("job %d: %v", i, errs[i])
				}
				sum.Add(sum, res[i].Cost)
				if res[i].Unverified {
					unverified++
				}
			}
			acct := c.Account()
			_, nodeCharged := e.node.stats(e.channel)
			if acct.Charged.Cmp(sum) != 0 || nodeCharged.Cmp(sum) != 0 || acct.ReceiptCosts.Cmp(sum) != 0 || acct.Receipts != jobs || acct.Untrusted != nil {
				t.Fatalf("account %+v; node charged %s; results' costs %s", acct, nodeCharged, sum)
			}
			if every == 0 && (acct.Verified != jobs || unverified != 0) {
				t.Fatalf("default: %d of %d verified, %d results unverified", acct.Verified, jobs, unverified)
			}
			if every > 1 && (acct.Verified >= jobs/2 || acct.Verified < jobs/every || unverified == 0) {
				t.Fatalf("every %d: %d of %d verified, %d results unverified", every, acct.Verified, jobs, unverified)
			}
			recs, _ := store.Load(e.channel)
			kept := 0
			for _, r := range recs {
				if r.Unverified {
					kept++
				}
			}
			if kept != unverified {
				t.Fatalf("%d records kept unverified, %d results", kept, unverified)
			}
			c2 := e.reopen(t, c, cfg, dir)
			if a := c2.Account(); a.Charged.Cmp(sum) != 0 || a.Verified != jobs || a.Untrusted != nil {
				t.Fatalf("reloaded %+v", a)
			}
		})
	}
}

// A forger mid-run, caught within the bound: from the tenth result on,
// every receipt the client gets is signed by another key (a node that is
// not the provider took over, or a man in the middle). The client takes
// fewer than VerifyReceiptsEvery of them, marks the provider untrusted,
// keeps the evidence and pays no more; a restart remembers. The same with
// one receipt in the middle whose cost was lowered under a forged
// signature: it is caught when the receipt after it comes.
func TestBatchForgeryUntrusts(t *testing.T) {
	const every, jobs = 8, 48
	other, _ := crypto.GenerateKey()
	forge := func(e *env, r *wire.Result, change func(*contracts.Receipt)) {
		rc := r.Receipt.EIP712()
		if change != nil {
			change(rc)
		}
		digest, _ := e.d.Domain().ReceiptDigest(rc)
		sig, _ := contracts.Sign(digest, other)
		r.Receipt = wire.NewReceipt(rc, r.Receipt.Seq, sig)
		r.Cost = wire.NewAmount(rc.Cost)
	}
	for name, tc := range map[string]struct {
		forges       func(sent int) bool // which results, in the order sent
		change       func(*contracts.Receipt)
		maxAccepted  int // forged receipts the client may take
		keptIsForged bool
	}{
		"forger takes over": {forges: func(n int) bool { return n >= 10 }, maxAccepted: every - 1},
		"one total misstated": {forges: func(n int) bool { return n == 20 }, maxAccepted: 1, change: func(rc *contracts.Receipt) {
			rc.Cost.Sub(rc.Cost, big.NewInt(1))
			rc.CumulativeCharged.Sub(rc.CumulativeCharged, big.NewInt(1))
		}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.node.jobTimeFn = shuffled
			var mu sync.Mutex
			sent, forged := 0, map[string]uint64{}
			e.node.mutate = func(id string, r *wire.Result) {
				mu.Lock()
				defer mu.Unlock()
				if tc.forges(sent) {
					forge(e, r, tc.change)
					forged[id] = r.Receipt.Seq
				}
				sent++
			}
			dir := t.TempDir()
			store, _ := agent.OpenStore(dir)
			cfg := e.config()
			cfg.Store, cfg.VerifyReceiptsEvery = store, every
			c := e.dial(t, cfg)
			res, errs := submitAll(t, c, jobs)
			mu.Lock()
			accepted, caught := 0, 0
			for i := range jobs {
				_, isForged := forged[fmt.Sprintf("b-%d", i)]
				switch {
				case errs[i] == nil && isForged:
					accepted++
				case agent.CodeOf(errs[i]) == agent.CodeBadReceipt && errors.Is(errs[i], agent.ErrUntrusted):
					caught++
				case agent.CodeOf(errs[i]) == agent.Code(wire.CodeVoucherTooLow):
					// Signed on a charged figure the forgery lowered, before
					// it was caught: the node refuses it, and nothing is lost.
				case errs[i] != nil && agent.CodeOf(errs[i]) != agent.CodeUntrusted:
					t.Errorf("job %d: %v", i, errs[i])
				}
				if errs[i] == nil && res[i].Cost == nil {
					t.Errorf("job %d: a result without cost", i)
				}
			}
			mu.Unlock()
			if accepted > tc.maxAccepted || caught == 0 {
				t.Fatalf("%d forged receipts taken (at most %d), %d jobs caught the forgery", accepted, tc.maxAccepted, caught)
			}
			if acct := c.Account(); acct.Untrusted == nil {
				t.Fatalf("the provider is still trusted: %+v", acct)
			}
			if _, err := c.Submit(t.Context(), chat("after")); agent.CodeOf(err) != agent.CodeUntrusted {
				t.Fatalf("after the forgery: %v", err)
			}
			// The evidence is a forged receipt, kept with its job id.
			recs, _ := store.Load(e.channel)
			var rejected *agent.Record
			for i := range recs {
				if recs[i].Rejected != "" {
					rejected = &recs[i]
				}
			}
			if rejected == nil {
				t.Fatal("no evidence kept")
			}
			mu.Lock()
			seq, ok := forged[rejected.JobID]
			mu.Unlock()
			if !ok || seq != rejected.Receipt.Seq {
				t.Fatalf("evidence %+v; forged %v", rejected, forged)
			}
			c2 := e.reopen(t, c, cfg, dir)
			if _, err := c2.Submit(t.Context(), chat("after restart")); agent.CodeOf(err) != agent.CodeUntrusted {
				t.Fatalf("after restart: %v", err)
			}
		})
	}
}

// A client with no other job in flight verifies what it holds before
// Submit returns: jobs one at a time are each verified, and a forged
// receipt is caught by its own job.
func TestBatchIdleVerifies(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.VerifyReceiptsEvery = 8
	c := e.dial(t, cfg)
	for i := range 3 {
		res, err := c.Submit(t.Context(), chat(fmt.Sprint("alone ", i)))
		if err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
		if a := c.Account(); a.Verified != i+1 || !res.Unverified {
			t.Fatalf("job %d: %d verified; result unverified %v", i, a.Verified, res.Unverified)
		}
	}
	other, _ := crypto.GenerateKey()
	e.node.mutate = func(id string, r *wire.Result) {
		digest, _ := e.d.Domain().ReceiptDigest(r.Receipt.EIP712())
		r.Receipt.Signature, _ = contracts.Sign(digest, other)
	}
	if _, err := c.Submit(t.Context(), chat("forged")); agent.CodeOf(err) != agent.CodeBadReceipt || !errors.Is(err, agent.ErrUntrusted) {
		t.Fatalf("forged, alone: %v", err)
	}
	if a := c.Account(); a.Verified != 3 || a.Untrusted == nil {
		t.Fatalf("%+v", a)
	}
}
