package testnet

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
)

// DeployBackend is what deployment needs of a chain; *ethclient.Client is
// one, over any JSON-RPC endpoint.
type DeployBackend interface {
	bind.ContractBackend
	ChainID(ctx context.Context) (*big.Int, error)
	BalanceAt(ctx context.Context, account common.Address, block *big.Int) (*big.Int, error)
	contracts.ReceiptReader
}

// DefaultWithdrawalDelay is PaymentChannels' withdrawal delay unless told
// otherwise: a day gives a provider that was down for hours time to claim.
const DefaultWithdrawalDelay = 24 * time.Hour

// DeployOptions tune Deploy; the zero value deploys the core contracts with
// the default withdrawal delay and no test token.
type DeployOptions struct {
	WithdrawalDelay time.Duration
	// TestToken also deploys TestUSD, owned by the deployer, and mints Mint.
	TestToken bool
	Mint      map[common.Address]*big.Int
	// PollInterval is how often receipts are polled (default 200ms).
	PollInterval time.Duration
	// Progress, when set, hears of each step.
	Progress func(msg string)
}

// Errors Deploy returns for the cases a caller must tell apart.
var (
	ErrNoFunds         = errors.New("deployer has no funds")
	ErrAlreadyDeployed = errors.New("contracts already deployed")
)

// Deploy deploys OfferRegistry, PaymentChannels and optionally TestUSD from
// key onto the chain behind b, waits until each has code, and returns the
// deployment. It returns a deployment only when everything succeeded.
func Deploy(ctx context.Context, b DeployBackend, key *ecdsa.PrivateKey, opts DeployOptions) (*contracts.Deployment, error) {
	if opts.WithdrawalDelay == 0 {
		opts.WithdrawalDelay = DefaultWithdrawalDelay
	}
	if opts.WithdrawalDelay < time.Second {
		return nil, fmt.Errorf("withdrawal delay %v: must be at least one second", opts.WithdrawalDelay)
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	from := crypto.PubkeyToAddress(key.PublicKey)

	chainID, err := b.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("read chain id: %w", err)
	}
	balance, err := b.BalanceAt(ctx, from, nil)
	if err != nil {
		return nil, fmt.Errorf("read balance of %s: %w", from, err)
	}
	if balance.Sign() == 0 {
		return nil, fmt.Errorf("%w: %s holds 0 on chain %s", ErrNoFunds, from, chainID)
	}
	nonce, err := b.PendingNonceAt(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("read nonce of %s: %w", from, err)
	}

	type step struct {
		name     string
		bytecode string
		args     []byte
	}
	delay := uint64(opts.WithdrawalDelay / time.Second)
	steps := []step{
		{"OfferRegistry", bindings.OfferRegistryMetaData.Bin, nil},
		{"PaymentChannels", bindings.PaymentChannelsMetaData.Bin, bindings.NewPaymentChannels().PackConstructor(delay)},
	}
	if opts.TestToken {
		steps = append(steps, step{"TestUSD", bindings.TestUSDMetaData.Bin, bindings.NewTestUSD().PackConstructor(from)})
	}

	// Estimate everything first, so a poor deployer fails before it has
	// spent anything rather than halfway.
	gasPrice, err := b.SuggestGasPrice(ctx)
	if err != nil {
		return nil, fmt.Errorf("read gas price: %w", err)
	}
	need := new(big.Int)
	for _, s := range steps {
		data := append(common.FromHex(s.bytecode), s.args...)
		gas, err := b.EstimateGas(ctx, ethereum.CallMsg{From: from, Data: data})
		if err != nil {
			return nil, fmt.Errorf("estimate gas of %s: %w", s.name, err)
		}
		need.Add(need, new(big.Int).Mul(new(big.Int).SetUint64(gas), gasPrice))
	}
	if balance.Cmp(need) < 0 {
		return nil, fmt.Errorf("%w: %s holds %s wei on chain %s, deployment needs about %s",
			ErrNoFunds, from, balance, chainID, need)
	}

	auth := bind.NewKeyedTransactor(key, chainID)
	auth.Context = ctx
	addrs := make(map[string]common.Address, len(steps))
	txs := make([]*types.Transaction, 0, len(steps))
	for i, s := range steps {
		auth.Nonce = new(big.Int).SetUint64(nonce + uint64(i))
		addr, tx, err := bind.DeployContract(auth, common.FromHex(s.bytecode), b, s.args)
		if err != nil {
			return nil, fmt.Errorf("deploy %s: %w", s.name, err)
		}
		progress(fmt.Sprintf("deploying %s at %s (tx %s)", s.name, addr, tx.Hash()))
		addrs[s.name] = addr
		txs = append(txs, tx)
	}
	startBlock := uint64(0)
	for i, tx := range txs {
		r, err := contracts.WaitMined(ctx, b, tx.Hash(), opts.PollInterval)
		if err != nil {
			return nil, fmt.Errorf("wait for %s: %w", steps[i].name, err)
		}
		if r.Status != types.ReceiptStatusSuccessful {
			return nil, fmt.Errorf("deploy %s: transaction %s reverted", steps[i].name, tx.Hash())
		}
		if n := r.BlockNumber.Uint64(); i == 0 || n < startBlock {
			startBlock = n
		}
	}

	d := &contracts.Deployment{
		ChainID:         chainID.Uint64(),
		OfferRegistry:   addrs["OfferRegistry"],
		PaymentChannels: addrs["PaymentChannels"],
		StartBlock:      startBlock,
		WithdrawalDelay: delay,
		Deployer:        from,
	}
	if opts.TestToken {
		token := addrs["TestUSD"]
		d.Token = &token
		if err := mint(ctx, b, auth, token, nonce+uint64(len(steps)), opts); err != nil {
			return nil, err
		}
	}
	if err := CheckDeployed(ctx, b, d); err != nil {
		return nil, err
	}
	progress("deployed")
	return d, nil
}

