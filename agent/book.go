package agent

import (
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"

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
//
// The node's account of the channel (a sync answer) may say more was
// charged than the receipts held show: receipts lost with a crash or an
// old store, or another client's charges. The book adopts it as an
// anchor, the charged by the node's last receipt seq, only within a bound
// of what the agent knows (resync; docs/protocol.md, "Resync"), and holds
// the receipts that come after to it.
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
	// signed is the highest voucher amount signed on the channel, as far
	// as the agent knows: this process's, and its store's record.
	signed *big.Int
	// anchor, when set, is the charged adopted from the node's account by
	// receipt seq anchorSeq; adopted is what adoptions added to credit
	// (beyond the credit left) that receipts at or below anchorSeq have
	// not explained since.
	anchor    *big.Int
	anchorSeq uint64
	adopted   *big.Int

	// synced is set once the node's account of the channel was read
	// before the first job (Client.syncFirst); syncMu serializes that
	// read.
	synced atomic.Bool
	syncMu sync.Mutex
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
		signed: new(big.Int), adopted: new(big.Int),
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
	if err := b.checkAnchorLocked(r); err != nil {
		if !checked {
			if serr := b.verify(r); serr != nil {
				err = fmt.Errorf("receipt seq %d: %w", r.Seq, serr)
			}
		}
		return false, false, b.failLocked(&receiptError{r, id, err})
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
		if b.anchor != nil && r.Seq <= b.anchorSeq {
			// Its cost is in the adopted charge: the credit adopted for
			// it is needed no more.
			explained := bigMin((*big.Int)(r.Cost), b.adopted)
			b.adopted.Sub(b.adopted, explained)
			b.credit.Sub(b.credit, explained)
		}
	}
	b.releaseLocked(id)
	return dup, verified, nil
}

// checkAnchorLocked holds r to the charged adopted from the node: the
// node said the channel was charged anchor by receipt seq anchorSeq, so
// a receipt of that seq says exactly that, one below it no more, and one
// above it had at least that charged before it (exactly that, right
// above). A receipt that does not agree proves the node's account wrong.
func (b *book) checkAnchorLocked(r *wire.Receipt) error {
	if b.anchor == nil || r.Cost == nil || r.CumulativeCharged == nil {
		return nil // the receipt book refuses the latter
	}
	cum := (*big.Int)(r.CumulativeCharged)
	before := new(big.Int).Sub(cum, (*big.Int)(r.Cost))
	var bad bool
	switch {
	case r.Seq == b.anchorSeq:
		bad = cum.Cmp(b.anchor) != 0
	case r.Seq < b.anchorSeq:
		bad = cum.Cmp(b.anchor) > 0
	case r.Seq == b.anchorSeq+1:
		bad = before.Cmp(b.anchor) != 0
	default:
		bad = before.Cmp(b.anchor) < 0
	}
	if bad {
		return fmt.Errorf("receipt seq %d: cumulative_charged %s, cost %s: the node's account of the channel said %s was charged by seq %d",
			r.Seq, cum, r.Cost, b.anchor, b.anchorSeq)
	}
	return nil
}

