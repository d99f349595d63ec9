package agent

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

// job is one Submit's state, driven by its own goroutine (run) so that a
// caller who gives up does not leave the channel's account wrong: the job
// still learns its outcome and counts it.
type job struct {
	base    string // the caller's id
	id      string // the id submitted now: base, or base~n after a retry under a new id
	retryN  int
	request wire.ChatRequest
	onChunk func(string)
	maxCost *big.Int
	resv    *Reservation

	events chan event
	cancel chan struct{} // closed when the caller gives up
	done   chan struct{} // closed when run returns
	res    *Result
	err    error

	// run's own state
	attempts    int
	voucher     *big.Int
	sentOn      *conn
	maybeHeld   bool // the node may have accepted the current id: its outcome must be learned
	accepted    bool
	resubmitted bool // the current id was submitted again after a dropped connection
	chunkSeq    uint64
	cancelSent  bool
	resynced    bool     // a voucher_too_low had the client resync: the job is not submitted again for another
	floor       *big.Int // after a resync, the least voucher the node's account asks for the job
}

// Submit pays for one job and returns its result, its receipt verified.
//
// Before anything is signed the job is priced at its max cost (the
// offer's price for its input token bound and max tokens) and checked
// against the budget; a job over budget is refused with the limit's code.
// The voucher signed covers charged + every job in flight + this one.
//
// Errors are *Error: the node's refusals and failures carry its wire code
// (and Unwrap to the *wire.Error); retryable ones were retried first, with
// backoff and the node's retry_after_ms. A result whose receipt fails
// verification returns CodeBadReceipt, and from then on every Submit
// CodeUntrusted.
//
// If ctx ends first, Submit returns ctx.Err() at once and the job is
// cancelled on the node; its outcome is still learned and counted.
func (c *Client) Submit(ctx context.Context, jb Job) (*Result, error) {
	id := jb.ID
	if id == "" {
		id = NewJobID()
	}
	j := &job{
		base: id, id: id, onChunk: jb.OnChunk,
		request: wire.ChatRequest{Messages: jb.Messages, MaxTokens: jb.MaxTokens, Temperature: jb.Temperature, Stream: jb.OnChunk != nil},
		events:  make(chan event, 64), cancel: make(chan struct{}), done: make(chan struct{}),
	}
	if err := c.prepare(j); err != nil {
		return nil, err
	}
	c.wg.Add(1)
	go c.run(j)
	select {
	case <-j.done:
		return j.res, j.err
	case <-ctx.Done():
		close(j.cancel)
		return nil, ctx.Err()
	}
}

// prepare checks a job, prices it and reserves its budget: everything
// that may refuse it before anything is signed.
func (c *Client) prepare(j *job) error {
	fail := func(code Code, format string, args ...any) error {
		e := errorf("submit", code, format, args...)
		e.JobID = j.id
		return e
	}
	if len(j.id) > wire.MaxJobIDLen {
		return fail(CodeBadJob, "the id is %d bytes, the limit is %d", len(j.id), wire.MaxJobIDLen)
	}
	if err := c.book.badErr(); err != nil {
		return &Error{Op: "submit", Code: CodeUntrusted, JobID: j.id, Message: fmt.Sprintf("provider %s: %v", c.cfg.Offer.Provider, err), Err: ErrUntrusted}
	}
	probe := &wire.Submit{ID: j.id, Model: c.cfg.Offer.Model, ChannelID: c.cfg.Channel, Request: j.request,
		Voucher: wire.Voucher{Amount: wire.AmountOf(0), Signature: make(wire.Signature, wire.SignatureLen)}}
	if _, err := wire.Encode(probe); err != nil {
		return &Error{Op: "submit", Code: CodeBadJob, JobID: j.id, Message: err.Error(), Err: err}
	}
	maxCost, _, err := c.cfg.Offer.MaxCost(&j.request)
	if err != nil {
		return fail(CodeBadJob, "%v", err)
	}
	j.maxCost = maxCost
	c.mu.Lock()
	_, busy := c.jobs[j.id]
	if !busy {
		c.jobs[j.id] = j
	}
	c.mu.Unlock()
	if busy {
		return fail(CodeBadJob, "a job with this id is in flight already")
	}
	resv, err := c.cfg.Budget.Reserve(c.cfg.Offer.Provider, c.cfg.Offer.Asset, maxCost)
	if err != nil {
		c.forget(j)
		var e *Error
		if errors.As(err, &e) {
			e.JobID = j.id
		}
		return err
	}
	j.resv = resv
	return nil
}

