package testnet

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/paynode/paynode/contracts"
)

// StartT starts a dev chain for a test and closes it when the test ends. It
// fails the test if the chain does not start.
func StartT(t testing.TB, cfg Config) *Chain {
	t.Helper()
	c, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// StartAnvilT starts anvil for a test and stops it when the test ends. It
// skips the test when no anvil binary is found (see [FindAnvil]) and fails
// it when anvil is found but does not start.
func StartAnvilT(t testing.TB, opts AnvilOptions) *AnvilProcess {
	t.Helper()
	if opts.Path == "" {
		path, err := FindAnvil()
		if err != nil {
			t.Skip(err)
		}
		opts.Path = path
	}
	a, err := StartAnvil(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	return a
}

// TransactT sends data to the contract behind to from key (with value wei
// when value is set), waits until it is mined and the head has reached its
// block, and fails t unless it succeeded. A revert fails t with the
// contract's custom error decoded.
func TransactT(t testing.TB, client contracts.ReceiptReader, chainID *big.Int, key *ecdsa.PrivateKey, to *bind.BoundContract, data []byte, value *big.Int) *types.Receipt {
	t.Helper()
	auth := bind.NewKeyedTransactor(key, chainID)
	auth.Context = t.Context()
	auth.Value = value
	tx, err := bind.Transact(to, auth, data)
	if err != nil {
		if rev, ok := contracts.DecodeRevert(err); ok {
			t.Fatalf("send: %v", rev)
		}
		t.Fatalf("send: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r, err := contracts.WaitMined(ctx, client, tx.Hash(), 5*time.Millisecond)
	if err != nil {
		t.Fatalf("wait for %s: %v", tx.Hash(), err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("transaction %s reverted", tx.Hash())
	}
	return r
}
