// Package testnet runs local EVM chains for development and tests.
//
// [Start] runs a real go-ethereum node in process: JSON-RPC over HTTP and
// WebSocket on loopback, an in-memory database, no peer-to-peer networking,
// every fork active, and the well-known dev accounts funded ([DevAccounts]).
// Blocks are sealed by go-ethereum's simulated beacon, driven from here: by
// default a block is sealed as soon as a transaction reaches the pool, so
// code under test sends transactions and waits for receipts as it would on a
// real chain, with nobody calling Commit.
//
// [StartAnvil] runs a real anvil process with the same accounts, so one test
// suite can run against both chains.
package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

// Defaults of [Config].
const (
	DefaultHTTPAddr = "127.0.0.1:0"
	DefaultChainID  = 1337
	DefaultGasLimit = 30_000_000 // anvil's default too
)

// DefaultBalance is what each dev account holds at genesis: 10,000 ETH.
func DefaultBalance() *big.Int {
	return new(big.Int).Mul(big.NewInt(10_000), big.NewInt(params.Ether))
}

// rpcModules are the namespaces served over HTTP and WebSocket. There are no
// unlocked accounts on the node, so none of them can move funds by itself.
// debug is left out: it can write profiles to any path on the host.
var rpcModules = []string{"eth", "net", "web3", "txpool"}

// Config configures a dev chain. The zero value is a working chain.
type Config struct {
	// HTTPAddr is the host:port JSON-RPC over HTTP listens on. Port 0 picks a
	// free port. Default "127.0.0.1:0".
	HTTPAddr string
	// WSAddr is the host:port JSON-RPC over WebSocket listens on. Empty, the
	// default, serves WebSocket on the HTTP listener, so one host:port answers
	// both http:// and ws://.
	WSAddr string
	// ChainID is the EIP-155 chain id. Default 1337.
	ChainID uint64
	// BlockPeriod is the time between blocks. Zero, the default, seals a block
	// as soon as a transaction reaches the pool. Block timestamps have a
	// resolution of one second and always increase, so a nonzero period must
	// be a second or more.
	BlockPeriod time.Duration
	// GasLimit is the gas limit of every block. Default 30,000,000.
	GasLimit uint64
	// Accounts are funded at genesis. Default [DevAccounts].
	Accounts []DevAccount
	// Balance is what each account holds at genesis. Default [DefaultBalance].
	Balance *big.Int
	// Logger receives this package's messages and go-ethereum's node
	// messages at warn level and above. Nil discards them.
	Logger *slog.Logger
}

// Chain is a running in-process go-ethereum dev chain.
type Chain struct {
	log      *slog.Logger
	stack    *node.Node
	eth      *eth.Ethereum
	beacon   *catalyst.SimulatedBeacon
	client   *ethclient.Client
	chainID  uint64
	accounts []DevAccount
	httpURL  string
	wsURL    string

	// sealMu serializes every call into beacon, whose fork choice state has
	// no lock of its own, and guards closed.
	sealMu sync.Mutex
	closed bool

	stop      chan struct{} // closed by Close to stop the sealing goroutines
	done      sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start runs a dev chain until Close. It returns once the HTTP and WebSocket
// listeners are up and the chain answers JSON-RPC.
func Start(ctx context.Context, cfg Config) (*Chain, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("testnet: start: %w", err)
	}
	cfg = cfg.withDefaults()
	if cfg.BlockPeriod != 0 && cfg.BlockPeriod < time.Second {
		return nil, fmt.Errorf("testnet: block period %s is under one second", cfg.BlockPeriod)
	}
	if cfg.BlockPeriod < 0 {
		return nil, fmt.Errorf("testnet: negative block period %s", cfg.BlockPeriod)
	}
	httpHost, httpPort, err := splitAddr(cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("testnet: http address: %w", err)
	}
	wsHost, wsPort := httpHost, httpPort
	if cfg.WSAddr != "" {
		if wsHost, wsPort, err = splitAddr(cfg.WSAddr); err != nil {
			return nil, fmt.Errorf("testnet: ws address: %w", err)
		}
	}

	nodeConf := node.DefaultConfig
	nodeConf.DataDir = "" // in memory
	nodeConf.IPCPath = "" // else every chain would claim $TMPDIR/geth.ipc
	// No peers: MaxPeers 0 already means no dialing. NoDial would only add a
	// warning that the server is useless on every start.
	nodeConf.P2P = p2p.Config{NoDiscovery: true, MaxPeers: 0, ListenAddr: ""}
	nodeConf.HTTPHost, nodeConf.HTTPPort = httpHost, httpPort
	nodeConf.HTTPModules = rpcModules
	// Geth serves WebSocket on the HTTP server when the ports are equal.
	nodeConf.WSHost, nodeConf.WSPort = wsHost, wsPort
	nodeConf.WSModules = rpcModules
	nodeConf.Logger = gethLogger(cfg.Logger)

	stack, err := node.New(&nodeConf)
	if err != nil {
		return nil, fmt.Errorf("testnet: new node: %w", err)
	}
	c, err := startOnNode(ctx, stack, cfg)
	if err != nil {
		return nil, errors.Join(err, stack.Close())
	}
	return c, nil
}

