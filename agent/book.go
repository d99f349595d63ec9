package agent

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

// book is one channel's account as the agent keeps it: the receipts it
// verified, by seq, and the max cost of each of its jobs in flight. From
// the two it signs vouchers: charged (the highest cumulative_charged a
// receipt proves) + the max cost of every job in flight.
//
// Receipts may arrive out of seq order (pipelined jobs end in any order)
// and with gaps (receipts of jobs run by another connection, or lost), so
// a receipt is checked against its nearest neighbours by seq: with a
// receipt a just below s, cumulative(s) − cost(s) ≥ cumulative(a), and
// equal when a = s−1; symmetrically above. The checks of neighbours imply
// those of every pair.
type book struct {
	channel common.Hash

	mu sync.Mutex
	// guarded by mu:
	bySeq    map[uint64]*wire.Receipt
	seqs     []uint64 // sorted keys of bySeq
	byJob    map[common.Hash]uint64
	charged  *big.Int // highest cumulative_charged held
	costs    *big.Int // Σ cost of the receipts held
	inflight map[string]*big.Int
	pending  *big.Int // Σ inflight
	bad      error    // set once a receipt failed: the provider is untrusted
}

func newBook(channel common.Hash) *book {
	return &book{
		channel: channel,
		bySeq:   map[uint64]*wire.Receipt{}, byJob: map[common.Hash]uint64{},
		charged: new(big.Int), costs: new(big.Int),
		inflight: map[string]*big.Int{}, pending: new(big.Int),
	}
}

// checkLocked checks r against the receipts held. dup reports that r is a
// receipt held already, identical (a replayed result).
func (b *book) checkLocked(r *wire.Receipt) (dup bool, err error) {
	if r.ChannelID != b.channel {
		return false, fmt.Errorf("receipt is for channel %s, not %s", r.ChannelID, b.channel)
	}
	if r.Seq == 0 {
		return false, fmt.Errorf("receipt seq 0; seqs start at 1")
	}
	if r.Cost == nil || r.CumulativeCharged == nil {
		return false, fmt.Errorf("receipt without cost or cumulative_charged")
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
	return false, nil
}

func sameReceipt(a, b *wire.Receipt) bool {
	return a.ChannelID == b.ChannelID && a.JobID == b.JobID && a.Cost.Cmp(b.Cost) == 0 &&
		a.CumulativeCharged.Cmp(b.CumulativeCharged) == 0 && a.InputTokens == b.InputTokens &&
		a.OutputTokens == b.OutputTokens && a.ResultHash == b.ResultHash && a.Seq == b.Seq &&
		bytes.Equal(a.Signature, b.Signature)
}

func (b *book) addLocked(r *wire.Receipt) {
	c := *r
	c.Cost, c.CumulativeCharged = wire.NewAmount(r.Cost.Big()), wire.NewAmount(r.CumulativeCharged.Big())
	b.bySeq[r.Seq] = &c
	i, _ := slices.BinarySearch(b.seqs, r.Seq)
	b.seqs = slices.Insert(b.seqs, i, r.Seq)
	b.byJob[r.JobID] = r.Seq
	b.costs.Add(b.costs, (*big.Int)(r.Cost))
	if cum := (*big.Int)(r.CumulativeCharged); cum.Cmp(b.charged) > 0 {
		b.charged.Set(cum)
	}
}

// accept checks r and adds it. A receipt that fails marks the book bad.
func (b *book) accept(r *wire.Receipt) (dup bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad != nil {
		return false, b.bad
	}
	dup, err = b.checkLocked(r)
	if err != nil {
		b.bad = err
		return false, err
	}
	if !dup {
		b.addLocked(r)
	}
	return dup, nil
}

// markBad marks the provider of this channel untrusted.
func (b *book) markBad(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad == nil {
		b.bad = err
	}
}

func (b *book) badErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bad
}

// reserve puts job id in flight at maxCost and returns the voucher amount
// to sign: charged + the max cost of everything in flight, this job
// included.
func (b *book) reserve(id string, maxCost *big.Int) (*big.Int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad != nil {
		return nil, b.bad
	}
	if old, ok := b.inflight[id]; ok {
		b.pending.Sub(b.pending, old)
	}
	b.inflight[id] = new(big.Int).Set(maxCost)
	b.pending.Add(b.pending, maxCost)
	return new(big.Int).Add(b.charged, b.pending), nil
}

// release takes job id out of flight.
func (b *book) release(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
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
	LastSeq      uint64
	// Gaps counts the seqs missing below LastSeq.
	Gaps uint64
	// InFlight is the sum of the max costs of the jobs in flight, and
	// Committed = Charged + InFlight, what the vouchers signed cover.
	InFlight, Committed *big.Int
	Jobs                int // in flight
	// Untrusted is why the provider is no longer paid, if it is not.
	Untrusted error
}

func (b *book) account() Account {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := Account{
		Channel: b.channel, Charged: new(big.Int).Set(b.charged), ReceiptCosts: new(big.Int).Set(b.costs),
		Receipts: len(b.seqs), InFlight: new(big.Int).Set(b.pending), Jobs: len(b.inflight), Untrusted: b.bad,
	}
	a.Committed = new(big.Int).Add(a.Charged, a.InFlight)
	if n := len(b.seqs); n > 0 {
		a.LastSeq = b.seqs[n-1]
		a.Gaps = a.LastSeq - uint64(n)
	}
	return a
}

// verifyResult checks a result for a job priced at maxCost under price,
// paid from channel, before the book takes its receipt: the receipt is the
// provider's signature under d, for this channel and job, hashes the
// output (unless dropped from a replay), repeats the result's cost and
// usage, costs no more than the job's max cost nor than the offer's price
// for the usage it reports.
func verifyResult(d *contracts.Domain, provider common.Address, channel common.Hash, price *contracts.Price, maxCost *big.Int, res *wire.Result) error {
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
	if err := res.Verify(d, provider, channel); err != nil {
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
