// Package nodetest holds what the node's end-to-end tests and benchmarks
// drive a node with: Agent, a raw agent that speaks the wire protocol with
// nothing of the agent SDK in between (so a test of the node does not
// depend on the SDK, and a benchmark measures the node, not a client), and
// Upstream, an OpenAI-compatible inference server (streaming included)
// backed by the builtin model.
package nodetest

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

// Agent is one agent connection paying from one channel. Jobs may run
// concurrently: each voucher covers what the channel was charged plus the
// max cost of every job in flight, this one included, as the protocol
// asks. It is safe for concurrent use.
type Agent struct {
	ChannelID common.Hash
	Price     contracts.Price
	Model     string
	// NoVerify skips the receipt checks: for a node's unpaid benchmark
	// path, whose receipts are not signed.
	NoVerify bool
	// Headroom, when set, signs vouchers ahead: a new voucher covers what
	// is committed plus Headroom, and jobs reuse it while it covers them,
	// so most jobs cost no signature on either side. The provider may
	// then claim up to Headroom more than it charged: the agent's
	// exposure (docs/protocol.md, Voucher headroom).
	Headroom *big.Int
	// VerifyEvery, above 1, verifies the provider's signature on fewer
	// receipts, by the rule of docs/protocol.md ("Verifying receipts in
	// batches"): every receipt gets every other check on arrival, and
	// its signature may wait while fewer than VerifyEvery receipts are
	// held that no verified receipt covers (a verified receipt covers the
	// unbroken run of seqs below it) and the highest cumulative_charged
	// held exceeds the highest verified one by at most UnverifiedCostCap
	// (nil: VerifyEvery times the job's max cost). Whenever one more
	// receipt would pass a bound the agent verifies the highest receipt
	// not covered; it verifies them all when no job is in flight and in
	// Verify. 0 and 1 verify every receipt. The rule is wire.ReceiptBook's,
	// the agent SDK's too. The agent does not bound the gaps in seq
	// ("Receipts above a gap"): its vouchers build on the sum of its
	// receipts' costs, never on a cumulative_charged, so a jump in one
	// costs it nothing.
	VerifyEvery       int
	UnverifiedCostCap *big.Int

	key      *ecdsa.PrivateKey
	conn     *websocket.Conn
	dec      wire.Decoder
	domain   *contracts.Domain
	provider common.Address
	wmu      sync.Mutex // serializes writes

	mu        sync.Mutex                   // guards what follows
	committed *big.Int                     // charged + max cost in flight
	charged   *big.Int                     // Σ receipt costs
	pending   map[string]chan wire.Message // job id → its messages
	lastSeq   uint64
	closed    error
	voucher   *big.Int // the highest voucher signed, and its signature
	sig       []byte
	// The receipts, checked as docs/protocol.md says; made on first use,
	// under the rule VerifyEvery and UnverifiedCostCap say then.
	receipts *wire.ReceiptBook

	seq atomic.Uint64
}

// Dial connects to url, answers the challenge with key and waits for
// ready. The challenge must name provider.
func Dial(ctx context.Context, url string, key *ecdsa.PrivateKey, provider common.Address) (*Agent, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	a := &Agent{
		key: key, conn: conn, dec: wire.Decoder{Direction: wire.NodeToAgent},
		committed: new(big.Int), charged: new(big.Int), pending: map[string]chan wire.Message{},
	}
	if err := a.handshake(ctx, provider); err != nil {
		conn.Close()
		return nil, err
	}
	go a.readLoop()
	return a, nil
}

// Charged is the sum of the costs of the receipts the agent holds.
func (a *Agent) Charged() *big.Int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return new(big.Int).Set(a.charged)
}

// Receipts counts the receipts the agent holds and the signatures it
// verified.
func (a *Agent) Receipts() (held, verified int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.receipts == nil {
		return 0, 0
	}
	f := a.receipts.Figures()
	return f.Held, f.Verified
}

// Verify verifies the receipts that VerifyEvery left uncovered, so that
// a verified signature proves the running total of every receipt held,
// and returns the error of any receipt that failed since the agent
// dialled.
func (a *Agent) Verify() error { return a.prove() }

// Domain is the EIP-712 domain the node named in its challenge.
func (a *Agent) Domain() *contracts.Domain { return a.domain }

func (a *Agent) read() (wire.Message, error) {
	_, frame, err := a.conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	return a.dec.Decode(frame)
}

