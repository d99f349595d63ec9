package agent

import (
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

// book is one channel's account as the agent keeps it: the receipts it
// checked (a wire.ReceiptBook, which holds the checks of docs/protocol.md
// and its batch rule), the job id of each (the evidence to keep when one
// fails), and the max cost of each of its jobs in flight. From them it
// signs vouchers.
//
// Receipts come out of seq order and with gaps: the receipts of its jobs
// still in flight, which the node charged in another order than they
// end, of another client on the channel, or lost. What the highest
// cumulative_charged held says was charged beyond the costs of the
// receipts held (the gaps) is not evidence of anything the agent asked
// for, so the book bounds it (docs/protocol.md, "Receipts above a gap"):
// a receipt is refused when the gaps would exceed the max cost of the
// jobs still in flight (their receipts fill them) plus the credit; and
// vouchers build on the costs of the receipts held plus at most the
// credit of the gaps, not on the highest cumulative_charged. The credit
// is Config.SharedChargeCap, plus the gaps of the receipts read back from
// the store (they passed this rule when they came; the jobs that would
// fill them were lost with the process that ran them).
type book struct {
	channel common.Hash
	// verify checks a receipt's signature; eachFirst says that every
	// receipt's is verified as it comes (no batch rule), before mu is
	// taken.
	verify    func(*wire.Receipt) error
	eachFirst bool

	mu sync.Mutex
	// guarded by mu:
	receipts *wire.ReceiptBook
	jobIDs   map[uint64]string // the job id of each receipt held, by seq
	inflight map[string]*big.Int
	pending  *big.Int // Σ inflight
	credit   *big.Int // the gaps the book may leave unexplained
	bad      error    // set once a receipt failed: the provider is untrusted
}

// A receiptError is a receipt that failed, with the job id it came with:
// the evidence to keep.
type receiptError struct {
	r     *wire.Receipt
	jobID string
	err   error
}

func (e *receiptError) Error() string { return e.err.Error() }
func (e *receiptError) Unwrap() error { return e.err }

// newBook returns the book of channel, whose receipts verify checks, under
// the batch rule every and capCost (wire.NewReceiptBook), with shared
// (Config.SharedChargeCap; nil is none) as its credit for gaps.
func newBook(channel common.Hash, every int, capCost, shared *big.Int, verify func(*wire.Receipt) error) *book {
	b := &book{
		channel: channel, verify: verify,
		receipts: wire.NewReceiptBook(channel, every, capCost, verify),
		jobIDs:   map[uint64]string{}, inflight: map[string]*big.Int{}, pending: new(big.Int), credit: new(big.Int),
	}
	b.eachFirst = b.receipts.VerifiesEach()
	if shared != nil && shared.Sign() > 0 {
		b.credit.Set(shared)
	}
	return b
}

// accept checks r, the receipt of job id priced at maxCost, and adds it;
// the job is then out of flight. Its signature is verified first unless
// the batch rule lets it wait (checked is true when the caller verified
// it already); the rule may verify another receipt held instead. The
// gaps below the highest receipt may not exceed the max cost of the jobs
// still in flight plus the credit (see book). A receipt that fails marks
// the book bad; the error is then a *receiptError naming the receipt to
// keep as evidence, which may be one held before.
//
// verified reports whether r's own signature was verified by the time
// accept returned.
func (b *book) accept(r *wire.Receipt, id string, maxCost *big.Int, checked bool) (dup, verified bool, err error) {
	// Without a batch rule every signature is verified: here, outside the
	// lock, so that results ending together verify theirs together. One
	// that fails is verified again by Take, which says why.
	checked = checked || b.eachFirst && b.verify(r) == nil
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad != nil {
		return false, false, b.bad
	}
	allowance := new(big.Int).Add(b.pending, b.credit)
	if own, ok := b.inflight[id]; ok {
		allowance.Sub(allowance, own)
	}
	dup, verified, err = b.receipts.Take(r, maxCost, allowance, checked)
	if err != nil {
		return false, false, b.failLocked(b.evidenceLocked(err, id))
	}
	if !dup {
		b.jobIDs[r.Seq] = id
	}
	b.releaseLocked(id)
	return dup, verified, nil
}

// load adds r, read back from the store with its signature verified,
// without the bound on gaps: it passed it when it came.
func (b *book) load(r *wire.Receipt, id string) (dup bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	dup, _, err = b.receipts.Take(r, nil, nil, true)
	if err == nil && !dup {
		b.jobIDs[r.Seq] = id
	}
	return dup, err
}

// loaded credits the gaps of the receipts read back: they passed the
// bound when they came, and the jobs that would fill them were lost with
// the process that ran them.
func (b *book) loaded() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.credit.Add(b.credit, b.receipts.Gaps())
}

// evidenceLocked names the job of the receipt that err, a failure of the
// receipt book, keeps as evidence: job id's (whose receipt the book was
// taking; "" for none) or that of one held.
func (b *book) evidenceLocked(err error, id string) error {
	var we *wire.ReceiptError
	if !errors.As(err, &we) {
		return err
	}
	if id == "" || we.Receipt.JobID != wire.JobKey(id) {
		id = b.jobIDs[we.Receipt.Seq]
	}
	return &receiptError{we.Receipt, id, err}
}

