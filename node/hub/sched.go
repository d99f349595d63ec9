package hub

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/wire"
)

// worker is a registered worker, remote (conn set) or local (exec set).
type worker struct {
	name  string
	addr  string
	since time.Time
	conn  *conn             // nil for a local worker
	exec  executor.Executor // a local worker's executor

	// guarded by Hub.mu:
	capacity  int
	models    []string
	running   int
	tasks     map[string]*task // the attempts it runs, by task id
	gone      bool
	cancelled recent // task ids it was told to cancel, whose late answers are dropped
}

// serves reports whether w takes new jobs of model. Hub.mu is held.
func (w *worker) serves(model string) bool {
	return !w.gone && w.capacity > 0 && slices.Contains(w.models, model)
}

// recent is a bounded set of task ids: the oldest leave first.
type recent struct {
	set   map[string]struct{}
	order []string
}

const maxRecent = 4096

func (r *recent) add(id string) {
	if r.set == nil {
		r.set = make(map[string]struct{})
	}
	r.set[id] = struct{}{}
	r.order = append(r.order, id)
	if len(r.order) > maxRecent {
		delete(r.set, r.order[0])
		r.order = slices.Delete(r.order, 0, 1)
	}
}

func (r *recent) has(id string) bool {
	_, ok := r.set[id]
	return ok
}

// task is one attempt of a job on one worker.
type task struct {
	log      *slog.Logger    // the job's logger: the caller's (WithLogger) or the hub's
	ctx      context.Context // the Run's: a local worker runs the task under it
	id       string          // the hub's job id on the worker connection
	model    string
	req      *wire.ChatRequest
	deadline time.Time // zero: none
	order    uint64    // the job's place in line, kept across attempts
	attempt  int
	wake     chan struct{} // capacity 1: something below changed

	// queued is guarded by Hub.mu.
	queued bool

	mu sync.Mutex
	// guarded by mu:
	worker   *worker // the worker it was dispatched to; nil while queued
	deltas   []string
	seq      uint64 // the last chunk's seq
	size     int    // output bytes so far
	streamed bool   // a chunk arrived
	end      *end
	cancel   context.CancelFunc // a local worker's job context
}

// end is how an attempt ended: done (err nil), failed, or lost.
type end struct {
	usage wire.Usage
	err   *wire.Error
	lost  bool
}

// debugOn reports whether l logs debug lines: the hub's lines of every
// job are debug, and their arguments cost allocations even when no line
// is written, so they are made only when it is.
func debugOn(l *slog.Logger) bool { return l.Enabled(context.Background(), slog.LevelDebug) }

// errLost is await's answer for an attempt to run again.
var errLost = &wire.Error{Code: wire.CodeWorkerFailed, Message: "worker lost"}

func (t *task) notify() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// finish ends the attempt with e unless it has ended already.
func (t *task) finish(e *end) {
	t.mu.Lock()
	if t.end == nil {
		t.end = e
	}
	t.mu.Unlock()
	t.notify()
}

// enqueue puts t in its model's line and dispatches what can run. A first
// attempt's slot is counted as waiting already; a re-run is counted again
// and goes to the head of the line.
func (h *Hub) enqueue(t *task) *wire.Error {
	h.mu.Lock()
	defer h.mu.Unlock()
	q := h.queueLocked(t.model)
	rerun := t.attempt > 1
	if rerun {
		q.waiting++
	}
	if h.stopped() {
		q.waiting--
		return wire.NewError("", wire.CodeShuttingDown, "the node is shutting down")
	}
	if e := h.unservedLocked(t); e != nil {
		q.waiting--
		return e
	}
	if rerun {
		q.tasks = slices.Insert(q.tasks, 0, t)
	} else {
		q.tasks = append(q.tasks, t)
	}
	t.queued = true
	h.dispatchLocked()
	return nil
}

// unservedLocked returns the error a task fails with when no worker with
// room serves its model, or nil.
func (h *Hub) unservedLocked(t *task) *wire.Error {
	if serving, _ := h.capacityLocked(t.model); serving > 0 {
		return nil
	}
	if t.attempt > 1 {
		return wire.NewError("", wire.CodeWorkerFailed, "the worker running the job was lost and no other serves %q", t.model)
	}
	return wire.NewError("", wire.CodeUnknownModel, "no worker serves model %q", t.model)
}

// dispatchLocked gives queued tasks to workers while any fits: the task
// first in line over all models whose model has a worker with room, to
// that model's least-loaded worker.
func (h *Hub) dispatchLocked() {
	for {
		var best *queue
		var to *worker
		for _, q := range h.queues {
			if len(q.tasks) == 0 || best != nil && q.tasks[0].order >= best.tasks[0].order {
				continue
			}
			if w := h.leastLoadedLocked(q.model); w != nil {
				best, to = q, w
			}
		}
		if best == nil {
			return
		}
		t := best.tasks[0]
		best.tasks[0] = nil
		best.tasks = best.tasks[1:]
		t.queued = false
		best.waiting--
		best.running++
		to.running++
		to.tasks[t.id] = t
		t.mu.Lock()
		t.worker = to
		t.mu.Unlock()
		t.notify()
	}
}

