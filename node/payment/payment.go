// Package payment is the node's payment check: it authorizes a job against
// its voucher and channel before the job runs, charges the job's actual
// cost with a signed receipt after it, and releases the reservation of a
// job that failed, so that a failed job costs nothing.
//
// The money rules (DESIGN.md, Money): a job's max cost is the offer's
// price for its input tokens and max_tokens; the voucher, signed by the
// channel's signer under this deployment's EIP-712 domain, may not exceed
// the deposit, and the highest voucher the channel has given (this one or
// an earlier one: vouchers are cumulative) must cover what the channel was
// charged plus the max cost of every job in flight on it, this one
// included. Using the highest voucher lets jobs that an agent pipelines
// reach the node in any order. The check and the reservation are one
// atomic ledger write (ledger.ReserveOp.Cap), so concurrent jobs on one
// channel never over-commit it. There is no
// lock of this package on the job path: channels are independent, and the
// ledger orders the writes of one channel.
//
// # What waits for the disk
//
// The reservation does not wait for its fsync (ledger.ReserveOp.NoWait):
// the job starts while the reservation is being committed, and the charge
// is what waits, for one commit that carries both. Nothing of value rests
// on a reservation alone: a crash before it reached the disk forgets a job
// that was never charged, whose receipt was never sent, and whose agent
// resubmits it as new; every charge is committed with or after the
// reservation and voucher it relies on, and its receipt is sent only
// then. On an idle node this halves the fsyncs a paid job waits for.
package payment

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/wire"
)

// Channels gives the on-chain state of a channel; *chainwatch.Watcher is
// one. Lookup returns chainwatch.ErrUnknownChannel, ErrNotConfirmed or
// ErrWrongProvider for the channels it cannot vouch for.
type Channels interface {
	Lookup(ctx context.Context, id common.Hash) (chainwatch.Channel, error)
}

// Voucher is a voucher as an agent sends it. ChainID and Contract are
// optional; when present they must name this deployment, which lets the
// node say wrong_domain instead of wrong_signer.
type Voucher struct {
	Amount    *big.Int
	Signature []byte
	ChainID   *big.Int
	Contract  *common.Address
}

// Request is what Authorize checks for one job.
type Request struct {
	ChannelID   common.Hash
	JobID       string
	BodyHash    common.Hash // of the job's request, to tell a resubmission from a conflict
	Asset       common.Address
	Price       contracts.Price
	InputTokens uint64 // counted (or conservatively estimated) by the node
	MaxTokens   uint64 // the most output tokens the job may produce
	Voucher     Voucher
}

// Authorization is an accepted job: its max cost is reserved on its
// channel until Charge or Release. Replay, when set, is the earlier job of
// the same id and body that already completed: the caller returns its
// receipt and runs nothing.
type Authorization struct {
	ChannelID common.Hash
	JobID     string
	MaxCost   *big.Int
	Price     contracts.Price
	Replay    *ledger.Job
}

// Payments is the payment check of one provider on one deployment.
type Payments struct {
	ledger   ledger.Ledger
	channels Channels
	domain   *contracts.Domain
	chainID  uint64
	contract common.Address
	key      *ecdsa.PrivateKey
	log      *slog.Logger

	// verified caches, per channel, the last voucher whose signature was
	// checked, so a voucher sent again (agents send the latest with every
	// job) costs a comparison instead of an ECDSA recovery.
	verified sync.Map // common.Hash → *verifiedVoucher
}

type verifiedVoucher struct {
	amount *big.Int
	sig    []byte
}

// New returns the payment check for the provider key on deployment d.
func New(d *contracts.Deployment, key *ecdsa.PrivateKey, l ledger.Ledger, ch Channels, log *slog.Logger) *Payments {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Payments{
		ledger: l, channels: ch, domain: d.Domain(),
		chainID: d.ChainID, contract: d.PaymentChannels,
		key: key, log: log.With("subsystem", "payment"),
	}
}

// Domain is the EIP-712 domain vouchers and receipts are signed under.
func (p *Payments) Domain() *contracts.Domain { return p.domain }

