// Package wire holds the messages agents, workers and the node exchange
// over websocket, their JSON encoding and its checks, the agent's
// authentication and the receipt checks an agent makes. The node and the
// agent SDK both import it, so it imports nothing of node/ and nothing
// beyond the standard library, go-ethereum's common and crypto, and
// contracts. docs/protocol.md is the full specification, with an example of
// every message and the table of error codes.
//
// Every frame is one websocket text frame holding one JSON object with a
// "type" and, where it concerns a job, the job's "id". Amounts are decimal
// strings of base units (Amount); hashes, addresses and signatures are
// 0x-prefixed hex of their exact length.
//
// # The agent connection, /v1/agent
//
//	agent                                   node
//	  ── websocket upgrade ───────────────────▶
//	  ◀─────────────── challenge {nonce, provider, chain_id, contract, limits}
//	  hello {signer, signature} ─────────────▶   EIP-712 AgentAuth{provider, nonce}
//	  ◀──────────────────────── ready {signer}   (or error auth_failed, then close)
//
//	  submit {id, model|offer, channel_id,
//	          request, voucher} ─────────────▶   payment check, durable reservation
//	  ◀──────────── accepted {id, max_cost, …}   (or error {id, code}: nothing reserved)
//	  ◀──────────── chunk {id, seq, delta} …     (only when request.stream)
//	  ◀──── result {id, output, usage, cost,     (or error {id, code}: not charged)
//	                receipt}
//
//	  cancel {id} ───────────────────────────▶
//	  ◀─────────────── error {id, "cancelled"}   (or unknown_job if it had ended)
//	  sync {channel_id} ─────────────────────▶
//	  ◀────── channel {deposit, charged, reserved, claimed, voucher, …}
//	  ping {nonce} ──────────────────────────▶
//	  ◀──────────────────────── pong {nonce}
//
// Jobs are pipelined: an agent may have up to limits.max_jobs_in_flight
// jobs running at once on one connection, and their messages interleave.
// Every submit ends in exactly one of: an error (refused; the job id is
// not spent), a replayed result (the id completed before), or accepted
// followed by chunks and exactly one result or error.
//
// # The worker connection, /v1/worker
//
// The upgrade request carries the worker token as "Authorization: Bearer
// <token>"; without the right one the node answers HTTP 401 and no
// websocket opens.
//
//	worker                                  node
//	  register {name, capacity, models} ─────▶
//	  ◀──────────────── registered {max_frame_bytes}
//	  ◀──────────────── assign {id, model, request, timeout_ms}
//	  chunk {id, seq, delta} … ──────────────▶
//	  done {id, usage} ──────────────────────▶   or fail {id, code, message}
//	  ◀──────────────── cancel {id}
//	  models {capacity, models} ─────────────▶   replaces the announcement
//
// On the worker connection "id" is the node's job id, not the agent's.
//
// # Decoding
//
// A Decoder reads one direction (AgentToNode, NodeToAgent, WorkerToNode,
// NodeToWorker). It bounds the frame size, reads "type", refuses types
// that direction does not carry, refuses unknown fields where the node
// reads (Direction.Strict), checks every field and returns the concrete
// message; or an *Error with a stable code, ready to send back.
package wire
