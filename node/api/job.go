package api

import (
	"context"
	"errors"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/hub"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/payment"
	"github.com/paynode/paynode/node/wire"
)

// writeTimeout bounds the ledger writes that end a job (charge, release);
// they do not depend on the job's context, which may be cancelled.
const writeTimeout = 30 * time.Second

// maxOutputBytes is the largest output the server sends: a result must
// stay below the 16 MiB that agents read.
const maxOutputBytes = wire.DefaultMaxNodeFrameBytes - 64<<10

// jobKey names a job: job ids are unique per channel.
type jobKey struct {
	channel common.Hash
	id      string
}

// The phases of a job.
type phase uint8

const (
	starting phase = iota // being authorized
	running               // accepted, running
	ending                // its end is being recorded and sent
)

// job is one job from its authorization to its end, apart from the
// connections that follow it (watchers): the one that submitted it, and
// any an agent resubmitted its id on while it ran.
type job struct {
	key      jobKey
	body     common.Hash
	offer    *Offer
	accepted *wire.Accepted
	log      *slog.Logger
	decided  chan struct{} // closed when it is accepted or refused
	done     chan struct{} // closed when it has left the server's jobs
	ctx      context.Context
	cancel   context.CancelCauseFunc
	started  time.Time

	mu sync.Mutex
	// guarded by mu:
	phase      phase
	watchers   []watcher
	chunks     []string
	byAgent    bool // cancelled by its agent
	firstChunk time.Time
}

// watcher is a connection that follows a job.
type watcher struct {
	c      *conn
	stream bool // it hears the chunks
}

// plan is what a submit asks for, checked without money.
type plan struct {
	offer     *Offer
	maxTokens uint64
}

// submit takes a job on the read loop: the checks of the connection's
// own state, in order; the rest runs in its own goroutine.
func (c *conn) submit(m *wire.Submit) {
	s := c.s
	refuse := func(e *wire.Error) {
		s.opts.Metrics.JobRefused(m.Model, string(e.Code))
		c.send(e)
	}
	if !c.authed() {
		refuse(wire.NewError(m.ID, wire.CodeNotAuthenticated, "submit before ready: answer the challenge first"))
		return
	}
	c.mu.Lock()
	if _, ok := c.jobs[m.ID]; ok {
		c.mu.Unlock()
		refuse(wire.NewError(m.ID, wire.CodeJobInProgress, "job %q is in flight on this connection", m.ID))
		return
	}
	if len(c.jobs) >= s.opts.Limits.MaxJobsPerConn {
		c.mu.Unlock()
		refuse(wire.NewError(m.ID, wire.CodeTooManyJobs, "%d jobs are in flight on this connection, the limit", s.opts.Limits.MaxJobsPerConn))
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		c.mu.Unlock()
		refuse(shuttingDown(m.ID))
		return
	}
	s.work.Add(1)
	s.mu.Unlock()
	cj := &connJob{}
	c.jobs[m.ID] = cj
	c.mu.Unlock()
	s.runners.Go(func() {
		defer s.work.Done()
		c.handleSubmit(m, cj)
	})
}

