package agent_test

import (
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/node/wire"
)

// Resync (docs/protocol.md, "Resync") against the fake node: a client
// whose store lost its newest receipts reads the node's account of the
// channel and adopts its charged within the bound of what it signed.

// pay pays for n jobs on c, one after the other, and returns the sum of
// their costs.
func pay(t *testing.T, c *agent.Client, prefix string, n int) *big.Int {
	t.Helper()
	sum := new(big.Int)
	for i := range n {
		res, err := c.Submit(t.Context(), chat(fmt.Sprint(prefix, i)))
		if err != nil {
			t.Fatalf("%s%d: %v", prefix, i, err)
		}
		sum.Add(sum, res.Cost)
	}
	return sum
}

// keepReceipts cuts channel's receipt file in dir to its first keep
// records, as a crash before the others were saved, or a copy of the
// file restored, leaves it. It returns the costs of those kept.
func keepReceipts(t *testing.T, dir string, channel common.Hash, keep int) *big.Int {
	t.Helper()
	path := filepath.Join(dir, strings.ToLower(channel.Hex())+".jsonl")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(raw), "\n")
	if err := os.WriteFile(path, []byte(strings.Join(lines[:keep], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	store, _ := agent.OpenStore(dir)
	recs, err := store.Load(channel)
	if err != nil || len(recs) != keep {
		t.Fatalf("%d records kept: %v", len(recs), err)
	}
	sum := new(big.Int)
	for _, r := range recs {
		sum.Add(sum, r.Receipt.Cost.Big())
	}
	return sum
}

// afterLoss is a channel after a client with a store paid for six jobs
// on it and was closed, and its store then lost all but its first
// receipts.
type afterLoss struct {
	*env
	dir    string
	cfg    agent.Config
	closed *agent.Client
	paid   *big.Int // what the six jobs cost
	held   *big.Int // what the receipts kept cost
	signed *big.Int // the highest voucher signed
}

func loseReceipts(t *testing.T, keep int) *afterLoss {
	t.Helper()
	l := &afterLoss{env: newEnv(t)}
	l.closed, l.cfg, l.dir = l.withStore(t)
	l.paid = pay(t, l.closed, "before ", 6)
	l.signed = l.closed.Account().Signed
	l.closed.Close()
	l.cfg.Store.Close()
	l.held = keepReceipts(t, l.dir, l.channel, keep)
	return l
}

// restart dials a client again with the store as it is left.
func (l *afterLoss) restart(t *testing.T) *agent.Client {
	return l.reopen(t, l.closed, l.cfg, l.dir)
}

// failSync has the node answer the next sync with unavailable.
func failSync(n *fakeNode) {
	var once sync.Once
	n.mu.Lock()
	defer n.mu.Unlock()
	n.onSync = func(_ int, _ *wire.Channel) (e *wire.Error) {
		once.Do(func() { e = wire.NewError("", wire.CodeUnavailable, "the ledger is busy") })
		return e
	}
}

func changeSync(n *fakeNode, change func(st *wire.Channel)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.onSync = func(_ int, st *wire.Channel) *wire.Error {
		change(st)
		return nil
	}
}

// A client that lost its last receipts resumes paying: it adopts the
// node's charged (within the highest voucher it signed, which its store
// recorded) before its first job, or, when the node did not answer then,
// after the node refused that job's voucher as too low, and submits it
// again. Every voucher is then exactly the node's charged + the job's max
// cost, and the client's account is the node's, to the base unit.
func TestResyncLostReceipts(t *testing.T) {
	for name, tc := range map[string]struct {
		keep      int
		failFirst bool
	}{
		"the last receipt lost":                       {keep: 5},
		"the last three lost":                         {keep: 3},
		"every receipt lost":                          {keep: 0},
		"the last three lost, found by a too low":     {keep: 3, failFirst: true},
		"every receipt lost, found by a too low":      {keep: 0, failFirst: true},
		"nothing lost, the node unavailable at first": {keep: 6, failFirst: true},
	} {
		t.Run(name, func(t *testing.T) {
			l := loseReceipts(t, tc.keep)
			e, paid, held := l.env, l.paid, l.held
			if tc.failFirst {
				failSync(e.node)
			}
			c := l.restart(t)
			if a := c.Account(); a.Charged.Cmp(held) != 0 || a.Signed.Cmp(l.signed) != 0 {
				t.Fatalf("read back %+v; want charged %s, signed %s", a, held, l.signed)
			}
			submits, _ := e.node.stats(e.channel)
			for i := range 3 {
				jb := chat(fmt.Sprint("after ", i))
				_, charged := e.node.stats(e.channel)
				res, err := c.Submit(t.Context(), jb)
				if err != nil {
					t.Fatalf("job %d after the loss: %v", i, err)
				}
				if want := new(big.Int).Add(charged, maxCost(e.offer, jb)); res.Voucher.Cmp(want) != 0 {
					t.Fatalf("job %d: voucher %s, want the node's charged %s + max cost = %s", i, res.Voucher, charged, want)
				}
				paid.Add(paid, res.Cost)
				held.Add(held, res.Cost)
			}
			after, charged := e.node.stats(e.channel)
			refused := 0
			if tc.failFirst && tc.keep < 6 {
				refused = 1 // the first job's voucher, on the receipts held
			}
			if after-submits != 3+refused {
				t.Fatalf("%d submits for 3 jobs; want %d", after-submits, 3+refused)
			}
			a := c.Account()
			if charged.Cmp(paid) != 0 || a.Charged.Cmp(paid) != 0 || a.Committed.Cmp(paid) != 0 || a.ReceiptCosts.Cmp(held) != 0 || a.InFlight.Sign() != 0 {
				t.Fatalf("account %+v, node charged %s; want charged and committed %s, receipt costs %s", a, charged, paid, held)
			}
		})
	}
}

// A node whose account of the channel the client cannot account for is
// refused before anything is signed on it: the provider is untrusted,
// the account kept in the store as the evidence, and nothing more is
// paid, after a restart too. One whose account is inflated within the
// bound has it adopted, and is caught by the receipt that comes next.
func TestResyncBeyondTheBound(t *testing.T) {
	for name, tc := range map[string]struct {
		change     func(st *wire.Channel, signed *big.Int)
		noVouchers bool // the store lost its record of the vouchers signed too
		signedOnly bool // refused with Signed the highest voucher of the receipts kept
	}{
		"charged one above the highest voucher": {change: func(st *wire.Channel, signed *big.Int) {
			st.Charged = wire.NewAmount(new(big.Int).Add(signed, big.NewInt(1)))
		}},
		"reserved one above it": {change: func(st *wire.Channel, signed *big.Int) {
			st.Reserved = wire.NewAmount(new(big.Int).Sub(new(big.Int).Add(signed, big.NewInt(1)), st.Charged.Big()))
		}},
		"the record of the vouchers lost too": {noVouchers: true},
		"charged below a receipt held": {change: func(st *wire.Channel, signed *big.Int) {
			st.Charged = wire.AmountOf(1)
		}},
	} {
		t.Run(name, func(t *testing.T) {
			l := loseReceipts(t, 3)
			e, signed := l.env, l.signed
			if tc.noVouchers {
				if err := os.Remove(filepath.Join(l.dir, strings.ToLower(e.channel.Hex())+".vouchers.jsonl")); err != nil {
					t.Fatal(err)
				}
			}
			if tc.change != nil {
				changeSync(e.node, func(st *wire.Channel) { tc.change(st, signed) })
			}
			c := l.restart(t)
			submits, _ := e.node.stats(e.channel)
			_, err := c.Submit(t.Context(), chat("after"))
			if agent.CodeOf(err) != agent.CodeUnaccountedCharge || !errors.Is(err, agent.ErrUntrusted) {
				t.Fatalf("an account beyond the bound: %v", err)
			}
			var ce *agent.ChargeError
			if errors.As(err, &ce) {
				over := new(big.Int).Add(ce.Charged, ce.Reserved)
				if bound := bigMax(ce.Signed, new(big.Int).Add(ce.Costs, ce.Credit)); ce.Bound.Cmp(bound) != 0 || over.Cmp(ce.Bound) <= 0 || ce.InFlight.Sign() != 0 {
					t.Fatalf("%+v", ce)
				}
				if !tc.noVouchers && ce.Signed.Cmp(signed) != 0 {
					t.Fatalf("refused with signed %s; want %s", ce.Signed, signed)
				}
			} else if !strings.Contains(err.Error(), "less than its receipts") {
				t.Fatalf("no *ChargeError: %v", err)
			}
			if _, err := c.Submit(t.Context(), chat("again")); agent.CodeOf(err) != agent.CodeUntrusted {
				t.Fatalf("after the refusal: %v", err)
			}
			if after, _ := e.node.stats(e.channel); after != submits {
				t.Fatalf("%d vouchers signed after the refusal", after-submits)
			}
			recs, _ := agent.OpenStore(l.dir)
			got, _ := recs.Load(e.channel)
			if last := got[len(got)-1]; last.Sync == nil || last.Rejected == "" || last.Receipt.Signature != nil {
				t.Fatalf("evidence %+v", last)
			}
			l.closed = c
			c = l.restart(t)
			if _, err := c.Submit(t.Context(), chat("after a restart")); agent.CodeOf(err) != agent.CodeUntrusted {
				t.Fatalf("after a restart: %v", err)
			}
		})
	}
}

// Mid-session, a node that refuses a voucher as too low and then claims
// a charge one above what the client signed (the refused voucher too:
// the node holds it) is refused the same way: the job fails, and nothing
// more is paid.
func TestResyncBeyondTheBoundMidSession(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t, e.config())
	pay(t, c, "before ", 3)
	jb := chat("refused")
	signed := new(big.Int).Add(c.Account().Charged, maxCost(e.offer, jb))
	e.node.mu.Lock()
	e.node.refuse = func(id string, attempt int) *wire.Error {
		return wire.NewError(id, wire.CodeVoucherTooLow, "voucher too low")
	}
	e.node.mu.Unlock()
	changeSync(e.node, func(st *wire.Channel) { st.Charged = wire.NewAmount(new(big.Int).Add(signed, big.NewInt(1))) })
	submits, _ := e.node.stats(e.channel)
	_, err := c.Submit(t.Context(), jb)
	var ce *agent.ChargeError
	if agent.CodeOf(err) != agent.CodeUnaccountedCharge || !errors.As(err, &ce) || ce.Signed.Cmp(signed) != 0 {
		t.Fatalf("a charge above the voucher signed, after a too low: %v", err)
	}
	if _, err := c.Submit(t.Context(), chat("again")); agent.CodeOf(err) != agent.CodeUntrusted {
		t.Fatalf("after the refusal: %v", err)
	}
	if after, _ := e.node.stats(e.channel); after != submits+1 {
		t.Fatalf("%d submissions; want the one refused as too low", after-submits)
	}
}

// bigMax is the larger of x and y.
func bigMax(x, y *big.Int) *big.Int {
	if x.Cmp(y) > 0 {
		return x
	}
	return y
}

// An account inflated up to the bound is adopted (the provider could
// claim that voucher anyway), and the job is paid with a voucher of the
// bound + its max cost, not more; its receipt then does not follow the
// charged the node stated, and the provider is untrusted.
func TestResyncInflatedCaught(t *testing.T) {
	l := loseReceipts(t, 3)
	e, signed := l.env, l.signed
	changeSync(e.node, func(st *wire.Channel) { st.Charged = wire.NewAmount(signed) })
	c := l.restart(t)
	jb := chat("after")
	_, err := c.Submit(t.Context(), jb)
	if agent.CodeOf(err) != agent.CodeBadReceipt || !errors.Is(err, agent.ErrUntrusted) || !strings.Contains(err.Error(), "the node's account of the channel said") {
		t.Fatalf("a receipt that does not follow the inflated account: %v", err)
	}
	e.node.mu.Lock()
	last := e.node.submits[len(e.node.submits)-1]
	e.node.mu.Unlock()
	if want := new(big.Int).Add(signed, maxCost(e.offer, jb)); last.Voucher.Amount.Big().Cmp(want) != 0 {
		t.Fatalf("voucher %s; want the highest signed %s + the max cost = %s", last.Voucher.Amount, signed, want)
	}
	submits, _ := e.node.stats(e.channel)
	if _, err := c.Submit(t.Context(), chat("again")); agent.CodeOf(err) != agent.CodeUntrusted {
		t.Fatalf("after: %v", err)
	}
	if after, _ := e.node.stats(e.channel); after != submits {
		t.Fatal("paid again")
	}
}

// Two Clients of one channel that share no account (two processes with
// the same signer), each with a SharedChargeCap for the other's charges.
// Taking turns, each one's voucher on its own receipts is too low after
// the other's job; it resyncs and pays. At once, a resync may be outrun
// by the other's jobs: the job then fails with a retryable
// voucher_too_low that says so, and succeeds when submitted again.
// Either way the receipts add up to the node's charge exactly.
func TestResyncTwoClients(t *testing.T) {
	for _, together := range []bool{false, true} {
		t.Run(fmt.Sprint("at once ", together), func(t *testing.T) {
			e := newEnv(t)
			if together {
				e.node.jobTimeFn = shuffled
			}
			cfg := e.config()
			cfg.SharedChargeCap = big.NewInt(1 << 40)
			clients := []*agent.Client{e.dial(t, cfg), e.dial(t, cfg)}
			const rounds = 8
			costs := make([]*big.Int, 2*rounds)
			var wg sync.WaitGroup
			var mu sync.Mutex
			retried := 0
			job := func(i int) {
				jb := chat(fmt.Sprint("job ", i))
				jb.ID = fmt.Sprint("b-", i)
				for attempt := 0; ; attempt++ {
					res, err := clients[i%2].Submit(t.Context(), jb)
					if err == nil {
						costs[i] = res.Cost
						return
					}
					var ae *agent.Error
					if !together || attempt == 20 || agent.CodeOf(err) != agent.Code(wire.CodeVoucherTooLow) || !errors.As(err, &ae) || !ae.Retryable || !strings.Contains(err.Error(), "after a resync") {
						t.Errorf("job %d: %v", i, err)
						return
					}
					mu.Lock()
					retried++
					mu.Unlock()
				}
			}
			for i := range 2 * rounds {
				if !together {
					job(i)
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					job(i)
				}()
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			sum := new(big.Int)
			for _, c := range costs {
				sum.Add(sum, c)
			}
			_, charged := e.node.stats(e.channel)
			if charged.Cmp(sum) != 0 {
				t.Fatalf("node charged %s; the results cost %s", charged, sum)
			}
			for i := range 2 * rounds {
				if n := e.node.runCount(e.channel, fmt.Sprint("b-", i)); n != 1 {
					t.Fatalf("job %d ran %d times", i, n)
				}
			}
			for _, c := range clients {
				if a := c.Account(); a.Charged.Cmp(charged) > 0 || a.InFlight.Sign() != 0 || a.Untrusted != nil {
					t.Fatalf("account %+v; node charged %s", a, charged)
				}
			}
			submits, _ := e.node.stats(e.channel)
			e.node.mu.Lock()
			syncs := e.node.syncs
			e.node.mu.Unlock()
			t.Logf("%d submits for %d jobs, %d syncs; %d jobs submitted again after a resync was outrun", submits, 2*rounds, syncs, retried)
		})
	}
}

// A client that stops while jobs of it still run on the node (a closed
// connection does not cancel them) restarts, and the node charges them
// after: the restart's account says they are reserved, so their charges
// are taken as gaps within what was reserved, and the jobs after pay on
// them. Tight, the first voucher, on the charged alone, is too low while
// they run, and the resync covers them; signed ahead (VoucherHeadroom),
// no voucher is refused, and the receipt above theirs shows their
// charges as gaps.
func TestResyncJobsRunOnAfterARestart(t *testing.T) {
	for _, ahead := range []bool{false, true} {
		t.Run(fmt.Sprint("signed ahead ", ahead), func(t *testing.T) {
			e := newEnv(t)
			c, cfg, dir := e.withStore(t)
			paid := pay(t, c, "before ", 3)
			e.node.mu.Lock()
			e.node.jobTimeFn = func(id string) time.Duration {
				if strings.HasPrefix(id, "slow") {
					return 300 * time.Millisecond
				}
				return 0
			}
			e.node.mu.Unlock()
			for i := range 2 {
				jb := chat(fmt.Sprint("slow ", i))
				jb.ID = fmt.Sprint("slow-", i)
				go c.Submit(t.Context(), jb)
			}
			waitNode(t, e, func() bool { return len(e.node.jobs) == 3+2 })
			if ahead {
				cfg.VoucherHeadroom = big.NewInt(1 << 20)
			}
			c = e.reopen(t, c, cfg, dir)
			res, err := c.Submit(t.Context(), chat("after"))
			if err != nil {
				t.Fatal(err)
			}
			// Once the slow jobs are charged, the next job's receipt is
			// above theirs.
			waitNode(t, e, func() bool { return e.node.reserved[e.channel].Sign() == 0 })
			submits, _ := e.node.stats(e.channel)
			next, err := c.Submit(t.Context(), chat("next"))
			if err != nil {
				t.Fatal(err)
			}
			after, charged := e.node.stats(e.channel)
			if ahead && after != submits+1 {
				t.Fatalf("%d submissions of the next job; its voucher, signed ahead, covers it", after-submits)
			}
			paid.Add(paid, res.Cost)
			paid.Add(paid, next.Cost)
			slow := new(big.Int).Sub(charged, paid)
			if a := c.Account(); a.Charged.Cmp(charged) != 0 || a.Committed.Cmp(charged) != 0 || slow.Sign() <= 0 || a.Untrusted != nil {
				t.Fatalf("account %+v; node charged %s, of which the slow jobs %s", a, charged, slow)
			}
		})
	}
}

// waitNode waits until ok, called under the node's lock, holds.
func waitNode(t *testing.T, e *env, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		e.node.mu.Lock()
		done := ok()
		e.node.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the node did not get there")
		}
	}
}
