// Package settle claims what the node has charged, on chain, in batches:
// one PaymentChannels.claimMany transaction for many channels, each claim
// raising the channel's claimed total to what the node charged (never the
// voucher's ceiling), with the latest voucher and the Merkle root of the
// receipts it settles.
//
// # No double effect
//
// A batch is recorded in the ledger, with its nonce and transaction hash,
// before its transaction is sent, and there is at most one batch in flight.
// After a crash the batch is found again: if one of its transactions was
// mined it is confirmed, otherwise the same claims are signed again at the
// same nonce (the same gas price gives the same transaction, since
// signatures are deterministic) and sent. Claims are cumulative totals on
// chain, so a claim that already took effect cannot take effect twice: it
// reverts (ClaimNotIncreasing). A transaction that sits unmined past
// ReplaceAfter is replaced at the same nonce with a higher fee; whichever
// of them is mined settles the batch. A batch whose transaction reverts or
// is dropped is marked failed and its channels are claimed afresh.
//
// # When
//
// A round runs when Run starts, every Interval, when Trigger is called (the payment path
// calls it once the unclaimed value passes Threshold), when a channel with
// unclaimed value comes within DeadlineMargin of its withdrawal deadline,
// and once more when Run's context ends.
package settle

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/ledger"
)

// Backend is what settlement needs of the chain; *ethclient.Client is one.
type Backend interface {
	ethereum.ChainReader
	ethereum.GasEstimator
	ethereum.GasPricer
	ethereum.GasPricer1559
	ethereum.TransactionSender
	ethereum.PendingStateReader
	NonceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (uint64, error)
	TransactionReceipt(ctx context.Context, txHash common.Hash) (*types.Receipt, error)
	BlockNumber(ctx context.Context) (uint64, error)
}

// Channels is the chain watcher's view of the provider's channels.
type Channels interface {
	Channel(id common.Hash) (chainwatch.Channel, bool)
}

// Defaults of [Settler]'s tuning fields.
const (
	DefaultInterval       = time.Minute
	DefaultMaxBatch       = 100
	DefaultReplaceAfter   = 2 * time.Minute
	DefaultDeadlineMargin = 10 * time.Minute
	DefaultConfirmations  = 1
	DefaultPollInterval   = time.Second
)

// Settler batches and sends the provider's claims. Exported fields tune it
// and must be set before Run.
type Settler struct {
	Interval       time.Duration // between rounds
	Threshold      *big.Int      // unclaimed value (any asset, base units) that triggers a round; nil = none
	DeadlineMargin time.Duration // claim a channel this long before its withdrawal deadline
	MaxBatch       int           // channels per claimMany
	GasFeeCap      *big.Int      // the most wei per gas ever offered; nil = no cap
	ReplaceAfter   time.Duration // replace an unmined transaction after this long
	Confirmations  uint64        // blocks on top of a claim before it counts
	PollInterval   time.Duration // receipt polling
	Logger         *slog.Logger
	Now            func() time.Time

	chain    Backend
	ledger   ledger.Ledger
	channels Channels
	key      *ecdsa.PrivateKey
	from     common.Address
	chainID  *big.Int
	contract common.Address
	pc       *bindings.PaymentChannels

	mu        sync.Mutex // serializes rounds
	trigger   chan struct{}
	stats     Stats
	sentAt    map[uint64]time.Time // batch id → its first send, for claim latency
	latencies []time.Duration      // observed and not yet taken
	statsMu   sync.Mutex           // guards stats, sentAt and latencies
}

// Stats counts what settlement did, for metrics.
type Stats struct {
	Rounds                               uint64 // rounds Run has completed
	Batches, Confirmed, Failed, Replaced uint64
	ClaimedChannels                      uint64
	GasUsed                              uint64
	// LastConfirmed is when the last batch was confirmed; zero: none
	// since start.
	LastConfirmed time.Time
}

// maxLatencies bounds the claim latencies kept until TakeClaimLatencies.
const maxLatencies = 1024

// TakeClaimLatencies returns the claim latencies observed since the last
// call — for each batch confirmed, the time from its first send to its
// confirmation — and forgets them. Batches sent before a restart are not
// measured.
func (s *Settler) TakeClaimLatencies() []time.Duration {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := s.latencies
	s.latencies = nil
	return out
}

