package agent

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

// Config configures a Client: the offer it pays for, the channel it pays
// from, and the key that signs.
type Config struct {
	// Offer is the provider's offer, as Discovery read it: its Endpoint is
	// dialled, its Provider must be the node's, its Price and MaxTokens
	// price every job.
	Offer Offer
	// Deployment names the chain and PaymentChannels contract; a node
	// whose challenge names others is refused.
	Deployment *contracts.Deployment
	// Signer is the channel's signer, the agent's hot key: it answers the
	// node's challenge and signs vouchers.
	Signer *ecdsa.PrivateKey
	// Channel is the payment channel to the offer's provider, in the
	// offer's asset, naming Signer.
	Channel common.Hash

	// Budget, when set, is the mandate every job must pass before it is
	// signed for; it may be shared by several clients.
	Budget *Budget
	// Store, when set, keeps every receipt on disk (fsynced before Submit
	// returns), and the highest voucher signed (fsynced before it is
	// sent), and is read back by Dial: charged state survives restarts,
	// and receipts lost from it are recovered from the node within what
	// was signed (docs/protocol.md, "Resync").
	Store *Store
	// TopUp, when set, keeps the channel funded by its policy, checked in
	// the background after every paid job.
	TopUp *AutoTopUp

	// VoucherHeadroom, when positive, signs vouchers ahead: a new voucher
	// covers charged + in flight + VoucherHeadroom, and later jobs send it
	// again while it covers them, so most jobs cost no signature here and
	// no recovery on the node. The provider may claim up to
	// VoucherHeadroom more than its receipts show (docs/protocol.md,
	// Voucher headroom); zero signs a tight voucher for every job.
	VoucherHeadroom *big.Int
	// VoucherCap bounds every voucher: set it to the channel's deposit
	// when VoucherHeadroom is set, since the node refuses a voucher above
	// the deposit (voucher_above_deposit). Headroom never raises a
	// voucher past it.
	VoucherCap *big.Int

	// VerifyReceiptsEvery, above 1, lets the client verify the provider's
	// signature on fewer receipts, by the rule of docs/protocol.md
	// ("Verifying receipts in batches"). Every receipt still gets every
	// other check when it comes: channel, job, output hash, cost within
	// the max cost and the price, seq and cumulative_charged against its
	// neighbours. A verified receipt covers the unbroken run of receipts
	// below it: its signed cumulative_charged proves their running total.
	// The client holds fewer than VerifyReceiptsEvery receipts that no
	// verified receipt covers, and its charged figure (the highest
	// cumulative_charged held) never exceeds what verified receipts
	// prove by more than UnverifiedCostCap: whenever one more receipt
	// would pass either bound, it verifies the highest receipt not
	// covered, until both hold. It also verifies what is not covered when no job is in
	// flight, in Account and in Close. Covered receipts are not each proven signed; their total is.
	// A receipt found not to be the provider's, then or later, marks it
	// untrusted, as it would on arrival. 0 or 1 verifies every receipt.
	VerifyReceiptsEvery int
	// UnverifiedCostCap bounds, with VerifyReceiptsEvery, how far charged
	// may exceed what verified receipts prove; nil is VerifyReceiptsEvery
	// times the max cost of the job whose receipt comes.
	UnverifiedCostCap *big.Int

	// SharedChargeCap is for a channel that other clients pay from too
	// (the same signer key in another process): the charges of their jobs
	// show here as gaps in the receipts' seqs. Whatever a receipt's
	// cumulative_charged says was charged for receipts not held is
	// accepted only while the client's own jobs in flight (whose receipts
	// will fill the gaps) can explain it, plus SharedChargeCap; a
	// receipt beyond that is refused and the provider untrusted. Vouchers
	// build on the costs of the receipts held plus at most
	// SharedChargeCap of those gaps, so a provider can make this client
	// sign for at most SharedChargeCap more than its own jobs cost
	// (docs/protocol.md, "Receipts above a gap"). The same cap bounds what
	// the client adopts of the other clients' charges and reservations
	// when the node refuses its voucher as too low and it resyncs
	// ("Resync"). nil or zero: the channel is this client's alone.
	SharedChargeCap *big.Int

	// Dialer dials the endpoint; default websocket.DefaultDialer.
	Dialer *websocket.Dialer
	// Backoff spaces reconnects and retries.
	Backoff Backoff
	// Retries is how many times a job is retried after a retryable error
	// (overloaded, too_many_jobs, shutting_down, worker_failed, …); default
	// 5, negative for none.
	Retries int
	// Reconnects is how many dials in a row may fail before the jobs
	// waiting on them fail with CodeUnreachable; default 8.
	Reconnects int
	// HandshakeTimeout bounds the challenge, hello and ready exchange;
	// default 10s.
	HandshakeTimeout time.Duration
	Logger           *slog.Logger

	// book, when set (by a Payer), is the account of Channel that another
	// Client of the same Payer keeps: the two share it, so that the
	// receipts of each explain the gaps the other's jobs leave, and each
	// voucher covers the jobs of both. It was read back from Store.
	book *book
}