// prove verifies the open receipts' runs, the highest first, until every
// receipt held is covered and charged is proven. With idle it does so
// only when no job is in flight. It returns the failure it found, if
// any: a book already bad has nothing more to prove.
func (b *book) prove(idle bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad != nil || idle && len(b.inflight) > 0 {
		return nil
	}
	if err := b.receipts.Prove(); err != nil {
		return b.failLocked(b.evidenceLocked(err, ""))
	}
	return nil
}

func (b *book) failLocked(err error) error {
	if b.bad == nil {
		b.bad = err
		b.receipts.Fail(err)
	}
	return err
}

// markBad marks the provider of this channel untrusted, for err, which it
// returns.
func (b *book) markBad(err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failLocked(err)
}

func (b *book) badErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bad
}

// basisLocked is what vouchers build on: the costs of the receipts held,
// plus their gaps up to the credit.
func (b *book) basisLocked(f *wire.ReceiptFigures) *big.Int {
	gaps := new(big.Int).Sub(f.Charged, f.Costs)
	if gaps.Cmp(b.credit) > 0 {
		gaps.Set(b.credit)
	}
	return gaps.Add(gaps, f.Costs)
}

// reserve puts job id in flight at maxCost and returns the voucher amount
// to sign: the basis (see basisLocked) + the max cost of everything in
// flight, this job included.
func (b *book) reserve(id string, maxCost *big.Int) (*big.Int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad != nil {
		return nil, b.bad
	}
	b.releaseLocked(id)
	b.inflight[id] = new(big.Int).Set(maxCost)
	b.pending.Add(b.pending, maxCost)
	f := b.receipts.Figures()
	amount := b.basisLocked(&f)
	return amount.Add(amount, b.pending), nil
}

// release takes job id out of flight.
func (b *book) release(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.releaseLocked(id)
}

func (b *book) releaseLocked(id string) {
	if old, ok := b.inflight[id]; ok {
		b.pending.Sub(b.pending, old)
		delete(b.inflight, id)
	}
}

// Account is a channel's account as the agent holds it.
type Account struct {
	Channel common.Hash
	// Charged is the highest cumulative_charged of the receipts held: what
	// the provider's own signatures say the channel was charged.
	Charged *big.Int
	// ReceiptCosts is the sum of the costs of the receipts held; below
	// Charged when receipts are missing (a gap in Seqs).
	ReceiptCosts *big.Int
	Receipts     int
	// Verified counts the receipts whose signature the agent verified:
	// all of them, unless Config.VerifyReceiptsEvery lets some wait; the
	// others are covered by a verified receipt above them (Client.Account
	// verifies what it must for that first).
	Verified int
	LastSeq  uint64
	// Gaps counts the seqs missing below LastSeq.
	Gaps uint64
	// InFlight is the sum of the max costs of the jobs in flight, and
	// Committed what the vouchers signed cover: ReceiptCosts, plus the
	// part of Charged − ReceiptCosts (what was charged for receipts not
	// held) that Config.SharedChargeCap and the receipts read back from
	// the store credit, plus InFlight (docs/protocol.md, "Receipts above
	// a gap"). With every receipt held, ReceiptCosts = Charged.
	InFlight, Committed *big.Int
	Jobs                int // in flight
	// Untrusted is why the provider is no longer paid, if it is not.
	Untrusted error
}

func (b *book) account() Account {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.receipts.Figures()
	a := Account{
		Channel: b.channel, Charged: f.Charged, ReceiptCosts: f.Costs, Receipts: f.Held, Verified: f.Verified,
		LastSeq: f.LastSeq, Gaps: f.LastSeq - uint64(f.Held),
		InFlight: new(big.Int).Set(b.pending), Jobs: len(b.inflight), Untrusted: b.bad,
	}
	a.Committed = b.basisLocked(&f)
	a.Committed.Add(a.Committed, a.InFlight)
	return a
}

// checkResult checks a result for a job priced at maxCost under price,
// paid from channel, before the book takes its receipt (and, as its batch
// rule says, verifies its signature): the receipt is for this channel and
// job, hashes the output (unless dropped from a replay), repeats the
// result's cost and usage, costs no more than the job's max cost nor than
// the offer's price for the usage it reports.
func checkResult(channel common.Hash, price *contracts.Price, maxCost *big.Int, res *wire.Result) error {
	r := &res.Receipt
	switch {
	case res.Cost == nil || r.Cost == nil || r.CumulativeCharged == nil:
		return fmt.Errorf("result without cost")
	case res.Cost.Cmp(r.Cost) != 0:
		return fmt.Errorf("result cost %s is not the receipt's %s", res.Cost, r.Cost)
	case res.Usage.InputTokens != r.InputTokens || res.Usage.OutputTokens != r.OutputTokens:
		return fmt.Errorf("result usage is not the receipt's")
	case res.OutputDropped && (res.Output != "" || !res.Replayed):
		return fmt.Errorf("output_dropped on a result that is not an empty replay")
	}
	if err := res.Check(channel); err != nil {
		return err
	}
	cost := (*big.Int)(r.Cost)
	if maxCost != nil && cost.Cmp(maxCost) > 0 {
		return fmt.Errorf("receipt cost %s is above the job's max cost %s", cost, maxCost)
	}
	if price != nil {
		if p := price.Cost(r.InputTokens, r.OutputTokens); cost.Cmp(p) > 0 {
			return fmt.Errorf("receipt cost %s is above the offer's price %s for %d input and %d output tokens", cost, p, r.InputTokens, r.OutputTokens)
		}
	}
	return nil
}
