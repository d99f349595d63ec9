// Package api is the node's websocket server for agents, /v1/agent: it
// authenticates an agent's signer, takes its paid jobs, has the payment
// check authorize each one before it runs, runs it on the scheduler,
// streams its output back and charges it with a signed receipt.
// docs/protocol.md is the specification; node/wire holds the messages.
//
// A job runs on its own, apart from the connection that submitted it: it
// was paid for by a voucher, so a dropped connection does not cancel it.
// It runs to its end and is charged, and an agent that reconnects and
// submits the same job id again is attached to it while it runs, or gets
// its result replayed (with the output, while the server still holds it)
// once it has ended. Only a cancel from the agent, the job timeout or the
// end of a shutdown's drain stop a job early, and then it is not charged.
//
// Everything that can refuse a job without money — limits, the offer, the
// channel's signer, a place on the scheduler — is decided before the
// payment check reserves anything, and a place taken on the scheduler is
// given back when the payment check refuses, so a refused job never
// spends its id.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/metrics"
	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/config"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/payment"
	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/node/wire/wsconn"
)

// Payments is the payment check; *payment.Payments is one.
type Payments interface {
	Authorize(ctx context.Context, req payment.Request) (*payment.Authorization, error)
	Charge(ctx context.Context, a *payment.Authorization, u payment.Usage, resultHash common.Hash) (*ledger.Receipt, error)
	Release(ctx context.Context, a *payment.Authorization, code string) error
	// Signed returns a receipt read back from the ledger, signed.
	Signed(r *ledger.Receipt) (*ledger.Receipt, error)
}

// Scheduler gives places to run jobs. Reserve's errors are *wire.Error
// with code unknown_model (no worker serves the model), overloaded (with
// RetryAfterMS) or shutting_down.
type Scheduler interface {
	Reserve(model string) (Slot, error)
}

// Slot is a place reserved on the scheduler for one job.
type Slot interface {
	// Run runs the job and gives the place back. emit receives the
	// output's pieces in order as they are produced. ctx's deadline is
	// the job timeout; its cancellation cancels the job. err is a
	// *wire.Error: job_timeout, cancelled, worker_failed,
	// upstream_error, internal, …
	Run(ctx context.Context, req wire.ChatRequest, emit func(delta string) error) (output string, usage wire.Usage, err error)
	// Release gives the place back without running; idempotent.
	Release()
}

// Channels reads channels on chain; *chainwatch.Watcher is one.
type Channels interface {
	Lookup(ctx context.Context, id common.Hash) (chainwatch.Channel, error)
}

// Ledger is what the server reads of the ledger: a channel's money for
// sync, and a job, to tell a resubmission of a finished job (answered
// without a place on the scheduler) from a new one.
type Ledger interface {
	Channel(ctx context.Context, id common.Hash) (ledger.ChannelState, error)
	Job(ctx context.Context, channelID common.Hash, jobID string) (*ledger.Job, error)
}

// Offer is one offer the node serves.
type Offer struct {
	// ID is the offer's id on OfferRegistry; nil while it is not
	// registered (agents then name the model).
	ID        *big.Int
	Model     string
	Asset     common.Address // the zero address is native ETH
	Price     contracts.Price
	MaxTokens uint64 // the most output tokens a job may ask for; > 0

	idText string // ID in decimal, "" when nil; set by SetOffers
}