// leastLoadedLocked returns the worker serving model with room whose
// running/capacity is lowest, the earliest registered of equals; or nil.
func (h *Hub) leastLoadedLocked(model string) *worker {
	var best *worker
	for _, w := range h.workers {
		if w.running >= w.capacity || !w.serves(model) {
			continue
		}
		if best == nil || w.running*best.capacity < best.running*w.capacity {
			best = w
		}
	}
	return best
}

// removeLocked takes a dispatched task off its worker. It reports false
// when the task had left already.
func (h *Hub) removeLocked(w *worker, t *task) bool {
	if w.tasks[t.id] != t {
		return false
	}
	delete(w.tasks, t.id)
	w.running--
	h.queueLocked(t.model).running--
	return true
}

// failUnservedLocked ends the queued tasks of every model no worker with
// room serves any more.
func (h *Hub) failUnservedLocked() {
	for _, q := range h.queues {
		if len(q.tasks) == 0 {
			continue
		}
		if serving, _ := h.capacityLocked(q.model); serving > 0 {
			continue
		}
		for _, t := range q.tasks {
			t.queued = false
			q.waiting--
			t.finish(&end{err: h.unservedLocked(t)})
		}
		q.tasks = nil
	}
}

// await waits for the task's worker, starts it there, passes its output
// to emit and returns its end. errLost asks Run for another attempt.
func (h *Hub) await(ctx context.Context, t *task, emit func(string) error, out *strings.Builder) (wire.Usage, *wire.Error) {
	started := false
	var spare []string // the deltas' other backing array
	for {
		t.mu.Lock()
		w, deltas, e, streamed := t.worker, t.deltas, t.end, t.streamed
		t.deltas = spare
		t.mu.Unlock()
		if w != nil && !started && e == nil && ctx.Err() == nil && !h.stopped() {
			h.start(w, t)
			started = true
		}
		for _, d := range deltas {
			out.WriteString(d)
			if emit == nil {
				continue
			}
			if err := emit(d); err != nil {
				e := wire.NewError("", wire.CodeCancelled, "the job's output could not be delivered: %v", err)
				h.abort(t, started, e)
				return wire.Usage{}, e
			}
		}
		clear(deltas)
		spare = deltas[:0]
		switch {
		case e == nil:
		case e.lost && !streamed && t.attempt < MaxAttempts:
			t.log.Info("job's worker lost before any output; running it again", "task", t.id, "worker", w.name, "attempt", t.attempt)
			return wire.Usage{}, errLost
		case e.lost:
			return wire.Usage{}, wire.NewError("", wire.CodeWorkerFailed, "the worker running the job was lost")
		default:
			return e.usage, e.err
		}
		select {
		case <-t.wake:
		case <-ctx.Done():
			e := wire.NewError("", wire.CodeCancelled, "the job was cancelled")
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				e = wire.NewError("", wire.CodeJobTimeout, "the job ran past its time limit")
			}
			h.abort(t, started, e)
			return wire.Usage{}, e
		case <-h.stop:
			e := wire.NewError("", wire.CodeShuttingDown, "the node shut down before the job ended")
			h.abort(t, started, e)
			return wire.Usage{}, e
		}
	}
}

// start sends the task to its worker.
func (h *Hub) start(w *worker, t *task) {
	if debugOn(t.log) {
		t.log.Debug("job assigned", "task", t.id, "worker", w.name, "model", t.model, "attempt", t.attempt)
	}
	if w.conn != nil {
		w.conn.assign(t)
		return
	}
	h.runLocal(w, t)
}

// abort ends a task on the node's side: out of the queue, or off its
// worker, which gets cancel if the task had started there.
func (h *Hub) abort(t *task, started bool, e *wire.Error) {
	h.mu.Lock()
	var w *worker
	if t.queued {
		q := h.queueLocked(t.model)
		if i := slices.Index(q.tasks, t); i >= 0 {
			q.tasks = slices.Delete(q.tasks, i, i+1)
		}
		t.queued = false
		q.waiting--
	} else {
		t.mu.Lock()
		w = t.worker
		t.mu.Unlock()
		if w != nil && h.removeLocked(w, t) {
			if started {
				w.cancelled.add(t.id)
			}
			h.dispatchLocked()
		} else {
			w = nil
		}
	}
	h.mu.Unlock()
	t.finish(&end{err: e})
	if w != nil && started {
		t.log.Debug("job ended on the node's side; cancelling it", "task", t.id, "worker", w.name, "code", e.Code)
		h.cancel(w, t)
	}
}

