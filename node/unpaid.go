package node

import (
	"context"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/payment"
	"github.com/paynode/paynode/node/wire"
)

// UnpaidPath is where a node started with Options.BenchUnpaid takes jobs
// without payment.
const UnpaidPath = "/v1/agent-unpaid"

// unpaid is the agent API's payment check for a benchmark of what payment
// costs: it takes every job for free — no voucher check, no ledger write,
// no receipt signature (the receipt it returns is unsigned) — so the same
// node, API, hub and worker can be measured with and without payment.
// Never mount it on a node that serves real agents.
type unpaid struct{}

func (unpaid) Authorize(_ context.Context, req payment.Request) (*payment.Authorization, error) {
	return &payment.Authorization{
		ChannelID: req.ChannelID, JobID: req.JobID, Price: req.Price,
		MaxCost: req.Price.Cost(req.InputTokens, req.MaxTokens),
	}, nil
}

func (unpaid) Charge(_ context.Context, a *payment.Authorization, u payment.Usage, resultHash common.Hash) (*ledger.Receipt, error) {
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

func (unpaid) Release(context.Context, *payment.Authorization, string) error { return nil }

func (unpaid) Signed(r *ledger.Receipt) (*ledger.Receipt, error) { return r, nil }