func mint(ctx context.Context, b DeployBackend, auth *bind.TransactOpts, token common.Address, nonce uint64, opts DeployOptions) error {
	if len(opts.Mint) == 0 {
		return nil
	}
	c := bindings.NewTestUSD().Instance(b, token)
	var txs []*types.Transaction
	for to, amount := range opts.Mint {
		auth.Nonce = new(big.Int).SetUint64(nonce)
		nonce++
		tx, err := bind.Transact(c, auth, bindings.NewTestUSD().PackMint(to, amount))
		if err != nil {
			return fmt.Errorf("mint TestUSD to %s: %w", to, err)
		}
		txs = append(txs, tx)
	}
	for _, tx := range txs {
		r, err := contracts.WaitMined(ctx, b, tx.Hash(), opts.PollInterval)
		if err != nil {
			return fmt.Errorf("wait for mint: %w", err)
		}
		if r.Status != types.ReceiptStatusSuccessful {
			return fmt.Errorf("mint TestUSD: transaction %s reverted", tx.Hash())
		}
	}
	if opts.Progress != nil {
		opts.Progress(fmt.Sprintf("minted TestUSD to %d accounts", len(txs)))
	}
	return nil
}

// CheckDeployed verifies that d belongs to the chain behind b and that each
// of its contracts has code there.
func CheckDeployed(ctx context.Context, b DeployBackend, d *contracts.Deployment) error {
	chainID, err := b.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("read chain id: %w", err)
	}
	if chainID.Uint64() != d.ChainID {
		return fmt.Errorf("deployment is for chain %d, the RPC serves chain %s", d.ChainID, chainID)
	}
	check := map[string]common.Address{"offerRegistry": d.OfferRegistry, "paymentChannels": d.PaymentChannels}
	if d.Token != nil {
		check["token"] = *d.Token
	}
	for name, addr := range check {
		code, err := b.CodeAt(ctx, addr, nil)
		if err != nil {
			return fmt.Errorf("read code of %s at %s: %w", name, addr, err)
		}
		if len(code) == 0 {
			return fmt.Errorf("%s: no code at %s on chain %d", name, addr, d.ChainID)
		}
	}
	return nil
}
