package agent

import (
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Budget is the mandate an agent pays under, in the spirit of AP2's
// intent mandates: which providers and assets it may pay, and how much —
// per job, in total, and per rolling hour, per asset. A job over budget is
// refused before anything is signed, with an *Error whose Code names the
// limit and whose Err is a *BudgetError with the figures.
//
// A job counts against the budget at its max cost from the moment it is
// signed for, and at its actual cost once its receipt comes; a job that
// fails counts nothing. The hour is rolling: a job counts in the hour
// after it was signed for.
//
// A nil *Budget allows everything. A Budget is safe for concurrent use and
// may be shared by several Clients.
type Budget struct {
	// Providers, when not empty, are the only providers that may be paid.
	Providers []common.Address
	// Limits holds the limits of each asset that may be paid (the zero
	// address: ETH). When nil, any asset may be paid, without limits;
	// when not, an asset without an entry may not be paid.
	Limits map[common.Address]Limits
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu    sync.Mutex
	spent map[common.Address]*spending // guarded by mu
}

// Limits are one asset's limits, in its base units; nil is no limit.
type Limits struct {
	PerJob  *big.Int
	Total   *big.Int
	PerHour *big.Int
}

type spending struct {
	total  *big.Int // settled costs + max costs in flight
	recent []*charge
}

type charge struct {
	at     time.Time
	amount *big.Int
}

// Reservation is a job's claim on a budget between signing and the end of
// the job. Settle it exactly once.
type Reservation struct {
	b     *Budget
	asset common.Address
	c     *charge
	done  bool
}

func (b *Budget) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Budget) spendingLocked(asset common.Address, now time.Time) *spending {
	if b.spent == nil {
		b.spent = map[common.Address]*spending{}
	}
	s, ok := b.spent[asset]
	if !ok {
		s = &spending{total: new(big.Int)}
		b.spent[asset] = s
	}
	cut := now.Add(-time.Hour)
	s.recent = slices.DeleteFunc(s.recent, func(c *charge) bool { return !c.at.After(cut) })
	return s
}

func (s *spending) lastHour() *big.Int {
	sum := new(big.Int)
	for _, c := range s.recent {
		sum.Add(sum, c.amount)
	}
	return sum
}

// Check reports whether a job of maxCost in asset, paid to provider, is
// within the budget, without counting it.
func (b *Budget) Check(provider, asset common.Address, maxCost *big.Int) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.checkLocked(provider, asset, maxCost, b.now())
}

func (b *Budget) checkLocked(provider, asset common.Address, maxCost *big.Int, now time.Time) error {
	refuse := func(code Code, limit, spent *big.Int) error {
		be := &BudgetError{Code: code, Asset: asset, Provider: provider, Limit: limit, Spent: spent, Need: new(big.Int).Set(maxCost)}
		return &Error{Op: "budget", Code: code, Message: be.Error(), Err: be}
	}
	if len(b.Providers) > 0 && !slices.Contains(b.Providers, provider) {
		return refuse(CodeProviderNotAllowed, nil, nil)
	}
	if b.Limits == nil {
		return nil
	}
	lim, ok := b.Limits[asset]
	if !ok {
		return refuse(CodeAssetNotAllowed, nil, nil)
	}
	if lim.PerJob != nil && maxCost.Cmp(lim.PerJob) > 0 {
		return refuse(CodeBudgetPerJob, lim.PerJob, nil)
	}
	s := b.spendingLocked(asset, now)
	if lim.Total != nil && new(big.Int).Add(s.total, maxCost).Cmp(lim.Total) > 0 {
		return refuse(CodeBudgetTotal, lim.Total, new(big.Int).Set(s.total))
	}
	if lim.PerHour != nil {
		if h := s.lastHour(); new(big.Int).Add(h, maxCost).Cmp(lim.PerHour) > 0 {
			return refuse(CodeBudgetPerHour, lim.PerHour, h)
		}
	}
	return nil
}

// Reserve checks a job of maxCost as Check does and, if it passes, counts
// it until the reservation is settled. A nil Budget returns a nil
// Reservation, whose Settle does nothing.
func (b *Budget) Reserve(provider, asset common.Address, maxCost *big.Int) (*Reservation, error) {
	if b == nil {
		return nil, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if err := b.checkLocked(provider, asset, maxCost, now); err != nil {
		return nil, err
	}
	s := b.spendingLocked(asset, now)
	c := &charge{at: now, amount: new(big.Int).Set(maxCost)}
	s.total.Add(s.total, maxCost)
	s.recent = append(s.recent, c)
	return &Reservation{b: b, asset: asset, c: c}, nil
}

// Settle replaces the job's max cost by its actual cost; nil or zero for a
// job that was not charged. Later calls do nothing.
func (r *Reservation) Settle(cost *big.Int) {
	if r == nil {
		return
	}
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.done {
		return
	}
	r.done = true
	s := b.spendingLocked(r.asset, b.now())
	s.total.Sub(s.total, r.c.amount)
	if cost == nil {
		cost = new(big.Int)
	}
	s.total.Add(s.total, cost)
	r.c.amount.Set(cost) // in s.recent still, if within the hour
}

// Record counts a cost already paid at time at, as when an agent restarts
// and reloads its receipts.
func (b *Budget) Record(asset common.Address, at time.Time, cost *big.Int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	s := b.spendingLocked(asset, now)
	s.total.Add(s.total, cost)
	if at.After(now.Add(-time.Hour)) {
		s.recent = append(s.recent, &charge{at: at, amount: new(big.Int).Set(cost)})
	}
}

// Spent returns what counts against asset's limits now: in total, and in
// the last hour.
func (b *Budget) Spent(asset common.Address) (total, lastHour *big.Int) {
	if b == nil {
		return new(big.Int), new(big.Int)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.spendingLocked(asset, b.now())
	return new(big.Int).Set(s.total), s.lastHour()
}
