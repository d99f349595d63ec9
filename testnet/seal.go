package testnet

import (
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
)

// ErrClosed is returned by calls on a closed Chain.
var ErrClosed = errors.New("testnet: chain closed")

// Mine seals one block now with the pending transactions, if any, and
// returns it. A chain seals by itself, so tests need Mine only for an empty
// block or on a chain with a long BlockPeriod.
func (c *Chain) Mine() (*types.Block, error) {
	c.sealMu.Lock()
	defer c.sealMu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	block, err := c.sealLocked()
	if err != nil {
		return nil, fmt.Errorf("testnet: mine: %w", err)
	}
	return block, nil
}

// AdjustTime moves the chain's clock forward by d, in whole seconds, and
// returns the empty block that carries the new time: its timestamp is d after
// the later of the wall clock and the head's timestamp. Transactions already
// pending are sealed first, at the old time.
//
// The chain does not go back afterwards: each later block is stamped with
// the wall clock or one second after its parent, whichever is later. So,
// unlike anvil's evm_increaseTime, chain time advances one second per block,
// not with the wall clock, until the wall clock catches up.
func (c *Chain) AdjustTime(d time.Duration) (*types.Block, error) {
	if d < time.Second {
		return nil, fmt.Errorf("testnet: adjust time: %s is under one second", d)
	}
	c.sealMu.Lock()
	defer c.sealMu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if err := c.sealPendingLocked(); err != nil {
		return nil, fmt.Errorf("testnet: adjust time: %w", err)
	}
	parent := c.eth.BlockChain().CurrentBlock()
	base := max(uint64(time.Now().Unix()), parent.Time)
	target := base + uint64(d/time.Second)
	if err := c.beacon.AdjustTime(time.Duration(target-parent.Time) * time.Second); err != nil {
		return nil, fmt.Errorf("testnet: adjust time: %w", err)
	}
	block, err := c.afterSeal(parent.Hash())
	if err != nil {
		return nil, fmt.Errorf("testnet: adjust time: %w", err)
	}
	return block, nil
}

// startSealOnDemand seals a block whenever transactions reach the pool.
//
// The pool sends its events from its reorg loop, and sealing waits on that
// loop (TxPool.Sync). So one goroutine only listens and never blocks, and it
// keeps listening until the sealing goroutine has returned; the other seals.
func (c *Chain) startSealOnDemand() {
	events := make(chan core.NewTxsEvent, 16)
	sub := c.eth.TxPool().SubscribeTransactions(events, true)
	kick := make(chan struct{}, 1)
	sealerDone := make(chan struct{})
	c.done.Add(2)
	go func() {
		defer c.done.Done()
		defer sub.Unsubscribe()
		for {
			select {
			case <-sealerDone:
				return
			case <-events:
				select {
				case kick <- struct{}{}:
				default: // a seal is already due; it will take these too
				}
			}
		}
	}()
	go func() {
		defer c.done.Done()
		defer close(sealerDone)
		for {
			select {
			case <-c.stop:
				return
			case <-kick:
				c.sealMu.Lock()
				if err := c.sealPendingLocked(); err != nil {
					c.log.Warn("sealing failed", "err", err)
				}
				c.sealMu.Unlock()
			}
		}
	}()
}

// sealEvery seals a block every period until Close.
func (c *Chain) sealEvery(period time.Duration) {
	defer c.done.Done()
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-ticker.C:
			c.sealMu.Lock()
			if _, err := c.sealLocked(); err != nil {
				c.log.Warn("sealing failed", "err", err)
			}
			c.sealMu.Unlock()
		}
	}
}

// sealPendingLocked seals blocks until no executable transaction is left in
// the pool. It stops when a block leaves them all out, rather than spin.
func (c *Chain) sealPendingLocked() error {
	pool := c.eth.TxPool()
	for {
		select {
		case <-c.stop:
			return nil
		default:
		}
		executable, _ := pool.Stats()
		if executable == 0 {
			return nil
		}
		block, err := c.sealLocked()
		if err != nil {
			return err
		}
		if len(block.Transactions()) == 0 {
			return fmt.Errorf("block %d left out all %d executable transactions", block.NumberU64(), executable)
		}
	}
}

// sealLocked seals one block. The caller holds sealMu.
func (c *Chain) sealLocked() (*types.Block, error) {
	parent := c.eth.BlockChain().CurrentBlock().Hash()
	// Commit logs its errors to go-ethereum's root logger and returns the
	// head, so a head that did not move is how a failure shows here.
	c.beacon.Commit()
	return c.afterSeal(parent)
}

// afterSeal returns the new head once the pool has caught up with it.
func (c *Chain) afterSeal(parent common.Hash) (*types.Block, error) {
	head := c.eth.BlockChain().CurrentBlock()
	if head.Hash() == parent {
		return nil, errors.New("no block was sealed")
	}
	// The pool drops the sealed transactions in the background; wait, so the
	// next look at it does not count them again.
	if err := c.eth.TxPool().Sync(); err != nil {
		return nil, fmt.Errorf("sync pool: %w", err)
	}
	block := c.eth.BlockChain().GetBlock(head.Hash(), head.Number.Uint64())
	if block == nil {
		return nil, fmt.Errorf("sealed block %d is missing", head.Number.Uint64())
	}
	return block, nil
}