func (c *Client) forget(j *job) {
	c.mu.Lock()
	if c.jobs[j.id] == j {
		delete(c.jobs, j.id)
	}
	c.mu.Unlock()
}

// rename moves j to a new id, for a retry of a job that failed after it
// was accepted: that id is spent.
func (c *Client) rename(j *job) bool {
	j.retryN++
	id := fmt.Sprintf("%s~%d", j.base, j.retryN)
	if len(id) > wire.MaxJobIDLen {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, busy := c.jobs[id]; busy {
		return false
	}
	if c.jobs[j.id] == j {
		delete(c.jobs, j.id)
	}
	c.book.release(j.id)
	j.id = id
	c.jobs[id] = j
	j.resubmitted, j.accepted, j.maybeHeld, j.chunkSeq = false, false, false, 0
	return true
}

// run drives a job to its end: submit, wait, retry, resubmit after a drop.
func (c *Client) run(j *job) {
	defer c.wg.Done()
	defer close(j.done)
	slots, ok := c.takeSlot(j)
	if !ok {
		c.finish(j, nil, c.stopErr(j))
		return
	}
	if slots != nil {
		defer func() { <-slots }()
	}
	retries, waited := 0, 0
	var waitStart time.Time
	for {
		if c.cancelled(j) && !j.maybeHeld {
			c.finish(j, nil, &Error{Op: "submit", Code: Code(wire.CodeCancelled), JobID: j.id, Message: "cancelled before the node accepted it", Err: context.Canceled})
			return
		}
		cn, err := c.connect(c.lifetime)
		if err != nil {
			c.finish(j, nil, withJob(err, j.id))
			return
		}
		if err := c.syncFirst(j); err != nil {
			c.finish(j, nil, err)
			return
		}
		if err := c.send(j, cn); err != nil {
			c.finish(j, nil, err)
			return
		}
		out := c.await(j, cn)
		switch {
		case out.done:
			return
		case out.dropped:
			j.resubmitted = j.maybeHeld
			c.log.Info("connection dropped; submitting again", "job", j.id)
		case out.resync != nil:
			// Submitted again at once, with a voucher on the figures the
			// resync adopted.
			if err := c.resync(j, out.resync); err != nil {
				c.finish(j, nil, err)
				return
			}
		case out.retry != nil && out.retry.Code == wire.CodeJobInProgress:
			// The id still runs from an earlier submission: wait for its
			// outcome as long as the node lets a job run, not a number of
			// retries.
			if waited == 0 {
				waitStart = time.Now()
			}
			waited++
			if time.Since(waitStart) > c.jobTimeout() {
				c.finish(j, nil, remoteError("submit", j.id, out.retry))
				return
			}
			if !c.sleep(c.cfg.Backoff.delay(waited-1, time.Duration(out.retry.RetryAfterMS)*time.Millisecond), j.cancel) {
				c.finish(j, nil, c.stopErr(j))
				return
			}
		case out.retry != nil:
			retries++
			if c.cfg.Retries < 0 || retries > c.cfg.Retries {
				c.finish(j, nil, &Error{Op: "submit", Code: CodeRetriesSpent, JobID: j.id,
					Message: fmt.Sprintf("%d retries: %s: %s", retries-1, out.retry.Code, out.retry.Message), Err: out.retry})
				return
			}
			if !c.sleep(c.cfg.Backoff.delay(retries-1, time.Duration(out.retry.RetryAfterMS)*time.Millisecond), j.cancel) {
				if c.cancelled(j) && !j.maybeHeld {
					continue // reported at the top of the loop
				}
				c.finish(j, nil, c.stopErr(j))
				return
			}
		}
	}
}

// jobTimeout is how long the node lets a job run, from its challenge.
func (c *Client) jobTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && c.cur.limits.JobTimeoutMS > 0 {
		return time.Duration(c.cur.limits.JobTimeoutMS) * time.Millisecond
	}
	return 5 * time.Minute
}

