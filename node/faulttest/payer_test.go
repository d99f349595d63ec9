package faulttest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/wire"
)

// payer pays for jobs from one channel, over one agent connection at a
// time. nodetest.Agent does not outlive its connection; a payer does:
// when the connection drops (the node died or went away) it dials again
// and submits every job whose outcome it has not heard once more, with
// the same id and body — the recovery docs/protocol.md prescribes. A job
// the node charged before the drop comes back as a replayed result with
// its receipt, one it had accepted but not charged as job_failed, one it
// never recorded runs afresh.
//
// Its voucher for a job is the highest cumulative_charged it has heard
// plus the max cost of every job whose outcome it has not heard, this one
// included. That covers what the node needs (charged + reserved + this
// job) across crashes without asking the node: a job the node charged
// but whose result was lost stays in the sum at its max cost until the
// replay arrives.
//
// It checks what an agent can check as it goes — every result verifies
// (wire.Result.Verify), no receipt seq names two jobs, no job gets two
// receipts — and keeps every receipt for the sums at the end.
type payer struct {
	name     string
	url      string
	key      *ecdsa.PrivateKey
	provider common.Address
	channel  common.Hash
	price    contracts.Price

	dialMu sync.Mutex // one dial at a time

	mu          sync.Mutex // guards what follows
	conn        *payerConn // nil or dead: dial again
	domain      *contracts.Domain
	charged     *big.Int            // the highest cumulative_charged heard
	inflight    map[string]*big.Int // job id → max cost, while its outcome is unknown
	receipts    map[uint64]wire.Receipt
	receiptOf   map[string]uint64 // job id → its receipt's seq
	maxAccepted *big.Int          // the highest voucher amount answered with accepted
	stats       payerStats
	violations  []error
}

// payerStats count what happened to a payer's jobs.
type payerStats struct {
	Fresh      int               // results of jobs that ran on this submit
	Resumed    int               // of them, on a submit after a lost connection (attached to, or run anew)
	Replayed   int               // replayed results (the job was charged before)
	Dropped    int               // of them, with the output dropped
	Failed     int               // ended uncharged
	Codes      map[wire.Code]int // how the failed jobs ended
	Resubmits  int               // submits again after a lost connection
	Retries    int               // submits again after a retryable refusal
	RetryCodes map[wire.Code]int // the refusals retried
	Dials      int               // connections made
	DialErrors int               // connections refused or failed
}

func (s *payerStats) add(o payerStats) {
	s.Fresh += o.Fresh
	s.Resumed += o.Resumed
	s.Replayed += o.Replayed
	s.Dropped += o.Dropped
	s.Failed += o.Failed
	s.Resubmits += o.Resubmits
	s.Retries += o.Retries
	s.Dials += o.Dials
	s.DialErrors += o.DialErrors
	s.Codes = addCodes(s.Codes, o.Codes)
	s.RetryCodes = addCodes(s.RetryCodes, o.RetryCodes)
}

func addCodes(into, from map[wire.Code]int) map[wire.Code]int {
	if into == nil {
		into = map[wire.Code]int{}
	}
	for c, n := range from {
		into[c] += n
	}
	return into
}

func newPayer(name, url string, key *ecdsa.PrivateKey, provider common.Address, channel common.Hash, price contracts.Price) *payer {
	return &payer{
		name: name, url: url, key: key, provider: provider, channel: channel, price: price,
		charged: new(big.Int), inflight: map[string]*big.Int{},
		receipts: map[uint64]wire.Receipt{}, receiptOf: map[string]uint64{},
		maxAccepted: new(big.Int), stats: payerStats{Codes: map[wire.Code]int{}, RetryCodes: map[wire.Code]int{}},
	}
}

// jobRequest is job id's request: a short prompt and a bound of 1 to 32
// output tokens, both derived from the id, so that a resubmission carries
// the same body.
func jobRequest(id string, n int) wire.ChatRequest {
	return wire.ChatRequest{
		Messages:  []wire.ChatMessage{{Role: "user", Content: "Job " + id + ": tell a short story."}},
		MaxTokens: 1 + uint64(n*7919)%32,
	}
}

// errStopped ends a job whose context ended before its outcome was heard.
var errStopped = errors.New("stopped before the job's outcome was heard")

