package agent

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/paynode/paynode/node/wire"
)

// Resync (docs/protocol.md, "Resync"): a client whose receipts fall short
// of what the node charged (receipts lost with a crash or an old store,
// or charged by another client of the channel) signs vouchers the node
// refuses with voucher_too_low. It reads the node's account of the
// channel, before its first job and after such a refusal, and adopts the
// charged only within a bound of what it knows itself: the node's
// charged + reserved, less the max cost of the client's own jobs in
// flight, may not exceed the highest voucher it signed (which the
// provider can claim on chain anyway), nor the costs of its receipts plus
// its gap credit, whichever is larger. Beyond that the provider is
// untrusted (CodeUnaccountedCharge), as for a receipt above a gap.

// syncFirst reads the node's account of the channel before the first job
// of the client's account is sent, and adopts it within the bound, so
// that receipts lost before the client started are recovered before a
// receipt comes above them; the job's voucher covers the account. The
// read is best effort: a node that does not answer leaves it to the next
// job, and voucher_too_low resyncs anyway.
func (c *Client) syncFirst(j *job) error {
	b := c.book
	if b.synced.Load() {
		return nil
	}
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	if b.synced.Load() {
		return nil
	}
	ch, err := c.syncNow()
	if err != nil {
		c.log.Warn("read the channel's state before the first job", "err", err)
		// Asked again before the next job when the node may answer then
		// (unavailable, deposit_unconfirmed, a dropped connection); not
		// when it refused (unknown_channel, wrong_signer: the job hears the
		// same) or did not answer in time.
		var we *wire.Error
		again := errors.As(err, &we) && we.Retryable || CodeOf(err) == CodeUnreachable
		b.synced.Store(!again)
		return nil
	}
	b.synced.Store(true)
	if err := c.adopt(j, ch); err != nil {
		return err
	}
	j.floor = floor(ch, j.maxCost)
	return nil
}

// floor is the least voucher the node's account ch asks for a job of
// maxCost: charged + reserved + maxCost.
func floor(ch *wire.Channel, maxCost *big.Int) *big.Int {
	f := new(big.Int).Add(ch.Charged.Big(), ch.Reserved.Big())
	return f.Add(f, maxCost)
}

// resync reads the node's account of the channel after it refused job j
// with we (voucher_too_low), adopts it within the bound, and sets the
// least voucher the job is submitted again with: the node's charged +
// reserved + the job's max cost.
func (c *Client) resync(j *job, we *wire.Error) error {
	ch, err := c.syncNow()
	if err != nil {
		e := remoteError("submit", j.id, we)
		e.Message = fmt.Sprintf("%s; the channel's state could not be read to resync: %v", we.Message, err)
		e.Err = errors.Join(we, err)
		return e
	}
	if err := c.adopt(j, ch); err != nil {
		return err
	}
	c.book.synced.Store(true)
	j.floor = floor(ch, j.maxCost)
	c.log.Info("voucher too low; resynced", "job", j.id, "charged", ch.Charged, "reserved", ch.Reserved, "seq", ch.ReceiptSeq)
	return nil
}

// syncNow reads the node's account of the channel, within the handshake
// timeout.
func (c *Client) syncNow() (*wire.Channel, error) {
	ctx, cancel := context.WithTimeout(c.lifetime, c.cfg.HandshakeTimeout)
	defer cancel()
	return c.Sync(ctx)
}

// adopt has the book take the node's account ch. An account the book
// refuses marks the provider untrusted: the account is kept in the store
// as the evidence, and the error (CodeUnaccountedCharge) names job j.
func (c *Client) adopt(j *job, ch *wire.Channel) error {
	now, err := c.book.resync(ch)
	if err == nil {
		return nil
	}
	e := &Error{Op: "submit", Code: CodeUnaccountedCharge, JobID: j.id, Err: errors.Join(ErrUntrusted, err),
		Message: fmt.Sprintf("provider %s: %v; it is paid no more", c.cfg.Offer.Provider, err)}
	if !now {
		e.Code = CodeUntrusted // untrusted before
		return e
	}
	c.log.Error("provider untrusted", "job", j.id, "err", err)
	if c.cfg.Store != nil {
		rec := &Record{Time: time.Now().UTC(), JobID: j.id, Provider: c.cfg.Offer.Provider, Asset: c.cfg.Offer.Asset, Sync: ch, Rejected: err.Error()}
		if serr := c.cfg.Store.Append(c.cfg.Channel, rec); serr != nil {
			c.log.Error("store the refused account", "err", serr)
		}
	}
	return e
}

// promise notes a voucher of amount as signed, in the store (synced to
// disk) before it is sent: the record that bounds a resync after a
// restart.
func (c *Client) promise(amount *big.Int) error {
	if c.cfg.Store != nil {
		if err := c.cfg.Store.RecordSigned(c.cfg.Channel, amount); err != nil {
			return err
		}
	}
	c.book.signedUpTo(amount)
	return nil
}