// cancel tells w to stop t.
func (h *Hub) cancel(w *worker, t *task) {
	if w.conn != nil {
		w.conn.send(&wire.Cancel{ID: t.id})
		return
	}
	t.mu.Lock()
	cancel := t.cancel
	t.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// task returns the task w runs under id, or nil.
func (h *Hub) task(w *worker, id string) *task {
	h.mu.Lock()
	defer h.mu.Unlock()
	return w.tasks[id]
}

// deliver takes a chunk of t from w. It returns an error when the task
// is over (the chunk is dropped) or the chunk breaks the rules (the task
// ends in worker_failed and w gets cancel).
func (h *Hub) deliver(w *worker, t *task, seq uint64, delta string) error {
	t.mu.Lock()
	if t.end != nil || t.worker != w {
		t.mu.Unlock()
		return errTaskOver
	}
	var bad *wire.Error
	switch {
	case seq != t.seq+1:
		bad = wire.NewError("", wire.CodeWorkerFailed, "the worker sent chunk %d after chunk %d", seq, t.seq)
	case t.size+len(delta) > h.opts.MaxOutputBytes:
		bad = wire.NewError("", wire.CodeWorkerFailed, "the output passed %d bytes", h.opts.MaxOutputBytes)
	default:
		t.seq = seq
		t.size += len(delta)
		t.streamed = true
		if t.deltas == nil {
			t.deltas = make([]string, 0, 16) // a burst of tokens before Run takes them
		}
		t.deltas = append(t.deltas, delta)
	}
	t.mu.Unlock()
	if bad != nil {
		t.log.Warn("job failed: the worker broke the protocol", "task", t.id, "worker", w.name, "err", bad.Message)
		h.abort(t, true, bad)
		return bad
	}
	t.notify()
	return nil
}

var errTaskOver = errors.New("hub: the job is over")

// endTask ends the task w runs under id with e. It reports false when w
// runs no such task.
func (h *Hub) endTask(w *worker, id string, e *end) bool {
	h.mu.Lock()
	t := w.tasks[id]
	if t != nil {
		h.removeLocked(w, t)
		h.dispatchLocked()
	}
	h.mu.Unlock()
	if t == nil {
		return false
	}
	switch {
	case !debugOn(t.log):
	case e.err != nil:
		t.log.Debug("job failed on the worker", "task", id, "worker", w.name, "code", e.err.Code, "message", e.err.Message)
	default:
		t.log.Debug("job done", "task", id, "worker", w.name, "input_tokens", e.usage.InputTokens, "output_tokens", e.usage.OutputTokens)
	}
	t.finish(e)
	return true
}

// wasCancelled reports whether id is a task w was told to cancel (its
// late answers are dropped without a word).
func (h *Hub) wasCancelled(w *worker, id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return w.cancelled.has(id)
}

// failCode maps a worker's fail code onto what Run returns: the codes a
// worker may send pass, any other is worker_failed.
func failCode(c wire.Code) wire.Code {
	switch c {
	case wire.CodeUpstreamError, wire.CodeUnknownModel, wire.CodeOverloaded,
		wire.CodeJobTimeout, wire.CodeCancelled, wire.CodeWorkerFailed:
		return c
	}
	return wire.CodeWorkerFailed
}

// failEnd is the end of a task its worker failed with f: the worker's
// retryable flag, when it sent one, overrides the code's default.
func failEnd(f *wire.Fail) *end {
	e := wire.NewError("", failCode(f.Code), "%s", f.Message)
	if f.Retryable != nil {
		e.Retryable = *f.Retryable
	}
	return &end{err: e}
}

// addWorker registers w; it reports false when the hub is closed.
func (h *Hub) addWorker(w *worker) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	w.since = time.Now()
	w.tasks = make(map[string]*task)
	h.workers = append(h.workers, w)
	h.dispatchLocked()
	if w.conn != nil { // the metric counts worker connections
		h.met.WorkerConnected(1)
	}
	h.log.Info("worker registered", "worker", w.name, "addr", w.addr, "capacity", w.capacity, "models", w.models)
	return true
}

// setModels replaces w's announcement.
func (h *Hub) setModels(w *worker, capacity int, models []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w.capacity, w.models = capacity, models
	h.failUnservedLocked()
	h.dispatchLocked()
	h.log.Info("worker announced", "worker", w.name, "capacity", capacity, "models", models)
}

// dropWorker unregisters w. Its tasks end as lost: Run runs them again
// elsewhere when they had sent nothing.
func (h *Hub) dropWorker(w *worker) {
	h.mu.Lock()
	if w.gone {
		h.mu.Unlock()
		return
	}
	w.gone = true
	h.workers = slices.DeleteFunc(h.workers, func(x *worker) bool { return x == w })
	lost := make([]*task, 0, len(w.tasks))
	for _, t := range w.tasks {
		h.removeLocked(w, t)
		lost = append(lost, t)
	}
	h.failUnservedLocked()
	h.dispatchLocked()
	h.mu.Unlock()

	if w.conn != nil {
		h.met.WorkerConnected(-1)
	}
	if len(lost) > 0 {
		h.met.WorkerLost()
		h.log.Warn("worker lost with jobs", "worker", w.name, "jobs", len(lost))
	} else {
		h.log.Info("worker gone", "worker", w.name)
	}
	for _, t := range lost {
		t.finish(&end{lost: true})
		if w.conn == nil {
			h.cancel(w, t)
		}
	}
}