// handleSubmit decides a submit: refused, attached to the job of its id
// that runs, replayed, or accepted and run.
func (c *conn) handleSubmit(m *wire.Submit, cj *connJob) {
	s := c.s
	ctx := s.ctx
	key := jobKey{m.ChannelID, m.ID}
	refuse := func(e *wire.Error) {
		e.ID = m.ID
		c.forget(m.ID, cj)
		s.opts.Metrics.JobRefused(m.Model, string(e.Code))
		c.send(e)
	}
	p, e := c.plan(ctx, m)
	if e != nil {
		refuse(e)
		return
	}
	body := m.BodyHash()

	// One job per key in the server: a resubmission follows the job that
	// runs rather than racing it.
	var j *job
	for j == nil {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			refuse(shuttingDown(m.ID))
			return
		}
		other := s.jobs[key]
		if other == nil {
			j = s.newJob(key, body, p, m)
			s.jobs[key] = j
			s.mu.Unlock()
			break
		}
		s.mu.Unlock()
		if other.body != body {
			refuse(wire.NewError(m.ID, wire.CodeJobConflict, "job id %q is running for a different request", m.ID))
			return
		}
		if other.attach(c, cj, m.Request.Stream) {
			return
		}
	}
	refuseJob := func(e *wire.Error) {
		s.dropJob(j)
		refuse(e)
	}

	req := payment.Request{
		ChannelID: m.ChannelID, JobID: m.ID, BodyHash: body,
		Asset: p.offer.Asset, Price: p.offer.Price,
		InputTokens: m.Request.InputTokenBound(), MaxTokens: p.maxTokens,
		Voucher: payment.Voucher{
			Amount: m.Voucher.Amount.Big(), Signature: m.Voucher.Signature, Contract: m.Voucher.Contract,
		},
	}
	if m.Voucher.ChainID != 0 {
		req.Voucher.ChainID = new(big.Int).SetUint64(m.Voucher.ChainID)
	}

	// A job id the ledger knows needs no place: Authorize answers it
	// (the replay, job_conflict, job_failed) without running it. Most
	// ids are new, so the place is taken first and the ledger read only
	// when the scheduler has none to give: a known id then goes on
	// without one. (A place taken for a known id is given back below,
	// when Authorize answers it.)
	slot, err := s.opts.Scheduler.Reserve(p.offer.Model)
	if err != nil {
		slot = nil
		switch _, lerr := s.opts.Ledger.Job(ctx, m.ChannelID, m.ID); {
		case errors.Is(lerr, ledger.ErrNotFound):
			refuseJob(asWireError(m.ID, err, wire.CodeInternal))
			return
		case lerr != nil:
			refuseJob(wire.NewError(m.ID, wire.CodeUnavailable, "cannot read the ledger"))
			return
		}
	}
	release := func() {
		if slot != nil {
			slot.Release()
		}
	}
	c.mu.Lock()
	gone, cancelled := c.closed, cj.cancelled
	c.mu.Unlock()
	switch {
	case gone:
		// Nobody to answer and nothing spent yet: the agent resubmits.
		release()
		s.dropJob(j)
		return
	case cancelled:
		release()
		refuseJob(wire.NewError(m.ID, wire.CodeCancelled, "cancelled before it was accepted; nothing was reserved"))
		return
	case s.isClosing():
		release()
		refuseJob(shuttingDown(m.ID))
		return
	}

	auth, err := s.opts.Payments.Authorize(ctx, req)
	if err != nil {
		release()
		refuseJob(asWireError(m.ID, err, wire.CodeUnavailable))
		return
	}
	if auth.Replay != nil {
		release()
		s.dropJob(j)
		c.forget(m.ID, cj)
		c.send(s.replayResult(key, auth.Replay))
		return
	}
	if slot == nil {
		// The ledger had the job a moment ago and now reserved it anew:
		// not a state this server makes. Give it back.
		s.log.Error("job authorized without a place", "job", m.ID, "channel", m.ChannelID)
		s.endPayment(j, auth, wire.CodeInternal)
		refuseJob(wire.NewError(m.ID, wire.CodeInternal, "job authorized without a place on the scheduler"))
		return
	}
	s.opts.Metrics.VoucherAccepted()
	s.opts.Metrics.JobAccepted(p.offer.Model)
	j.accepted = &wire.Accepted{ID: m.ID, MaxCost: wire.NewAmount(auth.MaxCost), InputTokens: req.InputTokens, MaxTokens: p.maxTokens}
	s.mu.Lock()
	s.running++
	s.mu.Unlock()
	j.mu.Lock()
	j.phase = running
	j.mu.Unlock()
	close(j.decided)
	if j.log.Enabled(ctx, slog.LevelDebug) {
		j.log.Debug("job accepted", "max_cost", auth.MaxCost)
	}
	j.attach(c, cj, m.Request.Stream)

	run := m.Request
	run.MaxTokens = p.maxTokens
	s.run(j, slot, auth, run)
}