func (a *Agent) handshake(ctx context.Context, provider common.Address) error {
	if dl, ok := ctx.Deadline(); ok {
		a.conn.SetReadDeadline(dl)
		defer a.conn.SetReadDeadline(time.Time{})
	}
	m, err := a.read()
	if err != nil {
		return fmt.Errorf("reading the challenge: %w", err)
	}
	ch, ok := m.(*wire.Challenge)
	if !ok {
		return fmt.Errorf("first frame is %s, not a challenge", m.Type())
	}
	if ch.Provider != provider {
		return fmt.Errorf("challenge names provider %s, want %s", ch.Provider, provider)
	}
	a.domain, a.provider = ch.Domain(), ch.Provider
	hello, err := ch.Answer(a.key)
	if err != nil {
		return err
	}
	if err := a.Send(hello); err != nil {
		return err
	}
	if m, err = a.read(); err != nil {
		return fmt.Errorf("reading the answer to hello: %w", err)
	}
	if _, ok := m.(*wire.Ready); !ok {
		return fmt.Errorf("answer to hello: %v", m)
	}
	return nil
}

// Send writes one message.
func (a *Agent) Send(m wire.Message) error {
	frame, err := wire.Encode(m)
	if err != nil {
		return err
	}
	a.wmu.Lock()
	defer a.wmu.Unlock()
	return a.conn.WriteMessage(websocket.TextMessage, frame)
}

