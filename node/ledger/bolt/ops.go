package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/node/ledger"
)

// Each write validates its arguments and copies them on the caller's
// goroutine, then queues an apply function for the writer. Apply functions
// read and check everything before their first write (see op), and may run
// twice (see Store.commit), so they never modify what they captured.

const (
	maxMetaKeyLen  = 1024
	maxFailCodeLen = 1024
)

func (s *Store) Reserve(ctx context.Context, req ledger.ReserveOp) (*ledger.Job, error) {
	const name = "reserve"
	in := req.Job
	switch {
	case !ledger.CheckJobID(in.ID):
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "job id of %d bytes", len(in.ID))
	case !ledger.CheckAmount(in.MaxCost):
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "max cost %v", in.MaxCost)
	case req.Voucher.Amount != nil && !ledger.CheckAmount(req.Voucher.Amount):
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "voucher amount %v", req.Voucher.Amount)
	case req.Limit != nil && !ledger.CheckAmount(req.Limit):
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "limit %v", req.Limit)
	case req.Cap != nil && !ledger.CheckAmount(req.Cap):
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "cap %v", req.Cap)
	}
	created := in.Created
	if created.IsZero() {
		created = s.now()
	}
	if err := checkTime(created); err != nil {
		return nil, &ledger.Error{Op: name, Err: err}
	}
	job := ledger.Job{
		ChannelID: in.ChannelID,
		ID:        in.ID,
		BodyHash:  in.BodyHash,
		MaxCost:   cloneInt(in.MaxCost),
		State:     ledger.JobReserved,
		Cost:      new(big.Int),
		Created:   created.Round(0).UTC(),
	}
	var voucher *ledger.Voucher
	if req.Voucher.Amount != nil {
		voucher = &ledger.Voucher{Amount: cloneInt(req.Voucher.Amount), Signature: bytes.Clone(req.Voucher.Signature)}
	}
	var limit, capAmount *big.Int
	if req.Limit != nil {
		limit = cloneInt(req.Limit)
	}
	if req.Cap != nil {
		capAmount = cloneInt(req.Cap)
	}
	jv, err := encodeJob(&jobRecord{Job: job})
	if err != nil {
		return nil, &ledger.Error{Op: name, Err: err}
	}
	res, err := s.submit(ctx, &op{name: name, noWait: req.NoWait, apply: func(w *wtx) (any, error) {
		return applyReserve(w, &job, jv, voucher, limit, capAmount)
	}})
	j, _ := res.(*ledger.Job)
	return j, err
}

func applyReserve(w *wtx, job *ledger.Job, jv []byte, voucher *ledger.Voucher, limit, capAmount *big.Int) (any, error) {
	const name = "reserve"
	key := jobKey(job.ChannelID, job.ID)
	if raw := w.get(bJobs, key); raw != nil {
		existing, err := loadJob(w, job.ChannelID, job.ID, raw)
		if err != nil {
			return nil, err
		}
		return existing, ledger.Errorf(name, ledger.ErrJobExists, "channel %s job %q", job.ChannelID, job.ID)
	}
	ch, err := getChannel(w, job.ChannelID)
	if err != nil {
		return nil, err
	}
	ch.Reserved.Add(ch.Reserved, job.MaxCost)
	if limit != nil {
		if owed := new(big.Int).Add(ch.Charged, ch.Reserved); owed.Cmp(limit) > 0 {
			return nil, ledger.Errorf(name, ledger.ErrInsufficient,
				"channel %s: charged %s + reserved %s with this job's max cost %s > limit %s",
				job.ChannelID, ch.Charged, new(big.Int).Sub(ch.Reserved, job.MaxCost), job.MaxCost, limit)
		}
	}
	if capAmount != nil {
		highest := ch.Voucher.Amount
		if voucher != nil && voucher.Amount.Cmp(highest) > 0 {
			highest = voucher.Amount
		}
		if highest.Cmp(capAmount) > 0 {
			highest = capAmount
		}
		if owed := new(big.Int).Add(ch.Charged, ch.Reserved); owed.Cmp(highest) > 0 {
			return nil, ledger.Errorf(name, ledger.ErrInsufficient,
				"channel %s: charged %s + reserved %s with this job's max cost %s > %s (highest voucher within the cap)",
				job.ChannelID, ch.Charged, new(big.Int).Sub(ch.Reserved, job.MaxCost), job.MaxCost, highest)
		}
	}
	if voucher != nil && voucher.Amount.Cmp(ch.Voucher.Amount) > 0 {
		ch.Voucher = ledger.Voucher{Amount: cloneInt(voucher.Amount), Signature: bytes.Clone(voucher.Signature)}
	}
	cv, err := encodeChannel(&ch)
	if err != nil {
		return nil, err
	}
	if err := writes(
		w.put(bJobs, key, jv),
		w.put(bChannels, key, []byte{}),
		w.put(bChannels, job.ChannelID[:], cv),
	); err != nil {
		return nil, err
	}
	return cloneJob(job), nil
}