// Options configure a Server. Deployment, Provider, Offers, Payments,
// Scheduler, Channels and Ledger are required.
type Options struct {
	// Provider is the node's provider address: the key that signs the
	// receipts (in Payments) and that the challenge names.
	Provider   common.Address
	Deployment *contracts.Deployment
	Offers     []Offer

	Payments  Payments
	Scheduler Scheduler
	Channels  Channels
	Ledger    Ledger

	Limits Limits
	// OutputCacheBytes bounds the outputs kept for replays; 64 MiB when
	// zero, none when negative.
	OutputCacheBytes int

	Metrics *metrics.Metrics
	Log     *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Limits are the bounds of agent connections; zero fields take
// node/config's defaults (MaxMessages: wire's; PingInterval: 30s).
type Limits struct {
	// MaxFrameBytes bounds the frames the server reads.
	MaxFrameBytes int
	// MaxMessages bounds the chat messages of one request.
	MaxMessages int
	// MaxJobsPerConn bounds the jobs in flight on one connection.
	MaxJobsPerConn int
	// MaxConnsPerSigner bounds the authenticated connections of one signer.
	MaxConnsPerSigner int
	// MaxPendingConns bounds the connections that have not proven a
	// signer yet; past it an upgrade is answered HTTP 503 with
	// Retry-After, before any websocket opens.
	MaxPendingConns int
	// HandshakeTimeout is the time an agent has to answer the challenge.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection with no job and no message from the
	// agent for that long.
	IdleTimeout time.Duration
	// WriteTimeout disconnects an agent that does not take a frame in
	// that long.
	WriteTimeout time.Duration
	// JobTimeout bounds a job's run.
	JobTimeout time.Duration
	// PingInterval is how often the server sends websocket pings; an
	// agent that answers none for PingInterval + WriteTimeout is
	// disconnected. 30s when zero.
	PingInterval time.Duration
}

// Stats are the server's gauges.
type Stats struct {
	Connections  int // open agent connections, authenticated or not
	Signers      int // distinct signers with a connection open
	JobsInFlight int // jobs accepted and not yet ended
}

// Server is the agent websocket server. Its ServeHTTP serves /v1/agent.
type Server struct {
	opts     Options
	domain   *contracts.Domain
	limits   wire.Limits
	decoder  wire.Decoder
	upgrader websocket.Upgrader
	offers   atomic.Pointer[offerSet]
	outputs  *outputCache
	log      *slog.Logger
	now      func() time.Time

	// ctx is the context of the server's reads and payment checks:
	// cancelled with cause errShutdown at the end of a shutdown's
	// drain, when every job's context is too (stopJobs). Jobs' contexts
	// are not its children: a child is an entry in its map under its
	// lock, which every job would take twice.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// work counts the submits being handled and the jobs running.
	work sync.WaitGroup
	// runners run the submits' goroutines (see pool).
	runners *pool

	mu sync.Mutex
	// guarded by mu:
	closing bool
	conns   map[*conn]struct{}
	signers map[common.Address]int // authenticated connections per signer
	pending int                    // connections upgrading or not authenticated
	jobs    map[jobKey]*job        // jobs being authorized or running
	running int                    // of jobs, those accepted
}

// maxIdleRunners is the most submit goroutines kept waiting for the next
// submit: a few times the jobs a busy node has in flight.
const maxIdleRunners = 2048

// errShutdown is the cause of the jobs cancelled at a shutdown's deadline.
var errShutdown = errors.New("api: shutting down")

// New returns a server for opts.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Deployment == nil:
		return nil, errors.New("api: no deployment")
	case opts.Provider == (common.Address{}):
		return nil, errors.New("api: no provider address")
	case opts.Payments == nil || opts.Scheduler == nil || opts.Channels == nil || opts.Ledger == nil:
		return nil, errors.New("api: Payments, Scheduler, Channels and Ledger are required")
	}
	def := config.Default().API
	lim := &opts.Limits
	setDefault(&lim.MaxFrameBytes, def.MaxFrameBytes)
	setDefault(&lim.MaxMessages, wire.DefaultMaxMessages)
	setDefault(&lim.MaxJobsPerConn, def.MaxJobsPerConn)
	setDefault(&lim.MaxConnsPerSigner, def.MaxConnsPerSigner)
	setDefault(&lim.MaxPendingConns, def.MaxPendingConns)
	setDefault(&lim.HandshakeTimeout, def.HandshakeTimeout.Duration)
	setDefault(&lim.IdleTimeout, def.IdleTimeout.Duration)
	setDefault(&lim.WriteTimeout, def.WriteTimeout.Duration)
	setDefault(&lim.JobTimeout, def.JobTimeout.Duration)
	setDefault(&lim.PingInterval, 30*time.Second)
	setDefault(&opts.OutputCacheBytes, 64<<20)
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:    opts,
		domain:  opts.Deployment.Domain(),
		runners: newPool(maxIdleRunners),
		limits: wire.Limits{
			MaxFrameBytes:           uint64(lim.MaxFrameBytes),
			MaxMessages:             uint64(lim.MaxMessages),
			MaxJobsInFlight:         uint64(lim.MaxJobsPerConn),
			MaxConnectionsPerSigner: uint64(lim.MaxConnsPerSigner),
			AuthTimeoutMS:           uint64(lim.HandshakeTimeout.Milliseconds()),
			JobTimeoutMS:            uint64(lim.JobTimeout.Milliseconds()),
		},
		decoder: wire.Decoder{Direction: wire.AgentToNode, MaxFrameBytes: lim.MaxFrameBytes, MaxMessages: lim.MaxMessages},
		upgrader: websocket.Upgrader{
			HandshakeTimeout: lim.HandshakeTimeout,
			WriteBufferPool:  &sync.Pool{},
			// Agents prove their signer by signature, not by cookies, so
			// a page of another origin gains nothing by connecting.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		outputs: newOutputCache(opts.OutputCacheBytes),
		log:     opts.Log.With("subsystem", "api"),
		now:     opts.Now,
		conns:   map[*conn]struct{}{},
		signers: map[common.Address]int{},
		jobs:    map[jobKey]*job{},
	}
	if err := s.SetOffers(opts.Offers); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	return s, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// SetOffers replaces the offers the server serves: for offers registered
