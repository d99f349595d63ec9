package node

import "github.com/paynode/paynode/node/api"

// UnpaidPath is where a node started with Options.BenchUnpaid takes jobs
// without payment.
const UnpaidPath = "/v1/agent-unpaid"

// unpaid is the agent API's payment check at UnpaidPath: api.Unpaid, which
// takes every job for free — no voucher check, no ledger write, no
// receipt signature — so the same node, API, hub and worker can be
// measured with and without payment. Never mount it on a node that serves
// real agents.
type unpaid = api.Unpaid
