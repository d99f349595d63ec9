package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/internal/keyfile"
	"github.com/paynode/paynode/testnet"
)

const chainHelp = `
Runs a local Ethereum dev chain in this process (a real go-ethereum node,
chain id 1337) with JSON-RPC over HTTP and WebSocket on the --http address,
deploys paynode's contracts and the TestUSD dev token, and writes the
deployment file. Blocks are mined as soon as a transaction arrives (or every
--block-period). It runs until interrupted (Ctrl-C).

The ten dev accounts are the well-known anvil/hardhat ones: each holds
10,000 ETH and 1,000,000 TUSD. Their keys are public: never send real value
to them. --keys-dir writes each key to a hex key file for --key-file flags.

Examples:
  paynode chain
  paynode chain --http 127.0.0.1:8545 --deployment-out deployment.json --keys-dir keys
  paynode chain --json > chain.json &`

// chainInfo is what `paynode chain --json` prints.
type chainInfo struct {
	ChainID        uint64                `json:"chainId"`
	RPC            string                `json:"rpc"`
	WS             string                `json:"ws"`
	DeploymentFile string                `json:"deploymentFile"`
	Deployment     *contracts.Deployment `json:"deployment"`
	Accounts       []accountInfo         `json:"accounts"`
}

type accountInfo struct {
	Address    common.Address `json:"address"`
	PrivateKey string         `json:"privateKey"`
	KeyFile    string         `json:"keyFile,omitempty"`
}

func (m *Main) runChain(ctx context.Context, args []string) error {
	flags := m.newFlagSet("chain", "[flags]", chainHelp)
	httpAddr := flags.String("http", "127.0.0.1:8545", "host:port for JSON-RPC over HTTP and WebSocket (port 0 picks a free one)")
	deploymentOut := flags.String("deployment-out", "deployment.json", "where to write the deployment file")
	keysDir := flags.String("keys-dir", "", "write each dev account's key to DIR/account<N>.key")
	period := flags.Duration("block-period", 0, "time between blocks; 0 mines a block as soon as a transaction arrives")
	delay := flags.Duration("withdrawal-delay", time.Hour, "PaymentChannels' withdrawal delay")
	asJSON := flags.Bool("json", false, "print the chain's details as one JSON object on stdout")
	verbose := flags.Bool("v", false, "log the chain's warnings to stderr")
	if err := parseFlags(flags, args); err != nil {
		return err
	}

	cfg := testnet.Config{HTTPAddr: *httpAddr, BlockPeriod: *period}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	chain, err := testnet.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer chain.Close()

	accounts := chain.Accounts()
	mint := make(map[common.Address]*big.Int, len(accounts))
	for _, a := range accounts {
		mint[a.Address] = testUSDMint
	}
	d, err := testnet.Deploy(ctx, chain.Client(), accounts[0].Key, testnet.DeployOptions{
		WithdrawalDelay: *delay,
		TestToken:       true,
		Mint:            mint,
		PollInterval:    20 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	if err := d.Save(*deploymentOut); err != nil {
		return err
	}
	info := chainInfo{
		ChainID: d.ChainID, RPC: chain.HTTPURL(), WS: chain.WSURL(),
		DeploymentFile: *deploymentOut, Deployment: d,
	}
	if *keysDir != "" {
		if err := os.MkdirAll(*keysDir, 0o700); err != nil {
			return fmt.Errorf("--keys-dir: %w", err)
		}
	}
	for i, a := range accounts {
		ai := accountInfo{Address: a.Address, PrivateKey: hexutil.Encode(crypto.FromECDSA(a.Key))}
		if *keysDir != "" {
			ai.KeyFile = filepath.Join(*keysDir, fmt.Sprintf("account%d.key", i))
			if err := keyfile.WriteHex(ai.KeyFile, a.Key); err != nil {
				return err
			}
		}
		info.Accounts = append(info.Accounts, ai)
	}

	if *asJSON {
		if err := json.NewEncoder(m.Stdout).Encode(info); err != nil {
			return err
		}
	} else {
		m.printChain(info)
	}
	<-ctx.Done()
	fmt.Fprintln(m.Stderr, "stopping the dev chain")
	return nil
}

func (m *Main) printChain(info chainInfo) {
	w := m.Stdout
	fmt.Fprintf(w, "paynode dev chain (chain id %d)\n\n", info.ChainID)
	fmt.Fprintf(w, "  RPC (HTTP)        %s\n", info.RPC)
	fmt.Fprintf(w, "  RPC (WebSocket)   %s\n", info.WS)
	fmt.Fprintf(w, "  deployment file   %s\n", info.DeploymentFile)
	fmt.Fprintf(w, "  OfferRegistry     %s\n", info.Deployment.OfferRegistry)
	fmt.Fprintf(w, "  PaymentChannels   %s  (withdrawal delay %s)\n", info.Deployment.PaymentChannels,
		time.Duration(info.Deployment.WithdrawalDelay)*time.Second)
	if info.Deployment.Token != nil {
		fmt.Fprintf(w, "  TestUSD (TUSD)    %s\n", *info.Deployment.Token)
	}
	fmt.Fprintf(w, "\nAccounts: 10,000 ETH and 1,000,000 TUSD each. These keys are public: dev chains only.\n\n")
	for i, a := range info.Accounts {
		fmt.Fprintf(w, "  (%d) %s  %s", i, a.Address, a.PrivateKey)
		if a.KeyFile != "" {
			fmt.Fprintf(w, "  %s", a.KeyFile)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nRunning until interrupted (Ctrl-C).\n")
}
