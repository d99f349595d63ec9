package hub

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/metrics"
	"github.com/paynode/paynode/node/wire"
)

// Defaults of Options.
const (
	DefaultQueueSize         = 256
	DefaultMaxFrameBytes     = wire.DefaultMaxFrameBytes // a worker's frames are chunks: small
	DefaultHeartbeatInterval = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultRetryAfter        = time.Second
	// DefaultMaxOutputBytes bounds a job's output. The result that
	// carries it to the agent must stay below the 16 MiB frame agents
	// read (docs/protocol.md), with room for JSON escaping and the receipt.
	DefaultMaxOutputBytes = 8 << 20
)

// MaxAttempts is how many times a job runs at most: once, and again on
// another worker each time its worker is lost before sending any chunk.
const MaxAttempts = 3

// Options configure a Hub. The zero value of each field means its default.
type Options struct {
	// Token is the workers' shared secret: "Authorization: Bearer
	// <token>" on the upgrade, compared in constant time. Without the
	// right one (or with no Token set) the answer is HTTP 401 and no
	// websocket opens.
	Token string
	// QueueSize is how many jobs may wait per model when every worker
	// serving it is busy (default 256).
	QueueSize int
	// MaxFrameBytes bounds the frames read from workers (default 1 MiB).
	MaxFrameBytes int
	// HeartbeatInterval is the websocket ping interval; a worker silent
	// for two intervals (no pong, no frame) is lost (default 10 s), and
	// a new connection has two intervals to register.
	HeartbeatInterval time.Duration
	// WriteTimeout bounds each frame's write (default 10 s).
	WriteTimeout time.Duration
	// RetryAfter is the retry_after_ms hint of overloaded (default 1 s).
	RetryAfter time.Duration
	// MaxOutputBytes bounds one job's output (default 8 MiB); past it
	// the job ends in worker_failed and the worker gets cancel.
	MaxOutputBytes int
	Metrics        *metrics.Metrics // may be nil
	Log            *slog.Logger     // may be nil
}

// Hub is the worker hub and scheduler. Its methods are safe for
// concurrent use.
type Hub struct {
	opts     Options
	log      *slog.Logger
	met      *metrics.Metrics
	upgrader websocket.Upgrader
	taskIDs  atomic.Uint64 // the last task id given out
	order    atomic.Uint64 // the last job's place in line

	stop     chan struct{} // closed when Close gives up waiting: the jobs left end in shutting_down
	stopOnce sync.Once
	slots    sync.WaitGroup // slots reserved and not yet ended
	conns    sync.WaitGroup // remote connections' handlers

	mu sync.Mutex
	// guarded by mu:
	closed  bool
	runs    int           // Runs in progress
	idle    chan struct{} // closed when runs reaches 0, if Close waits for it
	workers []*worker     // in the order they registered: ties go to the earliest
	open    map[*conn]struct{}
	queues  map[string]*queue
}

// queue is one model's line and counts. All fields are guarded by Hub.mu.
type queue struct {
	model string
	// waiting counts the model's slots not running: reserved, queued,
	// or waiting to run again.
	waiting int
	running int
	tasks   []*task // the attempts waiting for a worker, first in line first
}

// New returns a hub with opts, defaults filled in.
func New(opts Options) *Hub {
	setDefault(&opts.QueueSize, DefaultQueueSize)
	setDefault(&opts.MaxFrameBytes, DefaultMaxFrameBytes)
	setDefault(&opts.HeartbeatInterval, DefaultHeartbeatInterval)
	setDefault(&opts.WriteTimeout, DefaultWriteTimeout)
	setDefault(&opts.RetryAfter, DefaultRetryAfter)
	setDefault(&opts.MaxOutputBytes, DefaultMaxOutputBytes)
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		opts:   opts,
		log:    log.With("subsystem", "hub"),
		met:    opts.Metrics,
		stop:   make(chan struct{}),
		open:   make(map[*conn]struct{}),
		queues: make(map[string]*queue),
	}
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Slot is a place for one job of a model, taken by Reserve. Exactly one
// of Run and Release ends it.
type Slot struct {
	h     *Hub
	model string
	state atomic.Int32
}

const (
	slotReserved int32 = iota
	slotRun
	slotReleased
)

