// Package node assembles the provider daemon from its parts: the chain
// watcher, the ledger, the payment check, offer registration, the worker
// hub, the agent API and settlement, behind two listeners (the API for
// agents and workers, the metrics listener for operators). `paynode serve`
// and `paynode dev` run a Node; tests run one in-process.
//
// # Life of a Node
//
// Start, in order: load the deployment and check the chain serves it, open
// the ledger, load the chain watcher's state and start following the
// chain, release the jobs a crash left reserved, listen (so the endpoint
// published in offers carries the real address), make the chain hold the
// configured offers (no transaction when they are unchanged), start the
// worker hub (with the builtin worker when configured), then serve agents
// and start settlement. Offer registration completes before settlement
// starts, so the two never compete for the provider's nonces.
//
// Shutdown, on the context's end: stop taking jobs, let the jobs in flight
// finish within api.shutdown_timeout, stop the workers, run a last
// settlement round, then close the ledger. Nothing is lost if it is cut
// short: the ledger is durable at every step and a restarted node resumes
// (see docs/payments.md).
package node

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/metrics"
	"github.com/paynode/paynode/node/api"
	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/config"
	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/hub"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/offers"
	"github.com/paynode/paynode/node/payment"
	"github.com/paynode/paynode/node/settle"
)

// Options are what a Node takes besides its config.
type Options struct {
	// Key is the provider key: it registers offers, signs receipts and
	// claims. Required.
	Key *ecdsa.PrivateKey
	// Client is the chain's JSON-RPC client; nil dials config chain.rpc.
	Client *ethclient.Client
	// Builtin is the builtin worker's model; nil is a zero-delay one.
	Builtin executor.Executor
	// BuiltinCapacity is how many jobs the builtin worker runs at once;
	// zero means workers.builtin_capacity.
	BuiltinCapacity int
	// Registry receives the node's metrics; nil makes a new one.
	Registry *prometheus.Registry
	// Log receives the node's log; nil discards it.
	Log *slog.Logger
	// NoSync opens the ledger without fsync. UNSAFE; for tests and
	// benchmarks that measure everything but the disk.
	NoSync bool
	// BenchUnpaid also serves agents at UnpaidPath without payment, for
	// benchmarks of what payment costs. UNSAFE: never on a node that
	// serves real agents.
	BenchUnpaid bool
	// Version names the binary in paynode_build_info and /status.
	Version string
	// Progress, when set, hears of each start-up step, for people.
	Progress func(msg string)
}

// Node is one running provider node.
type Node struct {
	cfg  *config.Config
	opts Options
	log  *slog.Logger

	provider   common.Address
	deployment *contracts.Deployment
	client     *ethclient.Client
	ownClient  bool
	ledger     *bolt.Store
	watcher    *chainwatch.Watcher
	payments   *payment.Payments
	hub        *hub.Hub
	api        *api.Server
	unpaidAPI  *api.Server
	settler    *settle.Settler
	metrics    *metrics.Metrics
	registry   *prometheus.Registry
	offers     []offers.Registered
	assets     assets
	scrapeRows *recent[[]moneyRow] // the money rows the metrics sources of a scrape share

	apiLn, metricsLn   net.Listener
	apiSrv, metricsSrv *http.Server

	started time.Time
	cancel  context.CancelFunc // stops the watcher and settlement
	wg      sync.WaitGroup     // the background goroutines
	errMu   sync.Mutex
	bgErr   error // the first background failure; guarded by errMu
	failed  chan struct{}
	closed  bool // guarded by errMu
}

