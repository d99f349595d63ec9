package agent_test

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

// fakeNode is a small node that speaks the agent protocol faithfully
// (docs/protocol.md) over a real loopback websocket: challenge and hello,
// a payment check of every voucher (signer, and amount ≥ charged +
// reserved + the job's max cost), pipelined jobs, receipts with gap-free
// seqs, idempotent job ids. Hooks make it misbehave: drop connections
// mid-job, refuse with an error, send bad receipts.
type fakeNode struct {
	key      *ecdsa.PrivateKey
	provider common.Address
	d        *contracts.Deployment
	domain   *contracts.Domain
	price    contracts.Price
	model    string
	offerID  *big.Int
	limits   wire.Limits
	srv      *httptest.Server

	// Hooks; set before the first job.
	jobTime      time.Duration                             // how long a job runs
	jobTimeFn    func(id string) time.Duration             // overrides jobTime
	refuse       func(id string, attempt int) *wire.Error  // an error instead of running (nil: run)
	drop         func(id string, attempt int) bool         // close the connection after accepting
	mutate       func(id string, res *wire.Result)         // change the result sent (not the one kept)
	challenge    func(c *wire.Challenge)                   // change the challenge
	onSync       func(n int, st *wire.Channel) *wire.Error // change the n-th answer to sync (from 0), or answer an error
	cancelOnDrop bool                                      // a dropped connection cancels its jobs (else they run to the end)

	mu sync.Mutex
	// guarded by mu
	signers  map[common.Hash]common.Address
	charged  map[common.Hash]*big.Int
	reserved map[common.Hash]*big.Int
	vouchers map[common.Hash]*big.Int
	lastSig  map[common.Hash]wire.Signature
	seq      map[common.Hash]uint64
	jobs     map[string]*fakeJob // channel/id
	attempts map[string]int
	submits  []*wire.Submit
	cancels  []string
	runs     map[string]int
	conns    int
	live     []*fakeConn
	syncs    int
}

type fakeJob struct {
	body    common.Hash
	done    chan struct{}
	result  *wire.Result
	failed  bool
	cancel  chan struct{}
	conn    *fakeConn
	maxCost *big.Int
}

type fakeConn struct {
	ws  *websocket.Conn
	wmu sync.Mutex
}