// do runs job id until its outcome is known: a result (charged, receipt
// kept) or an end without charge. The error is for ctx ending.
func (p *payer) do(ctx context.Context, id string, req wire.ChatRequest) (charged bool, err error) {
	maxCost := p.price.Cost(req.InputTokenBound(), req.MaxTokens)
	p.mu.Lock()
	p.inflight[id] = maxCost
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.inflight, id)
		p.mu.Unlock()
	}()

	var wait time.Duration
	resubmitted := false
	for {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return false, errStopped
			case <-time.After(wait):
			}
		}
		c, err := p.connection(ctx)
		if err != nil {
			return false, errStopped
		}
		events := c.register(id)
		if events == nil {
			continue // the connection died meanwhile
		}
		amount, sig, err := p.voucher()
		if err != nil {
			return false, err
		}
		err = c.send(&wire.Submit{
			ID: id, Model: builtin.Name, ChannelID: p.channel, Request: req,
			Voucher: wire.Voucher{Amount: wire.NewAmount(amount), Signature: sig},
		})
		if err != nil {
			c.unregister(id)
			c.kill(err)
			p.count(func(s *payerStats) { s.Resubmits++ })
			resubmitted = true
			continue
		}
		next, after := p.await(ctx, id, events, maxCost, amount, resubmitted)
		c.unregister(id)
		switch next {
		case endedCharged:
			return true, nil
		case ended:
			return false, nil
		case stopped:
			return false, errStopped
		case reconnect:
			p.count(func(s *payerStats) { s.Resubmits++ })
			resubmitted, wait = true, 0
		case retry:
			p.count(func(s *payerStats) { s.Retries++ })
			wait = after
		}
	}
}

type nextStep int

const (
	ended        nextStep = iota // the job ended uncharged
	endedCharged                 // the job ended in a result
	reconnect                    // the connection died: submit again on a new one
	retry                        // a retryable refusal: submit again after a pause
	stopped                      // ctx ended
)

// await follows one submit of job id to its end.
func (p *payer) await(ctx context.Context, id string, events <-chan wire.Message, maxCost, amount *big.Int, resubmitted bool) (nextStep, time.Duration) {
	accepted := false
	for {
		var m wire.Message
		var ok bool
		select {
		case <-ctx.Done():
			return stopped, 0
		case m, ok = <-events:
		}
		if !ok {
			return reconnect, 0
		}
		switch m := m.(type) {
		case *wire.Accepted:
			if m.MaxCost.Big().Cmp(maxCost) != 0 {
				p.violate("job %s: node reserved %s, the agent priced %s", id, m.MaxCost, maxCost)
			}
			accepted = true
			p.mu.Lock()
			if amount.Cmp(p.maxAccepted) > 0 {
				p.maxAccepted.Set(amount)
			}
			p.mu.Unlock()
		case *wire.Chunk:
		case *wire.Result:
			p.record(id, m, maxCost, resubmitted)
			return endedCharged, 0
		case *wire.Error:
			switch {
			case m.Code == wire.CodeJobFailed, accepted:
				// Accepted and then failed, now or before a crash: the id
				// is spent and was not charged.
				p.fail(id, m.Code)
				return ended, 0
			case m.Retryable:
				if (m.Code == wire.CodeUnavailable || m.Code == wire.CodeDepositUnconfirmed) && m.RetryAfterMS == 0 {
					p.violate("job %s: %s without retry_after_ms: a client would spin", id, m.Code)
				}
				p.count(func(s *payerStats) { s.RetryCodes[m.Code]++ })
				return retry, max(time.Duration(m.RetryAfterMS)*time.Millisecond, 20*time.Millisecond)
			default:
				// Every job here is well-formed and paid for: a refusal
				// that will not pass is a fault of the node or the payer.
				p.violate("job %s: refused: %v", id, m)
				p.fail(id, m.Code)
				return ended, 0
			}
		}
	}
}

// voucher signs the cumulative amount that covers what the node may hold
// against the channel: the highest cumulative_charged heard plus every job
// in flight at its max cost.
func (p *payer) voucher() (*big.Int, []byte, error) {
	p.mu.Lock()
	amount := new(big.Int).Set(p.charged)
	for _, c := range p.inflight {
		amount.Add(amount, c)
	}
	d := p.domain
	p.mu.Unlock()
	digest, err := d.VoucherDigest(&contracts.Voucher{ChannelID: p.channel, CumulativeAmount: amount})
	if err != nil {
		return nil, nil, err
	}
	sig, err := contracts.Sign(digest, p.key)
	return amount, sig, err
}

