package wire

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
)

// ReceiptBook is one channel's receipts as an agent holds them, checked
// by the rules of docs/protocol.md: every receipt against its neighbours
// by seq when it comes, and the provider's signature on as many receipts
// as the batch rule asks ("Verifying receipts in batches"). The agent SDK
// and the node's load generator (nodetest.Agent) both keep their
// receipts in one, so that the rule is written once.
//
// Receipts may come out of seq order (pipelined jobs end in any order)
// and with gaps (receipts of jobs still running, of another client, or
// lost), so a receipt is checked against its nearest neighbours held:
// with a receipt a just below s, cumulative(s) − cost(s) ≥ cumulative(a),
// and equal when a = s − 1; symmetrically above. The checks of
// neighbours imply those of every pair.
//
// With a batch size every above 1, a receipt's signature may wait. A
// receipt is covered when its own signature, or that of a receipt above
// it with no seq missing in between, was verified: that signature proves
// the run's running total. The book keeps the receipts not covered
// (open) under the rule's two bounds: fewer than every of them, and the
// highest cumulative_charged held at most the cost cap above the highest
// verified one. Whenever one more receipt would pass a bound it verifies
// the highest open receipt, and again until both hold.
//
// A receipt that fails a check, then or when the rule verifies it later,
// makes the book fail: it holds no more receipts, and Err says why, a
// *ReceiptError naming the receipt to keep as evidence. A ReceiptBook is
// not safe for concurrent use: its owner serializes calls, under the lock
// of its own account of the channel.
type ReceiptBook struct {
	channel common.Hash
	every   int
	capCost *big.Int
	verify  func(*Receipt) error

	bySeq    map[uint64]*Receipt
	seqs     []uint64 // sorted keys of bySeq
	byJob    map[common.Hash]uint64
	charged  *big.Int // the highest cumulative_charged held
	costs    *big.Int // Σ cost of the receipts held
	open     []uint64 // sorted seqs of the receipts not covered
	proven   *big.Int // cumulative_charged of the highest receipt verified
	provenAt uint64   // its seq
	verified int      // receipts whose signature was verified
	err      error    // the first failure: the provider is untrusted
}

// A ReceiptError is a receipt that failed: Receipt is the one to keep as
// evidence against the provider (the receipt given to Take, or one held
// unverified before that the rule found not signed by the provider), Err
// says why.
type ReceiptError struct {
	Receipt *Receipt
	Err     error
}

func (e *ReceiptError) Error() string { return e.Err.Error() }
func (e *ReceiptError) Unwrap() error { return e.Err }

// NewReceiptBook returns the empty book of channel, whose receipts'
// signatures verify checks. every is the batch size N: 0 or 1 verifies
// every receipt as it comes. capCost is the cap C on the part of the
// highest cumulative_charged held that no verified signature proves; nil
// is every × the max cost of the job whose receipt comes.
func NewReceiptBook(channel common.Hash, every int, capCost *big.Int, verify func(*Receipt) error) *ReceiptBook {
	return &ReceiptBook{
		channel: channel, every: every, capCost: capCost, verify: verify,
		bySeq: map[uint64]*Receipt{}, byJob: map[common.Hash]uint64{},
		charged: new(big.Int), costs: new(big.Int), proven: new(big.Int),
	}
}

// VerifiesEach reports whether every receipt's signature is verified as it
// comes (a batch size of 0 or 1). Its owner may then verify a receipt
// before it takes its lock, and tell Take so.
func (b *ReceiptBook) VerifiesEach() bool { return b.every <= 1 }