// New returns a node for cfg; Start starts it.
func New(cfg *config.Config, opts Options) (*Node, error) {
	if cfg == nil {
		return nil, errors.New("node: no config")
	}
	if opts.Key == nil {
		return nil, errors.New("node: no provider key")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Version == "" {
		opts.Version = version()
	}
	n := &Node{
		cfg: cfg, opts: opts, log: opts.Log,
		provider: crypto.PubkeyToAddress(opts.Key.PublicKey),
		registry: opts.Registry,
		failed:   make(chan struct{}),
	}
	n.scrapeRows = &recent[[]moneyRow]{ttl: time.Second, now: time.Now, load: n.money}
	return n, nil
}

func (n *Node) progress(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	n.log.Info(msg)
	if n.opts.Progress != nil {
		n.opts.Progress(msg)
	}
}

// Start brings the node up; when it returns nil the node takes jobs. On
// error everything it started is stopped again.
func (n *Node) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			n.closeAll(context.WithoutCancel(ctx))
		}
	}()
	n.started = time.Now()
	cfg := n.cfg

	// The deployment, and a chain that serves it.
	d, err := contracts.LoadDeployment(cfg.Path(cfg.Chain.Deployment))
	if err != nil {
		return fmt.Errorf("chain.deployment: %w", err)
	}
	n.deployment = d
	n.client = n.opts.Client
	if n.client == nil {
		n.progress("connecting to %s", cfg.Chain.RPC)
		if n.client, err = ethclient.DialContext(ctx, cfg.Chain.RPC); err != nil {
			return fmt.Errorf("chain.rpc %s: %w", cfg.Chain.RPC, err)
		}
		n.ownClient = true
	}
	if err := checkChain(ctx, n.client, d); err != nil {
		return fmt.Errorf("chain.rpc %s: %w", cfg.Chain.RPC, err)
	}
	tokens := make([]common.Address, 0, len(cfg.Offers)+1)
	for _, o := range cfg.Offers {
		tokens = append(tokens, o.AssetAddress())
	}
	if d.Token != nil {
		tokens = append(tokens, *d.Token)
	}
	n.assets = readAssets(ctx, n.client, tokens, n.log)

	// The ledger, and the chain watcher keeping its state in it.
	n.progress("opening the ledger at %s", cfg.Path(cfg.Store.Path))
	n.ledger, err = bolt.Open(cfg.Path(cfg.Store.Path), bolt.Options{NoSync: n.opts.NoSync, Logger: n.log})
	if err != nil {
		return fmt.Errorf("store.path: %w", err)
	}
	n.watcher = chainwatch.New(n.client, d, n.provider, ledger.MetaStore{L: n.ledger})
	n.watcher.Confirmations = cfg.Chain.Confirmations
	n.watcher.PollInterval = cfg.Chain.PollInterval.Duration
	n.watcher.Logger = n.log.With("subsystem", "chainwatch")
	if err := n.watcher.Open(ctx); err != nil {
		return err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.cancel = cancel
	n.goBackground("chain watcher", func() error { return n.watcher.Run(bg) })

	n.payments = payment.New(d, n.opts.Key, n.ledger, n.watcher, n.log)
	released, err := n.payments.Recover(ctx)
	if err != nil {
		return fmt.Errorf("releasing the jobs left reserved: %w", err)
	}
	if released > 0 {
		n.progress("released %d jobs a previous run left unfinished (not charged)", released)
	}

	// Listen first: the offers publish the address agents reach.
	if n.apiLn, err = net.Listen("tcp", cfg.API.Listen); err != nil {
		return fmt.Errorf("api.listen: %w", err)
	}
	if n.metricsLn, err = net.Listen("tcp", cfg.Metrics.Listen); err != nil {
		return fmt.Errorf("metrics.listen: %w", err)
	}

	n.progress("registering %d offers on OfferRegistry %s", len(cfg.Offers), d.OfferRegistry)
	want := make([]offers.Offer, len(cfg.Offers))
	endpoint := offers.Endpoint(cfg.API.PublicURL, n.apiLn.Addr().String())
	for i, o := range cfg.Offers {
		want[i] = offers.Offer{
			Model: o.Model, Endpoint: endpoint, Asset: o.AssetAddress(), Price: o.Price(),
			MaxTokens: o.MaxTokens, MetadataURI: o.MetadataURI,
		}
	}
	var changes []offers.Change
	n.offers, changes, err = offers.Sync(ctx, n.client, d, n.opts.Key, want, offers.Options{
		GasFeeCap:    cfg.Settlement.GasFeeCap(),
		PollInterval: pollFor(cfg),
		Log:          n.log.With("subsystem", "offers"),
	})
	if err != nil {
		return fmt.Errorf("registering offers: %w", err)
	}
	for _, c := range changes {
		if c.Action != "unchanged" {
			n.progress("offer %s %s/%s: %s", c.ID, c.Model, n.assets.name(c.Asset), c.Action)
		}
	}

	// Metrics, workers, agents.
	n.metrics = metrics.New(n.registry, metrics.BuildInfo{Version: n.opts.Version, GoVersion: runtime.Version(), Commit: commit()})
	n.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	token, err := n.workerToken()
	if err != nil {
		return err
	}
	n.hub = hub.New(hub.Options{
		Token: token, QueueSize: cfg.Workers.QueueSize, Metrics: n.metrics,
		WriteTimeout: cfg.API.WriteTimeout.Duration, Log: n.log,
	})
	if cfg.Workers.Builtin {
		exec := n.opts.Builtin
		if exec == nil {
			exec = &builtin.Model{}
		}
		capacity := n.opts.BuiltinCapacity
		if capacity <= 0 {
			capacity = cfg.Workers.BuiltinCapacity
		}
		n.hub.AddLocal("builtin", capacity, []string{builtin.Name}, exec)
	}
	apiOffers := make([]api.Offer, len(n.offers))
	for i, r := range n.offers {
		apiOffers[i] = api.Offer{ID: r.ID, Model: r.Offer.Model, Asset: r.Offer.Asset, Price: r.Offer.Price, MaxTokens: r.Offer.MaxTokens}
	}
	apiOpts := api.Options{
		Provider:   n.provider,
		Deployment: d,
		Offers:     apiOffers,
		Payments:   n.payments,
		Scheduler:  hubScheduler{n.hub},
		Channels:   n.watcher,
		Ledger:     n.ledger,
		Limits: api.Limits{
			MaxFrameBytes:     cfg.API.MaxFrameBytes,
			MaxJobsPerConn:    cfg.API.MaxJobsPerConn,
			MaxConnsPerSigner: cfg.API.MaxConnsPerSigner,
			MaxPendingConns:   cfg.API.MaxPendingConns,
			HandshakeTimeout:  cfg.API.HandshakeTimeout.Duration,
			IdleTimeout:       cfg.API.IdleTimeout.Duration,
			WriteTimeout:      cfg.API.WriteTimeout.Duration,
			JobTimeout:        cfg.API.JobTimeout.Duration,
		},
		Metrics: n.metrics,
		Log:     n.log,
	}
	if n.api, err = api.New(apiOpts); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/agent", n.api)
	mux.Handle("/v1/worker", n.hub)
	if n.opts.BenchUnpaid {
		free := apiOpts
		free.Payments, free.Metrics = unpaid{}, nil
		free.Log = n.log.With("path", UnpaidPath)
		if n.unpaidAPI, err = api.New(free); err != nil {
			return err
		}
		mux.Handle(UnpaidPath, n.unpaidAPI)
		n.log.Warn("serving jobs WITHOUT payment for benchmarks", "path", UnpaidPath)
	}
	n.apiSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slogErrorLog(n.log)}
	n.metricsSrv = &http.Server{Handler: n.operatorHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slogErrorLog(n.log)}
	n.goServe("api", n.apiSrv, n.apiLn)
	n.goServe("metrics", n.metricsSrv, n.metricsLn)

	// Settlement, last: offer registration has finished with the nonces.
	n.settler = settle.New(n.client, d, n.opts.Key, n.ledger, n.watcher)
	n.settler.Interval = cfg.Settlement.Interval.Duration
	n.settler.Threshold = cfg.Settlement.ThresholdAmount()
	n.settler.DeadlineMargin = cfg.Settlement.DeadlineMargin.Duration
	n.settler.MaxBatch = cfg.Settlement.MaxBatch
	n.settler.GasFeeCap = cfg.Settlement.GasFeeCap()
	n.settler.ReplaceAfter = cfg.Settlement.ReplaceAfter.Duration
	n.settler.Confirmations = cfg.Chain.Confirmations
	n.settler.PollInterval = pollFor(cfg)
	n.settler.Logger = n.log.With("subsystem", "settle")
	n.goBackground("settlement", func() error { return n.settler.Run(bg, cfg.API.ShutdownTimeout.Duration) })
	n.metrics.SetSources(n.sources())

	n.progress("serving agents at %s, workers at %s, metrics at %s", n.AgentURL(), n.WorkerURL(), n.MetricsURL())
	return nil
}