// AutoTopUp is a top-up policy a Client applies by itself. Channels holds
// the funding key, so only agents trusted with it should set one.
type AutoTopUp struct {
	Channels *Channels
	Policy   TopUpPolicy
	// OnTopUp, when set, hears of each top-up (amount added) or failure.
	OnTopUp func(added *big.Int, err error)
}

// Backoff is an exponential backoff with jitter: the n-th wait is drawn
// from [d/2, d] with d = Min·2ⁿ capped at Max, and is never shorter than a
// retry_after_ms the node asked for.
type Backoff struct {
	Min time.Duration // default 100ms
	Max time.Duration // default 5s
}

func (b Backoff) delay(attempt int, retryAfter time.Duration) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi <= 0 {
		hi = 5 * time.Second
	}
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	d = d/2 + time.Duration(mrand.Int64N(int64(d/2)+1))
	return max(d, retryAfter)
}

// Job is one chat completion to pay for.
type Job struct {
	// ID is the job id, the idempotency key; empty for a random one.
	ID       string
	Messages []wire.ChatMessage
	// MaxTokens bounds the output; 0 for the offer's MaxTokens. The job is
	// priced, and its voucher signed, at this bound.
	MaxTokens   uint64
	Temperature *float64
	// OnChunk, when set, asks the node to stream and receives the output
	// as it comes, in order, from the job's goroutine. After a reconnect a
	// job that ran again streams only what was not delivered before;
	// Result.Output is always the whole output.
	OnChunk func(delta string)
}

// Result is a paid job's outcome, its receipt verified.
type Result struct {
	// ID is the job id the result is for: the job's, or after a retry of
	// a job that failed once accepted, the id it was retried under.
	ID     string
	Output string
	Usage  wire.Usage
	// Cost is what the job was charged, MaxCost what it was priced at
	// before it ran, Voucher the cumulative amount last signed with it.
	Cost, MaxCost, Voucher *big.Int
	Receipt                wire.Receipt
	// Replayed: the node had run the job before (a resubmission after a
	// lost connection) and sent its result again; nothing was paid twice.
	// OutputDropped: the node no longer held the output of that earlier
	// run; Output is empty and only the receipt remains.
	Replayed, OutputDropped bool
	// Attempts counts the submissions it took, 1 when the first one did.
	Attempts int
	// Unverified: the receipt's signature was not verified when it came
	// (Config.VerifyReceiptsEvery); every other check was. A verified
	// receipt at or above it proves its running total, within the rule's
	// bounds.
	Unverified bool
}

// Client pays for jobs on one provider's node over one websocket, from one
// channel. Jobs are pipelined: Submit may be called from many goroutines
// at once, up to the node's max_jobs_in_flight jobs run together (more
// wait), and their messages interleave on the connection.
//
// Per channel it keeps the receipts and the max cost of every job in
// flight, and signs each voucher for exactly the receipts' costs plus the
// max cost of every job in flight, this one included. A receipt above a
// gap in seq whose cumulative_charged says more was charged than the jobs
// in flight can explain is refused (docs/protocol.md, "Receipts above a
// gap"). It checks every receipt, and verifies the
// provider's signature on each unless Config.VerifyReceiptsEvery lets
// some wait; a provider whose receipts do not add up is marked untrusted
// and paid no more (CodeUntrusted).
//
// A dropped connection is dialled again with backoff, and the jobs in
// flight are submitted again under the same ids: the node's idempotency
// replays what it finished and runs nothing twice. Use one Client per
// channel at a time (or the Clients of one Payer, which share their
// account of a channel): the vouchers it signs assume it sees every job,
// and another client's charges are refused as gaps its own jobs cannot
// fill, unless Config.SharedChargeCap allows them.
//
// Before its first job, and when the node refuses a voucher as too low,
// it reads the node's account of the channel (Sync) and adopts the
// charge its receipts lack within a bound of what it knows itself: the
// highest voucher it signed, or its receipts' costs plus its gap credit
// (docs/protocol.md, "Resync"). A refused job is then submitted once
// more; an account beyond the bound marks the provider untrusted
// (CodeUnaccountedCharge).
type Client struct {
	cfg      Config
	domain   *contracts.Domain
	signer   common.Address
	book     *book
	log      *slog.Logger
	closeCh  chan struct{}
	lifetime context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup

	vmu         sync.Mutex // guards lastVoucher and lastSig
	lastVoucher *big.Int   // the highest voucher signed, with headroom
	lastSig     []byte

	mu sync.Mutex
	// guarded by mu:
	cur       *conn
	dialing   chan struct{} // closed when the running dial loop ends
	dialErr   error         // the last dial loop's failure
	jobs      map[string]*job
	slots     chan struct{} // one per job running; sized by max_jobs_in_flight
	closed    bool
	toppingUp bool
}

