package api

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/payment"
	"github.com/paynode/paynode/node/wire"
)

// fakeChannels is a Channels with fixed answers.
type fakeChannels struct {
	mu   sync.Mutex
	chs  map[common.Hash]chainwatch.Channel
	hold chan struct{} // when set, each Lookup waits for a value from it
}

// setHold makes each Lookup wait for a value from hold (nil: none).
func (f *fakeChannels) setHold(hold chan struct{}) {
	f.mu.Lock()
	f.hold = hold
	f.mu.Unlock()
}

func (f *fakeChannels) Lookup(_ context.Context, id common.Hash) (chainwatch.Channel, error) {
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.chs[id]
	if !ok {
		return chainwatch.Channel{}, chainwatch.ErrUnknownChannel
	}
	return ch.Clone(), nil
}

// runFunc runs a job in a fake slot.
type runFunc func(ctx context.Context, req wire.ChatRequest, emit func(string) error) (string, wire.Usage, error)

// fakeScheduler serves the models in run, with capacity places at once
// (0: unbounded).
type fakeScheduler struct {
	mu       sync.Mutex
	run      map[string]runFunc
	capacity int
	inUse    int
	reserved int // Reserve calls that gave a place
}

func (f *fakeScheduler) Reserve(model string) (Slot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	run, ok := f.run[model]
	if !ok {
		return nil, wire.NewError("", wire.CodeUnknownModel, "no worker serves %q", model)
	}
	if f.capacity > 0 && f.inUse >= f.capacity {
		e := wire.NewError("", wire.CodeOverloaded, "no capacity for %q", model)
		e.RetryAfterMS = 250
		return nil, e
	}
	f.inUse++
	f.reserved++
	return &fakeSlot{f: f, run: run}, nil
}

func (f *fakeScheduler) places() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inUse
}

type fakeSlot struct {
	f    *fakeScheduler
	run  runFunc
	once sync.Once
}

func (s *fakeSlot) Run(ctx context.Context, req wire.ChatRequest, emit func(string) error) (string, wire.Usage, error) {
	defer s.Release()
	return s.run(ctx, req, emit)
}

func (s *fakeSlot) Release() {
	s.once.Do(func() {
		s.f.mu.Lock()
		s.f.inUse--
		s.f.mu.Unlock()
	})
}

// builtinRun runs the builtin model, as a worker would.
func builtinRun(m *builtin.Model) runFunc {
	return func(ctx context.Context, req wire.ChatRequest, emit func(string) error) (string, wire.Usage, error) {
		msgs := make([]executor.Message, len(req.Messages))
		for i, msg := range req.Messages {
			msgs[i] = executor.Message{Role: msg.Role, Content: msg.Content}
		}
		res, err := m.Run(ctx, executor.ChatRequest{
			Model: builtin.Name, Messages: msgs, MaxTokens: int(req.MaxTokens),
			Temperature: req.Temperature, Stream: true,
		}, emit)
		if err != nil {
			return "", wire.Usage{}, wire.NewError("", wire.Code(executor.CodeOf(err)), "%v", err)
		}
		return res.Output, wire.Usage{InputTokens: res.Usage.InputTokens, OutputTokens: res.Usage.OutputTokens}, nil
	}
}

// gate is a job that emits "first", then waits until it is opened (and
// answers "first second") or its context ends.
type gate struct {
	started chan struct{} // one value per job that started
	open    chan struct{}
}

func newGate() *gate { return &gate{started: make(chan struct{}, 64), open: make(chan struct{})} }

func (g *gate) run(ctx context.Context, req wire.ChatRequest, emit func(string) error) (string, wire.Usage, error) {
	emit("first")
	g.started <- struct{}{}
	select {
	case <-g.open:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", wire.Usage{}, wire.NewError("", wire.CodeJobTimeout, "deadline")
		}
		return "", wire.Usage{}, wire.NewError("", wire.CodeCancelled, "cancelled")
	}
	emit(" second")
	return "first second", wire.Usage{InputTokens: 5, OutputTokens: 2}, nil
}

func (g *gate) waitStarted(t testing.TB) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not start")
	}
}

var tusd = common.HexToAddress("0x7777")

const (
	modelBuiltin = builtin.Name
	modelGate    = "gate-1"
	modelGhost   = "ghost-1" // offered, served by no worker
	offerMax     = 256       // max tokens of every offer
)

// fixture is a server on a loopback listener with a real payment check on
// a bbolt ledger, fake channels and a fake scheduler.
type fixture struct {
	t        testing.TB
	srv      *Server
	http     *httptest.Server
	url      string
	ledger   *bolt.Store
	pay      *payment.Payments
	chans    *fakeChannels
	sched    *fakeScheduler
	gate     *gate
	d        *contracts.Deployment
	provider *ecdsa.PrivateKey
	price    contracts.Price
}

