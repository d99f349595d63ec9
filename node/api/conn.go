package api

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/node/wire/wsconn"
)

// Bounds of a connection's outgoing queue: an agent that lets more pile up
// is too slow to serve and is disconnected (its jobs run on).
const (
	maxQueueFrames = 8192
	maxQueueBytes  = 64 << 20
)

// closeGrace is how long the server waits for the agent's answer to its
// close frame before it drops the connection.
const closeGrace = time.Second

// The handshake's states.
const (
	handshaking int32 = iota
	authenticated
	authFailed
)

// conn is one agent connection. Its read loop (serve) reads and handles
// the agent's frames; submits are handled in their own goroutines; every
// frame out goes through queue to the one writer goroutine.
type conn struct {
	s     *Server
	ws    *websocket.Conn
	nc    *wsconn.Conn // ws's network connection: frames drained together go out in one write
	nonce common.Hash
	queue outQueue

	state    atomic.Int32 // handshaking, authenticated, authFailed
	signer   common.Address
	lastRead atomic.Int64 // unix nanoseconds of the agent's last frame

	readerDone chan struct{}
	writerDone chan struct{}
	served     chan struct{} // closed once serve has cleaned up
	syncing    chan struct{} // holds a token while a sync is answered (see startSync)

	mu sync.Mutex
	// guarded by mu:
	closed bool                // the read loop has ended; jobs no longer attach
	jobs   map[string]*connJob // the jobs submitted on this connection and not ended, by job id
}

// connJob is a job in flight on a connection: from its submit until its
// end is queued.
type connJob struct {
	job       *job // nil until the job is accepted or attached to
	cancelled bool // a cancel came before job was set
}

func newConn(s *Server, ws *websocket.Conn, nc *wsconn.Conn) *conn {
	c := &conn{
		s: s, ws: ws, nc: nc, nonce: wire.NewNonce(),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
		served:     make(chan struct{}),
		syncing:    make(chan struct{}, 1),
		jobs:       map[string]*connJob{},
	}
	c.queue.wake = make(chan struct{}, 1)
	c.lastRead.Store(s.now().UnixNano())
	return c
}

func (c *conn) authed() bool { return c.state.Load() == authenticated }

// serveClosed serves a connection that was closed before it began.
func (c *conn) serveClosed() {
	go c.writeLoop()
	c.drain()
	close(c.readerDone)
	<-c.writerDone
	close(c.served)
}

// serve runs the connection until it closes.
func (c *conn) serve() {
	s := c.s
	go c.writeLoop()
	c.send(&wire.Challenge{
		Nonce: c.nonce, Provider: s.opts.Provider,
		ChainID: s.opts.Deployment.ChainID, Contract: s.opts.Deployment.PaymentChannels,
		Limits: s.limits,
	})
	handshake := time.AfterFunc(s.opts.Limits.HandshakeTimeout, func() {
		if c.state.CompareAndSwap(handshaking, authFailed) {
			c.send(wire.NewError("", wire.CodeAuthFailed, "no hello within %v", s.opts.Limits.HandshakeTimeout))
			c.closeWith(websocket.ClosePolicyViolation, string(wire.CodeAuthFailed))
		}
	})
	c.ws.SetPongHandler(func(string) error {
		c.extendRead()
		return nil
	})
	c.readLoop()
	handshake.Stop()

	c.mu.Lock()
	c.closed = true
	var jobs []*job
	for _, cj := range c.jobs {
		if cj.job != nil {
			jobs = append(jobs, cj.job)
		}
	}
	c.mu.Unlock()
	for _, j := range jobs {
		j.detach(c)
	}
	close(c.readerDone)
	<-c.writerDone
	close(c.served)
}

// extendRead sets the read deadline: an agent that sends nothing and
// answers no ping within a ping interval and a write timeout is gone.
func (c *conn) extendRead() {
	c.ws.SetReadDeadline(time.Now().Add(c.s.opts.Limits.PingInterval + c.s.opts.Limits.WriteTimeout))
}

// readLoop reads frames until the connection fails or closes.
func (c *conn) readLoop() {
	max := c.s.opts.Limits.MaxFrameBytes
	for {
		c.extendRead()
		typ, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		c.lastRead.Store(c.s.now().UnixNano())
		if c.queue.isClosing() {
			// Closing: read on (for the agent's close frame), handle nothing.
			io.Copy(io.Discard, io.LimitReader(r, int64(16*max)))
			continue
		}
		buf := frameBufs.Get().(*bytes.Buffer)
		_, err = buf.ReadFrom(io.LimitReader(r, int64(max)+1))
		data := buf.Bytes()
		if err != nil {
			putFrameBuf(buf)
			return
		}
		if len(data) > max {
			putFrameBuf(buf)
			// Read and drop the rest, so the connection stays in step
			// and the agent hears why; beyond 16× the limit, close.
			n, err := io.Copy(io.Discard, io.LimitReader(r, int64(15*max)))
			if err != nil {
				return
			}
			if n == int64(15*max) {
				if k, _ := r.Read(make([]byte, 1)); k > 0 {
					c.send(wire.NewError("", wire.CodeFrameTooLarge, "frame is more than %d bytes, the limit is %d", 16*max, max))
					c.closeWith(websocket.CloseMessageTooBig, string(wire.CodeFrameTooLarge))
					return // reading the rest would be reading it all
				}
			}
			c.send(wire.NewError("", wire.CodeFrameTooLarge, "frame is %d bytes, the limit is %d", int64(len(data))+n, max))
			continue
		}
		if typ != websocket.TextMessage {
			putFrameBuf(buf)
			c.send(wire.NewError("", wire.CodeBadFrame, "binary frame: frames are JSON text"))
			continue
		}
		c.handle(data) // the message decoded keeps nothing of data
		putFrameBuf(buf)
	}
}