// conn is one websocket connection after its handshake.
type conn struct {
	ws     *websocket.Conn
	limits wire.Limits
	wmu    sync.Mutex    // one writer at a time
	done   chan struct{} // closed when its reader has returned
	err    error         // why, set before done is closed

	smu sync.Mutex
	// syncs are the syncs sent on the connection and not yet answered,
	// in order: the node answers them in order. A waiter that gave up
	// stays, so that the answers after it go to their own. Guarded by
	// smu.
	syncs []chan syncReply
}

type syncReply struct {
	ch  *wire.Channel
	err error
}

// Dial loads the channel's receipts from cfg.Store (if any), connects to
// the offer's endpoint and authenticates as cfg.Signer, after checking
// that the node's challenge names the offer's provider and cfg's chain and
// contract. A node that names others is refused with CodeWrongNode.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	switch {
	case cfg.Deployment == nil:
		return nil, errorf("dial", CodeBadJob, "no deployment")
	case cfg.Signer == nil:
		return nil, errorf("dial", CodeBadJob, "no signer key")
	case cfg.Channel == (common.Hash{}):
		return nil, errorf("dial", CodeBadJob, "no channel")
	case cfg.Offer.Provider == (common.Address{}) || cfg.Offer.Price.Validate() != nil || cfg.Offer.MaxTokens == 0:
		return nil, errorf("dial", CodeBadJob, "the offer has no provider, price or max tokens")
	}
	if err := checkEndpoint(cfg.Offer.Endpoint); err != nil {
		return nil, errorf("dial", CodeBadJob, "%v", err)
	}
	if cfg.Retries == 0 {
		cfg.Retries = 5
	}
	if cfg.Reconnects <= 0 {
		cfg.Reconnects = 8
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.Dialer == nil {
		cfg.Dialer = websocket.DefaultDialer
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	lifetime, stop := context.WithCancel(context.Background())
	c := &Client{
		cfg: cfg, domain: cfg.Deployment.Domain(), signer: crypto.PubkeyToAddress(cfg.Signer.PublicKey),
		jobs: map[string]*job{}, closeCh: make(chan struct{}),
		lifetime: lifetime, stop: stop,
		log: cfg.Logger.With("component", "agent", "provider", cfg.Offer.Provider, "channel", cfg.Channel),
	}
	if cfg.book != nil && cfg.book.channel == cfg.Channel {
		c.book = cfg.book
	} else {
		domain := c.domain
		c.book = newBook(cfg.Channel, cfg.VerifyReceiptsEvery, cfg.UnverifiedCostCap, cfg.SharedChargeCap, func(r *wire.Receipt) error {
			return r.Verify(domain, cfg.Offer.Provider)
		})
		if err := c.reload(); err != nil {
			stop()
			return nil, err
		}
	}
	if _, err := c.connect(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// reload reads the channel's receipts back from the store.
func (c *Client) reload() error {
	if c.cfg.Store == nil {
		return nil
	}
	recs, err := c.cfg.Store.Load(c.cfg.Channel)
	if err != nil {
		return &Error{Op: "dial", Code: CodeBadReceipt, Message: "reload receipts", Err: err}
	}
	// What was signed: the store's record, and the vouchers of the
	// receipts' jobs (stores written before it was kept).
	signed, err := c.cfg.Store.Signed(c.cfg.Channel)
	if err != nil {
		return &Error{Op: "dial", Code: CodeBadReceipt, Message: "reload the vouchers signed", Err: err}
	}
	// Every stored receipt's signature is verified, those kept unverified
	// by the batch rule too; the provider is marked untrusted once all
	// are read.
	var untrusted error
	for i := range recs {
		r := &recs[i]
		if r.Voucher != nil && (*big.Int)(r.Voucher).Cmp(signed) > 0 {
			signed = r.Voucher.Big()
		}
		if r.Rejected != "" {
			untrusted = cmp.Or(untrusted, fmt.Errorf("provider %s sent a receipt that failed: %s", r.Provider, r.Rejected))
			continue
		}
		if r.Provider != c.cfg.Offer.Provider {
			return errorf("dial", CodeBadReceipt, "receipt store %s holds a receipt of provider %s for a channel of %s", c.cfg.Store.Dir(), r.Provider, c.cfg.Offer.Provider)
		}
		if err := r.Receipt.Verify(c.domain, r.Provider); err != nil {
			if r.Unverified {
				untrusted = cmp.Or(untrusted, fmt.Errorf("stored receipt seq %d, kept unverified: %w", r.Receipt.Seq, err))
				continue
			}
			return &Error{Op: "dial", Code: CodeBadReceipt, Message: fmt.Sprintf("stored receipt seq %d", r.Receipt.Seq), Err: err}
		}
		dup, err := c.book.load(&r.Receipt, r.JobID)
		if err != nil {
			return &Error{Op: "dial", Code: CodeBadReceipt, Message: "stored receipts do not add up", Err: err}
		}
		if !dup {
			c.cfg.Budget.Record(r.Asset, r.Time, r.Receipt.Cost.Big())
		}
	}
	c.book.loaded()
	c.book.signedUpTo(signed)
	if untrusted != nil {
		c.book.markBad(untrusted)
	}
	return nil
}

// Account returns the channel's account as the client holds it, after
// verifying what VerifyReceiptsEvery left waiting, so that Charged is
// proven by the provider's signature.
func (c *Client) Account() Account {
	c.prove(nil)
	return c.book.account()
}

// Committed is what the vouchers signed so far cover: charged per
// receipts plus the max cost of the jobs in flight.
func (c *Client) Committed() *big.Int { return c.book.account().Committed }

// Signer is the address of the client's signer key.
func (c *Client) Signer() common.Address { return c.signer }

// Close ends the connection. Jobs in flight end with CodeClosed; a job
// the node may have accepted stays counted at its max cost. With
// VerifyReceiptsEvery, Close then verifies what was left waiting; a
// receipt that fails marks the provider untrusted and is returned as a
// CodeBadReceipt error.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.closeCh)
	c.stop()
	cur := c.cur
	c.mu.Unlock()
	if cur != nil {
		cur.close()
	}
	c.wg.Wait()
	return c.prove(nil)
}

func (cn *conn) close() {
	cn.wmu.Lock()
	cn.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	cn.wmu.Unlock()
	cn.ws.Close()
}

func (cn *conn) alive() bool {
	select {
	case <-cn.done:
		return false
	default:
		return true
	}
}

func (cn *conn) write(m wire.Message) error {
	b, err := wire.Encode(m)
	if err != nil {
		return err
	}
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	cn.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return cn.ws.WriteMessage(websocket.TextMessage, b)
}

// connect returns the live connection, dialling one (with backoff) if
// there is none.
func (c *Client) connect(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, errorf("connect", CodeClosed, "the client is closed")
		}
		if c.cur != nil && c.cur.alive() {
			cn := c.cur
			c.mu.Unlock()
			return cn, nil
		}
		if c.dialing == nil {
			c.dialing = make(chan struct{})
			c.dialErr = nil
			c.wg.Add(1)
			go c.dialLoop(c.dialing)
		}
		wait := c.dialing
		c.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
		err := c.dialErr
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

func (c *Client) dialLoop(done chan struct{}) {
	defer c.wg.Done()
	var err error
	for attempt := 0; attempt < c.cfg.Reconnects; attempt++ {
		if attempt > 0 {
			if !c.sleep(c.cfg.Backoff.delay(attempt-1, retryAfter(err)), nil) {
				err = errorf("connect", CodeClosed, "the client is closed")
				break
			}
		}
		var cn *conn
		cn, err = c.dial()
		if err == nil {
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				cn.close()
				err = errorf("connect", CodeClosed, "the client is closed")
				break
			}
			c.cur = cn
			if c.slots == nil {
				c.slots = make(chan struct{}, max(cn.limits.MaxJobsInFlight, 1))
			}
			c.dialing = nil
			c.mu.Unlock()
			c.wg.Add(1)
			go c.read(cn)
			close(done)
			return
		}
		c.log.Warn("connect failed", "endpoint", c.cfg.Offer.Endpoint, "attempt", attempt+1, "err", err)
		var ae *Error
		if errors.As(err, &ae) && !ae.Retryable {
			break
		}
	}
	var ae *Error
	if !errors.As(err, &ae) {
		err = &Error{Op: "connect", Code: CodeUnreachable, Message: fmt.Sprintf("%s: %v", c.cfg.Offer.Endpoint, err), Retryable: true, Err: err}
	}
	c.mu.Lock()
	c.dialErr = err
	c.dialing = nil
	c.mu.Unlock()
	close(done)
}

func retryAfter(err error) time.Duration {
	var we *wire.Error
	if errors.As(err, &we) {
		return time.Duration(we.RetryAfterMS) * time.Millisecond
	}
	return 0
}

// dial connects and authenticates once.
func (c *Client) dial() (*conn, error) {
	ctx, cancel := context.WithTimeout(c.lifetime, c.cfg.HandshakeTimeout)
	defer cancel()
	ws, _, err := c.cfg.Dialer.DialContext(ctx, c.cfg.Offer.Endpoint, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(wire.DefaultMaxNodeFrameBytes)
	ws.SetReadDeadline(time.Now().Add(c.cfg.HandshakeTimeout))
	cn := &conn{ws: ws, done: make(chan struct{})}
	fail := func(err error) (*conn, error) {
		cn.close()
		return nil, err
	}
	m, err := readMessage(ws)
	if err != nil {
		return fail(err)
	}
	ch, ok := m.(*wire.Challenge)
	if !ok {
		if we, ok := m.(*wire.Error); ok {
			return fail(remoteError("connect", "", we))
		}
		return fail(errorf("connect", CodeProtocol, "the node's first message is %s, not challenge", m.Type()))
	}
	if err := checkChallenge(ch, &c.cfg.Offer, c.cfg.Deployment); err != nil {
		return fail(err)
	}
	hello, err := ch.Answer(c.cfg.Signer)
	if err != nil {
		return fail(err)
	}
	if err := cn.write(hello); err != nil {
		return fail(err)
	}
	m, err = readMessage(ws)
	if err != nil {
		return fail(err)
	}
	switch m := m.(type) {
	case *wire.Ready:
		if m.Signer != c.signer {
			return fail(errorf("connect", CodeProtocol, "the node is ready for signer %s, not %s", m.Signer, c.signer))
		}
	case *wire.Error:
		return fail(remoteError("connect", "", m))
	default:
		return fail(errorf("connect", CodeProtocol, "the node answered hello with %s", m.Type()))
	}
	ws.SetReadDeadline(time.Time{})
	cn.limits = ch.Limits
	return cn, nil
}

// checkChallenge refuses a node whose challenge names another provider
// than offer o's, or another chain or contract than d's.
func checkChallenge(ch *wire.Challenge, o *Offer, d *contracts.Deployment) error {
	switch {
	case ch.Provider != o.Provider:
		return errorf("connect", CodeWrongNode, "the node at %s is provider %s, the offer's is %s", o.Endpoint, ch.Provider, o.Provider)
	case ch.ChainID != d.ChainID:
		return errorf("connect", CodeWrongNode, "the node at %s is on chain %d, not %d", o.Endpoint, ch.ChainID, d.ChainID)
	case ch.Contract != d.PaymentChannels:
		return errorf("connect", CodeWrongNode, "the node at %s serves PaymentChannels %s, not %s", o.Endpoint, ch.Contract, d.PaymentChannels)
	}
	return nil
}

// Probe connects to offer o's endpoint and checks the node's challenge,
// without authenticating: whether the node is up and is the offer's
// provider on d's chain and contract. Payer probes before it opens a
// channel, so that no deposit goes to a provider that cannot be reached.
func Probe(ctx context.Context, o *Offer, d *contracts.Deployment, dialer *websocket.Dialer) error {
	if err := checkEndpoint(o.Endpoint); err != nil {
		return errorf("probe", CodeBadJob, "%v", err)
	}
	if dialer == nil {
		dialer = websocket.DefaultDialer
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, _, err := dialer.DialContext(ctx, o.Endpoint, nil)
	if err != nil {
		return &Error{Op: "connect", Code: CodeUnreachable, Message: fmt.Sprintf("%s: %v", o.Endpoint, err), Retryable: true, Err: err}
	}
	defer ws.Close()
	if dl, ok := ctx.Deadline(); ok {
		ws.SetReadDeadline(dl)
	}
	m, err := readMessage(ws)
	if err != nil {
		return &Error{Op: "connect", Code: CodeUnreachable, Message: fmt.Sprintf("%s: no challenge: %v", o.Endpoint, err), Retryable: true, Err: err}
	}
	switch m := m.(type) {
	case *wire.Challenge:
		return checkChallenge(m, o, d)
	case *wire.Error:
		return remoteError("connect", "", m)
	}
	return errorf("connect", CodeProtocol, "the node's first message is %s, not challenge", m.Type())
}

var agentDecoder = wire.Decoder{Direction: wire.NodeToAgent}

// readMessage reads frames until one this client knows decodes.
func readMessage(ws *websocket.Conn) (wire.Message, error) {
	for {
		typ, frame, err := ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		if typ != websocket.TextMessage {
			continue
		}
		m, err := agentDecoder.Decode(frame)
		if wire.CodeOf(err) == wire.CodeUnknownType {
			continue // a newer node's message
		}
		if err != nil {
			return nil, &Error{Op: "connect", Code: CodeProtocol, Message: "malformed frame from the node", Err: err}
		}
		return m, nil
	}
}

// event is a message for one job, or a frame about it that did not decode.
type event struct {
	msg wire.Message
	bad error
}

// read routes the connection's messages to their jobs until it fails.
func (c *Client) read(cn *conn) {
	defer c.wg.Done()
	defer close(cn.done)
	for {
		typ, frame, err := cn.ws.ReadMessage()
		if err != nil {
			cn.err = err
			c.log.Debug("connection ended", "err", err)
			return
		}
		if typ != websocket.TextMessage {
			continue
		}
		m, err := agentDecoder.Decode(frame)
		if err != nil {
			if wire.CodeOf(err) == wire.CodeUnknownType {
				continue
			}
			var we *wire.Error
			if errors.As(err, &we) && we.ID != "" {
				c.route(we.ID, event{bad: err})
			} else {
				c.log.Warn("malformed frame from the node", "err", err)
			}
			continue
		}
		switch m := m.(type) {
		case wire.JobMessage:
			if id := m.JobID(); id != "" {
				c.route(id, event{msg: m})
				continue
			}
			if we, ok := m.(*wire.Error); ok {
				c.log.Warn("the node reports", "code", we.Code, "message", we.Message)
				cn.answerSync(syncReply{err: remoteError("sync", "", we)})
			}
		case *wire.Channel:
			cn.answerSync(syncReply{ch: m})
		}
	}
}

func (c *Client) route(id string, ev event) {
	c.mu.Lock()
	j := c.jobs[id]
	c.mu.Unlock()
	if j == nil {
		c.log.Debug("message for no job of ours", "id", id)
		return
	}
	select {
	case j.events <- ev:
	case <-j.done:
	}
}

// answerSync hands the node's answer to the oldest sync waiting for one;
// its channel has room for it.
func (cn *conn) answerSync(r syncReply) {
	cn.smu.Lock()
	var w chan syncReply
	if len(cn.syncs) > 0 {
		w, cn.syncs = cn.syncs[0], cn.syncs[1:]
	}
	cn.smu.Unlock()
	if w != nil {
		w <- r
	}
}

// Sync asks the node for the channel's state as its ledger holds it: the
// deposit it sees, charged, reserved, claimed, its highest voucher and
// last receipt seq. What the node says is not proof; receipts are. (The
// client reads it by itself before its first job and after a
// voucher_too_low, and adopts the charged within a bound: see
// docs/protocol.md, "Resync".)
func (c *Client) Sync(ctx context.Context) (*wire.Channel, error) {
	cn, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	w := make(chan syncReply, 1)
	cn.smu.Lock()
	cn.syncs = append(cn.syncs, w)
	cn.smu.Unlock()
	if err := cn.write(&wire.Sync{ChannelID: c.cfg.Channel}); err != nil {
		return nil, &Error{Op: "sync", Code: CodeUnreachable, Retryable: true, Err: err}
	}
	select {
	case r := <-w:
		return r.ch, r.err
	case <-cn.done:
		return nil, errorf("sync", CodeUnreachable, "the connection dropped")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// NewJobID returns a random job id: 16 bytes, hex.
func NewJobID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// sleep waits d, or until cancel or the client closes (false).
func (c *Client) sleep(d time.Duration, cancel <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-cancel:
		return false
	case <-c.closeCh:
		return false
	}
}