func newFixture(t testing.TB, tune func(*Options)) *fixture {
	t.Helper()
	return newFixtureSync(t, true, tune)
}

func newFixtureSync(t testing.TB, noSync bool, tune func(*Options)) *fixture {
	t.Helper()
	l, err := bolt.Open(t.TempDir(), bolt.Options{NoSync: noSync, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	provider, _ := crypto.GenerateKey()
	d := &contracts.Deployment{ChainID: 1337, PaymentChannels: common.HexToAddress("0xc0ffee"), OfferRegistry: common.HexToAddress("0x1")}
	chans := &fakeChannels{chs: map[common.Hash]chainwatch.Channel{}}
	pay := payment.New(d, provider, l, chans, nil)
	price, err := contracts.ParsePrice("1000", "2000000", "8000000")
	if err != nil {
		t.Fatal(err)
	}
	g := newGate()
	sched := &fakeScheduler{run: map[string]runFunc{
		modelBuiltin: builtinRun(&builtin.Model{}),
		modelGate:    g.run,
	}}
	opts := Options{
		Provider:   crypto.PubkeyToAddress(provider.PublicKey),
		Deployment: d,
		Offers: []Offer{
			{ID: big.NewInt(1), Model: modelBuiltin, Asset: tusd, Price: price, MaxTokens: offerMax},
			{ID: big.NewInt(2), Model: modelGate, Asset: tusd, Price: price, MaxTokens: offerMax},
			{ID: big.NewInt(3), Model: modelGhost, Asset: tusd, Price: price, MaxTokens: offerMax},
			{Model: modelBuiltin, Asset: common.Address{}, Price: price, MaxTokens: offerMax}, // ETH, unregistered
		},
		Payments: pay, Scheduler: sched, Channels: chans, Ledger: l,
	}
	if tune != nil {
		tune(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return &fixture{
		t: t, srv: srv, http: hs, url: "ws" + strings.TrimPrefix(hs.URL, "http"),
		ledger: l, pay: pay, chans: chans, sched: sched, gate: g, d: d, provider: provider, price: price,
	}
}

// agent is an agent key with one channel.
type agent struct {
	key     *ecdsa.PrivateKey
	channel common.Hash
	// committed is the sum of the max costs of every job submitted: a
	// voucher of that amount covers charged + in flight.
	mu        sync.Mutex
	committed *big.Int
}

var channelSeq struct {
	sync.Mutex
	n int64
}

// newAgent opens a channel of deposit base units in asset for a new key.
func (f *fixture) newAgent(asset common.Address, deposit int64) *agent {
	key, _ := crypto.GenerateKey()
	channelSeq.Lock()
	channelSeq.n++
	id := common.BigToHash(big.NewInt(0xc0000 + channelSeq.n))
	channelSeq.Unlock()
	f.chans.mu.Lock()
	f.chans.chs[id] = chainwatch.Channel{
		ID: id, Signer: crypto.PubkeyToAddress(key.PublicKey), Asset: asset,
		Provider: crypto.PubkeyToAddress(f.provider.PublicKey), Deposit: big.NewInt(deposit), Claimed: new(big.Int),
	}
	f.chans.mu.Unlock()
	return &agent{key: key, channel: id, committed: new(big.Int)}
}

func (a *agent) addr() common.Address { return crypto.PubkeyToAddress(a.key.PublicKey) }

// submit builds a signed submit of job id for model with prompt; the
// voucher covers every job this agent submitted so far and this one.
func (f *fixture) submit(a *agent, id, model, prompt string, maxTokens uint64, stream bool) *wire.Submit {
	m := &wire.Submit{
		ID: id, Model: model, ChannelID: a.channel,
		Request: wire.ChatRequest{
			Messages:  []wire.ChatMessage{{Role: "user", Content: prompt}},
			MaxTokens: maxTokens, Stream: stream,
		},
	}
	bound := maxTokens
	if bound == 0 {
		bound = offerMax
	}
	a.mu.Lock()
	a.committed.Add(a.committed, f.price.Cost(m.Request.InputTokenBound(), bound))
	amount := new(big.Int).Set(a.committed)
	a.mu.Unlock()
	f.sign(a, m, amount)
	return m
}

// sign sets m's voucher to amount, signed by a.
func (f *fixture) sign(a *agent, m *wire.Submit, amount *big.Int) {
	digest, err := f.d.Domain().VoucherDigest(&contracts.Voucher{ChannelID: m.ChannelID, CumulativeAmount: amount})
	if err != nil {
		f.t.Fatal(err)
	}
	sig, err := contracts.Sign(digest, a.key)
	if err != nil {
		f.t.Fatal(err)
	}
	m.Voucher = wire.Voucher{Amount: wire.NewAmount(amount), Signature: sig}
}

// channel returns the ledger's state of a's channel.
func (f *fixture) channel(a *agent) ledger.ChannelState {
	f.t.Helper()
	st, err := f.ledger.Channel(context.Background(), a.channel)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// client is an agent's websocket connection.
type client struct {
	t         testing.TB
	ws        *websocket.Conn
	challenge *wire.Challenge
	closeErr  *websocket.CloseError // the server's close, once read
}

// dial connects and reads the challenge.
func (f *fixture) dial() *client {
	f.t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(f.url, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	ws.SetReadLimit(wire.DefaultMaxNodeFrameBytes)
	c := &client{t: f.t, ws: ws}
	f.t.Cleanup(func() { ws.Close() })
	c.challenge = expect[*wire.Challenge](c)
	return c
}

// connect dials and authenticates as a.
func (f *fixture) connect(a *agent) *client {
	f.t.Helper()
	c := f.dial()
	c.hello(a.key)
	if r := expect[*wire.Ready](c); r.Signer != a.addr() {
		f.t.Fatalf("ready for %s, want %s", r.Signer, a.addr())
	}
	return c
}

func (c *client) hello(key *ecdsa.PrivateKey) {
	c.t.Helper()
	h, err := c.challenge.Answer(key)
	if err != nil {
		c.t.Fatal(err)
	}
	c.send(h)
}

func (c *client) send(m wire.Message) {
	c.t.Helper()
	frame, err := wire.Encode(m)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(websocket.TextMessage, frame)
}

func (c *client) sendRaw(typ int, frame []byte) {
	c.t.Helper()
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.ws.WriteMessage(typ, frame); err != nil {
		c.t.Fatal(err)
	}
}

// read reads the next message, or returns the error (a close) that ended
// the connection.
func (c *client) read() (wire.Message, error) {
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, frame, err := c.ws.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			c.closeErr = ce
		}
		return nil, err
	}
	return wire.Decode(wire.NodeToAgent, frame)
}

func (c *client) next() wire.Message {
	c.t.Helper()
	m, err := c.read()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

// expect reads the next message and fails unless it is a T.
func expect[T wire.Message](c *client) T {
	c.t.Helper()
	m := c.next()
	got, ok := m.(T)
	if !ok {
		var zero T
		c.t.Fatalf("got %s, want %T", describe(m), zero)
	}
	return got
}

// expectError reads the next message and fails unless it is an error of
// code for job id.
func (c *client) expectError(id string, code wire.Code) *wire.Error {
	c.t.Helper()
	e := expect[*wire.Error](c)
	if e.Code != code || e.ID != id {
		c.t.Fatalf("got error %s for job %q, want %s for %q", e, e.ID, code, id)
	}
	if e.Retryable != code.Retryable() && code != wire.CodeOverloaded {
		c.t.Errorf("%s: retryable %v", code, e.Retryable)
	}
	return e
}

// expectClose reads until the connection closes and checks its close code.
func (c *client) expectClose(code int) {
	c.t.Helper()
	for {
		m, err := c.read()
		if err != nil {
			if c.closeErr == nil || c.closeErr.Code != code {
				c.t.Fatalf("connection ended with %v, want close code %d", err, code)
			}
			return
		}
		c.t.Fatalf("got %s, want close %d", describe(m), code)
	}
}

// paid sends m and expects it accepted and its result, not streamed.
func (c *client) paid(m *wire.Submit) *wire.Result {
	c.t.Helper()
	c.send(m)
	if a := expect[*wire.Accepted](c); a.ID != m.ID {
		c.t.Fatalf("accepted %q, want %q", a.ID, m.ID)
	}
	r := expect[*wire.Result](c)
	if r.ID != m.ID {
		c.t.Fatalf("result of %q, want %q", r.ID, m.ID)
	}
	return r
}

// ping checks that the connection still answers.
func (c *client) ping() {
	c.t.Helper()
	c.send(&wire.Ping{Nonce: "p"})
	if p := expect[*wire.Pong](c); p.Nonce != "p" {
		c.t.Fatalf("pong %q", p.Nonce)
	}
}

func describe(m wire.Message) string {
	if m == nil {
		return "nothing"
	}
	if e, ok := m.(*wire.Error); ok {
		return fmt.Sprintf("error %s", e)
	}
	b, _ := wire.Encode(m)
	return string(b)
}
