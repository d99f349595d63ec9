// Package worker is the remote worker's client: the process that runs jobs
// on a GPU box (or anywhere) and dials into a node's worker hub at
// /v1/worker, so that a provider's compute grows without touching the
// node's payment core.
//
// A Worker dials the node with the shared worker token, announces its name,
// capacity and models, and runs each `assign` on its executor.Executor,
// up to Capacity at once. It always streams: every output delta goes to the
// node as a `chunk` (seq 1, 2, 3…), and the job ends with `done` and the
// executor's token usage, or `fail` with a wire code (FailFor maps the
// executor's codes). A `cancel` from the node cancels the job's context;
// the job's `timeout_ms` is its deadline.
//
// When the connection drops, the worker cancels its jobs (the node re-runs
// or fails them) and dials again with a jittered exponential backoff. When
// Run's context ends, the worker drains: it announces capacity 0, lets its
// running jobs finish for up to DrainTimeout, then closes the connection.
// A token the node refuses (HTTP 401) or a registration the node refuses
// ends Run with an error, since dialling again cannot fix it.
//
// docs/protocol.md ("The worker connection") is the protocol; docs/workers.md
// describes running workers.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/node/wire/wsconn"
)

// Defaults of the Worker's tuning fields.
const (
	DefaultMinBackoff   = 250 * time.Millisecond
	DefaultMaxBackoff   = 10 * time.Second
	DefaultDrainTimeout = 10 * time.Second
	DefaultReadTimeout  = 30 * time.Second // the node pings every 10 s by default
	DefaultWriteTimeout = 10 * time.Second
)

// ErrBadToken is what Run returns (wrapped) when the node answers the
// upgrade with HTTP 401: the worker token is missing or not the node's.
var ErrBadToken = errors.New("the node refused the worker token (HTTP 401): check the token against the node's workers.token_file")

// ErrRefused is what Run returns (wrapped) when the node refuses the
// registration itself (a bad name, capacity or model list).
var ErrRefused = errors.New("the node refused the registration")

// Worker is one remote worker. Set the fields, then call Run. URL, Name,
// Models and Executor are required; the zero value of every other field
// means its default.
type Worker struct {
	URL      string // ws(s)://host:port/v1/worker
	Token    string // the node's worker token, sent as "Authorization: Bearer <token>"
	Name     string // for the node's logs and metrics, 1 to 128 bytes
	Capacity int    // jobs run at once over all models; 0 means 1
	Models   []string
	Executor executor.Executor
	Log      *slog.Logger

	// MinBackoff is the first wait before dialling again after a lost
	// or failed connection; each failure doubles it up to MaxBackoff,
	// and each wait is jittered (between half and all of it). A
	// connection that registered resets it.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// DrainTimeout bounds how long Run lets running jobs finish once
	// its context ends; the jobs still running then are cancelled and
	// the node re-runs or fails them.
	DrainTimeout time.Duration
	// ReadTimeout is how long the connection may stay silent (no frame,
	// no ping from the node) before the worker counts it lost.
	ReadTimeout time.Duration
	// WriteTimeout bounds each frame's write.
	WriteTimeout time.Duration
	// Dialer dials the node; nil means a dialer with a 10 s handshake
	// timeout and the environment's proxy.
	Dialer *websocket.Dialer
}