// Authorize checks a job's payment and reserves its max cost. It
// returns a *Error with a stable code when the payment is refused; nothing
// is reserved or charged then.
//
// A job id seen before on the channel never runs twice: the request gets
// the earlier job's answer (its receipt again, job_conflict,
// job_in_progress or job_failed) in place of any refusal but those of the
// request alone (a malformed field, another domain). A new job costs no
// ledger read for it: the ledger's Reserve refuses an existing job id and
// returns the job, and a refusal before or by Reserve looks the id up then
// (resubmitted), so the earlier job's answer still wins over a channel
// that is now closing, a voucher now too low, and the like.
func (p *Payments) Authorize(ctx context.Context, req Request) (*Authorization, error) {
	if err := p.checkRequest(req); err != nil {
		return nil, err
	}
	a, prev, err := p.reserve(ctx, req)
	switch {
	case prev != nil:
		return p.replay(req, prev)
	case err != nil:
		return p.resubmitted(ctx, req, err)
	}
	return a, nil
}

// checkRequest refuses a request that no ledger state can make good: a
// malformed field, or a voucher that names another domain.
func (p *Payments) checkRequest(req Request) error {
	if !ledger.CheckJobID(req.JobID) {
		return refuse(CodeBadRequest, "job id must be 1 to %d bytes", ledger.MaxJobIDLen)
	}
	if err := req.Price.Validate(); err != nil {
		return refuse(CodeBadRequest, "%v", err)
	}
	v := req.Voucher
	if !ledger.CheckAmount(v.Amount) {
		return refuse(CodeBadRequest, "voucher amount must be an integer in [0, 2^256)")
	}
	if v.ChainID != nil && (!v.ChainID.IsUint64() || v.ChainID.Uint64() != p.chainID) {
		return refuse(CodeWrongDomain, "voucher is for chain %s, this node is on chain %d", v.ChainID, p.chainID)
	}
	if v.Contract != nil && *v.Contract != p.contract {
		return refuse(CodeWrongDomain, "voucher is for PaymentChannels %s, this node uses %s", v.Contract, p.contract)
	}
	return nil
}

// reserve checks the channel and the voucher and reserves the job's max
// cost. It returns the authorization; or the job of the same id that the
// ledger already holds; or the refusal, a *Error.
func (p *Payments) reserve(ctx context.Context, req Request) (*Authorization, *ledger.Job, error) {
	ch, err := p.channels.Lookup(ctx, req.ChannelID)
	switch {
	case errors.Is(err, chainwatch.ErrNotConfirmed):
		return nil, nil, retryable(CodeDepositUnconfirmed, err, "channel %s is not yet confirmed on chain", req.ChannelID)
	case errors.Is(err, chainwatch.ErrWrongProvider):
		return nil, nil, refuse(CodeWrongProvider, "channel %s pays another provider", req.ChannelID)
	case errors.Is(err, chainwatch.ErrUnknownChannel):
		return nil, nil, refuse(CodeUnknownChannel, "no channel %s is open to this provider", req.ChannelID)
	case err != nil:
		return nil, nil, retryable(CodeUnavailable, err, "cannot read channel %s", req.ChannelID)
	}
	if ch.Closed || ch.WithdrawableAt != 0 {
		return nil, nil, refuse(CodeChannelClosing, "channel %s is being withdrawn and takes no more jobs", req.ChannelID)
	}
	if ch.Asset != req.Asset {
		return nil, nil, refuse(CodeWrongAsset, "channel %s holds %s, the offer is paid in %s", req.ChannelID, assetName(ch.Asset), assetName(req.Asset))
	}
	v := req.Voucher
	if err := p.verify(req.ChannelID, ch.Signer, v); err != nil {
		return nil, nil, err
	}
	if v.Amount.Cmp(ch.Deposit) > 0 {
		return nil, nil, refuse(CodeVoucherAboveDeposit, "voucher %s exceeds the deposit %s", v.Amount, ch.Deposit)
	}

	maxCost := req.Price.Cost(req.InputTokens, req.MaxTokens)
	job, err := p.ledger.Reserve(ctx, ledger.ReserveOp{
		Job: ledger.Job{
			ChannelID: req.ChannelID, ID: req.JobID, BodyHash: req.BodyHash, MaxCost: maxCost,
		},
		Voucher: ledger.Voucher{Amount: v.Amount, Signature: v.Signature},
		Cap:     ch.Deposit, // with the highest voucher the channel has given
		NoWait:  true,       // the charge waits for both (package doc)
	})
	switch {
	case err == nil:
	case errors.Is(err, ledger.ErrJobExists) && job != nil:
		return nil, job, nil
	case errors.Is(err, ledger.ErrInsufficient):
		st, _ := p.ledger.Channel(ctx, req.ChannelID)
		need := new(big.Int).Add(maxCost, orZero(st.Charged))
		need.Add(need, orZero(st.Reserved))
		return nil, nil, refuse(CodeVoucherTooLow, "voucher %s (highest so far %s) does not cover %s (charged %s + in flight %s + this job's max cost %s)",
			v.Amount, orZero(st.Voucher.Amount), need, orZero(st.Charged), orZero(st.Reserved), maxCost)
	default:
		return nil, nil, retryable(CodeUnavailable, err, "cannot record the voucher")
	}
	return &Authorization{ChannelID: req.ChannelID, JobID: req.JobID, MaxCost: maxCost, Price: req.Price}, nil, nil
}