// plan checks what a submit asks for against the offers and the channel:
// everything that can refuse it before money is involved.
func (c *conn) plan(ctx context.Context, m *wire.Submit) (plan, *wire.Error) {
	offers := c.s.offers.Load()
	var offer *Offer
	if m.Offer != nil {
		offer = offers.byID[m.Offer.String()]
		switch {
		case offer == nil:
			return plan{}, wire.NewError(m.ID, wire.CodeUnknownModel, "no offer %s", m.Offer)
		case m.Model != "" && m.Model != offer.Model:
			return plan{}, wire.NewError(m.ID, wire.CodeBadRequest, "offer %s is for model %q, not %q", m.Offer, offer.Model, m.Model)
		}
	} else if len(offers.byModel[m.Model]) == 0 {
		return plan{}, wire.NewError(m.ID, wire.CodeUnknownModel, "no offer for model %q", m.Model)
	}
	ch, err := c.s.opts.Channels.Lookup(ctx, m.ChannelID)
	if err != nil {
		return plan{}, lookupError(m.ID, m.ChannelID, err)
	}
	if ch.Signer != c.signer {
		return plan{}, wire.NewError(m.ID, wire.CodeWrongSigner, "channel %s is signed by %s, this connection is %s", m.ChannelID, ch.Signer, c.signer)
	}
	if offer == nil {
		for _, o := range offers.byModel[m.Model] {
			if o.Asset == ch.Asset {
				offer = o
				break
			}
		}
		if offer == nil {
			return plan{}, wire.NewError(m.ID, wire.CodeWrongAsset, "no offer for model %q in the channel's asset %s", m.Model, assetName(ch.Asset))
		}
	} else if offer.Asset != ch.Asset {
		return plan{}, wire.NewError(m.ID, wire.CodeWrongAsset, "offer %s is paid in %s, the channel holds %s", m.Offer, assetName(offer.Asset), assetName(ch.Asset))
	}
	maxTokens := m.Request.MaxTokens
	switch {
	case maxTokens == 0:
		maxTokens = offer.MaxTokens
	case maxTokens > offer.MaxTokens:
		return plan{}, wire.NewError(m.ID, wire.CodeBadRequest, "request.max_tokens %d is above the offer's %d", maxTokens, offer.MaxTokens)
	}
	return plan{offer: offer, maxTokens: maxTokens}, nil
}

func (s *Server) newJob(key jobKey, body common.Hash, p plan, m *wire.Submit) *job {
	j := &job{
		key: key, body: body, offer: p.offer,
		log:     slog.New(&jobHandler{base: s.log.Handler(), key: key, model: p.offer.Model}),
		decided: make(chan struct{}),
		done:    make(chan struct{}),
		started: s.now(),
	}
	j.ctx, j.cancel = context.WithCancelCause(context.Background()) // stopJobs cancels it at a shutdown's deadline
	return j
}

// dropJob removes a job that was never accepted.
func (s *Server) dropJob(j *job) {
	s.mu.Lock()
	if s.jobs[j.key] == j {
		delete(s.jobs, j.key)
	}
	s.mu.Unlock()
	j.cancel(nil)
	close(j.decided)
	close(j.done)
}

// attach makes c follow j: it hears accepted, the chunks so far when it
// streams, and then the rest and the end. False when j ended before (or
// was refused): the caller tries again, and meets the ledger's outcome.
func (j *job) attach(c *conn, cj *connJob, stream bool) bool {
	<-j.decided
	j.mu.Lock()
	if j.phase != running {
		j.mu.Unlock()
		<-j.done
		return false
	}
	defer j.mu.Unlock()
	if i := j.watcher(c); i >= 0 {
		j.watchers[i].stream = stream
	} else {
		j.watchers = append(j.watchers, watcher{c: c, stream: stream})
	}
	c.send(j.accepted)
	if stream {
		for i, d := range j.chunks {
			c.send(&wire.Chunk{ID: j.key.id, Seq: uint64(i + 1), Delta: d})
		}
	}
	// Under j.mu, so that finish, which ends the phase under it, sees
	// the connection's entry and frees it.
	c.mu.Lock()
	cj.job = j
	cancelled := cj.cancelled
	c.mu.Unlock()
	if cancelled {
		j.byAgent = true
		j.cancel(errCancelled)
	}
	return true
}

