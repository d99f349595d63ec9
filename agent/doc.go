// Package agent is paynode's agent SDK: what an AI agent needs to find a
// provider on chain, pay it per job within a budget, and check what it was
// charged. It imports only contracts and node/wire of this module (see
// docs/protocol.md for the wire protocol it speaks).
//
// The pieces, in the order an agent uses them:
//
//   - Discovery reads offers from OfferRegistry alone, page by page;
//     Filter selects them by model, asset, providers and price (per part,
//     or the max cost of a ReferenceJob), and a Chooser picks one —
//     Cheapest by default. An offer carries its node's websocket endpoint.
//   - Channels opens a payment channel from a funding key (the payer),
//     naming a separate signer key that the agent holds: ETH as value, an
//     ERC-20 with an EIP-2612 permit where the token has one, else approve
//     and open. Channel ids come from a salt (ChannelID), so they are known
//     before the open is mined. It tops up (by hand, or by a TopUpPolicy),
//     reads a channel's state, and requests and finalizes the withdrawal
//     that refunds deposit − claimed.
//   - Client connects to an offer's endpoint, checks that the node's
//     challenge names the offer's provider and the deployment's chain and
//     contract, and answers it with the signer key. Submit pays for one
//     job: it prices the job at its max cost (the offer's price for
//     wire.ChatRequest.InputTokenBound and max_tokens), checks the Budget,
//     and signs a voucher for the costs of the receipts it holds plus the
//     max cost of every job in flight, this one included. Jobs are
//     pipelined on one connection; a receipt above a gap in seq is taken
//     only while the jobs in flight can fill the gap (docs/protocol.md,
//     "Receipts above a gap"), so a provider cannot have the agent sign
//     for charges it cannot explain. A client short of receipts (lost
//     with a crash or an old store, or charged by another client) reads
//     the node's account of the channel before its first job and after
//     a voucher_too_low, and adopts its charge only within the highest
//     voucher it signed or its receipts plus its gap credit
//     (docs/protocol.md, "Resync"); beyond that the provider is
//     untrusted (CodeUnaccountedCharge).
//   - Every receipt is verified: the provider's signature, the channel,
//     the job id, the output's hash, a cost within the job's max cost and
//     the offer's price, and a cumulative_charged that follows the
//     receipts before and after it by seq (they may come out of order).
//     A provider whose receipts do not add up is marked untrusted and paid
//     no more (CodeUntrusted). Config.VerifyReceiptsEvery lets the client
//     verify the signature on fewer receipts, every other check kept,
//     within a bound docs/protocol.md states ("Verifying receipts in
//     batches"). A Store appends each receipt, fsynced, to a
//     JSON-lines file per channel, for audit, and records each higher
//     voucher before it is sent; Dial reads them back, so the charged
//     state and what was promised survive a restart.
//   - Budget is the mandate: allowed providers and assets, and per asset a
//     per-job max, a total cap and a rolling per-hour cap. A job over
//     budget is refused before anything is signed, with an *Error whose
//     Code names the limit.
//   - On a dropped connection the Client dials again with backoff and
//     submits its jobs in flight again under the same ids; the node's
//     idempotency replays what it finished, so nothing is paid twice. A
//     retryable error (overloaded, too_many_jobs, shutting_down, …) is
//     retried with backoff, never sooner than the node's retry_after_ms;
//     the others come back as *Error with the wire code.
//   - Payer ties these together for an agent that pays for many models:
//     per model it chooses the offer, finds the payer's open channel to
//     that provider in that asset naming the signer (refusing one too
//     small with CodeChannelTooSmall rather than replacing it), or opens
//     one after Probe has checked the node answers as the offer's
//     provider, and keeps one Client per offer.
//
// Two packages build on the SDK: agent/proxy, an OpenAI-compatible HTTP
// server that pays for each request, and agent/cli, `paynode agent`.
//
// Amounts are *big.Int base units everywhere. Asset.Parse and Asset.Format
// read and print amounts for people ("0.01ETH", "2.5 TUSD", or a plain
// integer of base units), exactly.
//
// Errors are *Error, with a stable Code: the SDK's own (CodeNoOffer,
// CodeBudgetTotal, CodeBadReceipt, …) or the node's wire code, whose
// *wire.Error the *Error wraps. CodeOf reads the code of any error.
package agent
