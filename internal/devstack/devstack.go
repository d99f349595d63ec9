// Package devstack runs paynode's whole local stack in one process: the
// embedded dev chain, the contracts, and a provider node with a builtin
// worker and its offers. `paynode dev` and `paynode demo` are built on it,
// and so are the end-to-end tests and the benchmarks, so all of them run
// exactly what a user runs.
//
// Keys are the public dev accounts (testnet.DevAccounts): account 0
// deploys, account 1 is the provider, account 2 is the agent. Never use
// them anywhere but on a dev chain.
package devstack

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/internal/keyfile"
	"github.com/paynode/paynode/node"
	"github.com/paynode/paynode/node/config"
	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/testnet"
)

// Dev accounts by role.
const (
	DeployerAccount = 0
	ProviderAccount = 1
	AgentAccount    = 2
)

// TestUSDMint is what every dev account holds of the test token: 1,000,000
// TUSD in base units (6 decimals).
var TestUSDMint = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(1_000_000))

// Options tune Start; the zero value runs the stack on free ports in a
// new temporary directory.
type Options struct {
	// Dir holds the deployment, keys, config and ledger; empty makes a
	// temporary one, removed by Close.
	Dir string
	// ChainHTTP is the dev chain's JSON-RPC address; empty picks a free
	// port on 127.0.0.1.
	ChainHTTP string
	// APIListen and MetricsListen are the node's listeners; empty picks
	// free ports on 127.0.0.1.
	APIListen, MetricsListen string
	// WithdrawalDelay is PaymentChannels' withdrawal delay (default 1h).
	WithdrawalDelay time.Duration
	// Offers are the node's offers; nil is one: the builtin model for
	// ETH at the example config's prices.
	Offers []config.Offer
	// TokenOffer adds the builtin model for TUSD at 1000 + 2/8 per
	// token (base units) to the default offers.
	TokenOffer bool
	// Configure, when set, may change the node's config before it starts.
	Configure func(*config.Config)
	// Builtin is the builtin worker's model; nil is a zero-delay one.
	Builtin executor.Executor
	// WorkerToken is the remote workers' token; empty makes a random one
	// (in Dir/worker.token).
	WorkerToken string
	// Registry receives the node's metrics; nil makes a new one.
	Registry *prometheus.Registry
	// Log receives the node's log; nil discards it.
	Log *slog.Logger
	// NoSync opens the ledger without fsync (tests and benchmarks).
	NoSync bool
	// BenchUnpaid also serves jobs without payment at node.UnpaidPath,
	// for `paynode bench`. UNSAFE anywhere else.
	BenchUnpaid bool
	// Progress, when set, hears of each step.
	Progress func(msg string)
}

// Stack is a running dev stack.
type Stack struct {
	Chain        *testnet.Chain
	Deployment   *contracts.Deployment
	Node         *node.Node
	Config       *config.Config
	Dir          string
	ProviderKey  *ecdsa.PrivateKey
	AgentKey     *ecdsa.PrivateKey
	AgentKeyFile string
	// DeploymentFile and ConfigFile are the files `paynode serve` and
	// `paynode agent` would read.
	DeploymentFile, ConfigFile string
	WorkerToken                string
	WorkerTokenFile            string

	tempDir bool
}

// DefaultOffer is the builtin model for ETH at the example config's
// prices: 1000 wei a job, 2,000,000 wei per million input tokens and
// 8,000,000 per million output tokens, up to 1024 output tokens.
func DefaultOffer() config.Offer {
	return config.Offer{Model: builtin.Name, Asset: "ETH", Base: "1000", InPerM: "2000000", OutPerM: "8000000", MaxTokens: 1024}
}