func (c *fakeConn) send(m wire.Message) error {
	b, err := wire.Encode(m)
	if err != nil {
		panic(err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

func newFakeNode(t testing.TB, d *contracts.Deployment, key *ecdsa.PrivateKey) *fakeNode {
	n := startFakeNode(d, key)
	t.Cleanup(n.close)
	return n
}

// startFakeNode starts a node on a loopback port; close stops it.
func startFakeNode(d *contracts.Deployment, key *ecdsa.PrivateKey) *fakeNode {
	price, _ := contracts.ParsePrice("1000", "2000000", "8000000")
	n := &fakeNode{
		key: key, provider: crypto.PubkeyToAddress(key.PublicKey), d: d, domain: d.Domain(),
		price: price, model: "paynode-test-1", offerID: big.NewInt(1),
		limits: wire.Limits{MaxFrameBytes: 1 << 20, MaxMessages: 1024, MaxJobsInFlight: 4,
			MaxConnectionsPerSigner: 4, AuthTimeoutMS: 10000, JobTimeoutMS: 300000},
		signers: map[common.Hash]common.Address{}, charged: map[common.Hash]*big.Int{},
		reserved: map[common.Hash]*big.Int{}, vouchers: map[common.Hash]*big.Int{},
		lastSig: map[common.Hash]wire.Signature{}, seq: map[common.Hash]uint64{},
		jobs: map[string]*fakeJob{}, attempts: map[string]int{}, runs: map[string]int{},
	}
	n.srv = httptest.NewServer(n)
	return n
}

func (n *fakeNode) url() string { return "ws" + strings.TrimPrefix(n.srv.URL, "http") + "/v1/agent" }

func (n *fakeNode) close() {
	n.mu.Lock()
	for _, c := range n.live {
		c.ws.Close()
	}
	n.mu.Unlock()
	n.srv.Close()
}

// openChannel makes the node serve channel id, signed by signer.
func (n *fakeNode) openChannel(id common.Hash, signer common.Address) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.signers[id] = signer
	n.charged[id], n.reserved[id], n.vouchers[id] = new(big.Int), new(big.Int), new(big.Int)
}

// dropAll closes every live connection.
func (n *fakeNode) dropAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.live {
		c.ws.Close()
	}
}

var upgrader = websocket.Upgrader{}

func (n *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &fakeConn{ws: ws}
	n.mu.Lock()
	n.conns++
	n.live = append(n.live, c)
	n.mu.Unlock()
	defer n.hangUp(c)

	ch := &wire.Challenge{Nonce: wire.NewNonce(), Provider: n.provider, ChainID: n.d.ChainID, Contract: n.d.PaymentChannels, Limits: n.limits}
	if n.challenge != nil {
		n.challenge(ch)
	}
	c.send(ch)
	dec := wire.Decoder{Direction: wire.AgentToNode}
	var signer common.Address
	for {
		_, frame, err := ws.ReadMessage()
		if err != nil {
			return
		}
		m, err := dec.Decode(frame)
		if err != nil {
			c.send(err.(*wire.Error))
			continue
		}
		switch m := m.(type) {
		case *wire.Hello:
			if err := ch.Verify(m); err != nil {
				c.send(err.(*wire.Error))
				return
			}
			signer = m.Signer
			c.send(&wire.Ready{Signer: signer})
		case *wire.Submit:
			if signer == (common.Address{}) {
				c.send(wire.NewError(m.ID, wire.CodeNotAuthenticated, "hello first"))
				continue
			}
			go n.job(c, signer, m)
		case *wire.Cancel:
			n.cancel(c, m.ID)
		case *wire.Sync:
			n.mu.Lock()
			st := &wire.Channel{ChannelID: m.ChannelID, Deposit: wire.AmountOf(1 << 40),
				Charged: wire.NewAmount(n.charged[m.ChannelID]), Reserved: wire.NewAmount(n.reserved[m.ChannelID]),
				Claimed: wire.AmountOf(0), Voucher: wire.NewAmount(n.vouchers[m.ChannelID]), ReceiptSeq: n.seq[m.ChannelID]}
			syncs, hook := n.syncs, n.onSync
			n.syncs++
			n.mu.Unlock()
			if hook != nil {
				if e := hook(syncs, st); e != nil {
					c.send(e)
					continue
				}
			}
			c.send(st)
		case *wire.Ping:
			c.send(&wire.Pong{Nonce: m.Nonce})
		}
	}
}

// hangUp: a connection's jobs run to their end (their result kept for a
// replay), or with cancelOnDrop are cancelled.
func (n *fakeNode) hangUp(c *fakeConn) {
	c.ws.Close()
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, l := range n.live {
		if l == c {
			n.live = append(n.live[:i], n.live[i+1:]...)
			break
		}
	}
	if n.cancelOnDrop {
		for _, j := range n.jobs {
			if j.conn == c && j.result == nil && !j.failed {
				select {
				case <-j.cancel:
				default:
					close(j.cancel)
				}
			}
		}
	}
}

func (n *fakeNode) cancel(c *fakeConn, id string) {
	n.mu.Lock()
	n.cancels = append(n.cancels, id)
	var j *fakeJob
	for k, fj := range n.jobs {
		if strings.HasSuffix(k, "/"+id) && fj.conn == c && fj.result == nil && !fj.failed {
			j = fj
		}
	}
	n.mu.Unlock()
	if j == nil {
		c.send(wire.NewError(id, wire.CodeUnknownJob, "no such job in flight"))
		return
	}
	select {
	case <-j.cancel:
	default:
		close(j.cancel)
	}
}

func (n *fakeNode) job(c *fakeConn, signer common.Address, s *wire.Submit) {
	key := s.ChannelID.Hex() + "/" + s.ID
	n.mu.Lock()
	n.submits = append(n.submits, s)
	attempt := n.attempts[key]
	n.attempts[key]++
	if n.refuse != nil {
		if e := n.refuse(s.ID, attempt); e != nil {
			n.mu.Unlock()
			e.ID = s.ID
			c.send(e)
			return
		}
	}
	body := s.BodyHash()
	if j, ok := n.jobs[key]; ok {
		n.mu.Unlock()
		if j.body != body {
			c.send(wire.NewError(s.ID, wire.CodeJobConflict, "another body"))
			return
		}
		<-j.done // attach to a running job
		n.mu.Lock()
		failed, res := j.failed, j.result
		n.mu.Unlock()
		if failed {
			c.send(wire.NewError(s.ID, wire.CodeJobFailed, "the id ran and failed"))
			return
		}
		replay := *res
		replay.Replayed = true
		c.send(&replay)
		return
	}
	// The payment check.
	want, ok := n.signers[s.ChannelID]
	if !ok {
		n.mu.Unlock()
		c.send(wire.NewError(s.ID, wire.CodeUnknownChannel, "no such channel"))
		return
	}
	digest, _ := n.domain.VoucherDigest(&contracts.Voucher{ChannelID: s.ChannelID, CumulativeAmount: s.Voucher.Amount.Big()})
	got, err := contracts.Recover(digest, s.Voucher.Signature)
	if err != nil || got != want || signer != want {
		n.mu.Unlock()
		c.send(wire.NewError(s.ID, wire.CodeWrongSigner, "voucher signed by %s", got))
		return
	}
	out := s.Request.MaxTokens
	if out == 0 {
		out = 1024
	}
	maxCost := n.price.Cost(s.Request.InputTokenBound(), out)
	// The highest voucher, this one or one held, must cover the job; a
	// refused voucher is not kept.
	highest := n.vouchers[s.ChannelID]
	if v := s.Voucher.Amount.Big(); v.Cmp(highest) > 0 {
		highest = v
	}
	need := new(big.Int).Add(n.charged[s.ChannelID], n.reserved[s.ChannelID])
	need.Add(need, maxCost)
	if highest.Cmp(need) < 0 {
		n.mu.Unlock()
		c.send(wire.NewError(s.ID, wire.CodeVoucherTooLow, "voucher %s, need %s", highest, need))
		return
	}
	if highest != n.vouchers[s.ChannelID] {
		n.vouchers[s.ChannelID] = highest
		n.lastSig[s.ChannelID] = s.Voucher.Signature
	}
	n.reserved[s.ChannelID].Add(n.reserved[s.ChannelID], maxCost)
	j := &fakeJob{body: body, done: make(chan struct{}), cancel: make(chan struct{}), conn: c, maxCost: maxCost}
	n.jobs[key] = j
	n.runs[key]++
	dropNow := n.drop != nil && n.drop(s.ID, attempt)
	d := n.jobTime
	if n.jobTimeFn != nil {
		d = n.jobTimeFn(s.ID)
	}
	n.mu.Unlock()

	c.send(&wire.Accepted{ID: s.ID, MaxCost: wire.NewAmount(maxCost), InputTokens: s.Request.InputTokenBound(), MaxTokens: out})
	if dropNow {
		c.ws.Close()
	}
	output := "echo: " + s.Request.Messages[len(s.Request.Messages)-1].Content
	select {
	case <-time.After(d):
	case <-j.cancel:
		n.mu.Lock()
		j.failed = true
		n.reserved[s.ChannelID].Sub(n.reserved[s.ChannelID], maxCost)
		n.mu.Unlock()
		close(j.done)
		c.send(wire.NewError(s.ID, wire.CodeCancelled, "cancelled"))
		return
	}
	if s.Request.Stream {
		for i, part := range strings.SplitAfter(output, " ") {
			c.send(&wire.Chunk{ID: s.ID, Seq: uint64(i + 1), Delta: part})
		}
	}
	in, outTokens := s.Request.InputTokenBound()/2, uint64(len(strings.Fields(output)))
	cost := n.price.Cost(in, outTokens)
	if cost.Cmp(maxCost) > 0 {
		cost = maxCost
	}
	n.mu.Lock()
	n.reserved[s.ChannelID].Sub(n.reserved[s.ChannelID], maxCost)
	n.charged[s.ChannelID].Add(n.charged[s.ChannelID], cost)
	n.seq[s.ChannelID]++
	rc := &contracts.Receipt{ChannelID: s.ChannelID, JobID: wire.JobKey(s.ID), Cost: cost,
		CumulativeCharged: new(big.Int).Set(n.charged[s.ChannelID]), InputTokens: in, OutputTokens: outTokens,
		ResultHash: wire.ResultHash(output)}
	seq := n.seq[s.ChannelID]
	digest, err = n.domain.ReceiptDigest(rc)
	if err != nil {
		panic(err)
	}
	sig, err := contracts.Sign(digest, n.key)
	if err != nil {
		panic(err)
	}
	res := &wire.Result{ID: s.ID, Output: output, Usage: wire.Usage{InputTokens: in, OutputTokens: outTokens},
		Cost: wire.NewAmount(cost), Receipt: wire.NewReceipt(rc, seq, sig)}
	j.result = res
	n.mu.Unlock()
	close(j.done)
	sent := *res
	if n.mutate != nil {
		n.mutate(s.ID, &sent)
	}
	c.send(&sent)
}

// stats returns how many submits the node saw and its charged total.
func (n *fakeNode) stats(ch common.Hash) (submits int, charged *big.Int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.submits), new(big.Int).Set(n.charged[ch])
}

func (n *fakeNode) runCount(ch common.Hash, id string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.runs[ch.Hex()+"/"+id]
}

func (n *fakeNode) String() string { return fmt.Sprintf("fakeNode(%s)", n.provider) }