// Reserve takes a place for one job of model before the job's payment is
// authorized, so the caller can refuse before reserving money. Its errors
// are *wire.Error: unknown_model (no connected worker serves the model),
// overloaded (its queue is full; RetryAfterMS set), shutting_down.
func (h *Hub) Reserve(model string) (*Slot, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		e := wire.NewError("", wire.CodeShuttingDown, "the node is shutting down")
		e.RetryAfterMS = uint64(h.opts.RetryAfter.Milliseconds())
		return nil, e
	}
	serving, free := h.capacityLocked(model)
	if serving == 0 {
		return nil, wire.NewError("", wire.CodeUnknownModel, "no worker serves model %q", model)
	}
	q := h.queueLocked(model)
	if q.waiting >= free+h.opts.QueueSize {
		e := wire.NewError("", wire.CodeOverloaded, "no worker has capacity for %s and %d jobs wait for it", model, q.waiting)
		e.RetryAfterMS = uint64(max(1, h.opts.RetryAfter.Milliseconds()))
		return nil, e
	}
	q.waiting++
	h.slots.Add(1)
	return &Slot{h: h, model: model}, nil
}

// Release gives the place back without running. It is idempotent and a
// no-op after Run.
func (s *Slot) Release() {
	if !s.state.CompareAndSwap(slotReserved, slotReleased) {
		return
	}
	h := s.h
	h.mu.Lock()
	h.queueLocked(s.model).waiting--
	h.mu.Unlock()
	h.slots.Done()
}

type loggerKey struct{}

// WithLogger returns ctx carrying the logger of the job a Slot runs: the
// hub's lines about the job then carry what the caller's logger carries
// (the agent's job id and channel, say) beside the hub's own task id and
// worker.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Run runs the job on the least-loaded worker serving the slot's model,
// waiting in the model's queue while all are busy. req.MaxTokens must be
// set (the bound the agent paid for). emit, which may be nil, gets each
// output delta in order; an error from it ends the job (cancelled). The
// ctx deadline is the job's timeout (the worker gets it as timeout_ms);
// its cancel is the agent's.
//
// Run returns the whole output and the worker's usage, or a *wire.Error:
// job_timeout, cancelled, worker_failed, upstream_error, unknown_model,
// overloaded (a worker refused the job), shutting_down, internal. The
// caller never charges an error. A job whose worker is lost before any
// chunk runs again elsewhere, MaxAttempts times at most (see the package
// doc); when the job ends on the node's side, its worker gets cancel.
func (s *Slot) Run(ctx context.Context, req wire.ChatRequest, emit func(delta string) error) (output string, usage wire.Usage, err error) {
	if !s.state.CompareAndSwap(slotReserved, slotRun) {
		return "", wire.Usage{}, wire.NewError("", wire.CodeInternal, "hub: a slot runs one job, once, and not after Release")
	}
	h := s.h
	h.mu.Lock()
	h.runs++
	if len(req.Messages) == 0 || req.MaxTokens == 0 {
		h.queueLocked(s.model).waiting--
		h.mu.Unlock()
		h.runEnded()
		return "", wire.Usage{}, wire.NewError("", wire.CodeInternal, "hub: a job needs messages and max_tokens")
	}
	h.mu.Unlock()
	defer h.runEnded()
	req.Stream = false // workers always stream; the flag is the agent's business
	deadline, _ := ctx.Deadline()
	order := h.order.Add(1)
	log := h.log
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		log = l
	}
	var out strings.Builder
	out.Grow(128) // a short answer's worth: most grow once at most
	for attempt := 1; ; attempt++ {
		t := &task{
			log:      log,
			id:       string(strconv.AppendUint([]byte("n-"), h.taskIDs.Add(1), 10)),
			ctx:      ctx,
			model:    s.model,
			req:      &req,
			deadline: deadline,
			order:    order,
			attempt:  attempt,
			wake:     make(chan struct{}, 1),
		}
		if e := h.enqueue(t); e != nil {
			return "", wire.Usage{}, e
		}
		usage, e := h.await(ctx, t, emit, &out)
		if e == errLost {
			continue
		}
		if e != nil {
			return "", wire.Usage{}, e
		}
		return out.String(), usage, nil
	}
}

// runEnded counts a Run out, and its slot.
func (h *Hub) runEnded() {
	h.mu.Lock()
	h.runs--
	if h.runs == 0 && h.idle != nil {
		close(h.idle)
		h.idle = nil
	}
	h.mu.Unlock()
	h.slots.Done()
}