func startOnNode(ctx context.Context, stack *node.Node, cfg Config) (*Chain, error) {
	ethConf := ethconfig.Defaults
	ethConf.NetworkId = cfg.ChainID
	ethConf.Genesis = genesis(cfg)
	ethConf.SyncMode = ethconfig.FullSync
	ethConf.TxPool.NoLocals = true
	ethConf.Miner.GasCeil = cfg.GasLimit
	// The lowest tip the sealer takes, as in geth --dev. A transaction below
	// it would sit in the pool as executable and never be sealed.
	ethConf.Miner.GasPrice = big.NewInt(1)
	// A dev chain is small: scan blocks for logs rather than keep an index
	// that is built in the background and may lag the head.
	ethConf.LogNoHistory = true

	backend, err := eth.New(stack, &ethConf)
	if err != nil {
		return nil, fmt.Errorf("testnet: new eth service: %w", err)
	}
	// eth.New leaves out the filter API: logs, eth_subscribe and friends.
	filterSystem := filters.NewFilterSystem(backend.APIBackend, filters.Config{})
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(filterSystem)}})

	// Period 0: the beacon never seals by itself; Chain drives it. Its RPC
	// API (catalyst.RegisterSimulatedBeaconAPIs) is left out on purpose: with
	// period 0 it starts a sealing goroutine of its own that would race ours.
	beacon, err := catalyst.NewSimulatedBeacon(0, common.Address{}, backend)
	if err != nil {
		return nil, fmt.Errorf("testnet: new simulated beacon: %w", err)
	}
	stack.RegisterLifecycle(beacon)

	if err := stack.Start(); err != nil {
		return nil, fmt.Errorf("testnet: start node: %w", err)
	}
	c := &Chain{
		log:      cfg.Logger.With("component", "testnet"),
		stack:    stack,
		eth:      backend,
		beacon:   beacon,
		client:   ethclient.NewClient(stack.Attach()),
		chainID:  cfg.ChainID,
		accounts: append([]DevAccount(nil), cfg.Accounts...),
		httpURL:  stack.HTTPEndpoint(),
		wsURL:    stack.WSEndpoint(),
		stop:     make(chan struct{}),
	}
	if cfg.BlockPeriod > 0 {
		c.done.Add(1)
		go c.sealEvery(cfg.BlockPeriod)
	} else {
		c.startSealOnDemand()
	}
	if _, err := c.client.ChainID(ctx); err != nil {
		c.stopSealing()
		c.client.Close()
		return nil, fmt.Errorf("testnet: first call: %w", err)
	}
	c.log.Info("dev chain started", "http", c.httpURL, "ws", c.wsURL, "chain_id", c.chainID)
	return c, nil
}

func (cfg Config) withDefaults() Config {
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = DefaultHTTPAddr
	}
	if cfg.ChainID == 0 {
		cfg.ChainID = DefaultChainID
	}
	if cfg.GasLimit == 0 {
		cfg.GasLimit = DefaultGasLimit
	}
	if cfg.Accounts == nil {
		cfg.Accounts = DevAccounts()
	}
	if cfg.Balance == nil {
		cfg.Balance = DefaultBalance()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// genesis is geth's --dev genesis (precompiles and system contracts funded,
// every fork at block 0, base fee 1 gwei) with the chain id and accounts of
// cfg.
func genesis(cfg Config) *core.Genesis {
	chainConfig := *params.AllDevChainProtocolChanges
	chainConfig.ChainID = new(big.Int).SetUint64(cfg.ChainID)
	g := core.DeveloperGenesisBlock(cfg.GasLimit, nil)
	g.Config = &chainConfig
	for _, a := range cfg.Accounts {
		g.Alloc[a.Address] = types.Account{Balance: new(big.Int).Set(cfg.Balance)}
	}
	return g
}

func splitAddr(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	if host == "" {
		return "", 0, fmt.Errorf("%q has no host; say 127.0.0.1", addr)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("%q: bad port", addr)
	}
	return host, int(port), nil
}

// HTTPURL is the JSON-RPC over HTTP endpoint, e.g. http://127.0.0.1:41234.
func (c *Chain) HTTPURL() string { return c.httpURL }

// WSURL is the JSON-RPC over WebSocket endpoint, e.g. ws://127.0.0.1:41234.
func (c *Chain) WSURL() string { return c.wsURL }

// ChainID returns the chain id.
func (c *Chain) ChainID() *big.Int { return new(big.Int).SetUint64(c.chainID) }

// Client is a client attached to the node in process, without a socket. It
// stays valid until Close; callers must not close it.
func (c *Chain) Client() *ethclient.Client { return c.client }

// Accounts returns the accounts funded at genesis.
func (c *Chain) Accounts() []DevAccount { return append([]DevAccount(nil), c.accounts...) }

// Close stops the chain and frees its ports. It is safe to call more than
// once.
func (c *Chain) Close() error {
	c.closeOnce.Do(func() {
		c.stopSealing()
		c.client.Close()
		if err := c.stack.Close(); err != nil {
			c.closeErr = fmt.Errorf("testnet: close node: %w", err)
		}
	})
	return c.closeErr
}

func (c *Chain) stopSealing() {
	close(c.stop)
	c.done.Wait()
	c.sealMu.Lock()
	c.closed = true
	c.sealMu.Unlock()
}