// resubmitted answers a request that reserve refused: when the ledger
// holds a job of the same id on the channel, with that job's answer, as
// if it had been looked up before the channel, the voucher and the
// reservation were checked; else with refusal.
//
// The ledger contract does not say whether Reserve looks for an existing
// job id before it checks its Cap (node/ledger/bolt does), so a refusal by
// Reserve is looked up too.
func (p *Payments) resubmitted(ctx context.Context, req Request, refusal error) (*Authorization, error) {
	prev, err := p.ledger.Job(ctx, req.ChannelID, req.JobID)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return nil, refusal
	case err != nil:
		return nil, retryable(CodeUnavailable, err, "ledger unavailable")
	case errors.Is(refusal, ledger.ErrOutcomeUnknown) && prev.State == ledger.JobReserved && prev.BodyHash == req.BodyHash:
		// Reserve gave up waiting but its write went on: this may be
		// the request's own reservation rather than an earlier job's.
		// Had it been read before Reserve, an earlier one would have
		// been job_in_progress; the refusal, unavailable, is retryable
		// as that is, and the retry tells.
		return nil, refusal
	}
	return p.replay(req, prev)
}

func (p *Payments) replay(req Request, prev *ledger.Job) (*Authorization, error) {
	if prev.BodyHash != req.BodyHash {
		return nil, refuse(CodeJobConflict, "job id %q was used before for a different request", req.JobID)
	}
	switch prev.State {
	case ledger.JobCharged:
		if prev.Receipt == nil {
			return nil, retryable(CodeUnavailable, fmt.Errorf("charged job %q has no receipt", req.JobID), "ledger unavailable")
		}
		signed, err := p.Signed(prev.Receipt)
		if err != nil {
			return nil, retryable(CodeUnavailable, err, "cannot sign the receipt")
		}
		prev.Receipt = signed
		return &Authorization{ChannelID: req.ChannelID, JobID: req.JobID, MaxCost: prev.MaxCost, Price: req.Price, Replay: prev}, nil
	case ledger.JobReleased:
		return nil, refuse(CodeJobFailed, "job %q failed before (%s) and is not run again", req.JobID, prev.FailCode)
	default:
		return nil, &Error{Code: CodeJobInProgress, Msg: fmt.Sprintf("job %q is running", req.JobID), Retryable: true}
	}
}

// verify checks that v is signed by signer for channel id under this
// node's domain.
func (p *Payments) verify(id common.Hash, signer common.Address, v Voucher) error {
	if c, ok := p.verified.Load(id); ok {
		vv := c.(*verifiedVoucher)
		if vv.amount.Cmp(v.Amount) == 0 && bytes.Equal(vv.sig, v.Signature) {
			return nil
		}
	}
	digest, err := p.domain.VoucherDigest(&contracts.Voucher{ChannelID: id, CumulativeAmount: v.Amount})
	if err != nil {
		return refuse(CodeBadRequest, "voucher: %v", err)
	}
	got, err := contracts.Recover(digest, v.Signature)
	if err != nil {
		return refuse(CodeBadSignature, "voucher signature: %v", err)
	}
	if got != signer {
		return refuse(CodeWrongSigner, "voucher is signed by %s, the channel's signer is %s (or it was signed for another chain or contract)", got, signer)
	}
	p.verified.Store(id, &verifiedVoucher{amount: new(big.Int).Set(v.Amount), sig: bytes.Clone(v.Signature)})
	return nil
}