func (s *Store) Charge(ctx context.Context, req ledger.ChargeOp) (*ledger.Receipt, error) {
	const name = "charge"
	r := req.Receipt
	filling := r.CumulativeCharged == nil
	switch {
	case !ledger.CheckJobID(req.JobID):
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "job id of %d bytes", len(req.JobID))
	case !ledger.CheckAmount(req.Cost):
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "cost %v", req.Cost)
	case !filling && (!ledger.CheckAmount(r.Cost) || !ledger.CheckAmount(r.CumulativeCharged)):
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "receipt amounts %v, %v", r.Cost, r.CumulativeCharged)
	case !filling && r.ChannelID != req.ChannelID:
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "receipt of channel %s for channel %s", r.ChannelID, req.ChannelID)
	case !filling && r.Cost.Cmp(req.Cost) != 0:
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "receipt cost %s, charge cost %s", r.Cost, req.Cost)
	}
	receipt := cloneReceipt(&r)
	cost := cloneInt(req.Cost)
	var rv []byte // the receipt's value does not hold its seq: encode it here when complete
	if !filling {
		var err error
		if rv, err = encodeReceipt(receipt); err != nil {
			return nil, &ledger.Error{Op: name, Err: err}
		}
	}
	res, err := s.submit(ctx, &op{name: name, apply: func(w *wtx) (any, error) {
		return applyCharge(w, req.ChannelID, req.JobID, cost, receipt, rv, filling)
	}})
	rc, _ := res.(*ledger.Receipt)
	return rc, err
}

func applyCharge(w *wtx, channelID common.Hash, jobID string, cost *big.Int, in *ledger.Receipt, rv []byte, filling bool) (any, error) {
	const name = "charge"
	key := jobKey(channelID, jobID)
	raw := w.get(bJobs, key)
	if raw == nil {
		return nil, ledger.Errorf(name, ledger.ErrNotFound, "channel %s job %q", channelID, jobID)
	}
	job, err := decodeJob(channelID, jobID, raw)
	if err != nil {
		return nil, err
	}
	if job.State != ledger.JobReserved {
		return nil, ledger.Errorf(name, ledger.ErrJobState, "channel %s job %q is %s", channelID, jobID, job.State)
	}
	if cost.Cmp(job.MaxCost) > 0 {
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "channel %s job %q: cost %s above max cost %s", channelID, jobID, cost, job.MaxCost)
	}
	ch, err := getChannel(w, channelID)
	if err != nil {
		return nil, err
	}
	charged := new(big.Int).Add(ch.Charged, cost)
	reserved := new(big.Int).Sub(ch.Reserved, job.MaxCost)
	if reserved.Sign() < 0 {
		return nil, fmt.Errorf("%w: channel %s reserves %s, less than job %q's max cost %s", errCorrupt, channelID, ch.Reserved, jobID, job.MaxCost)
	}
	r := cloneReceipt(in)
	if filling {
		r.ChannelID, r.Cost, r.CumulativeCharged = channelID, cloneInt(cost), cloneInt(charged)
	} else if r.CumulativeCharged.Cmp(charged) != 0 {
		return nil, ledger.Errorf(name, ledger.ErrInvalid, "channel %s job %q: receipt cumulative charged %s, want %s", channelID, jobID, r.CumulativeCharged, charged)
	}
	r.Seq = ch.ReceiptSeq + 1
	ch.Charged, ch.Reserved, ch.ReceiptSeq = charged, reserved, r.Seq
	job.State, job.Cost, job.receiptSeq = ledger.JobCharged, cloneInt(cost), r.Seq

	if rv == nil {
		if rv, err = encodeReceipt(r); err != nil {
			return nil, err
		}
	}
	jv, err := encodeJob(&job)
	if err != nil {
		return nil, err
	}
	cv, err := encodeChannel(&ch)
	if err != nil {
		return nil, err
	}
	if err := writes(
		w.put(bReceipts, receiptKey(channelID, r.Seq), rv),
		w.put(bJobs, key, jv),
		w.del(bChannels, key),
		w.put(bChannels, channelID[:], cv),
	); err != nil {
		return nil, err
	}
	return cloneReceipt(r), nil
}

func (s *Store) Release(ctx context.Context, channelID common.Hash, jobID, failCode string) error {
	const name = "release"
	switch {
	case !ledger.CheckJobID(jobID):
		return ledger.Errorf(name, ledger.ErrInvalid, "job id of %d bytes", len(jobID))
	case len(failCode) > maxFailCodeLen:
		return ledger.Errorf(name, ledger.ErrInvalid, "fail code of %d bytes", len(failCode))
	}
	_, err := s.submit(ctx, &op{name: name, apply: func(w *wtx) (any, error) {
		return nil, applyRelease(w, channelID, jobID, failCode)
	}})
	return err
}