// New returns a settler claiming, with the provider key, on deployment d.
func New(chain Backend, d *contracts.Deployment, key *ecdsa.PrivateKey, l ledger.Ledger, ch Channels) *Settler {
	return &Settler{
		chain: chain, ledger: l, channels: ch, key: key,
		from:     crypto.PubkeyToAddress(key.PublicKey),
		chainID:  new(big.Int).SetUint64(d.ChainID),
		contract: d.PaymentChannels,
		pc:       bindings.NewPaymentChannels(),
		trigger:  make(chan struct{}, 1),
	}
}

func (s *Settler) defaults() {
	if s.Interval <= 0 {
		s.Interval = DefaultInterval
	}
	if s.MaxBatch <= 0 {
		s.MaxBatch = DefaultMaxBatch
	}
	if s.ReplaceAfter <= 0 {
		s.ReplaceAfter = DefaultReplaceAfter
	}
	if s.DeadlineMargin <= 0 {
		s.DeadlineMargin = DefaultDeadlineMargin
	}
	if s.Confirmations == 0 {
		s.Confirmations = DefaultConfirmations
	}
	if s.PollInterval <= 0 {
		s.PollInterval = DefaultPollInterval
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
}

// Stats returns a copy of the counters.
func (s *Settler) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.stats
}

// Trigger asks for a round soon; it never blocks.
func (s *Settler) Trigger() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Run settles until ctx ends, then makes one last round (bounded by
// shutdownTimeout) so that what was charged is claimed before the node
// stops.
func (s *Settler) Run(ctx context.Context, shutdownTimeout time.Duration) error {
	s.defaults()
	tick := time.NewTicker(min(s.Interval, s.PollInterval*5))
	defer tick.Stop()
	// A round at start finishes what a restart left in flight and claims
	// what was charged while the node was down.
	if _, err := s.Settle(ctx); err != nil && ctx.Err() == nil {
		s.Logger.Warn("settlement round failed", "err", err)
	}
	s.count(func(st *Stats) { st.Rounds++ })
	lastRound := s.Now()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
			defer cancel()
			_, err := s.Settle(fctx)
			if err != nil {
				s.Logger.Error("final settlement failed", "err", err)
			}
			return err
		case <-s.trigger:
		case <-tick.C:
			if s.Now().Sub(lastRound) < s.Interval && !s.urgent(ctx) {
				continue
			}
		}
		lastRound = s.Now()
		if _, err := s.Settle(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn("settlement round failed", "err", err)
		}
		s.count(func(st *Stats) { st.Rounds++ })
	}
}

// urgent reports whether a channel with unclaimed value nears its
// withdrawal deadline, or the unclaimed value passed the threshold.
func (s *Settler) urgent(ctx context.Context) bool {
	states, err := s.ledger.Channels(ctx)
	if err != nil {
		return false
	}
	now := uint64(s.Now().Unix())
	total := new(big.Int)
	for _, st := range states {
		unclaimed := new(big.Int).Sub(st.Charged, st.Claimed)
		if unclaimed.Sign() <= 0 {
			continue
		}
		total.Add(total, unclaimed)
		if ch, ok := s.channels.Channel(st.ID); ok && ch.WithdrawableAt != 0 &&
			ch.WithdrawableAt <= now+uint64(s.DeadlineMargin/time.Second) {
			return true
		}
	}
	return s.Threshold != nil && total.Cmp(s.Threshold) >= 0
}

// Settle runs one round: it finishes a batch in flight, if any, and
// otherwise claims every channel with unclaimed value. It returns the
// batch it confirmed or sent, or nil when there was nothing to do.
func (s *Settler) Settle(ctx context.Context) (*ledger.Batch, error) {
	s.defaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	open, err := s.ledger.Batches(ctx, ledger.BatchPending, ledger.BatchMined)
	if err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	var finished *ledger.Batch
	for i := range open {
		b, err := s.finish(ctx, &open[i], nil)
		if err != nil {
			return b, err
		}
		finished = b
	}
	b, tx, err := s.build(ctx)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return finished, nil
	}
	return s.finish(ctx, b, tx)
}