// Usage is what a job consumed, as its worker reports it.
type Usage struct {
	InputTokens  uint64
	OutputTokens uint64
}

// Charge charges an authorized job its actual cost — the offer's price
// for its usage, capped at the max cost reserved — and returns the
// receipt, stored durably and signed by the provider.
//
// The ledger fills in the receipt's running total as it orders the
// channel's charges, and the receipt is signed here, after the write, so
// that the ECDSA signature of every job runs on the job's goroutine, in
// parallel, rather than on the ledger's one writer.
func (p *Payments) Charge(ctx context.Context, a *Authorization, u Usage, resultHash common.Hash) (*ledger.Receipt, error) {
	cost := a.Price.Cost(u.InputTokens, u.OutputTokens)
	if cost.Cmp(a.MaxCost) > 0 {
		// A worker that overran max_tokens is not the agent's cost.
		cost = new(big.Int).Set(a.MaxCost)
	}
	r, err := p.ledger.Charge(ctx, ledger.ChargeOp{
		ChannelID: a.ChannelID,
		JobID:     a.JobID,
		Cost:      cost,
		Receipt: ledger.Receipt{Receipt: contracts.Receipt{
			JobID:        wire.JobKey(a.JobID),
			InputTokens:  u.InputTokens,
			OutputTokens: u.OutputTokens,
			ResultHash:   resultHash,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("charge job %q: %w", a.JobID, err)
	}
	if r.Signature, err = p.sign(&r.Receipt); err != nil {
		// Charged all the same: the receipt is in the ledger, and Signed
		// signs it when the job is submitted again.
		return nil, fmt.Errorf("charge job %q: sign receipt: %w", a.JobID, err)
	}
	return r, nil
}

// Signed returns r signed by the provider: r itself when it carries a
// signature, else a signed copy. The ledger keeps receipts as the charge
// ordered them, unsigned; a signature is a function of the receipt and
// the key (RFC 6979), so a receipt signed again is signed to the same
// bytes.
func (p *Payments) Signed(r *ledger.Receipt) (*ledger.Receipt, error) {
	if len(r.Signature) != 0 {
		return r, nil
	}
	c := *r
	sig, err := p.sign(&c.Receipt)
	if err != nil {
		return nil, fmt.Errorf("sign receipt %d: %w", r.Seq, err)
	}
	c.Signature = sig
	return &c, nil
}

func (p *Payments) sign(r *contracts.Receipt) ([]byte, error) {
	d, err := p.domain.ReceiptDigest(r)
	if err != nil {
		return nil, err
	}
	return contracts.Sign(d, p.key)
}

// Release frees an authorized job's reservation: the job failed, was
// cancelled or timed out, and is charged nothing. code says why.
func (p *Payments) Release(ctx context.Context, a *Authorization, code string) error {
	if err := p.ledger.Release(ctx, a.ChannelID, a.JobID, code); err != nil {
		return fmt.Errorf("release job %q: %w", a.JobID, err)
	}
	return nil
}

// Recover releases every job left reserved by a crash: a job that did not
// finish before the node stopped is never charged. It returns how many.
func (p *Payments) Recover(ctx context.Context) (int, error) {
	jobs, err := p.ledger.ReservedJobs(ctx)
	if err != nil {
		return 0, fmt.Errorf("recover: %w", err)
	}
	for _, j := range jobs {
		if err := p.ledger.Release(ctx, j.ChannelID, j.ID, "node_restarted"); err != nil {
			return 0, fmt.Errorf("recover: release job %q: %w", j.ID, err)
		}
	}
	if len(jobs) > 0 {
		p.log.Info("released jobs interrupted by a restart", "jobs", len(jobs))
	}
	return len(jobs), nil
}

func assetName(a common.Address) string {
	if a == (common.Address{}) {
		return "ETH"
	}
	return a.Hex()
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}