// Take checks r, the receipt of a job whose max cost is maxCost, against
// the receipts held, and holds it. r's signature is verified first unless
// the batch rule lets it wait, or checked says that the caller verified it
// already; the rule may verify other receipts held instead. maxCost sets
// the default cost cap (nil: none, when the book has no cap of its own).
//
// gapAllowance, when not nil, bounds the gaps: with r held, the highest
// cumulative_charged may exceed the sum of the costs of the receipts held
// by at most gapAllowance. That excess is what the channel was charged
// for receipts not held, missing below the highest (docs/protocol.md,
// "Receipts above a gap"); a receipt that would take it past the
// allowance is refused like one that does not add up.
//
// dup reports that r is a receipt held already, identical (a replayed
// result); verified, that r's own signature was verified by the time Take
// returned. A receipt that fails is not held, and the book fails: the
// error is a *ReceiptError.
func (b *ReceiptBook) Take(r *Receipt, maxCost, gapAllowance *big.Int, checked bool) (dup, verified bool, err error) {
	if b.err != nil {
		return false, false, b.err
	}
	if !checked && b.VerifiesEach() {
		if err := b.verify(r); err != nil {
			return false, false, b.Fail(&ReceiptError{r, fmt.Errorf("receipt seq %d: %w", r.Seq, err)})
		}
		checked = true
	}
	if dup, err = b.check(r, gapAllowance); err != nil {
		return false, false, b.Fail(b.blame(r, checked, err))
	}
	if dup {
		return true, checked, nil
	}
	held := b.add(r)
	if checked {
		b.proved(held)
		return false, true, nil
	}
	b.openUp(held.Seq)
	limit := b.capCost
	if limit == nil && maxCost != nil {
		limit = new(big.Int).Mul(maxCost, big.NewInt(int64(b.every)))
	}
	for len(b.open) > 0 && (len(b.open) >= b.every || limit != nil && new(big.Int).Sub(b.charged, b.proven).Cmp(limit) > 0) {
		seq, err := b.proveTop()
		if err != nil {
			return false, false, err
		}
		verified = verified || seq == r.Seq
	}
	return false, verified, nil
}

// check checks r against the receipts held, and its part of the gaps
// against gapAllowance (see Take). dup reports that r is a receipt held
// already, identical.
func (b *ReceiptBook) check(r *Receipt, gapAllowance *big.Int) (dup bool, err error) {
	if r.ChannelID != b.channel {
		return false, fmt.Errorf("receipt is for channel %s, not %s", r.ChannelID, b.channel)
	}
	if r.Seq == 0 {
		return false, fmt.Errorf("receipt seq 0; seqs start at 1")
	}
	if r.Cost == nil || r.CumulativeCharged == nil {
		return false, fmt.Errorf("receipt seq %d without cost or cumulative_charged", r.Seq)
	}
	cost, cum := (*big.Int)(r.Cost), (*big.Int)(r.CumulativeCharged)
	if cost.Sign() < 0 || cum.Cmp(cost) < 0 {
		return false, fmt.Errorf("receipt seq %d: cumulative_charged %s below its cost %s", r.Seq, cum, cost)
	}
	if held, ok := b.bySeq[r.Seq]; ok {
		if sameReceipt(held, r) {
			return true, nil
		}
		return false, fmt.Errorf("two different receipts with seq %d", r.Seq)
	}
	if seq, ok := b.byJob[r.JobID]; ok {
		return false, fmt.Errorf("job %s charged twice: receipts seq %d and %d", r.JobID, seq, r.Seq)
	}
	if r.Seq == 1 && cum.Cmp(cost) != 0 {
		return false, fmt.Errorf("receipt seq 1: cumulative_charged %s is not its cost %s", cum, cost)
	}
	i, _ := slices.BinarySearch(b.seqs, r.Seq)
	before := new(big.Int).Sub(cum, cost) // the channel's charged total before this job
	if i > 0 {
		lo := b.bySeq[b.seqs[i-1]]
		loCum := (*big.Int)(lo.CumulativeCharged)
		if lo.Seq == r.Seq-1 && before.Cmp(loCum) != 0 {
			return false, fmt.Errorf("receipt seq %d: cumulative_charged %s − cost %s ≠ %s, the cumulative of seq %d", r.Seq, cum, cost, loCum, lo.Seq)
		}
		if before.Cmp(loCum) < 0 {
			return false, fmt.Errorf("receipt seq %d: cumulative_charged %s − cost %s is below %s, the cumulative of the earlier seq %d", r.Seq, cum, cost, loCum, lo.Seq)
		}
	}
	if i < len(b.seqs) {
		hi := b.bySeq[b.seqs[i]]
		hiBefore := new(big.Int).Sub((*big.Int)(hi.CumulativeCharged), (*big.Int)(hi.Cost))
		if hi.Seq == r.Seq+1 && hiBefore.Cmp(cum) != 0 {
			return false, fmt.Errorf("receipt seq %d: cumulative_charged %s, but seq %d says %s before it", r.Seq, cum, hi.Seq, hiBefore)
		}
		if hiBefore.Cmp(cum) < 0 {
			return false, fmt.Errorf("receipt seq %d: cumulative_charged %s is above what the later seq %d had before it, %s", r.Seq, cum, hi.Seq, hiBefore)
		}
	}
	if gapAllowance != nil {
		// The highest receipt, r or one held, is the provider's claim that
		// the gaps below it were charged: the evidence if they may not be.
		claim := r
		if i < len(b.seqs) {
			claim = b.bySeq[b.seqs[len(b.seqs)-1]]
		}
		gaps := new(big.Int).Sub((*big.Int)(claim.CumulativeCharged), b.costs)
		if gaps.Sub(gaps, cost).Cmp(gapAllowance) > 0 {
			return false, &ReceiptError{claim, fmt.Errorf("receipt seq %d: cumulative_charged %s leaves %s charged for receipts not held, in the seqs missing below it, with seq %d taken; at most %s may be (the receipts still to come)",
				claim.Seq, claim.CumulativeCharged, gaps, r.Seq, gapAllowance)}
		}
	}
	return false, nil
}