// build makes, stores and sends a new batch of every channel whose charged
// total exceeds what was claimed.
func (s *Settler) build(ctx context.Context) (*ledger.Batch, *types.Transaction, error) {
	states, err := s.ledger.Channels(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("settle: %w", err)
	}
	var claims []ledger.Claim
	for _, st := range states {
		if st.Charged.Cmp(st.Claimed) <= 0 || st.ReceiptSeq <= st.SettledSeq {
			continue
		}
		ch, ok := s.channels.Channel(st.ID)
		if !ok || ch.Closed {
			continue // unknown to the watcher, or withdrawn: nothing to claim from
		}
		if ch.Claimed != nil && ch.Claimed.Cmp(st.Charged) >= 0 {
			continue // already on chain; the batch that did it confirms it
		}
		receipts, err := s.ledger.Receipts(ctx, st.ID, st.SettledSeq+1, st.ReceiptSeq)
		if err != nil {
			return nil, nil, fmt.Errorf("settle: receipts of %s: %w", st.ID, err)
		}
		root, err := receiptsRoot(receipts)
		if err != nil {
			return nil, nil, fmt.Errorf("settle: receipts of %s: %w", st.ID, err)
		}
		// The last receipt's running total is the amount: Charged and
		// ReceiptSeq come from one read, so they agree.
		claims = append(claims, ledger.Claim{
			ChannelID: st.ID, Amount: st.Charged,
			VoucherAmount: st.Voucher.Amount, VoucherSig: st.Voucher.Signature,
			ReceiptsRoot: root, FromSeq: st.SettledSeq + 1, ToSeq: st.ReceiptSeq,
		})
	}
	if len(claims) == 0 {
		return nil, nil, nil
	}
	// Largest unclaimed value first, so a full batch carries the most.
	sort.Slice(claims, func(i, j int) bool { return claims[i].Amount.Cmp(claims[j].Amount) > 0 })
	if len(claims) > s.MaxBatch {
		claims = claims[:s.MaxBatch]
	}
	claims, err = s.dropFailing(ctx, claims)
	if err != nil || len(claims) == 0 {
		return nil, nil, err
	}
	nonce, err := s.chain.PendingNonceAt(ctx, s.from)
	if err != nil {
		return nil, nil, fmt.Errorf("settle: nonce: %w", err)
	}
	b := ledger.Batch{Claims: claims, Nonce: nonce, State: ledger.BatchPending}
	tx, err := s.sign(ctx, &b, nil)
	if err != nil {
		return nil, nil, err
	}
	b.TxHashes = []common.Hash{tx.Hash()}
	// Durable before it is sent: a crash now finds the batch again.
	id, err := s.ledger.AddBatch(ctx, b)
	if err != nil {
		return nil, nil, fmt.Errorf("settle: record batch: %w", err)
	}
	b.ID = id
	sent := s.Now()
	s.count(func(st *Stats) {
		st.Batches++
		if s.sentAt == nil {
			s.sentAt = map[uint64]time.Time{}
		}
		s.sentAt[id] = sent
	})
	if err := s.chain.SendTransaction(ctx, tx); err != nil {
		// Not fatal: finish resends it, or finds it mined.
		s.Logger.Warn("send claim", "batch", id, "tx", tx.Hash(), "err", err)
	}
	s.Logger.Info("claim sent", "batch", id, "channels", len(claims), "tx", tx.Hash(), "nonce", nonce)
	return &b, tx, nil
}

// dropFailing simulates the batch and drops a claim whose channel makes it
// revert (a channel withdrawn meanwhile, say), up to a few times.
func (s *Settler) dropFailing(ctx context.Context, claims []ledger.Claim) ([]ledger.Claim, error) {
	for range 5 {
		data, err := s.pack(claims)
		if err != nil {
			return nil, err
		}
		_, err = s.chain.EstimateGas(ctx, ethereum.CallMsg{From: s.from, To: &s.contract, Data: data})
		if err == nil {
			return claims, nil
		}
		rev, ok := contracts.DecodeRevert(err)
		if !ok {
			return nil, fmt.Errorf("settle: estimate claimMany: %w", err)
		}
		bad, found := revertChannel(rev)
		if !found {
			return nil, fmt.Errorf("settle: claimMany would revert: %w", rev)
		}
		s.Logger.Warn("dropping a claim that would revert", "channel", bad, "err", rev)
		kept := claims[:0:0]
		for _, c := range claims {
			if c.ChannelID != bad {
				kept = append(kept, c)
			}
		}
		if len(kept) == len(claims) || len(kept) == 0 {
			return kept, nil
		}
		claims = kept
	}
	return nil, errors.New("settle: claimMany keeps reverting")
}

