// Package hub is the node's worker hub and scheduler: it takes the workers
// that dial in at /v1/worker (and the in-process ones added with
// AddLocal), keeps a bounded FIFO queue per model, and runs each paid job
// on the least-loaded worker that serves its model.
//
// # A job's path
//
//	node/api                          hub                              worker
//	  Reserve(model) ───────────────▶ a place in the model's line,
//	                                  or unknown_model / overloaded /
//	                                  shutting_down (nothing reserved yet)
//	  (the payment is authorized)
//	  slot.Run(ctx, req, emit) ─────▶ queue (FIFO per model) until a
//	                                  worker serving the model has room;
//	                                  least loaded (running/capacity) first
//	                                  ── assign {id, model, request, timeout_ms} ─▶
//	  emit(delta) ◀────────────────── ◀──────────────── chunk {id, seq, delta} …
//	  output, usage ◀──────────────── ◀──────────────── done {id, usage}
//	  *wire.Error ◀────────────────── ◀──────────────── fail {id, code, message}
//	  ctx deadline / cancel ────────▶ ── cancel {id} ──────────────────────────▶
//
// Or slot.Release() gives the place back when the payment was refused.
// The ids on the worker connection are the hub's own ("n-1", "n-2", …; a
// fresh one for each attempt), never the agent's.
//
// # The re-run rule
//
// A worker lost mid-job (its connection dropped, its heartbeat missed, a
// local worker removed) ends the job's attempt. If the worker had sent no
// chunk of it yet, nothing reached the agent, so the job goes back to the
// head of its model's queue and runs again on another worker: at most
// MaxAttempts attempts in all. Once a chunk has arrived, the job ends in
// worker_failed (the agent has seen output that a re-run might not
// repeat). A job never ends silently: every Run returns exactly once, with
// the output and usage or a *wire.Error, and the caller charges only the
// former.
//
// # Counting
//
// Reserve admits a job while the model's jobs not yet running (reserved,
// queued, or waiting to run again) number fewer than the free capacity of
// the workers serving it plus Options.QueueSize; past that it answers
// overloaded with retry_after_ms. A worker that announces capacity 0
// (drains) or goes away gets no new jobs; when no worker serves a model
// any more (all gone, drained, or announcing other models), the jobs
// queued for it end at once in unknown_model (worker_failed for a job
// that was running when its worker was lost), rather than wait for their
// timeout.
//
// # Protocol
//
// docs/protocol.md ("The worker connection") is the protocol. The hub
// reads every frame with a bound (Options.MaxFrameBytes): a larger frame is
// discarded and answered frame_too_large, and one beyond 16 times the
// bound closes the connection with code 1009. Chunks must come in seq
// order and a job's output must stay within Options.MaxOutputBytes, or the
// job ends in worker_failed and the worker gets cancel. A chunk, done or
// fail for a job the worker does not hold is answered unknown_job, except
// the late answers to a cancel, which are dropped.
package hub