// detach stops c following j; j runs on.
func (j *job) detach(c *conn) {
	j.mu.Lock()
	if i := j.watcher(c); i >= 0 {
		j.watchers = slices.Delete(j.watchers, i, i+1)
	}
	j.mu.Unlock()
}

// watcher returns c's index in j.watchers, or -1; j.mu is held. A job has
// one watcher, and more only while an agent resubmits it: a slice is
// cheaper than a map.
func (j *job) watcher(c *conn) int {
	return slices.IndexFunc(j.watchers, func(w watcher) bool { return w.c == c })
}

// cancelByAgent cancels a running job; false when it is ending already.
func (j *job) cancelByAgent() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.phase != running {
		return false
	}
	j.byAgent = true
	j.cancel(errCancelled)
	return true
}

var errCancelled = errors.New("api: cancelled by the agent")

// emit forwards a piece of output to the watchers that stream.
func (j *job) emit(now time.Time, delta string) {
	if delta == "" {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.chunks == nil {
		j.chunks = make([]string, 0, 16)
		j.firstChunk = now
	}
	j.chunks = append(j.chunks, delta)
	var frame []byte
	for _, w := range j.watchers {
		if !w.stream {
			continue
		}
		if frame == nil {
			var err error
			frame, err = wire.Encode(&wire.Chunk{ID: j.key.id, Seq: uint64(len(j.chunks)), Delta: delta})
			if err != nil {
				j.log.Error("cannot encode a chunk", "err", err)
				return
			}
		}
		w.c.sendFrame(frame)
	}
}

// run runs an accepted job, charges or releases it, and sends its end to
// every connection that follows it.
func (s *Server) run(j *job, slot Slot, auth *payment.Authorization, req wire.ChatRequest) {
	ctx, cancel := context.WithTimeout(j.ctx, s.opts.Limits.JobTimeout)
	defer cancel()
	var (
		output string
		usage  wire.Usage
		err    error
	)
	if ctx.Err() != nil {
		slot.Release()
		err = wire.NewError(j.key.id, wire.CodeCancelled, "cancelled before it ran")
	} else {
		output, usage, err = slot.Run(hub.WithLogger(ctx, j.log), req, func(delta string) error {
			j.emit(s.now(), delta)
			return nil
		})
	}

	j.mu.Lock()
	j.phase = ending
	byAgent := j.byAgent
	j.mu.Unlock()

	var end wire.Message
	code := wire.Code("")
	switch {
	case byAgent:
		code = wire.CodeCancelled
	case err != nil:
		switch {
		case errors.Is(context.Cause(j.ctx), errShutdown):
			code = wire.CodeShuttingDown
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			code = wire.CodeJobTimeout
		default:
			code = asWireError(j.key.id, err, wire.CodeWorkerFailed).Code
			if !code.Known() {
				code = wire.CodeWorkerFailed
			}
		}
	case len(output) > maxOutputBytes:
		j.log.Warn("output too large to send", "bytes", len(output))
		code = wire.CodeWorkerFailed
	}
	if code == "" {
		end, code = s.charge(j, auth, output, usage)
	} else {
		if err != nil {
			j.log.Info("job failed", "code", code, "err", err)
		}
		s.endPayment(j, auth, code)
		end = endError(j.key.id, code)
	}
	outcome := "ok"
	if code != "" {
		outcome = string(code)
	}
	now := s.now()
	j.mu.Lock()
	var ttft time.Duration
	if !j.firstChunk.IsZero() {
		ttft = j.firstChunk.Sub(j.started)
	}
	j.mu.Unlock()
	s.opts.Metrics.JobFinished(j.offer.idText, j.offer.Model, outcome, now.Sub(j.started), ttft)
	s.finish(j, end)
}

// charge charges a job that succeeded and returns its result; or, when
// the ledger failed, the error it ended with.
func (s *Server) charge(j *job, auth *payment.Authorization, output string, usage wire.Usage) (wire.Message, wire.Code) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	rec, err := s.opts.Payments.Charge(ctx, auth, payment.Usage{InputTokens: usage.InputTokens, OutputTokens: usage.OutputTokens}, wire.ResultHash(output))
	if err != nil {
		j.log.Error("cannot charge a job", "err", err)
		// The write may have taken effect all the same: the ledger says.
		if prev, rerr := s.opts.Ledger.Job(ctx, j.key.channel, j.key.id); rerr == nil && prev.State == ledger.JobCharged && prev.Receipt != nil {
			if rec, rerr = s.opts.Payments.Signed(prev.Receipt); rerr != nil {
				j.log.Error("cannot sign a charged job's receipt", "err", rerr)
			}
		}
		if rec == nil {
			s.endPayment(j, auth, wire.CodeInternal)
			return endError(j.key.id, wire.CodeInternal), wire.CodeInternal
		}
	}
	s.outputs.put(j.key, output)
	if j.log.Enabled(ctx, slog.LevelDebug) {
		j.log.Debug("job charged", "cost", rec.Cost, "seq", rec.Seq)
	}
	return resultOf(j.key.id, output, rec), ""
}