// voucherFor returns a voucher covering need, the channel's charged +
// everything in flight: a tight one signed now, or, with headroom, the
// last one signed while it still covers need.
func (c *Client) voucherFor(need *big.Int) (*big.Int, []byte, error) {
	h := c.cfg.VoucherHeadroom
	amount := need
	if h != nil && h.Sign() > 0 {
		c.vmu.Lock()
		if c.lastVoucher != nil && c.lastVoucher.Cmp(need) >= 0 {
			amount, sig := c.lastVoucher, c.lastSig
			c.vmu.Unlock()
			return amount, sig, nil
		}
		c.vmu.Unlock()
		amount = new(big.Int).Add(need, h)
		if max := c.cfg.VoucherCap; max != nil && amount.Cmp(max) > 0 {
			amount = new(big.Int).Set(max)
			if amount.Cmp(need) < 0 {
				amount = need // the node will say the deposit is too small
			}
		}
	}
	digest, err := c.domain.VoucherDigest(&contracts.Voucher{ChannelID: c.cfg.Channel, CumulativeAmount: amount})
	if err != nil {
		return nil, nil, err
	}
	sig, err := contracts.Sign(digest, c.cfg.Signer)
	if err != nil {
		return nil, nil, err
	}
	if h != nil && h.Sign() > 0 {
		c.vmu.Lock()
		if c.lastVoucher == nil || amount.Cmp(c.lastVoucher) > 0 {
			c.lastVoucher, c.lastSig = amount, sig
		}
		c.vmu.Unlock()
	}
	return amount, sig, nil
}

// send signs a voucher for charged + everything in flight + this job
// (or reuses one signed ahead) and submits the job on cn.
func (c *Client) send(j *job, cn *conn) error {
	need, err := c.book.reserve(j.id, j.maxCost)
	if err != nil {
		return &Error{Op: "submit", Code: CodeUntrusted, JobID: j.id, Message: err.Error(), Err: ErrUntrusted}
	}
	if j.floor != nil && need.Cmp(j.floor) < 0 {
		need = j.floor
	}
	amount, sig, err := c.voucherFor(need)
	if err != nil {
		return &Error{Op: "submit", Code: CodeBadJob, JobID: j.id, Err: err}
	}
	if err := c.promise(amount); err != nil {
		return &Error{Op: "submit", Code: CodeStore, JobID: j.id, Message: "the voucher could not be recorded; it was not sent", Err: err}
	}
	contract := c.cfg.Deployment.PaymentChannels
	m := &wire.Submit{
		ID: j.id, Model: c.cfg.Offer.Model, ChannelID: c.cfg.Channel, Request: j.request,
		Voucher: wire.Voucher{Amount: wire.NewAmount(amount), Signature: sig, ChainID: c.cfg.Deployment.ChainID, Contract: &contract},
	}
	if c.cfg.Offer.ID != nil && c.cfg.Offer.ID.Sign() > 0 {
		m.Offer = wire.NewAmount(c.cfg.Offer.ID)
	}
	j.attempts++
	j.voucher = amount
	j.sentOn = cn
	j.maybeHeld = true
	j.accepted = false
	if err := cn.write(m); err != nil {
		// The connection is failing; its reader will see it and await
		// reports the drop.
		c.log.Debug("write submit", "job", j.id, "err", err)
		cn.ws.Close()
	}
	return nil
}