// revertChannel finds the channel id a PaymentChannels error names.
func revertChannel(rev *contracts.RevertError) (common.Hash, bool) {
	switch v := rev.Value.(type) {
	case *bindings.PaymentChannelsInvalidSignature:
		return v.ChannelId, true
	case *bindings.PaymentChannelsChannelClosed:
		return v.ChannelId, true
	case *bindings.PaymentChannelsClaimNotIncreasing:
		return v.ChannelId, true
	case *bindings.PaymentChannelsClaimAboveVoucher:
		return v.ChannelId, true
	case *bindings.PaymentChannelsClaimAboveDeposit:
		return v.ChannelId, true
	case *bindings.PaymentChannelsUnknownChannel:
		return v.ChannelId, true
	case *bindings.PaymentChannelsNotProvider:
		return v.ChannelId, true
	}
	return common.Hash{}, false
}

func (s *Settler) pack(claims []ledger.Claim) ([]byte, error) {
	out := make([]bindings.PaymentChannelsClaim, len(claims))
	for i, c := range claims {
		r, vs, err := contracts.Compact(c.VoucherSig)
		if err != nil {
			return nil, fmt.Errorf("settle: voucher of %s: %w", c.ChannelID, err)
		}
		out[i] = bindings.PaymentChannelsClaim{
			ChannelId: c.ChannelID, VoucherAmount: c.VoucherAmount, Amount: c.Amount,
			ReceiptsRoot: c.ReceiptsRoot, R: r, Vs: vs,
		}
	}
	return s.pc.TryPackClaimMany(out)
}

// sign builds and signs the batch's transaction at its nonce. prev, when
// set, is the transaction it replaces: fees rise by at least an eighth
// (what nodes require of a replacement).
func (s *Settler) sign(ctx context.Context, b *ledger.Batch, prev *types.Transaction) (*types.Transaction, error) {
	data, err := s.pack(b.Claims)
	if err != nil {
		return nil, err
	}
	head, err := s.chain.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("settle: head: %w", err)
	}
	tip, err := s.chain.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, fmt.Errorf("settle: tip: %w", err)
	}
	var minTip, minFeeCap *big.Int
	if prev != nil {
		bump := func(x *big.Int) *big.Int {
			return new(big.Int).Add(x, new(big.Int).Add(new(big.Int).Rsh(x, 3), big.NewInt(1)))
		}
		minTip, minFeeCap = bump(prev.GasTipCap()), bump(prev.GasFeeCap())
	}
	tip, feeCap, err := contracts.FeeCaps(head.BaseFee, tip, minTip, minFeeCap, s.GasFeeCap)
	if err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	gas, err := s.chain.EstimateGas(ctx, ethereum.CallMsg{From: s.from, To: &s.contract, Data: data})
	if err != nil {
		if rev, ok := contracts.DecodeRevert(err); ok {
			return nil, fmt.Errorf("settle: claimMany reverts: %w", rev)
		}
		return nil, fmt.Errorf("settle: estimate: %w", err)
	}
	gas += gas / 5 // head room: state may move between estimate and inclusion
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID: s.chainID, Nonce: b.Nonce, GasTipCap: tip, GasFeeCap: feeCap,
		Gas: gas, To: &s.contract, Data: data,
	})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(s.chainID), s.key)
	if err != nil {
		return nil, fmt.Errorf("settle: sign: %w", err)
	}
	return signed, nil
}