func sameReceipt(a, b *Receipt) bool {
	return a.ChannelID == b.ChannelID && a.JobID == b.JobID && a.Cost.Cmp(b.Cost) == 0 &&
		a.CumulativeCharged.Cmp(b.CumulativeCharged) == 0 && a.InputTokens == b.InputTokens &&
		a.OutputTokens == b.OutputTokens && a.ResultHash == b.ResultHash && a.Seq == b.Seq &&
		bytes.Equal(a.Signature, b.Signature)
}

// add holds a copy of r, checked, and returns it.
func (b *ReceiptBook) add(r *Receipt) *Receipt {
	c := *r
	c.Cost, c.CumulativeCharged = NewAmount((*big.Int)(r.Cost)), NewAmount((*big.Int)(r.CumulativeCharged))
	c.Signature = bytes.Clone(r.Signature)
	b.bySeq[r.Seq] = &c
	i, _ := slices.BinarySearch(b.seqs, r.Seq)
	b.seqs = slices.Insert(b.seqs, i, r.Seq)
	b.byJob[r.JobID] = r.Seq
	b.costs.Add(b.costs, (*big.Int)(r.Cost))
	if cum := (*big.Int)(r.CumulativeCharged); cum.Cmp(b.charged) > 0 {
		b.charged.Set(cum)
	}
	return &c
}

// openUp puts seq, just held unverified, among the open receipts, unless
// a verified receipt above it in an unbroken run covers it; then it
// covers the open receipts of the run below it too.
func (b *ReceiptBook) openUp(seq uint64) {
	for s := seq + 1; b.bySeq[s] != nil; s++ {
		if _, open := slices.BinarySearch(b.open, s); !open {
			b.cover(seq)
			return
		}
	}
	i, _ := slices.BinarySearch(b.open, seq)
	b.open = slices.Insert(b.open, i, seq)
}

// cover takes seq and the open receipts of the unbroken run below it out
// of the open ones. A held receipt below that is not open is covered
// already, and so is the rest of its run.
func (b *ReceiptBook) cover(seq uint64) {
	b.close(seq)
	for s := seq - 1; s > 0 && b.bySeq[s] != nil && b.close(s); s-- {
	}
}

// close takes seq out of the open receipts, if it is one.
func (b *ReceiptBook) close(seq uint64) bool {
	i, ok := slices.BinarySearch(b.open, seq)
	if ok {
		b.open = slices.Delete(b.open, i, i+1)
	}
	return ok
}