func applyRelease(w *wtx, channelID common.Hash, jobID, failCode string) error {
	const name = "release"
	key := jobKey(channelID, jobID)
	raw := w.get(bJobs, key)
	if raw == nil {
		return ledger.Errorf(name, ledger.ErrNotFound, "channel %s job %q", channelID, jobID)
	}
	job, err := decodeJob(channelID, jobID, raw)
	if err != nil {
		return err
	}
	switch job.State {
	case ledger.JobReleased:
		return nil
	case ledger.JobReserved:
	default:
		return ledger.Errorf(name, ledger.ErrJobState, "channel %s job %q is %s", channelID, jobID, job.State)
	}
	ch, err := getChannel(w, channelID)
	if err != nil {
		return err
	}
	ch.Reserved.Sub(ch.Reserved, job.MaxCost)
	if ch.Reserved.Sign() < 0 {
		return fmt.Errorf("%w: channel %s reserves less than job %q's max cost %s", errCorrupt, channelID, jobID, job.MaxCost)
	}
	job.State, job.FailCode = ledger.JobReleased, failCode
	jv, err := encodeJob(&job)
	if err != nil {
		return err
	}
	cv, err := encodeChannel(&ch)
	if err != nil {
		return err
	}
	return writes(
		w.put(bJobs, key, jv),
		w.del(bChannels, key),
		w.put(bChannels, channelID[:], cv),
	)
}

// ------------------------------------------------------------- settlement

func checkBatch(name string, b *ledger.Batch) error {
	if b.State < ledger.BatchPending || b.State > ledger.BatchFailed {
		return ledger.Errorf(name, ledger.ErrInvalid, "batch state %s", b.State)
	}
	if b.State == ledger.BatchConfirmed {
		return ledger.Errorf(name, ledger.ErrInvalid, "batch confirmed outside ConfirmClaims")
	}
	for i, c := range b.Claims {
		if !ledger.CheckAmount(c.Amount) || !ledger.CheckAmount(c.VoucherAmount) {
			return ledger.Errorf(name, ledger.ErrInvalid, "claim %d amounts %v, %v", i, c.Amount, c.VoucherAmount)
		}
		if c.FromSeq > c.ToSeq+1 {
			return ledger.Errorf(name, ledger.ErrInvalid, "claim %d receipts %d..%d", i, c.FromSeq, c.ToSeq)
		}
	}
	return nil
}

func (s *Store) AddBatch(ctx context.Context, b ledger.Batch) (uint64, error) {
	const name = "add batch"
	b = cloneBatch(&b)
	if b.State == 0 {
		b.State = ledger.BatchPending
	}
	if err := checkBatch(name, &b); err != nil {
		return 0, err
	}
	v, err := encodeBatch(&b)
	if err != nil {
		return 0, &ledger.Error{Op: name, Err: err}
	}
	res, err := s.submit(ctx, &op{name: name, apply: func(w *wtx) (any, error) {
		id, err := w.nextSequence(bBatches)
		if err != nil {
			return nil, err
		}
		return id, writes(w.put(bBatches, batchKey(id), v))
	}})
	if err != nil {
		return 0, err
	}
	return res.(uint64), nil
}

func (s *Store) UpdateBatch(ctx context.Context, b ledger.Batch) error {
	const name = "update batch"
	b = cloneBatch(&b)
	if err := checkBatch(name, &b); err != nil {
		return err
	}
	v, err := encodeBatch(&b)
	if err != nil {
		return &ledger.Error{Op: name, Err: err}
	}
	_, err = s.submit(ctx, &op{name: name, apply: func(w *wtx) (any, error) {
		key := batchKey(b.ID)
		raw := w.get(bBatches, key)
		if raw == nil {
			return nil, ledger.Errorf(name, ledger.ErrNotFound, "batch %d", b.ID)
		}
		old, err := decodeBatch(b.ID, raw)
		if err != nil {
			return nil, err
		}
		if old.State == ledger.BatchConfirmed {
			return nil, ledger.Errorf(name, ledger.ErrBatchState, "batch %d is confirmed", b.ID)
		}
		return nil, writes(w.put(bBatches, key, v))
	}})
	return err
}

func (s *Store) ConfirmClaims(ctx context.Context, batchID, block, gasUsed uint64) error {
	const name = "confirm claims"
	_, err := s.submit(ctx, &op{name: name, apply: func(w *wtx) (any, error) {
		return nil, applyConfirm(w, batchID, block, gasUsed)
	}})
	return err
}