// finish drives a batch in flight to an end: confirmed, failed, or (when
// it must wait) left pending for the next round.
//
// last is the transaction just sent for it, or nil after a restart.
func (s *Settler) finish(ctx context.Context, b *ledger.Batch, last *types.Transaction) (*ledger.Batch, error) {
	deadline := s.Now().Add(s.ReplaceAfter)
	t := time.NewTicker(s.PollInterval)
	defer t.Stop()
	for {
		for _, h := range b.TxHashes {
			r, err := s.chain.TransactionReceipt(ctx, h)
			if err != nil || r == nil {
				continue
			}
			return b, s.settleMined(ctx, b, r)
		}
		mined, err := s.chain.NonceAt(ctx, s.from, nil)
		if err != nil {
			return b, fmt.Errorf("settle: nonce: %w", err)
		}
		if mined > b.Nonce {
			// The nonce was used, but by none of our hashes (a receipt may
			// also lag the head by a moment: look once more first).
			for _, h := range b.TxHashes {
				if r, err := s.chain.TransactionReceipt(ctx, h); err == nil && r != nil {
					return b, s.settleMined(ctx, b, r)
				}
			}
			return b, s.fail(ctx, b, "nonce used by another transaction")
		}
		if last == nil || s.Now().After(deadline) {
			// First look after a restart, or stuck: (re)send. The first
			// signing reproduces the recorded transaction when fees have
			// not moved; later ones replace it with higher fees.
			tx, err := s.sign(ctx, b, last)
			if err != nil {
				if rev, ok := contracts.DecodeRevert(errors.Unwrap(err)); ok {
					// The claims revert now. If the nonce was used since
					// the look above, one of this batch's transactions was
					// mined in between and its claims are what makes these
					// revert (ClaimNotIncreasing): look at the receipts
					// again instead of failing a batch that took effect.
					mined, nerr := s.chain.NonceAt(ctx, s.from, nil)
					if nerr != nil {
						return b, fmt.Errorf("settle: nonce: %w", nerr)
					}
					if mined > b.Nonce {
						continue
					}
					return b, s.fail(ctx, b, rev.Error())
				}
				return b, err
			}
			if !containsHash(b.TxHashes, tx.Hash()) {
				b.TxHashes = append(b.TxHashes, tx.Hash())
				if err := s.ledger.UpdateBatch(ctx, *b); err != nil {
					return b, fmt.Errorf("settle: record replacement: %w", err)
				}
				if last != nil {
					s.count(func(st *Stats) { st.Replaced++ })
					s.Logger.Info("replacing a stuck claim", "batch", b.ID, "tx", tx.Hash())
				}
			}
			if err := s.chain.SendTransaction(ctx, tx); err != nil {
				s.Logger.Debug("send claim", "batch", b.ID, "tx", tx.Hash(), "err", err)
			}
			last = tx
			deadline = s.Now().Add(s.ReplaceAfter)
		}
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Settler) settleMined(ctx context.Context, b *ledger.Batch, r *types.Receipt) error {
	if r.Status != types.ReceiptStatusSuccessful {
		return s.fail(ctx, b, fmt.Sprintf("transaction %s reverted", r.TxHash))
	}
	// Wait for the confirmations.
	want := r.BlockNumber.Uint64() + s.Confirmations - 1
	t := time.NewTicker(s.PollInterval)
	defer t.Stop()
	for {
		head, err := s.chain.BlockNumber(ctx)
		if err == nil && head >= want {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	// Still there after the confirmations? A reorg may have dropped it.
	again, err := s.chain.TransactionReceipt(ctx, r.TxHash)
	if err != nil || again == nil || again.BlockHash != r.BlockHash {
		b.State = ledger.BatchPending
		return s.ledger.UpdateBatch(ctx, *b) // the next round looks again
	}
	if err := s.ledger.ConfirmClaims(ctx, b.ID, r.BlockNumber.Uint64(), r.GasUsed); err != nil {
		return fmt.Errorf("settle: confirm batch %d: %w", b.ID, err)
	}
	b.State, b.Block, b.GasUsed = ledger.BatchConfirmed, r.BlockNumber.Uint64(), r.GasUsed
	now := s.Now()
	s.count(func(st *Stats) {
		st.Confirmed++
		st.ClaimedChannels += uint64(len(b.Claims))
		st.GasUsed += r.GasUsed
		st.LastConfirmed = now
		if sent, ok := s.sentAt[b.ID]; ok {
			delete(s.sentAt, b.ID)
			if len(s.latencies) < maxLatencies {
				s.latencies = append(s.latencies, now.Sub(sent))
			}
		}
	})
	s.Logger.Info("claim confirmed", "batch", b.ID, "channels", len(b.Claims), "block", b.Block, "gas", r.GasUsed)
	return nil
}

func (s *Settler) fail(ctx context.Context, b *ledger.Batch, why string) error {
	b.State = ledger.BatchFailed
	s.count(func(st *Stats) {
		st.Failed++
		delete(s.sentAt, b.ID)
	})
	s.Logger.Warn("claim batch failed; its channels are claimed afresh", "batch", b.ID, "why", why)
	if err := s.ledger.UpdateBatch(ctx, *b); err != nil {
		return fmt.Errorf("settle: mark batch %d failed: %w", b.ID, err)
	}
	return nil
}

func (s *Settler) count(f func(*Stats)) {
	s.statsMu.Lock()
	f(&s.stats)
	s.statsMu.Unlock()
}

func containsHash(hs []common.Hash, h common.Hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

func receiptsRoot(rs []ledger.Receipt) (common.Hash, error) {
	return contracts.ReceiptsRoot(eip712Receipts(rs))
}

// eip712Receipts points at the EIP-712 part of stored receipts.
func eip712Receipts(rs []ledger.Receipt) []*contracts.Receipt {
	ptrs := make([]*contracts.Receipt, len(rs))
	for i := range rs {
		ptrs[i] = &rs[i].Receipt
	}
	return ptrs
}
