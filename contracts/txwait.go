package contracts

import (
	"context"
	"errors"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// ReceiptReader is what WaitMined needs of a chain; *ethclient.Client is
// one.
type ReceiptReader interface {
	TransactionReceipt(ctx context.Context, txHash common.Hash) (*types.Receipt, error)
	BlockNumber(ctx context.Context) (uint64, error)
}

// WaitMined polls for a transaction's receipt every interval until it is
// mined or ctx ends. Unlike bind.WaitMined its interval is the caller's, so
// a dev chain that mines on demand is not waited on for a whole second.
// Errors other than "not found" are retried: an RPC that hiccups does not
// lose track of a transaction.
//
// It returns once the chain's head has reached the receipt's block: geth
// can serve a receipt a moment before its block becomes the head, and a
// call made in between (an estimate for the next transaction) would still
// see the state before it.
func WaitMined(ctx context.Context, b ReceiptReader, hash common.Hash, interval time.Duration) (*types.Receipt, error) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastErr error
	for {
		r, err := b.TransactionReceipt(ctx, hash)
		if err == nil && r != nil {
			head, herr := b.BlockNumber(ctx)
			if herr == nil && r.BlockNumber != nil && head >= r.BlockNumber.Uint64() {
				return r, nil
			}
			err = herr
		}
		if err != nil && !errors.Is(err, ethereum.NotFound) {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return nil, errors.Join(ctx.Err(), lastErr)
			}
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}