// resync takes the node's account of the channel, ch (its answer to
// sync), and adopts its charged within the bound of docs/protocol.md
// ("Resync"): the node's charged + reserved, less the max cost of the
// agent's own jobs in flight, may not exceed the highest voucher signed,
// nor the costs of the receipts held plus the credit, whichever is
// larger. Adopted, the charged is the anchor the receipts that come are
// held to, and raises the basis of the vouchers. What it adds, and what
// is reserved for others' jobs, takes the credit left; beyond it the
// credit is raised by as much (as receipts read back from the store
// raise it), and lowered again as receipts at or below the anchor's seq
// explain the charge. An account above the bound, or below a receipt
// held, marks the book bad; now reports that it did so now, rather than
// before.
func (b *book) resync(ch *wire.Channel) (now bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad != nil {
		return false, b.bad
	}
	switch {
	case ch.ChannelID != b.channel:
		return true, b.failLocked(fmt.Errorf("the node answered sync with the account of channel %s, not %s", ch.ChannelID, b.channel))
	case ch.Charged == nil || ch.Reserved == nil:
		return true, b.failLocked(fmt.Errorf("the node answered sync without charged or reserved"))
	}
	f := b.receipts.Figures()
	charged, reserved := ch.Charged.Big(), ch.Reserved.Big()
	// A receipt seq below one held is an account older than that receipt
	// (its job was charged after the node read it): nothing to adopt, but
	// the bound holds all the same.
	current := ch.ReceiptSeq >= f.LastSeq && (b.anchor == nil || ch.ReceiptSeq >= b.anchorSeq)
	if current && (charged.Cmp(f.Charged) < 0 || b.anchor != nil && charged.Cmp(b.anchor) < 0) {
		return true, b.failLocked(fmt.Errorf("the node says channel %s was charged %s by receipt seq %d, less than its receipts, or its earlier account, say was charged by seq %d",
			b.channel, charged, ch.ReceiptSeq, max(f.LastSeq, b.anchorSeq)))
	}
	owed := new(big.Int).Add(charged, reserved)
	owed.Sub(owed, b.pending)
	bound := new(big.Int).Add(f.Costs, b.credit)
	if b.signed.Cmp(bound) > 0 {
		bound.Set(b.signed)
	}
	if owed.Cmp(bound) > 0 {
		return true, b.failLocked(&ChargeError{
			Channel: b.channel, Seq: ch.ReceiptSeq, Charged: charged, Reserved: reserved,
			InFlight: new(big.Int).Set(b.pending), Signed: new(big.Int).Set(b.signed), Costs: f.Costs,
			Credit: new(big.Int).Set(b.credit), Bound: bound,
		})
	}
	if !current {
		return false, nil
	}
	// What the charge adds to the basis, and what is reserved for jobs
	// not the agent's (of a process before a restart, of another client),
	// whose charges will show as gaps, take the credit left: the part not
	// spent on gaps. The rest, which only the vouchers signed allow, is
	// added to the credit; receipts at or below the anchor's seq take
	// back what the charge added.
	basis := b.basisLocked(&f)
	more := new(big.Int).Sub(charged, basis)
	if more.Sign() < 0 {
		more.SetInt64(0)
	}
	others := new(big.Int).Sub(reserved, b.pending)
	if others.Sign() < 0 {
		others.SetInt64(0)
	}
	left := new(big.Int).Sub(b.credit, basis.Sub(basis, f.Costs))
	if add := new(big.Int).Add(more, others); add.Cmp(left) > 0 {
		add.Sub(add, left)
		b.credit.Add(b.credit, add)
		b.adopted.Add(b.adopted, bigMin(add, more))
	}
	if more.Sign() > 0 {
		b.anchor, b.anchorSeq = charged, ch.ReceiptSeq
	}
	return false, nil
}

// signedUpTo notes that a voucher of amount was signed.
func (b *book) signedUpTo(amount *big.Int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if amount.Cmp(b.signed) > 0 {
		b.signed.Set(amount)
	}
}

func bigMin(x, y *big.Int) *big.Int {
	if x.Cmp(y) < 0 {
		return new(big.Int).Set(x)
	}
	return new(big.Int).Set(y)
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
// plus their gaps up to the credit. The gaps reach up to the charged
// adopted from the node while no receipt held is above it.
func (b *book) basisLocked(f *wire.ReceiptFigures) *big.Int {
	charged := f.Charged
	if b.anchor != nil && b.anchor.Cmp(charged) > 0 {
		charged = b.anchor
	}
	gaps := new(big.Int).Sub(charged, f.Costs)
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
	// Signed is the highest voucher amount signed on the channel, as far
	// as the agent knows (across restarts, by its store's record): the
	// most the provider can claim with them. It bounds what a resync
	// adopts (docs/protocol.md, "Resync").
	Signed *big.Int
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
		Signed: new(big.Int).Set(b.signed),
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