type outcome struct {
	done    bool        // the job ended (finish was called)
	dropped bool        // the connection dropped: submit again
	retry   *wire.Error // a retryable error: wait and submit again
	resync  *wire.Error // voucher_too_low: resync, and submit again
}

// await waits for the end of one submission on cn.
func (c *Client) await(j *job, cn *conn) outcome {
	cancel := j.cancel
	for {
		select {
		case ev := <-j.events:
			if out, end := c.handle(j, cn, ev); end {
				return out
			}
		case <-cn.done:
			// The reader has returned: whatever it read is queued.
			for {
				select {
				case ev := <-j.events:
					if out, end := c.handle(j, cn, ev); end {
						return out
					}
					continue
				default:
				}
				break
			}
			return outcome{dropped: true}
		case <-cancel:
			cancel = nil
			c.sendCancel(j, cn)
		case <-c.closeCh:
			c.finish(j, nil, c.stopErr(j))
			return outcome{done: true}
		}
	}
}

func (c *Client) sendCancel(j *job, cn *conn) {
	if j.cancelSent || !j.maybeHeld {
		return
	}
	j.cancelSent = true
	if err := cn.write(&wire.Cancel{ID: j.id}); err != nil {
		c.log.Debug("write cancel", "job", j.id, "err", err)
	}
}

// handle takes one event of the job; end says the submission is over.
func (c *Client) handle(j *job, cn *conn, ev event) (outcome, bool) {
	if ev.bad != nil {
		err := fmt.Errorf("malformed message about job %q: %w", j.id, ev.bad)
		c.untrust(j, err, nil)
		return outcome{done: true}, true
	}
	switch m := ev.msg.(type) {
	case *wire.Accepted:
		j.accepted = true
		if m.MaxCost.Cmp(wire.NewAmount(j.maxCost)) > 0 {
			c.log.Warn("the node reserved more than the job's max cost", "job", j.id, "node", m.MaxCost, "agent", j.maxCost)
		}
		if c.cancelled(j) {
			j.cancelSent = false
			c.sendCancel(j, cn)
		}
	case *wire.Chunk:
		if m.Seq > j.chunkSeq {
			j.chunkSeq = m.Seq
			if j.onChunk != nil && !c.cancelled(j) {
				j.onChunk(m.Delta)
			}
		}
	case *wire.Result:
		c.result(j, m)
		return outcome{done: true}, true
	case *wire.Error:
		return c.jobError(j, m)
	}
	return outcome{}, false
}

// jobError handles the node's error about the current submission.
func (c *Client) jobError(j *job, we *wire.Error) (outcome, bool) {
	refused := !j.accepted
	code := we.Code
	if code == wire.CodeUnknownJob && j.cancelSent {
		return outcome{}, false // our cancel came too late: the result is on its way
	}
	// The node reserves nothing for a refused job and releases a failed
	// one: either way it is out of flight and not charged.
	j.maybeHeld = false
	c.book.release(j.id)
	switch {
	case code == wire.CodeJobInProgress:
		// The id still runs (a submission before a drop): ask again for
		// its outcome later.
		j.maybeHeld = true
		return outcome{retry: we}, true
	case code == wire.CodeJobFailed && j.resubmitted && !c.cancelled(j):
		// The run this id had before the connection dropped ended
		// without a charge; the id is spent. Run the job under a new one.
		if c.rename(j) {
			return outcome{retry: &wire.Error{Code: code, Message: we.Message}}, true
		}
	case code == wire.CodeCancelled && c.cancelled(j):
		c.finish(j, nil, remoteError("submit", j.id, we))
		return outcome{done: true}, true
	case code == wire.CodeVoucherTooLow && !c.cancelled(j):
		if !j.resynced {
			j.resynced = true
			return outcome{resync: we}, true
		}
		// The node's account moved past what the resync covered: another
		// client pays from the channel, and its jobs started meanwhile.
		e := remoteError("submit", j.id, we)
		e.Message += "; again after a resync, so the channel's charges moved meanwhile: another client (not of this Payer) pays from it. Submit again, or pay from the channel through one Payer"
		e.Retryable = true
		c.finish(j, nil, e)
		return outcome{done: true}, true
	case we.Retryable && !c.cancelled(j):
		if refused {
			return outcome{retry: we}, true
		}
		// Accepted, then failed: the id is spent; retry under a new one.
		if c.rename(j) {
			return outcome{retry: we}, true
		}
	}
	c.finish(j, nil, remoteError("submit", j.id, we))
	return outcome{done: true}, true
}