// Start runs the chain, deploys the contracts and starts the node. On
// error it stops whatever it started.
func Start(ctx context.Context, opts Options) (s *Stack, err error) {
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			opts.Progress(fmt.Sprintf(format, args...))
		}
	}
	s = &Stack{Dir: opts.Dir}
	defer func() {
		if err != nil {
			s.Close(context.WithoutCancel(ctx))
			s = nil
		}
	}()
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "paynode-dev-"); err != nil {
			return nil, err
		}
		s.tempDir = true
	} else if err = os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, err
	}
	httpAddr := opts.ChainHTTP
	if httpAddr == "" {
		httpAddr = "127.0.0.1:0"
	}
	progress("starting the dev chain")
	if s.Chain, err = testnet.Start(ctx, testnet.Config{HTTPAddr: httpAddr}); err != nil {
		return nil, fmt.Errorf("dev chain: %w", err)
	}
	accounts := s.Chain.Accounts()
	s.ProviderKey = accounts[ProviderAccount].Key
	s.AgentKey = accounts[AgentAccount].Key
	mint := make(map[common.Address]*big.Int, len(accounts))
	for _, a := range accounts {
		mint[a.Address] = TestUSDMint
	}
	delay := opts.WithdrawalDelay
	if delay == 0 {
		delay = time.Hour
	}
	progress("deploying the contracts")
	s.Deployment, err = testnet.Deploy(ctx, s.Chain.Client(), accounts[DeployerAccount].Key, testnet.DeployOptions{
		WithdrawalDelay: delay, TestToken: true, Mint: mint, PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	s.DeploymentFile = filepath.Join(s.Dir, "deployment.json")
	if err := s.Deployment.Save(s.DeploymentFile); err != nil {
		return nil, err
	}
	s.AgentKeyFile = filepath.Join(s.Dir, "agent.key")
	if err := keyfile.WriteHex(s.AgentKeyFile, s.AgentKey); err != nil {
		return nil, err
	}
	if err := keyfile.WriteHex(filepath.Join(s.Dir, "provider.key"), s.ProviderKey); err != nil {
		return nil, err
	}
	s.WorkerToken = opts.WorkerToken
	if s.WorkerToken == "" {
		var b [24]byte
		rand.Read(b[:])
		s.WorkerToken = hex.EncodeToString(b[:])
	}
	s.WorkerTokenFile = filepath.Join(s.Dir, "worker.token")
	if err := os.WriteFile(s.WorkerTokenFile, []byte(s.WorkerToken+"\n"), 0o600); err != nil {
		return nil, err
	}

	cfg := config.Default()
	cfg.Chain.RPC = s.Chain.WSURL()
	cfg.Chain.PollInterval = config.Duration{Duration: 100 * time.Millisecond}
	cfg.API.Listen = orFree(opts.APIListen)
	cfg.Metrics.Listen = orFree(opts.MetricsListen)
	cfg.Settlement.Interval = config.Duration{Duration: 10 * time.Second}
	cfg.Offers = opts.Offers
	if cfg.Offers == nil {
		cfg.Offers = []config.Offer{DefaultOffer()}
		if opts.TokenOffer {
			cfg.Offers = append(cfg.Offers, config.Offer{
				Model: builtin.Name, Asset: s.Deployment.Token.Hex(), Base: "1000", InPerM: "2000000", OutPerM: "8000000", MaxTokens: 1024,
			})
		}
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	s.ConfigFile = filepath.Join(s.Dir, "node.toml")
	if err := writeConfig(s.ConfigFile, &cfg); err != nil {
		return nil, err
	}
	// Load it back, so the node runs from the file a user would edit.
	if s.Config, err = config.Load(s.ConfigFile); err != nil {
		return nil, err
	}
	s.Node, err = node.New(s.Config, node.Options{
		Key: s.ProviderKey, Builtin: opts.Builtin,
		Registry: opts.Registry, Log: opts.Log, NoSync: opts.NoSync,
		BenchUnpaid: opts.BenchUnpaid,
		Progress:    opts.Progress,
	})
	if err != nil {
		return nil, err
	}
	if err := s.Node.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func orFree(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}

// Close shuts the node down gracefully, stops the chain, and removes a
// temporary directory.
func (s *Stack) Close(ctx context.Context) error {
	var errs []error
	if s.Node != nil {
		errs = append(errs, s.Node.Shutdown(ctx))
	}
	if s.Chain != nil {
		errs = append(errs, s.Chain.Close())
	}
	if s.tempDir {
		errs = append(errs, os.RemoveAll(s.Dir))
	}
	return errors.Join(errs...)
}

// writeConfig writes cfg as the TOML file `paynode serve --config` reads.
func writeConfig(path string, cfg *config.Config) error {
	var b bytes.Buffer
	b.WriteString("# paynode dev: the node's config. Relative paths are taken from this directory.\n")
	if err := toml.NewEncoder(&b).Encode(cfg); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}