func applyConfirm(w *wtx, batchID, block, gasUsed uint64) error {
	const name = "confirm claims"
	key := batchKey(batchID)
	raw := w.get(bBatches, key)
	if raw == nil {
		return ledger.Errorf(name, ledger.ErrNotFound, "batch %d", batchID)
	}
	b, err := decodeBatch(batchID, raw)
	if err != nil {
		return err
	}
	b.State, b.Block, b.GasUsed = ledger.BatchConfirmed, block, gasUsed

	// Read and compute every channel first, then write: a batch may claim
	// a channel twice, and a failure must leave nothing behind.
	var order []common.Hash
	chans := make(map[common.Hash]*ledger.ChannelState)
	for _, c := range b.Claims {
		ch := chans[c.ChannelID]
		if ch == nil {
			st, err := getChannel(w, c.ChannelID)
			if err != nil {
				return err
			}
			ch = &st
			chans[c.ChannelID] = ch
			order = append(order, c.ChannelID)
		}
		if c.Amount.Cmp(ch.Claimed) > 0 {
			ch.Claimed = cloneInt(c.Amount)
		}
		ch.SettledSeq = max(ch.SettledSeq, c.ToSeq)
	}
	bv, err := encodeBatch(&b)
	if err != nil {
		return err
	}
	ws := []error{w.put(bBatches, key, bv)}
	encoded := make([][]byte, len(order))
	for i, id := range order {
		if encoded[i], err = encodeChannel(chans[id]); err != nil {
			return err
		}
	}
	for i, id := range order {
		ws = append(ws, w.put(bChannels, id[:], encoded[i]))
	}
	return writes(ws...)
}

// ------------------------------------------------------------------- meta

func checkMetaKey(name, key string) error {
	if len(key) == 0 || len(key) > maxMetaKeyLen {
		return ledger.Errorf(name, ledger.ErrInvalid, "meta key of %d bytes", len(key))
	}
	return nil
}

func (s *Store) PutMeta(ctx context.Context, key string, value []byte) error {
	return s.PutMetas(ctx, map[string][]byte{key: value})
}

func (s *Store) PutMetas(ctx context.Context, kv map[string][]byte) error {
	const name = "put meta"
	keys := slices.Sorted(maps.Keys(kv))
	values := make([][]byte, len(keys))
	for i, k := range keys {
		if err := checkMetaKey(name, k); err != nil {
			return err
		}
		if v := kv[k]; v != nil {
			values[i] = append(make([]byte, 0, len(v)), v...) // non-nil even when empty
		}
	}
	if len(keys) == 0 {
		return nil
	}
	_, err := s.submit(ctx, &op{name: name, apply: func(w *wtx) (any, error) {
		ws := make([]error, len(keys))
		for i, k := range keys {
			if values[i] == nil {
				ws[i] = w.del(bMeta, []byte(k))
			} else {
				ws[i] = w.put(bMeta, []byte(k), values[i])
			}
		}
		return nil, writes(ws...)
	}})
	return err
}

// ---------------------------------------------------------------- helpers

// writes returns the first error of a write's puts and deletes.
func writes(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func jobKey(channelID common.Hash, jobID string) []byte {
	k := make([]byte, 0, 32+len(jobID))
	return append(append(k, channelID[:]...), jobID...)
}

func receiptKey(channelID common.Hash, seq uint64) []byte {
	k := make([]byte, 40)
	copy(k, channelID[:])
	binary.BigEndian.PutUint64(k[32:], seq)
	return k
}

func batchKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

func cloneInt(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(x)
}

func cloneReceipt(r *ledger.Receipt) *ledger.Receipt {
	c := *r
	if r.Cost != nil {
		c.Cost = cloneInt(r.Cost)
	}
	if r.CumulativeCharged != nil {
		c.CumulativeCharged = cloneInt(r.CumulativeCharged)
	}
	c.Signature = bytes.Clone(r.Signature)
	return &c
}

func cloneJob(j *ledger.Job) *ledger.Job {
	c := *j
	c.MaxCost, c.Cost = cloneInt(j.MaxCost), cloneInt(j.Cost)
	if j.Receipt != nil {
		c.Receipt = cloneReceipt(j.Receipt)
	}
	return &c
}

func cloneBatch(b *ledger.Batch) ledger.Batch {
	c := *b
	c.TxHashes = slices.Clone(b.TxHashes)
	c.Claims = slices.Clone(b.Claims)
	for i := range c.Claims {
		cl := &c.Claims[i]
		if cl.Amount != nil {
			cl.Amount = cloneInt(cl.Amount)
		}
		if cl.VoucherAmount != nil {
			cl.VoucherAmount = cloneInt(cl.VoucherAmount)
		}
		cl.VoucherSig = bytes.Clone(cl.VoucherSig)
	}
	return c
}