// pollFor is how often transactions are polled for: the chain's poll
// interval, but never slower than a second.
func pollFor(cfg *config.Config) time.Duration {
	return min(cfg.Chain.PollInterval.Duration, time.Second)
}

func (n *Node) workerToken() (string, error) {
	path := n.cfg.Path(n.cfg.Workers.TokenFile)
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		tok := strings.TrimSpace(string(b))
		if len(tok) < 16 {
			return "", fmt.Errorf("workers.token_file %s: the token is %d characters; use at least 16 random ones", path, len(tok))
		}
		return tok, nil
	case errors.Is(err, os.ErrNotExist) && n.cfg.Workers.Builtin:
		n.log.Info("no worker token file: remote workers are refused", "token_file", path)
		return "", nil
	default:
		return "", fmt.Errorf("workers.token_file: %w", err)
	}
}

// hubScheduler adapts the hub to the agent API's Scheduler.
type hubScheduler struct{ h *hub.Hub }

func (s hubScheduler) Reserve(model string) (api.Slot, error) {
	slot, err := s.h.Reserve(model)
	if err != nil {
		return nil, err
	}
	return slot, nil
}

func (n *Node) goServe(name string, srv *http.Server, ln net.Listener) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.fail(fmt.Errorf("%s listener: %w", name, err))
		}
	}()
}

func (n *Node) goBackground(name string, run func() error) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := run(); err != nil && !errors.Is(err, context.Canceled) {
			n.fail(fmt.Errorf("%s: %w", name, err))
		}
	}()
}

func (n *Node) fail(err error) {
	n.errMu.Lock()
	defer n.errMu.Unlock()
	if n.bgErr == nil && !n.closed {
		n.bgErr = err
		n.log.Error("node failing", "err", err)
		close(n.failed)
	}
}