func (a *Agent) readLoop() {
	for {
		m, err := a.read()
		if err != nil {
			var we *wire.Error
			if errors.As(err, &we) {
				continue // a frame this agent cannot read; the job will time out
			}
			a.mu.Lock()
			a.closed = err
			for id, ch := range a.pending {
				close(ch)
				delete(a.pending, id)
			}
			a.mu.Unlock()
			return
		}
		jm, ok := m.(wire.JobMessage)
		if !ok || jm.JobID() == "" {
			continue
		}
		a.mu.Lock()
		ch := a.pending[jm.JobID()]
		a.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

// Outcome is how one job ended.
type Outcome struct {
	Result *wire.Result // nil when it failed
	Err    *wire.Error  // nil when it succeeded
	Chunks []string     // the streamed deltas, when asked for
}

// Job describes one job; zero fields take defaults.
type Job struct {
	ID        string // default: a sequence number
	Prompt    string
	MaxTokens uint64 // default 32
	Stream    bool
}

// Run submits one job and waits for its end. A job that fails returns an
// Outcome with Err set and a nil error; the error is for the connection
// failing or the context ending.
func (a *Agent) Run(ctx context.Context, job Job) (Outcome, error) {
	if job.ID == "" {
		job.ID = "job-" + strconv.FormatUint(a.seq.Add(1), 10)
	}
	if job.MaxTokens == 0 {
		job.MaxTokens = 32
	}
	if job.Prompt == "" {
		job.Prompt = "Say something about " + job.ID
	}
	req := wire.ChatRequest{
		Messages:  []wire.ChatMessage{{Role: "user", Content: job.Prompt}},
		MaxTokens: job.MaxTokens, Stream: job.Stream,
	}
	maxCost := a.Price.Cost(req.InputTokenBound(), job.MaxTokens)

	events := make(chan wire.Message, 64)
	a.mu.Lock()
	if err := cmp.Or(a.closed, a.bookLocked().Err()); err != nil {
		a.mu.Unlock()
		return Outcome{}, err
	}
	a.committed.Add(a.committed, maxCost)
	amount := new(big.Int).Set(a.committed)
	var sig []byte
	if a.Headroom != nil {
		if a.voucher != nil && a.voucher.Cmp(a.committed) >= 0 {
			amount, sig = a.voucher, a.sig
		} else {
			amount.Add(amount, a.Headroom)
		}
	}
	a.pending[job.ID] = events
	a.mu.Unlock()
	settled := false
	defer func() {
		a.mu.Lock()
		delete(a.pending, job.ID)
		if !settled {
			a.committed.Sub(a.committed, maxCost)
		}
		a.mu.Unlock()
	}()

	if sig == nil {
		digest, err := a.domain.VoucherDigest(&contracts.Voucher{ChannelID: a.ChannelID, CumulativeAmount: amount})
		if err != nil {
			return Outcome{}, err
		}
		if sig, err = contracts.Sign(digest, a.key); err != nil {
			return Outcome{}, err
		}
		a.mu.Lock()
		if a.voucher == nil || amount.Cmp(a.voucher) > 0 {
			a.voucher, a.sig = amount, sig
		}
		a.mu.Unlock()
	}
	model := a.Model
	if model == "" {
		model = "paynode-test-1"
	}
	submit := &wire.Submit{
		ID: job.ID, Model: model, ChannelID: a.ChannelID, Request: req,
		Voucher: wire.Voucher{Amount: wire.NewAmount(amount), Signature: sig},
	}
	if err := a.Send(submit); err != nil {
		return Outcome{}, err
	}
	var out Outcome
	for {
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case m, ok := <-events:
			if !ok {
				return out, fmt.Errorf("connection closed with job %s in flight: %w", job.ID, a.closed)
			}
			switch m := m.(type) {
			case *wire.Accepted:
				if m.MaxCost.Big().Cmp(maxCost) != 0 {
					return out, fmt.Errorf("job %s: node reserved %s, the agent priced %s", job.ID, m.MaxCost, maxCost)
				}
			case *wire.Chunk:
				out.Chunks = append(out.Chunks, m.Delta)
			case *wire.Error:
				out.Err = m
				return out, nil
			case *wire.Result:
				if m.Cost.Big().Cmp(maxCost) > 0 {
					return out, fmt.Errorf("job %s: charged %s above its max cost %s", job.ID, m.Cost, maxCost)
				}
				dup := false
				if !a.NoVerify {
					var err error
					if dup, err = a.check(m, maxCost); err != nil {
						return out, fmt.Errorf("job %s: %w", job.ID, err)
					}
				}
				a.mu.Lock()
				a.committed.Sub(a.committed, maxCost)
				if !dup { // a replay of a receipt held already was counted then
					a.committed.Add(a.committed, m.Cost.Big())
					a.charged.Add(a.charged, m.Cost.Big())
				}
				settled = true
				idle := len(a.pending) == 1
				a.mu.Unlock()
				out.Result = m
				if idle && !a.NoVerify {
					if err := a.prove(); err != nil {
						return out, fmt.Errorf("job %s: %w", job.ID, err)
					}
				}
				return out, nil
			}
		}
	}
}

// check checks a result as docs/protocol.md asks of an agent, and holds
// its receipt; dup reports a receipt held already (a replayed result).
func (a *Agent) check(m *wire.Result, maxCost *big.Int) (dup bool, err error) {
	r := &m.Receipt
	if err := m.Check(a.ChannelID); err != nil {
		return false, fmt.Errorf("receipt seq %d: %w", r.Seq, err)
	}
	if p := a.Price.Cost(r.InputTokens, r.OutputTokens); r.Cost.Big().Cmp(p) > 0 {
		return false, fmt.Errorf("receipt seq %d: cost %s above the price %s of its usage", r.Seq, r.Cost, p)
	}
	return a.accept(r, maxCost)
}

// accept checks r against the receipts held by seq and holds it,
// verifying signatures as VerifyEvery says; dup reports one held already.
func (a *Agent) accept(r *wire.Receipt, maxCost *big.Int) (dup bool, err error) {
	// Without a batch rule every signature is verified: here, outside the
	// lock, so that results ending together verify theirs together. One
	// that fails is verified again by Take, which says why.
	checked := a.VerifyEvery <= 1 && r.Verify(a.domain, a.provider) == nil
	a.mu.Lock()
	defer a.mu.Unlock()
	dup, _, err = a.bookLocked().Take(r, maxCost, nil, checked)
	return dup, err
}

// bookLocked returns the receipt book, made on first use.
func (a *Agent) bookLocked() *wire.ReceiptBook {
	if a.receipts == nil {
		a.receipts = wire.NewReceiptBook(a.ChannelID, a.VerifyEvery, a.UnverifiedCostCap, func(r *wire.Receipt) error {
			return r.Verify(a.domain, a.provider)
		})
	}
	return a.receipts
}

// prove verifies open receipts, the highest first, until none is left,
// and returns the error of any receipt that failed.
func (a *Agent) prove() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.bookLocked()
	b.Prove()
	return b.Err()
}

// Close closes the connection.
func (a *Agent) Close() error { return a.conn.Close() }

// Address is the agent's signer address.
func (a *Agent) Address() common.Address { return crypto.PubkeyToAddress(a.key.PublicKey) }