// record keeps a result's receipt after checking it.
func (p *payer) record(id string, m *wire.Result, maxCost *big.Int, resubmitted bool) {
	p.mu.Lock()
	d := p.domain
	p.mu.Unlock()
	if err := m.Verify(d, p.provider, p.channel); err != nil {
		p.violate("job %s: %v", id, err)
		return
	}
	r := m.Receipt
	if r.Cost.Big().Cmp(maxCost) > 0 {
		p.violate("job %s: charged %s above its max cost %s", id, r.Cost, maxCost)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq, ok := p.receiptOf[id]; ok && seq != r.Seq {
		p.violations = append(p.violations, fmt.Errorf("%s: job %s has receipts %d and %d: charged twice", p.name, id, seq, r.Seq))
	}
	if old, ok := p.receipts[r.Seq]; ok && (old.JobID != r.JobID || !bytes.Equal(old.Signature, r.Signature)) {
		p.violations = append(p.violations, fmt.Errorf("%s: receipt seq %d issued for two jobs (%s, %s)", p.name, r.Seq, old.JobID, r.JobID))
	}
	p.receipts[r.Seq] = r
	p.receiptOf[id] = r.Seq
	if c := r.CumulativeCharged.Big(); c.Cmp(p.charged) > 0 {
		p.charged.Set(c)
	}
	delete(p.inflight, id) // with charged, in one step: the next voucher stays covered
	if m.Replayed {
		p.stats.Replayed++
		if m.OutputDropped {
			p.stats.Dropped++
		}
	} else {
		p.stats.Fresh++
		if resubmitted {
			p.stats.Resumed++
		}
	}
}

func (p *payer) fail(id string, code wire.Code) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inflight, id)
	p.stats.Failed++
	p.stats.Codes[code]++
}

func (p *payer) violate(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.violations = append(p.violations, fmt.Errorf(p.name+": "+format, args...))
}

func (p *payer) count(f func(*payerStats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.stats)
}

// Stats returns a copy of the payer's counts.
func (p *payer) Stats() payerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Codes = maps.Clone(p.stats.Codes)
	s.RetryCodes = maps.Clone(p.stats.RetryCodes)
	return s
}

// receiptSum is Σ cost of the receipts the payer holds, one per seq.
func (p *payer) receiptSum() *big.Int {
	p.mu.Lock()
	defer p.mu.Unlock()
	sum := new(big.Int)
	for _, r := range p.receipts {
		sum.Add(sum, r.Cost.Big())
	}
	return sum
}

// Close closes the current connection, if any.
func (p *payer) Close() {
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c != nil {
		c.kill(errors.New("closed"))
	}
}

// checkChannel holds the payer's receipts against the channel's ledger
// state after every job ended, and against what the chain says was
// claimed: receipts numbered 1…n without a gap or a repeat, each running
// total the previous one plus its cost, Σ cost == the ledger's charged ==
// claimed on chain, nothing left reserved, and the ledger's voucher at
// least every voucher the node acknowledged with accepted.
func (p *payer) checkChannel(t *testing.T, st ledger.ChannelState, claimed *big.Int) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, err := range p.violations {
		t.Error(err)
	}
	seqs := make([]uint64, 0, len(p.receipts))
	for s := range p.receipts {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	sum := new(big.Int)
	for i, s := range seqs {
		r := p.receipts[s]
		if s != uint64(i+1) {
			t.Errorf("%s: receipt seqs %d…%d have a gap before %d", p.name, seqs[0], seqs[len(seqs)-1], s)
			break
		}
		sum.Add(sum, r.Cost.Big())
		if r.CumulativeCharged.Big().Cmp(sum) != 0 {
			t.Errorf("%s: receipt %d says cumulative_charged %s; the receipts up to it add up to %s", p.name, s, r.CumulativeCharged, sum)
			break
		}
	}
	if len(p.receiptOf) != len(p.receipts) {
		t.Errorf("%s: %d jobs hold %d distinct receipts", p.name, len(p.receiptOf), len(p.receipts))
	}
	if st.ReceiptSeq != uint64(len(seqs)) {
		t.Errorf("%s: the ledger issued %d receipts; the agent holds %d", p.name, st.ReceiptSeq, len(seqs))
	}
	sum = new(big.Int)
	for _, r := range p.receipts {
		sum.Add(sum, r.Cost.Big())
	}
	if st.Charged.Cmp(sum) != 0 {
		t.Errorf("%s: the ledger charged %s; the receipts add up to %s", p.name, st.Charged, sum)
	}
	if claimed.Cmp(sum) != 0 {
		t.Errorf("%s: claimed on chain %s; the receipts add up to %s", p.name, claimed, sum)
	}
	if st.Reserved.Sign() != 0 {
		t.Errorf("%s: %s still reserved after every job ended", p.name, st.Reserved)
	}
	if st.Voucher.Amount == nil || st.Voucher.Amount.Cmp(p.maxAccepted) < 0 {
		t.Errorf("%s: the ledger's voucher is %v; the node accepted a job on a voucher of %s", p.name, st.Voucher.Amount, p.maxAccepted)
	}
}