// Failed is closed when a part of the node stopped on its own; Err says
// why.
func (n *Node) Failed() <-chan struct{} { return n.failed }

// Err is the failure that closed Failed, or nil.
func (n *Node) Err() error {
	n.errMu.Lock()
	defer n.errMu.Unlock()
	return n.bgErr
}

// Run starts the node and serves until ctx ends or a part of it fails,
// then shuts down gracefully. It returns nil after a clean shutdown
// following ctx's end.
func (n *Node) Run(ctx context.Context) error {
	if err := n.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-n.failed:
	}
	shutdownErr := n.Shutdown(context.WithoutCancel(ctx))
	return errors.Join(n.Err(), shutdownErr)
}

// Shutdown stops the node gracefully: no new jobs, the jobs in flight
// finish within api.shutdown_timeout (the rest end uncharged), workers
// are let go, settlement runs a last round, and the ledger is closed.
func (n *Node) Shutdown(ctx context.Context) error {
	n.errMu.Lock()
	if n.closed {
		n.errMu.Unlock()
		return nil
	}
	n.closed = true
	n.errMu.Unlock()
	n.progress("shutting down: finishing the jobs in flight (up to %s)", n.cfg.API.ShutdownTimeout.Duration)
	var errs []error
	dctx, cancel := context.WithTimeout(ctx, n.cfg.API.ShutdownTimeout.Duration)
	defer cancel()
	for _, a := range []*api.Server{n.api, n.unpaidAPI} {
		if a != nil {
			if err := a.Shutdown(dctx); err != nil {
				errs = append(errs, fmt.Errorf("agent API: %w", err))
			}
		}
	}
	if n.hub != nil {
		if err := n.hub.Close(dctx); err != nil {
			errs = append(errs, fmt.Errorf("worker hub: %w", err))
		}
	}
	n.progress("settling what is unclaimed")
	errs = append(errs, n.closeAll(ctx))
	return errors.Join(errs...)
}

// closeAll stops the listeners and background work and closes the ledger.
func (n *Node) closeAll(ctx context.Context) error {
	var errs []error
	for _, srv := range []*http.Server{n.apiSrv, n.metricsSrv} {
		if srv != nil {
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			if err := srv.Shutdown(sctx); err != nil {
				srv.Close()
			}
			cancel()
		}
	}
	for _, ln := range []net.Listener{n.apiLn, n.metricsLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if n.cancel != nil {
		n.cancel() // settlement runs its shutdown round, the watcher stops
	}
	n.wg.Wait()
	if n.ledger != nil {
		if err := n.ledger.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("ledger: %w", err))
		}
	}
	if n.ownClient && n.client != nil {
		n.client.Close()
	}
	return errors.Join(errs...)
}

// AgentURL is the agents' websocket endpoint.
func (n *Node) AgentURL() string { return "ws://" + n.apiLn.Addr().String() + "/v1/agent" }

// WorkerURL is the workers' websocket endpoint.
func (n *Node) WorkerURL() string { return "ws://" + n.apiLn.Addr().String() + "/v1/worker" }

// MetricsURL is the operators' listener: /metrics, /healthz, /readyz,
// /status.
func (n *Node) MetricsURL() string { return "http://" + n.metricsLn.Addr().String() }

// Provider is the provider address.
func (n *Node) Provider() common.Address { return n.provider }

// Offers are the node's offers as registered on chain.
func (n *Node) Offers() []offers.Registered { return n.offers }

// Ledger is the node's money store, for reads.
func (n *Node) Ledger() ledger.Ledger { return n.ledger }

// Hub is the node's worker hub.
func (n *Node) Hub() *hub.Hub { return n.hub }

// Settler is the node's settlement.
func (n *Node) Settler() *settle.Settler { return n.settler }

// Watcher is the node's view of its channels on chain.
func (n *Node) Watcher() *chainwatch.Watcher { return n.watcher }

// checkChain checks that the chain behind c is the deployment's and that
// its contracts are there.
func checkChain(ctx context.Context, c *ethclient.Client, d *contracts.Deployment) error {
	id, err := c.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("unreachable: %w", err)
	}
	if !id.IsUint64() || id.Uint64() != d.ChainID {
		return fmt.Errorf("chain id %s, but the deployment is for chain %d", id, d.ChainID)
	}
	for _, c2 := range []struct {
		name string
		addr common.Address
	}{{"OfferRegistry", d.OfferRegistry}, {"PaymentChannels", d.PaymentChannels}} {
		code, err := c.CodeAt(ctx, c2.addr, nil)
		if err != nil {
			return fmt.Errorf("reading %s's code: %w", c2.name, err)
		}
		if len(code) == 0 {
			return fmt.Errorf("no %s at %s: is the deployment file for this chain?", c2.name, c2.addr)
		}
	}
	return nil
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}