// permanent marks an error that dialling again cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Run serves jobs until ctx ends: it dials, registers, runs assigns
// concurrently up to Capacity, and dials again with backoff whenever the
// connection is lost. It returns nil once ctx has ended and the worker has
// drained, or an error that retrying cannot fix: a bad configuration, a
// token the node refuses (ErrBadToken), a registration it refuses
// (ErrRefused).
func (w *Worker) Run(ctx context.Context) error {
	if err := w.check(); err != nil {
		return err
	}
	log := w.logger()
	backoff := w.minBackoff()
	for {
		registered, err := w.session(ctx, log)
		if ctx.Err() != nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			log.Error("worker stopped", "err", p.err)
			return fmt.Errorf("worker %s: %w", w.URL, p.err)
		}
		if registered {
			backoff = w.minBackoff()
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		log.Warn("connection to the node lost; dialling again", "err", err, "in", wait)
		backoff = min(2*backoff, w.maxBackoff())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (w *Worker) check() error {
	reg := &wire.Register{Name: w.Name, Capacity: uint64(w.capacity()), Models: w.Models}
	switch {
	case w.URL == "":
		return errors.New("worker: no node URL")
	case w.Executor == nil:
		return errors.New("worker: no executor")
	case w.Capacity < 0:
		return fmt.Errorf("worker: capacity %d, want at least 1", w.Capacity)
	}
	if _, err := wire.Encode(reg); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}

func (w *Worker) logger() *slog.Logger {
	l := w.Log
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return l.With("worker", w.Name)
}

func (w *Worker) capacity() int {
	if w.Capacity == 0 {
		return 1
	}
	return w.Capacity
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (w *Worker) minBackoff() time.Duration   { return orDefault(w.MinBackoff, DefaultMinBackoff) }
func (w *Worker) maxBackoff() time.Duration   { return orDefault(w.MaxBackoff, DefaultMaxBackoff) }
func (w *Worker) drainTimeout() time.Duration { return orDefault(w.DrainTimeout, DefaultDrainTimeout) }
func (w *Worker) readTimeout() time.Duration  { return orDefault(w.ReadTimeout, DefaultReadTimeout) }
func (w *Worker) writeTimeout() time.Duration { return orDefault(w.WriteTimeout, DefaultWriteTimeout) }

func (w *Worker) dialer() *websocket.Dialer {
	if w.Dialer != nil {
		return w.Dialer
	}
	return &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 10 * time.Second}
}

// session is one connection: dial, register, serve until the connection
// is lost or ctx ends. registered reports whether the node accepted the
// registration (the backoff then starts over).
func (w *Worker) session(ctx context.Context, log *slog.Logger) (registered bool, err error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+w.Token)
	dialer, netConn := wsconn.Dialer(w.dialer())
	ws, resp, err := dialer.DialContext(ctx, w.URL, h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return false, permanent{ErrBadToken}
		}
		if resp != nil {
			return false, fmt.Errorf("dial: %w (HTTP %s)", err, resp.Status)
		}
		return false, fmt.Errorf("dial: %w", err)
	}
	s := &session{
		w: w, ws: ws, out: wsconn.NewWriter(ws, netConn(), w.writeTimeout()),
		log: log, running: make(map[string]context.CancelFunc),
	}
	defer ws.Close()
	ws.SetReadLimit(wire.DefaultMaxNodeFrameBytes)
	unwatch := context.AfterFunc(ctx, func() { ws.Close() }) // a node slow to answer the register
	err = s.register()
	if !unwatch() || err != nil {
		return false, err
	}
	log.Info("registered with the node", "url", w.URL, "capacity", w.capacity(), "models", w.Models)

	lost := make(chan error, 1)
	go func() { lost <- s.read() }()
	select {
	case err := <-lost:
		s.cancelAll()
		s.jobs.Wait()
		return true, err
	case <-ctx.Done():
		s.drain()
		<-lost
		return true, nil
	}
}

// session is one registered connection and its jobs.
type session struct {
	w   *Worker
	ws  *websocket.Conn
	out *wsconn.Writer // the jobs' frames sent at the same moment go out together
	log *slog.Logger

	mu      sync.Mutex
	running map[string]context.CancelFunc // guarded by mu: the jobs running, by the node's id
	jobs    sync.WaitGroup                // the job goroutines
}

// send writes one message; an error means the connection is gone.
func (s *session) send(m wire.Message) error {
	b, err := wire.Encode(m)
	if err != nil {
		return err
	}
	return s.out.Write(b)
}

func (s *session) register() error {
	reg := &wire.Register{Name: s.w.Name, Capacity: uint64(s.w.capacity()), Models: s.w.Models}
	if err := s.send(reg); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	s.ws.SetReadDeadline(time.Now().Add(s.w.readTimeout()))
	m, err := s.next()
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	switch m := m.(type) {
	case *wire.Registered:
		return nil
	case *wire.Error:
		if m.Code == wire.CodeShuttingDown || m.Retryable {
			return fmt.Errorf("register: %w", m)
		}
		return permanent{fmt.Errorf("%w: %w", ErrRefused, m)}
	}
	return fmt.Errorf("register: the node answered %q, want %q", m.Type(), wire.TypeRegistered)
}

// next reads the next message the worker understands, skipping (with a
// log line) the frames it cannot decode: a newer node may send types and
// fields this worker does not know.
func (s *session) next() (wire.Message, error) {
	for {
		typ, frame, err := s.ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		s.ws.SetReadDeadline(time.Now().Add(s.w.readTimeout()))
		if typ != websocket.TextMessage {
			s.log.Warn("binary frame from the node ignored")
			continue
		}
		m, err := wire.Decode(wire.NodeToWorker, frame)
		if err != nil {
			s.log.Warn("frame from the node ignored", "err", err)
			continue
		}
		return m, nil
	}
}

// read serves the node's messages until the connection fails.
func (s *session) read() error {
	s.ws.SetPingHandler(func(data string) error {
		s.ws.SetReadDeadline(time.Now().Add(s.w.readTimeout()))
		err := s.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(s.w.writeTimeout()))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		m, err := s.next()
		if err != nil {
			return err
		}
		switch m := m.(type) {
		case *wire.Assign:
			s.start(m)
		case *wire.Cancel:
			s.mu.Lock()
			cancel := s.running[m.ID]
			s.mu.Unlock()
			if cancel != nil {
				s.log.Debug("job cancelled by the node", "job", m.ID)
				cancel()
			}
		case *wire.Error:
			s.log.Warn("the node reports an error", "job", m.ID, "code", m.Code, "message", m.Message)
		case *wire.Pong, *wire.Registered:
		}
	}
}