// Queues returns, per model, the jobs waiting (not yet running), the jobs
// running and the workers serving it, by model name.
func (h *Hub) Queues() []metrics.ModelQueue {
	h.mu.Lock()
	defer h.mu.Unlock()
	byModel := make(map[string]*metrics.ModelQueue)
	get := func(model string) *metrics.ModelQueue {
		mq := byModel[model]
		if mq == nil {
			mq = &metrics.ModelQueue{Model: model}
			byModel[model] = mq
		}
		return mq
	}
	for _, w := range h.workers {
		for _, m := range w.models {
			mq := get(m)
			if w.capacity > 0 {
				mq.Workers++
			}
		}
	}
	for model, q := range h.queues {
		if q.waiting == 0 && q.running == 0 {
			if _, announced := byModel[model]; !announced {
				delete(h.queues, model) // nothing left of it
				continue
			}
		}
		mq := get(model)
		mq.Waiting, mq.Running = q.waiting, q.running
	}
	qs := make([]metrics.ModelQueue, 0, len(byModel))
	for _, mq := range byModel {
		qs = append(qs, *mq)
	}
	slices.SortFunc(qs, func(a, b metrics.ModelQueue) int { return strings.Compare(a.Model, b.Model) })
	return qs
}

// WorkerInfo describes one connected worker.
type WorkerInfo struct {
	Name     string
	Addr     string // the remote address, or "local"
	Models   []string
	Capacity int // 0: draining
	Running  int
	Since    time.Time // connected (registered) at
}

// Workers returns the connected workers in the order they registered.
func (h *Hub) Workers() []WorkerInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	ws := make([]WorkerInfo, len(h.workers))
	for i, w := range h.workers {
		ws[i] = WorkerInfo{
			Name:     w.name,
			Addr:     w.addr,
			Models:   slices.Clone(w.models),
			Capacity: w.capacity,
			Running:  w.running,
			Since:    w.since,
		}
	}
	return ws
}

// Close stops taking jobs (Reserve answers shutting_down, new workers HTTP
// 503), waits until every reserved job has ended or ctx ends, then ends
// the jobs left in shutting_down (their workers get cancel), and closes
// every worker connection with a close frame (1001). It returns an error
// when ctx ended first.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.log.Info("closing: waiting for the running jobs")

	drained := make(chan struct{})
	go func() {
		h.slots.Wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		h.stopOnce.Do(func() { close(h.stop) })
		err = fmt.Errorf("hub: close: jobs still running at the deadline end in shutting_down: %w", context.Cause(ctx))
		h.log.Warn("closing: jobs still running at the deadline end in shutting_down")
		h.waitRuns()
	}

	h.mu.Lock()
	workers := slices.Clone(h.workers)
	conns := make([]*conn, 0, len(h.open))
	for c := range h.open {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, w := range workers {
		if w.conn == nil {
			h.dropWorker(w)
		}
	}
	for _, c := range conns {
		c.closeWith(websocket.CloseGoingAway, string(wire.CodeShuttingDown))
	}
	h.conns.Wait()
	return err
}

// waitRuns waits, after stop, for the Runs in progress to end (they end
// promptly, telling their workers to cancel) before the connections
// close; a caller's emit that blocks is given WriteTimeout.
func (h *Hub) waitRuns() {
	h.mu.Lock()
	if h.runs == 0 {
		h.mu.Unlock()
		return
	}
	if h.idle == nil {
		h.idle = make(chan struct{})
	}
	idle := h.idle
	h.mu.Unlock()
	t := time.NewTimer(h.opts.WriteTimeout)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
		h.log.Warn("closing: Runs still in progress after the write timeout")
	}
}

// capacityLocked returns how many workers serve model with a capacity
// above 0, and their free capacity.
func (h *Hub) capacityLocked(model string) (serving, free int) {
	for _, w := range h.workers {
		if w.serves(model) {
			serving++
			free += max(0, w.capacity-w.running)
		}
	}
	return serving, free
}

func (h *Hub) queueLocked(model string) *queue {
	q := h.queues[model]
	if q == nil {
		q = &queue{model: model}
		h.queues[model] = q
	}
	return q
}

func (h *Hub) stopped() bool {
	select {
	case <-h.stop:
		return true
	default:
		return false
	}
}