// endPayment releases an authorized job that will not be charged.
func (s *Server) endPayment(j *job, auth *payment.Authorization, code wire.Code) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := s.opts.Payments.Release(ctx, auth, string(code)); err != nil {
		// Left reserved: payment.Recover releases it at the next start.
		j.log.Error("cannot release a job", "err", err)
	}
}

// finish removes an ended job from the server and sends its end to the
// connections that follow it. A resubmission from now on meets the
// ledger's outcome.
func (s *Server) finish(j *job, end wire.Message) {
	s.mu.Lock()
	delete(s.jobs, j.key)
	s.running--
	s.mu.Unlock()
	j.cancel(nil)
	close(j.done)
	frame, err := wire.Encode(end)
	if err != nil {
		j.log.Error("cannot encode a job's end", "err", err)
		return
	}
	j.mu.Lock()
	watchers := j.watchers
	j.watchers = nil // ending: none attaches any more
	j.mu.Unlock()
	for _, w := range watchers {
		c := w.c
		c.mu.Lock()
		if cj := c.jobs[j.key.id]; cj != nil && cj.job == j {
			delete(c.jobs, j.key.id)
		}
		c.mu.Unlock()
		c.sendFrame(frame)
	}
}

// replayResult is the earlier result of a charged job, with its output
// while the server still holds it.
func (s *Server) replayResult(key jobKey, prev *ledger.Job) *wire.Result {
	r := resultOf(key.id, "", prev.Receipt)
	r.Replayed = true
	if out, ok := s.outputs.get(key); ok && wire.ResultHash(out) == prev.Receipt.ResultHash {
		r.Output = out
	} else {
		r.OutputDropped = true
	}
	return r
}

func resultOf(id, output string, rec *ledger.Receipt) *wire.Result {
	return &wire.Result{
		ID:      id,
		Output:  output,
		Usage:   wire.Usage{InputTokens: rec.InputTokens, OutputTokens: rec.OutputTokens},
		Cost:    wire.NewAmount(rec.Cost),
		Receipt: wire.NewReceipt(&rec.Receipt, rec.Seq, rec.Signature),
	}
}

func endError(id string, code wire.Code) *wire.Error {
	msg := "the job failed; it was not charged"
	switch code {
	case wire.CodeCancelled:
		msg = "the job was cancelled; it was not charged"
	case wire.CodeJobTimeout:
		msg = "the job ran past the job timeout; it was not charged"
	case wire.CodeShuttingDown:
		msg = "the node is shutting down; the job was not charged"
	}
	return wire.NewError(id, code, "%s", msg)
}

// asWireError turns an error of the payment check, the scheduler or a
// slot into the error message for job id; other errors get code def.
func asWireError(id string, err error, def wire.Code) *wire.Error {
	var pe *payment.Error
	if errors.As(err, &pe) {
		e := wire.NewError(id, wire.Code(pe.Code), "%s", pe.Msg)
		e.Retryable = pe.Retryable
		return e
	}
	var we *wire.Error
	if errors.As(err, &we) {
		e := *we
		e.ID = id
		return &e
	}
	return wire.NewError(id, def, "%v", err)
}