// frameBufs hold the frames being read, lent for one frame at a time, so
// that a connection keeps no read buffer of its own between frames.
var frameBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putFrameBuf(b *bytes.Buffer) {
	if b.Cap() > 64<<10 {
		return // a rare large frame: let it go rather than keep it
	}
	b.Reset()
	frameBufs.Put(b)
}

// drain reads and drops frames until the connection fails or closes.
func (c *conn) drain() {
	for {
		c.extendRead()
		_, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return
		}
	}
}

func (c *conn) handle(data []byte) {
	m, err := c.s.decoder.Decode(data)
	if err != nil {
		var e *wire.Error
		if !errors.As(err, &e) {
			e = wire.NewError("", wire.CodeInternal, "%v", err)
		}
		c.send(e)
		return
	}
	switch m := m.(type) {
	case *wire.Hello:
		c.hello(m)
	case *wire.Submit:
		c.submit(m)
	case *wire.Cancel:
		c.cancel(m.ID)
	case *wire.Sync:
		c.startSync(m)
	case *wire.Ping:
		c.send(&wire.Pong{Nonce: m.Nonce})
	default:
		c.send(wire.NewError("", wire.CodeUnknownType, "%q is not a message type of %s", m.Type(), wire.AgentToNode))
	}
}

func (c *conn) hello(m *wire.Hello) {
	s := c.s
	if c.state.Load() != handshaking {
		c.send(wire.NewError("", wire.CodeUnexpectedMessage, "hello: the connection is authenticated already"))
		return
	}
	if err := wire.VerifyHello(s.domain, wire.Auth{Provider: s.opts.Provider, Nonce: c.nonce}, m); err != nil {
		if !c.state.CompareAndSwap(handshaking, authFailed) {
			return
		}
		s.log.Debug("agent authentication failed", "signer", m.Signer)
		var e *wire.Error
		if !errors.As(err, &e) {
			e = wire.NewError("", wire.CodeAuthFailed, "%v", err)
		}
		c.send(e)
		c.closeWith(websocket.ClosePolicyViolation, string(wire.CodeAuthFailed))
		return
	}
	s.mu.Lock()
	if n := s.signers[m.Signer]; n >= s.opts.Limits.MaxConnsPerSigner {
		s.mu.Unlock()
		if c.state.CompareAndSwap(handshaking, authFailed) {
			c.send(wire.NewError("", wire.CodeTooManyConnections, "signer %s has %d connections open, the limit", m.Signer, n))
			c.closeWith(websocket.ClosePolicyViolation, string(wire.CodeTooManyConnections))
		}
		return
	}
	if !c.state.CompareAndSwap(handshaking, authenticated) {
		s.mu.Unlock() // the handshake timed out meanwhile
		return
	}
	c.signer = m.Signer
	s.signers[m.Signer]++
	s.pending-- // authenticated under s.mu: ServeHTTP's end no longer counts it
	s.mu.Unlock()
	c.send(&wire.Ready{Signer: m.Signer})
}

// cancel cancels the job id of this connection.
func (c *conn) cancel(id string) {
	c.mu.Lock()
	cj := c.jobs[id]
	if cj != nil && cj.job == nil {
		// Not accepted yet: its submit ends it with cancelled.
		cj.cancelled = true
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if cj == nil || !cj.job.cancelByAgent() {
		c.send(wire.NewError(id, wire.CodeUnknownJob, "no job %q is in flight on this connection", id))
	}
}

// forget removes job id from the connection's jobs when it is cj, so the
// agent may send another in its place as soon as it hears the end.
func (c *conn) forget(id string, cj *connJob) {
	c.mu.Lock()
	if c.jobs[id] == cj {
		delete(c.jobs, id)
	}
	c.mu.Unlock()
}

// jobCount is the number of jobs in flight on the connection.
func (c *conn) jobCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.jobs)
}

// send queues m for the agent. It never blocks: a connection whose queue
// overflows is closed as too slow.
func (c *conn) send(m wire.Message) {
	frame, err := wire.Encode(m)
	if err != nil {
		c.s.log.Error("cannot encode a message", "type", m.Type(), "err", err)
		return
	}
	c.sendFrame(frame)
}

func (c *conn) sendFrame(frame []byte) { c.queue.push(frame) }

