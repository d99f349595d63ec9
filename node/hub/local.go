package hub

import (
	"context"
	"slices"

	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/wire"
	workerclient "github.com/paynode/paynode/node/worker"
)

// AddLocal adds an in-process worker, as `paynode dev` and the builtin
// worker of `paynode serve` use: the same scheduling as a remote worker,
// without a websocket. remove takes it away like a lost connection: its
// running jobs are cancelled and run again elsewhere if they had produced
// nothing. capacity below 1 is 1.
func (h *Hub) AddLocal(name string, capacity int, models []string, exec executor.Executor) (remove func()) {
	w := &worker{
		name:     name,
		addr:     "local",
		exec:     exec,
		capacity: max(1, capacity),
		models:   slices.Clone(models),
	}
	if !h.addWorker(w) {
		return func() {}
	}
	return func() { h.dropWorker(w) }
}

// runLocal runs t on the local worker w in a goroutine of its own, as a
// remote worker would: streamed, with the job's deadline, and cancelled
// through t.cancel. Its context is the Run's, whose deadline is the job's
// (no timer of its own) and whose cancel ends the job here too.
func (h *Hub) runLocal(w *worker, t *task) {
	ctx, cancel := context.WithCancel(t.ctx)
	t.mu.Lock()
	t.cancel = cancel
	t.mu.Unlock()
	go func() {
		defer cancel()
		var seq uint64
		res, err := w.exec.Run(ctx, workerclient.Request(t.model, t.req), func(delta string) error {
			seq++
			return h.deliver(w, t, seq, delta)
		})
		e := &end{usage: wire.Usage{InputTokens: res.Usage.InputTokens, OutputTokens: res.Usage.OutputTokens}}
		if err != nil {
			e = failEnd(workerclient.FailFor(t.id, err))
		}
		h.endTask(w, t.id, e)
	}()
}