// on chain after the server started, or changed. Jobs running keep the
// offer they were accepted under.
func (s *Server) SetOffers(offers []Offer) error {
	set := &offerSet{byModel: map[string][]*Offer{}, byID: map[string]*Offer{}}
	for i := range offers {
		o := offers[i]
		switch {
		case o.Model == "" || len(o.Model) > wire.MaxModelLen:
			return fmt.Errorf("api: offer %d: model must be 1 to %d bytes", i, wire.MaxModelLen)
		case o.MaxTokens == 0:
			return fmt.Errorf("api: offer %d (%s): max tokens is 0", i, o.Model)
		}
		if err := o.Price.Validate(); err != nil {
			return fmt.Errorf("api: offer %d (%s): %w", i, o.Model, err)
		}
		if o.ID != nil {
			if o.ID.Sign() <= 0 {
				return fmt.Errorf("api: offer %d (%s): id %s", i, o.Model, o.ID)
			}
			key := o.ID.String()
			o.idText = key
			if set.byID[key] != nil {
				return fmt.Errorf("api: offer id %s is listed twice", key)
			}
			set.byID[key] = &o
		}
		set.byModel[o.Model] = append(set.byModel[o.Model], &o)
	}
	s.offers.Store(set)
	return nil
}

// offerSet indexes the offers: by model (in the order given: with a model
// alone, the first offer in the channel's asset serves) and by id.
type offerSet struct {
	byModel map[string][]*Offer
	byID    map[string]*Offer
}

// Stats returns the server's gauges.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Connections: len(s.conns), Signers: len(s.signers), JobsInFlight: s.running}
}

// ServeHTTP upgrades the request to a websocket and serves one agent
// connection until it closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Connections that prove no signer cost memory and a goroutine pair
	// each until their handshake timeout: bound them before upgrading.
	s.mu.Lock()
	if s.pending >= s.opts.Limits.MaxPendingConns {
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		http.Error(w, string(wire.CodeTooManyConnections)+": too many connections are authenticating; retry in a second", http.StatusServiceUnavailable)
		return
	}
	s.pending++
	s.mu.Unlock()
	ws, nc, err := wsconn.Upgrade(&s.upgrader, w, r, nil)
	if err != nil {
		s.mu.Lock()
		s.pending--
		s.mu.Unlock()
		return // the upgrader has answered with an HTTP error
	}
	c := newConn(s, ws, nc)
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.conns[c] = struct{}{}
	}
	s.mu.Unlock()
	if closing {
		c.send(shuttingDown(""))
		c.closeWith(websocket.CloseGoingAway, string(wire.CodeShuttingDown))
		c.serveClosed()
		s.mu.Lock()
		s.pending--
		s.mu.Unlock()
		return
	}
	s.opts.Metrics.AgentConnected(1)
	defer s.opts.Metrics.AgentConnected(-1)
	c.serve()
	s.mu.Lock()
	delete(s.conns, c)
	if c.authed() {
		s.signers[c.signer]--
		if s.signers[c.signer] <= 0 {
			delete(s.signers, c.signer)
		}
	} else {
		s.pending-- // hello counts it out when it authenticates
	}
	s.mu.Unlock()
}

// Shutdown stops the server: new connections and new submits get
// shutting_down, jobs in flight run on until they end or ctx ends, when
// the rest are cancelled (released, not charged, ended with
// shutting_down); then every connection is closed with code 1001. It
// returns ctx's error if jobs had to be cancelled.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()

	drained := make(chan struct{})
	go func() {
		s.work.Wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		s.stopJobs()
		<-drained
	}

	s.mu.Lock()
	conns := slices.Collect(maps.Keys(s.conns))
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(websocket.CloseGoingAway, string(wire.CodeShuttingDown))
	}
	for _, c := range conns {
		<-c.served
	}
	s.cancel(errShutdown)
	s.runners.Close()
	return err
}

// stopJobs cancels the server's context and every job's, with cause
// errShutdown. A shutdown has begun, so no job is added any more.
func (s *Server) stopJobs() {
	s.cancel(errShutdown)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		j.cancel(errShutdown)
	}
}

// isClosing reports whether a shutdown has begun.
func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func shuttingDown(id string) *wire.Error {
	return wire.NewError(id, wire.CodeShuttingDown, "the node is shutting down")
}