// closeWith closes the connection with a close frame of code and reason,
// after the frames already queued.
func (c *conn) closeWith(code int, reason string) { c.queue.close(code, reason) }

// writeLoop writes the queued frames, pings the agent and watches for an
// idle connection, until the connection closes.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	s := c.s
	tick := min(s.opts.Limits.PingInterval, s.opts.Limits.IdleTimeout) / 4
	tick = max(tick, 5*time.Millisecond)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	lastPing := time.Now()
	deadline := func() time.Time { return time.Now().Add(s.opts.Limits.WriteTimeout) }
	for {
		frames, code, reason, overflow := c.queue.take()
		if len(frames) == 1 {
			// A frame alone: let the goroutines that are ready run
			// first, so that the frames they queue meanwhile (other
			// jobs' results, under load) go out in the same write.
			// On an idle node none is ready, and the frame goes at
			// once.
			runtime.Gosched()
			frames = c.queue.takeMore(frames)
		}
		if overflow {
			s.log.Info("disconnecting an agent too slow to read", "remote", c.ws.RemoteAddr())
			c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "slow_reader"), time.Now().Add(closeGrace))
			c.ws.Close()
			return
		}
		// The frames drained together go out in one write call; a lone
		// frame goes at once.
		if err := wsconn.WriteFrames(c.ws, c.nc, s.opts.Limits.WriteTimeout, frames); err != nil {
			if isTimeout(err) {
				s.log.Info("disconnecting an agent that does not read", "remote", c.ws.RemoteAddr())
			}
			c.queue.close(websocket.CloseAbnormalClosure, "")
			c.ws.Close()
			return
		}
		clear(frames)
		c.queue.recycle(frames)
		if code != 0 {
			c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), deadline())
			select {
			case <-c.readerDone:
			case <-time.After(closeGrace):
			}
			c.ws.Close()
			return
		}
		select {
		case <-c.queue.wake:
		case <-c.readerDone:
			// Send what is queued (the reason the reader stopped, say),
			// then close.
			c.queue.close(websocket.CloseNormalClosure, "")
		case <-ticker.C:
			now := time.Now()
			if now.Sub(lastPing) >= s.opts.Limits.PingInterval {
				lastPing = now
				if err := c.ws.WriteControl(websocket.PingMessage, nil, deadline()); err != nil {
					c.queue.close(websocket.CloseAbnormalClosure, "")
					c.ws.Close()
					return
				}
			}
			idle := s.now().Sub(time.Unix(0, c.lastRead.Load()))
			if idle >= s.opts.Limits.IdleTimeout && c.jobCount() == 0 {
				c.closeWith(websocket.CloseNormalClosure, "idle")
			}
		}
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// outQueue is a connection's outgoing frames, bounded in count and bytes.
type outQueue struct {
	wake chan struct{} // signalled when there is something to take

	mu sync.Mutex
	// guarded by mu:
	frames      [][]byte
	spare       [][]byte // the writer's last batch, emptied: the next queue's backing array
	bytes       int
	closeCode   int // set: close after the frames queued; nothing more is queued
	closeReason string
	overflow    bool
}

// push queues a frame; false if the queue is closing (the frame is
// dropped) or overflowed (it is closed now).
func (q *outQueue) push(f []byte) bool {
	q.mu.Lock()
	if q.closeCode != 0 || q.overflow {
		q.mu.Unlock()
		return false
	}
	if len(q.frames) >= maxQueueFrames || q.bytes+len(f) > maxQueueBytes {
		q.overflow = true
		q.frames, q.bytes = nil, 0
		q.mu.Unlock()
		q.signal()
		return false
	}
	q.frames = append(q.frames, f)
	q.bytes += len(f)
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *outQueue) close(code int, reason string) {
	q.mu.Lock()
	if q.closeCode == 0 {
		q.closeCode, q.closeReason = code, reason
	}
	q.mu.Unlock()
	q.signal()
}

func (q *outQueue) isClosing() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closeCode != 0 || q.overflow
}

func (q *outQueue) take() (frames [][]byte, code int, reason string, overflow bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	frames, q.frames, q.bytes = q.frames, q.spare, 0
	q.spare = nil
	if len(frames) > 0 {
		return frames, 0, "", q.overflow
	}
	return nil, q.closeCode, q.closeReason, q.overflow
}

// takeMore appends the frames queued since take returned frames.
func (q *outQueue) takeMore(frames [][]byte) [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.overflow {
		return frames // the next take says so
	}
	frames = append(frames, q.frames...)
	clear(q.frames)
	q.frames, q.bytes = q.frames[:0], 0
	return frames
}

// recycle gives back a batch take returned, written and cleared, as the
// backing array of a later queue. Arrays grown past a small batch are let
// go, so an idle connection does not keep a burst's worth.
func (q *outQueue) recycle(frames [][]byte) {
	if cap(frames) > 256 {
		return
	}
	q.mu.Lock()
	q.spare = frames[:0]
	q.mu.Unlock()
}

func (q *outQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