// result checks a result and its receipt (verifying its signature as
// the batch rule asks), keeps the receipt and ends the job.
func (c *Client) result(j *job, m *wire.Result) {
	price := c.cfg.Offer.Price
	if err := checkResult(c.cfg.Channel, &price, j.maxCost, m); err != nil {
		c.untrust(j, err, &m.Receipt)
		return
	}
	dup, verified, err := c.book.accept(&m.Receipt, j.id, j.maxCost, false)
	if err != nil {
		c.untrust(j, err, &m.Receipt)
		return
	}
	res := &Result{
		ID: j.id, Output: m.Output, Usage: m.Usage, Cost: m.Cost.Big(), MaxCost: new(big.Int).Set(j.maxCost),
		Voucher: new(big.Int).Set(j.voucher), Receipt: m.Receipt, Replayed: m.Replayed, OutputDropped: m.OutputDropped,
		Attempts: j.attempts, Unverified: !verified,
	}
	var storeErr error
	if !dup && c.cfg.Store != nil {
		rec := c.record(j, &m.Receipt, "")
		rec.Unverified = !verified
		storeErr = c.cfg.Store.Append(c.cfg.Channel, rec)
	}
	c.book.release(j.id)
	j.maybeHeld = false
	if dup {
		// Counted when it first came.
		j.resv.Settle(nil)
		j.resv = nil
	}
	if storeErr != nil {
		c.finish(j, res, &Error{Op: "submit", Code: CodeBadReceipt, JobID: j.id, Message: "the receipt is valid but was not stored", Err: storeErr})
		return
	}
	// Idle: nothing the batch rule left waiting stays unproven.
	if err := c.prove(j); err != nil {
		c.finish(j, res, err)
		return
	}
	c.finish(j, res, nil)
	c.maybeTopUp()
}

func (c *Client) record(j *job, r *wire.Receipt, rejected string) *Record {
	return &Record{
		Time: time.Now().UTC(), JobID: j.id, Provider: c.cfg.Offer.Provider, Asset: c.cfg.Offer.Asset,
		MaxCost: wire.NewAmount(j.maxCost), Voucher: wire.NewAmount(j.voucher), Receipt: *r, Rejected: rejected,
	}
}

// untrust marks the provider untrusted after a bad receipt (r, when there
// is one, is kept as evidence, or the receipt held before that why names)
// and ends the job. The job stays counted at its max cost: what the
// voucher signed for it allows.
func (c *Client) untrust(j *job, why error, r *wire.Receipt) {
	c.book.markBad(why)
	c.log.Error("provider untrusted", "job", j.id, "err", why)
	if re := (*receiptError)(nil); errors.As(why, &re) && re.r != r {
		c.keep(j, re)
	} else if r != nil {
		c.keep(j, &receiptError{r, j.id, why})
	}
	j.maybeHeld = true // keep it counted: the provider may claim it
	c.finish(j, nil, c.untrustedErr(j, why))
}

func (c *Client) untrustedErr(j *job, why error) *Error {
	e := &Error{Op: "submit", Code: CodeBadReceipt, Message: fmt.Sprintf("provider %s: %v; it is paid no more", c.cfg.Offer.Provider, why), Err: errors.Join(ErrUntrusted, why)}
	if j != nil {
		e.JobID = j.id
	}
	return e
}