// start runs an assigned job in its own goroutine.
func (s *session) start(a *wire.Assign) {
	s.mu.Lock()
	if _, dup := s.running[a.ID]; dup {
		s.mu.Unlock()
		s.log.Warn("the node assigned a job id already running; ignored", "job", a.ID)
		return
	}
	if len(s.running) >= s.w.capacity() {
		s.mu.Unlock()
		s.log.Warn("assign beyond capacity refused", "job", a.ID)
		s.send(&wire.Fail{ID: a.ID, Code: wire.CodeOverloaded, Message: fmt.Sprintf("worker at its capacity of %d jobs", s.w.capacity())})
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	if a.TimeoutMS > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(min(a.TimeoutMS, math.MaxInt64/uint64(time.Millisecond)))*time.Millisecond)
	}
	s.running[a.ID] = cancel
	s.jobs.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.jobs.Done()
		defer cancel()
		s.run(ctx, a)
	}()
}

func (s *session) run(ctx context.Context, a *wire.Assign) {
	var seq uint64
	res, err := s.w.Executor.Run(ctx, Request(a.Model, &a.Request), func(delta string) error {
		seq++
		return s.send(&wire.Chunk{ID: a.ID, Seq: seq, Delta: delta})
	})
	// The job leaves the running set before its end goes out: the node
	// frees its place when it reads the end and may assign at once.
	s.mu.Lock()
	delete(s.running, a.ID)
	s.mu.Unlock()
	var end wire.Message
	if err != nil {
		end = FailFor(a.ID, err)
		s.log.Debug("job failed", "job", a.ID, "err", err)
	} else {
		end = &wire.Done{ID: a.ID, Usage: wire.Usage{InputTokens: res.Usage.InputTokens, OutputTokens: res.Usage.OutputTokens}}
	}
	if err := s.send(end); err != nil {
		s.log.Debug("job's end not sent", "job", a.ID, "err", err)
	}
}

func (s *session) cancelAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.running {
		cancel()
	}
}

// drain announces capacity 0, lets the running jobs finish for up to
// DrainTimeout, then closes the connection and cancels the rest.
func (s *session) drain() {
	if err := s.send(&wire.Models{Capacity: 0, Models: s.w.Models}); err == nil {
		s.log.Info("draining", "timeout", s.w.drainTimeout())
		done := make(chan struct{})
		go func() { s.jobs.Wait(); close(done) }()
		t := time.NewTimer(s.w.drainTimeout())
		select {
		case <-done:
		case <-t.C:
			s.log.Warn("jobs still running at the drain timeout are cancelled")
		}
		t.Stop()
	}
	// Close before cancelling: a job cut short by the worker's shutdown
	// must not reach the agent as "cancelled", which would say the agent
	// asked for it; the node sees a lost worker and runs the job again
	// elsewhere when it had sent nothing.
	s.out.Do(func() ([]byte, bool) {
		s.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "worker stopping"),
			time.Now().Add(s.w.writeTimeout()))
		s.ws.Close()
		return nil, false
	})
	s.cancelAll()
	s.jobs.Wait()
}

// Request maps an assigned job onto the executor's request. A worker
// always streams: the node assembles the chunks.
func Request(model string, r *wire.ChatRequest) executor.ChatRequest {
	msgs := make([]executor.Message, len(r.Messages))
	for i, m := range r.Messages {
		msgs[i] = executor.Message{Role: m.Role, Content: m.Content}
	}
	var temp *float64
	if r.Temperature != nil {
		t := *r.Temperature
		temp = &t
	}
	return executor.ChatRequest{
		Model:       model,
		Messages:    msgs,
		MaxTokens:   int(min(r.MaxTokens, math.MaxInt32)),
		Temperature: temp,
		Stream:      true,
	}
}

// FailFor returns the `fail` message that ends job id with err, an
// executor's error: its code mapped onto the codes a worker sends.
//
//	executor code        wire code
//	upstream_error       upstream_error
//	upstream_rejected    upstream_error (the message says the server refused)
//	job_timeout          job_timeout
//	cancelled            cancelled
//	bad_request, other   worker_failed (the node validated the request; this
//	                     worker cannot run it, another may)
//
// An upstream failure carries the executor's retryable flag: a request
// the backend refused is not retryable, although upstream_error is by
// default.
func FailFor(id string, err error) *wire.Fail {
	code := wire.CodeWorkerFailed
	var retryable *bool
	switch executor.CodeOf(err) {
	case executor.CodeUpstreamError, executor.CodeUpstreamRejected:
		code = wire.CodeUpstreamError
		r := executor.IsRetryable(err)
		retryable = &r
	case executor.CodeJobTimeout:
		code = wire.CodeJobTimeout
	case executor.CodeCancelled:
		code = wire.CodeCancelled
	}
	msg := err.Error()
	if len(msg) > maxFailMessage {
		msg = strings.ToValidUTF8(msg[:maxFailMessage], "")
	}
	return &wire.Fail{ID: id, Code: code, Message: msg, Retryable: retryable}
}

// maxFailMessage bounds a fail's message: it is for logs, not a dump.
const maxFailMessage = 1024