// proved records that r's signature is the provider's: it covers its
// run, and proves the charged total up to it.
func (b *ReceiptBook) proved(r *Receipt) {
	b.verified++
	b.cover(r.Seq)
	if r.Seq > b.provenAt {
		b.provenAt = r.Seq
		b.proven.Set((*big.Int)(r.CumulativeCharged))
	}
}

// proveTop verifies the signature of the highest open receipt, which
// covers its run, and returns its seq.
func (b *ReceiptBook) proveTop() (uint64, error) {
	seq := b.open[len(b.open)-1]
	r := b.bySeq[seq]
	if err := b.verify(r); err != nil {
		return seq, b.Fail(heldError(r, err))
	}
	b.proved(r)
	return seq, nil
}

func heldError(r *Receipt, err error) *ReceiptError {
	return &ReceiptError{r, fmt.Errorf("receipt seq %d, held unverified: %w", r.Seq, err)}
}

// Prove verifies the open receipts' runs, the highest first, until every
// receipt held is covered and the highest cumulative_charged held is
// proven. It returns the failure it found, if any; a book that had failed
// already has nothing more to prove (Err says why).
func (b *ReceiptBook) Prove() error {
	for b.err == nil && len(b.open) > 0 {
		if _, err := b.proveTop(); err != nil {
			return err
		}
	}
	return nil
}

// blame is the error of r, which failed a check with err: checked or
// not, a receipt whose figures do not add up is evidence against the
// provider only if the provider signed it, so r's signature and those of
// the open receipts are verified, and the first that is not the
// provider's is named; else r, or the receipt err names.
func (b *ReceiptBook) blame(r *Receipt, checked bool, err error) *ReceiptError {
	if !checked {
		if serr := b.verify(r); serr != nil {
			return &ReceiptError{r, fmt.Errorf("receipt seq %d: %w", r.Seq, serr)}
		}
	}
	for _, seq := range b.open {
		if serr := b.verify(b.bySeq[seq]); serr != nil {
			return heldError(b.bySeq[seq], serr)
		}
	}
	if re, ok := err.(*ReceiptError); ok {
		return re // names the receipt to keep already
	}
	return &ReceiptError{r, err}
}

// Fail makes the book fail for err, unless it failed already, and
// returns err.
func (b *ReceiptBook) Fail(err error) error {
	if b.err == nil {
		b.err = err
	}
	return err
}

// Err is the book's first failure: why the provider is untrusted.
func (b *ReceiptBook) Err() error { return b.err }

// ReceiptFigures is what a ReceiptBook holds, in figures.
type ReceiptFigures struct {
	// Charged is the highest cumulative_charged held; Costs the sum of
	// the costs of the receipts held. Charged − Costs is what the channel
	// was charged for receipts not held, in the gaps below the highest.
	Charged, Costs *big.Int
	// Proven is the cumulative_charged of the highest receipt whose
	// signature was verified.
	Proven *big.Int
	// Held counts the receipts, Verified those whose signature was
	// verified, Uncovered those that no verified receipt covers.
	Held, Verified, Uncovered int
	LastSeq                   uint64 // the highest seq held; 0 with none
}

// Figures returns the book's figures, copied.
func (b *ReceiptBook) Figures() ReceiptFigures {
	f := ReceiptFigures{
		Charged: new(big.Int).Set(b.charged), Costs: new(big.Int).Set(b.costs), Proven: new(big.Int).Set(b.proven),
		Held: len(b.seqs), Verified: b.verified, Uncovered: len(b.open),
	}
	if n := len(b.seqs); n > 0 {
		f.LastSeq = b.seqs[n-1]
	}
	return f
}

// Gaps is Charged − Costs of Figures, without the copies: what the channel
// was charged for receipts not held, in the gaps below the highest.
func (b *ReceiptBook) Gaps() *big.Int { return new(big.Int).Sub(b.charged, b.costs) }
