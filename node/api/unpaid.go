package api

import (
	"context"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/payment"
	"github.com/paynode/paynode/node/wire"
)

// Unpaid is a payment check for a benchmark of what payment costs: it
// takes every job for free — no voucher check, no ledger write, no
// receipt signature (the receipt it returns is unsigned) — so the same
// server, hub and worker can be measured with and without payment. Never
// give it to a server that serves real agents.
type Unpaid struct{}

var _ Payments = Unpaid{}

// Authorize accepts the job and prices its max cost.
func (Unpaid) Authorize(_ context.Context, req payment.Request) (*payment.Authorization, error) {
	return &payment.Authorization{
		ChannelID: req.ChannelID, JobID: req.JobID, Price: req.Price,
		MaxCost: req.Price.Cost(req.InputTokens, req.MaxTokens),
	}, nil
}

// Charge returns an unsigned receipt of the job's cost, capped at its max
// cost, as the only charge of its channel.
func (Unpaid) Charge(_ context.Context, a *payment.Authorization, u payment.Usage, resultHash common.Hash) (*ledger.Receipt, error) {
	cost := a.Price.Cost(u.InputTokens, u.OutputTokens)
	if cost.Cmp(a.MaxCost) > 0 {
		cost = a.MaxCost
	}
	return &ledger.Receipt{
		Receipt: contracts.Receipt{
			ChannelID: a.ChannelID, JobID: wire.JobKey(a.JobID), Cost: cost, CumulativeCharged: cost,
			InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, ResultHash: resultHash,
		},
		Seq: 1, Signature: make([]byte, wire.SignatureLen),
	}, nil
}

// Release does nothing: nothing was reserved.
func (Unpaid) Release(context.Context, *payment.Authorization, string) error { return nil }

// Signed returns r as it is.
func (Unpaid) Signed(r *ledger.Receipt) (*ledger.Receipt, error) { return r, nil }