// keep stores a receipt that failed as the evidence against the
// provider. j is the job whose result found it, if any.
func (c *Client) keep(j *job, re *receiptError) {
	if c.cfg.Store == nil {
		return
	}
	rec := &Record{Time: time.Now().UTC(), JobID: re.jobID, Provider: c.cfg.Offer.Provider, Asset: c.cfg.Offer.Asset, Receipt: *re.r, Rejected: re.Error()}
	if j != nil && j.id == re.jobID {
		rec = c.record(j, re.r, re.Error())
	}
	if err := c.cfg.Store.Append(c.cfg.Channel, rec); err != nil {
		c.log.Error("store rejected receipt", "err", err)
	}
}

// prove verifies what the batch rule left waiting: when no job is in
// flight if j (whose result just came) is set, else at once. A receipt
// that fails marks the provider untrusted and is kept as evidence; the
// error is returned.
func (c *Client) prove(j *job) error {
	err := c.book.prove(j != nil)
	if err == nil {
		return nil
	}
	c.log.Error("provider untrusted", "err", err)
	var re *receiptError
	if errors.As(err, &re) {
		c.keep(j, re)
	}
	e := c.untrustedErr(j, err)
	if j == nil {
		e.Op = "verify"
	}
	return e
}

// finish ends the job with res or err. A job whose outcome is unknown
// (the node may have accepted it) stays in flight in the book at its max
// cost, the most the node can have charged for it; so does its budget.
func (c *Client) finish(j *job, res *Result, err error) {
	switch {
	case res != nil:
		j.resv.Settle(res.Cost)
	case j.maybeHeld:
		j.resv.Settle(j.maxCost)
	default:
		c.book.release(j.id)
		j.resv.Settle(nil)
	}
	c.forget(j)
	j.res, j.err = res, err
}

func (c *Client) cancelled(j *job) bool {
	select {
	case <-j.cancel:
		return true
	default:
		return false
	}
}

func (c *Client) stopErr(j *job) error {
	if c.cancelled(j) {
		return &Error{Op: "submit", Code: Code(wire.CodeCancelled), JobID: j.id, Message: "cancelled", Err: context.Canceled}
	}
	return &Error{Op: "submit", Code: CodeClosed, JobID: j.id, Message: "the client is closed"}
}

func withJob(err error, id string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.JobID = id
		return &c
	}
	return err
}

// takeSlot waits for one of the node's max_jobs_in_flight and returns the
// semaphore to give it back to (nil when there is none yet: the first
// dial failed, and run reports why).
func (c *Client) takeSlot(j *job) (chan struct{}, bool) {
	if _, err := c.connect(c.lifetime); err != nil {
		return nil, true
	}
	c.mu.Lock()
	slots := c.slots
	c.mu.Unlock()
	select {
	case slots <- struct{}{}:
		return slots, true
	case <-j.cancel:
		return nil, false
	case <-c.closeCh:
		return nil, false
	}
}

// maybeTopUp applies the AutoTopUp policy in the background, one at a
// time.
func (c *Client) maybeTopUp() {
	t := c.cfg.TopUp
	if t == nil {
		return
	}
	c.mu.Lock()
	if c.toppingUp || c.closed {
		c.mu.Unlock()
		return
	}
	c.toppingUp = true
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		added, err := t.Channels.ApplyTopUp(c.lifetime, c.cfg.Channel, t.Policy, c.Committed())
		c.mu.Lock()
		c.toppingUp = false
		c.mu.Unlock()
		if err != nil {
			c.log.Warn("top up", "err", err)
		}
		if t.OnTopUp != nil && (added != nil || err != nil) {
			t.OnTopUp(added, err)
		}
	}()
}

// Provider is the provider this client pays.
func (c *Client) Provider() common.Address { return c.cfg.Offer.Provider }