// lookupError is the error for a channel the chain watcher cannot vouch for.
func lookupError(id string, ch common.Hash, err error) *wire.Error {
	switch {
	case errors.Is(err, chainwatch.ErrNotConfirmed):
		return wire.NewError(id, wire.CodeDepositUnconfirmed, "channel %s is not yet confirmed on chain", ch)
	case errors.Is(err, chainwatch.ErrWrongProvider):
		return wire.NewError(id, wire.CodeWrongProvider, "channel %s pays another provider", ch)
	case errors.Is(err, chainwatch.ErrUnknownChannel):
		return wire.NewError(id, wire.CodeUnknownChannel, "no channel %s is open to this provider", ch)
	}
	return wire.NewError(id, wire.CodeUnavailable, "cannot read channel %s", ch)
}

func assetName(a common.Address) string {
	if a == (common.Address{}) {
		return "ETH"
	}
	return a.Hex()
}

// syncTimeout bounds a sync's wait for the chain, when the channel is
// new to the node and must be read from it.
const syncTimeout = 10 * time.Second

// startSync answers a sync beside the read loop: a channel the node has
// not seen is read from the chain, which may take a while, and the
// connection's other frames (submits, cancels) must not wait for it. One
// sync is answered at a time on a connection; the read loop waits for the
// one before to start the next, so an agent that floods syncs slows only
// its own connection.
func (c *conn) startSync(m *wire.Sync) {
	s := c.s
	if !c.authed() {
		c.send(wire.NewError("", wire.CodeNotAuthenticated, "sync before ready: answer the challenge first"))
		return
	}
	c.syncing <- struct{}{}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-c.syncing
		c.send(shuttingDown(""))
		return
	}
	s.work.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.work.Done()
		defer func() { <-c.syncing }()
		c.sync(m)
	}()
}

// sync answers a sync with the channel's state, to its signer only.
func (c *conn) sync(m *wire.Sync) {
	s := c.s
	ctx, cancel := context.WithTimeout(s.ctx, syncTimeout)
	defer cancel()
	ch, err := s.opts.Channels.Lookup(ctx, m.ChannelID)
	if err != nil {
		c.send(lookupError("", m.ChannelID, err))
		return
	}
	if ch.Signer != c.signer {
		c.send(wire.NewError("", wire.CodeWrongSigner, "channel %s is signed by %s, this connection is %s", m.ChannelID, ch.Signer, c.signer))
		return
	}
	st, err := s.opts.Ledger.Channel(ctx, m.ChannelID)
	if err != nil {
		c.send(wire.NewError("", wire.CodeUnavailable, "cannot read the ledger"))
		return
	}
	claimed := orZero(st.Claimed)
	if ch.Claimed != nil && ch.Claimed.Cmp(claimed) > 0 {
		claimed = ch.Claimed
	}
	c.send(&wire.Channel{
		ChannelID:  m.ChannelID,
		Deposit:    wire.NewAmount(orZero(ch.Deposit)),
		Charged:    wire.NewAmount(orZero(st.Charged)),
		Reserved:   wire.NewAmount(orZero(st.Reserved)),
		Claimed:    wire.NewAmount(claimed),
		Voucher:    wire.NewAmount(orZero(st.Voucher.Amount)),
		ReceiptSeq: st.ReceiptSeq,
		Closing:    ch.Closed || ch.WithdrawableAt != 0,
	})
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

// jobHandler is the handler of a job's logger: the server's, with the
// job's id, channel and model. It adds them only when a line is written,
// since most jobs write none: formatting them up front cost every job a
// dozen allocations.
type jobHandler struct {
	base  slog.Handler
	key   jobKey
	model string

	once sync.Once
	with slog.Handler // base with the job's attributes, made once
}

func (h *jobHandler) handler() slog.Handler {
	h.once.Do(func() {
		h.with = h.base.WithAttrs([]slog.Attr{
			slog.String("job", h.key.id), slog.Any("channel", h.key.channel), slog.String("model", h.model),
		})
	})
	return h.with
}

func (h *jobHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.base.Enabled(ctx, l) }

func (h *jobHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.handler().Handle(ctx, r)
}

func (h *jobHandler) WithAttrs(as []slog.Attr) slog.Handler { return h.handler().WithAttrs(as) }

func (h *jobHandler) WithGroup(name string) slog.Handler { return h.handler().WithGroup(name) }
