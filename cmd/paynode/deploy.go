package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/internal/devstack"
	"github.com/paynode/paynode/internal/keyfile"
	"github.com/paynode/paynode/testnet"
)

const deployHelp = `
Deploys OfferRegistry and PaymentChannels (and, with --test-token, the
6-decimal TestUSD dev token) from the key in --key-file onto the chain behind
--rpc, waits until each contract has code, then writes the deployment file
that 'paynode serve' and 'paynode agent' read. The deployment JSON is also
printed on stdout; progress goes to stderr.

It refuses, with a one-line error and exit code 1, when the RPC cannot be
reached, the key file is missing or unreadable, the key holds too little to
pay for the deployment, or --out already names contracts that sit on that
chain. The file is written only after every contract is deployed.

Examples:
  paynode deploy --rpc http://127.0.0.1:8545 --key-file deployer.key --out deployment.json
  paynode deploy --rpc https://sepolia.example/rpc --key-file keystore.json \
      --password-file pw.txt --withdrawal-delay 48h --out sepolia.json`

func (m *Main) runDeploy(ctx context.Context, args []string) error {
	flags := m.newFlagSet("deploy", "--rpc URL --key-file FILE --out FILE [flags]", deployHelp)
	rpcURL := flags.String("rpc", "", "JSON-RPC URL of the chain (http://, https://, ws://, wss://)")
	keyFile := flags.String("key-file", "", "deployer key: a hex key file or a go-ethereum keystore JSON")
	passwordFile := flags.String("password-file", "", "file holding the keystore password (or set PAYNODE_KEY_PASSWORD)")
	out := flags.String("out", "", "where to write the deployment JSON")
	testToken := flags.Bool("test-token", false, "also deploy TestUSD, a worthless 6-decimal token for dev chains")
	mintTo := flags.String("mint-to", "", "with --test-token: comma-separated addresses that get 1,000,000 TUSD each")
	delay := flags.Duration("withdrawal-delay", testnet.DefaultWithdrawalDelay, "PaymentChannels' withdrawal delay: the provider's window to claim")
	timeout := flags.Duration("timeout", 5*time.Minute, "give up when the deployment has not finished by then")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	switch {
	case *rpcURL == "":
		return usageError("--rpc is required")
	case *keyFile == "":
		return usageError("--key-file is required")
	case *out == "":
		return usageError("--out is required")
	case *mintTo != "" && !*testToken:
		return usageError("--mint-to needs --test-token")
	}
	mint, err := parseMintTo(*mintTo)
	if err != nil {
		return usageError("--mint-to: %v", err)
	}

	key, err := keyfile.Load(*keyFile, *passwordFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client, chainID, err := dialChain(ctx, *rpcURL)
	if err != nil {
		return err
	}
	defer client.Close()

	if prev, err := contracts.LoadDeployment(*out); err == nil {
		if testnet.CheckDeployed(ctx, client, prev) == nil {
			return fmt.Errorf("%w on chain %s: %s names PaymentChannels at %s, which has code; remove the file or choose another --out",
				testnet.ErrAlreadyDeployed, chainID, *out, prev.PaymentChannels)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--out %s exists and is not a deployment file: %w", *out, err)
	}
	// Fail before spending gas if the file cannot be written.
	if err := checkWritable(*out); err != nil {
		return err
	}

	fmt.Fprintf(m.Stderr, "deploying from %s to chain %s at %s\n", crypto.PubkeyToAddress(key.PublicKey), chainID, *rpcURL)
	d, err := testnet.Deploy(ctx, client, key, testnet.DeployOptions{
		WithdrawalDelay: *delay,
		TestToken:       *testToken,
		Mint:            mint,
		Progress:        func(msg string) { fmt.Fprintln(m.Stderr, msg) },
	})
	if err != nil {
		return err
	}
	if err := d.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "wrote %s\n", *out)
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// dialChain connects to rpcURL and asks its chain id, so that an
// unreachable or non-Ethereum endpoint fails here with a clear message.
func dialChain(ctx context.Context, rpcURL string) (*ethclient.Client, *big.Int, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client, err := ethclient.DialContext(dctx, rpcURL)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach RPC %s: %w", rpcURL, err)
	}
	chainID, err := client.ChainID(dctx)
	if err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("cannot reach RPC %s: %w", rpcURL, err)
	}
	return client, chainID, nil
}

// testUSDMint is what each --mint-to address receives: 1,000,000 TUSD.
var testUSDMint = devstack.TestUSDMint

func parseMintTo(s string) (map[common.Address]*big.Int, error) {
	if s == "" {
		return nil, nil
	}
	mint := map[common.Address]*big.Int{}
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if !common.IsHexAddress(a) {
			return nil, fmt.Errorf("%q is not an address", a)
		}
		mint[common.HexToAddress(a)] = testUSDMint
	}
	return mint, nil
}

// checkWritable fails when path cannot be created, without leaving a file.
func checkWritable(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".paynode-write-check-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