// ---- the connection ----

// payerConn is one agent connection; its read loop hands each job's
// messages to the job's channel and closes them all when it dies.
type payerConn struct {
	ws  *websocket.Conn
	wmu sync.Mutex // serializes writes

	mu      sync.Mutex // guards pending and err
	pending map[string]chan wire.Message
	err     error // set once the connection is dead
}

// connection returns the live connection, dialing (again, until ctx
// ends) when there is none.
func (p *payer) connection(ctx context.Context) (*payerConn, error) {
	p.dialMu.Lock()
	defer p.dialMu.Unlock()
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c != nil && c.alive() {
		return c, nil
	}
	wait := 20 * time.Millisecond
	for {
		c, d, err := dialPayer(ctx, p.url, p.key, p.provider)
		if err == nil {
			p.mu.Lock()
			if p.domain != nil && (p.domain.ChainID.Cmp(d.ChainID) != 0 || p.domain.VerifyingContract != d.VerifyingContract) {
				p.violations = append(p.violations, fmt.Errorf("%s: the node changed its domain from %+v to %+v", p.name, p.domain, d))
			}
			p.conn, p.domain = c, d
			p.stats.Dials++
			p.mu.Unlock()
			return c, nil
		}
		p.count(func(s *payerStats) { s.DialErrors++ })
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

func dialPayer(ctx context.Context, url string, key *ecdsa.PrivateKey, provider common.Address) (*payerConn, *contracts.Domain, error) {
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 16 << 10, WriteBufferSize: 16 << 10}
	ws, _, err := d.DialContext(hctx, url, nil)
	if err != nil {
		return nil, nil, err
	}
	ws.SetReadLimit(16 << 20)
	dl, _ := hctx.Deadline()
	ws.SetReadDeadline(dl)
	dec := wire.Decoder{Direction: wire.NodeToAgent}
	read := func() (wire.Message, error) {
		_, frame, err := ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		return dec.Decode(frame)
	}
	fail := func(err error) (*payerConn, *contracts.Domain, error) {
		ws.Close()
		return nil, nil, err
	}
	m, err := read()
	if err != nil {
		return fail(fmt.Errorf("challenge: %w", err))
	}
	ch, ok := m.(*wire.Challenge)
	if !ok {
		return fail(fmt.Errorf("first frame: %v", m))
	}
	if ch.Provider != provider {
		return fail(fmt.Errorf("challenge names provider %s, want %s", ch.Provider, provider))
	}
	hello, err := ch.Answer(key)
	if err != nil {
		return fail(err)
	}
	frame, err := wire.Encode(hello)
	if err != nil {
		return fail(err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		return fail(err)
	}
	if m, err = read(); err != nil {
		return fail(fmt.Errorf("answer to hello: %w", err))
	}
	if _, ok := m.(*wire.Ready); !ok {
		return fail(fmt.Errorf("answer to hello: %v", m))
	}
	ws.SetReadDeadline(time.Time{})
	c := &payerConn{ws: ws, pending: map[string]chan wire.Message{}}
	go c.readLoop(dec)
	return c, ch.Domain(), nil
}

func (c *payerConn) readLoop(dec wire.Decoder) {
	for {
		_, frame, err := c.ws.ReadMessage()
		if err != nil {
			c.kill(err)
			return
		}
		m, err := dec.Decode(frame)
		if err != nil {
			continue // a frame this agent cannot read; nothing of ours
		}
		jm, ok := m.(wire.JobMessage)
		if !ok || jm.JobID() == "" {
			continue
		}
		// Under the lock: kill closes the channels.
		c.mu.Lock()
		if ch := c.pending[jm.JobID()]; ch != nil {
			select {
			case ch <- m:
			default: // more messages than one job sends: ignore the rest
			}
		}
		c.mu.Unlock()
	}
}

// register opens job id's message channel; nil when the connection is
// dead.
func (c *payerConn) register(id string) chan wire.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil
	}
	ch := make(chan wire.Message, 128)
	c.pending[id] = ch
	return ch
}

func (c *payerConn) unregister(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, id)
}

func (c *payerConn) alive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil
}

// kill marks the connection dead, closes it and ends every job's channel.
func (c *payerConn) kill(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	c.ws.Close()
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
}

func (c *payerConn) send(m wire.Message) error {
	frame, err := wire.Encode(m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}
