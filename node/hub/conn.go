package hub

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/node/wire/wsconn"
)

// discardFactor: a frame up to this many times MaxFrameBytes is read to
// its end and answered frame_too_large; a larger one closes the
// connection (1009), since reading it would cost more than the peer is
// worth.
const discardFactor = 16

// ServeHTTP is the /v1/worker websocket endpoint. Without the right
// bearer token the answer is HTTP 401; once the hub is closed, 503.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		h.log.Warn("worker refused: token missing or wrong", "addr", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="paynode worker"`)
		http.Error(w, "worker token missing or wrong", http.StatusUnauthorized)
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "the node is shutting down", http.StatusServiceUnavailable)
		return
	}
	h.conns.Add(1)
	h.mu.Unlock()
	defer h.conns.Done()

	ws, nc, err := wsconn.Upgrade(&h.upgrader, w, r, nil) // it answers the failures itself
	if err != nil {
		h.log.Debug("worker upgrade failed", "addr", r.RemoteAddr, "err", err)
		return
	}
	c := &conn{
		h:   h,
		ws:  ws,
		out: wsconn.NewWriter(ws, nc, h.opts.WriteTimeout),
		log: h.log.With("addr", r.RemoteAddr),
		dec: wire.Decoder{Direction: wire.WorkerToNode, MaxFrameBytes: h.opts.MaxFrameBytes},
		end: make(chan struct{}),
	}
	h.mu.Lock()
	closed := h.closed
	if !closed {
		h.open[c] = struct{}{}
	}
	h.mu.Unlock()
	if closed {
		c.closeWith(websocket.CloseGoingAway, string(wire.CodeShuttingDown))
		return
	}
	defer func() {
		h.mu.Lock()
		delete(h.open, c)
		h.mu.Unlock()
	}()
	c.serve(r.RemoteAddr)
}

// authorized compares the bearer token in constant time; hashing both
// first hides the token's length too.
func (h *Hub) authorized(r *http.Request) bool {
	if h.opts.Token == "" {
		return false
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(h.opts.Token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// conn is one worker's websocket. Its reader is the handler's goroutine;
// messages go out through out, from any goroutine, the frames sent at the
// same moment together; pings go through WriteControl, which gorilla lets
// run beside them.
type conn struct {
	h   *Hub
	ws  *websocket.Conn
	out *wsconn.Writer
	// log and w are set by the reader at register, before the hub
	// knows the worker; read-only after.
	log *slog.Logger
	w   *worker
	dec wire.Decoder
	buf bytes.Buffer  // the frame being read; reader only
	end chan struct{} // closed when serve returns
	cls sync.Once     // one close frame
}

// serve reads the worker's frames until the connection ends.
func (c *conn) serve(addr string) {
	defer close(c.end)
	defer c.ws.Close()
	hb := c.h.opts.HeartbeatInterval
	c.ws.SetReadDeadline(time.Now().Add(2 * hb))
	for c.w == nil {
		m, err := c.read()
		if err != nil {
			c.log.Debug("worker connection ended before register", "err", err)
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				c.closeWith(websocket.ClosePolicyViolation, "register_timeout")
			}
			return
		}
		if m == nil {
			continue
		}
		reg, ok := m.(*wire.Register)
		if !ok {
			c.reply(wire.NewError(jobID(m), wire.CodeUnexpectedMessage, "%s before register: register first", m.Type()))
			continue
		}
		if !c.register(reg, addr) {
			c.reply(wire.NewError("", wire.CodeShuttingDown, "the node is shutting down"))
			c.closeWith(websocket.CloseGoingAway, string(wire.CodeShuttingDown))
			return
		}
	}
	defer c.h.dropWorker(c.w)

	c.ws.SetPongHandler(func(string) error {
		c.ws.SetReadDeadline(time.Now().Add(2 * hb))
		return nil
	})
	go c.ping(hb)
	for {
		c.ws.SetReadDeadline(time.Now().Add(2 * hb))
		m, err := c.read()
		if err != nil {
			if c.h.isOpen() {
				c.log.Info("worker connection ended", "err", err)
			}
			return
		}
		if m != nil {
			c.handle(m)
		}
	}
}

func (h *Hub) isOpen() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.closed
}

// register adds the worker and answers registered. No frame goes out
// between the two, so no assign can go out before registered.
func (c *conn) register(reg *wire.Register, addr string) bool {
	c.log = c.log.With("worker", reg.Name) // before other goroutines can see c
	c.w = &worker{
		name:     reg.Name,
		addr:     addr,
		conn:     c,
		capacity: int(min(reg.Capacity, 1<<30)),
		models:   reg.Models,
	}
	registered, err := c.encode(&wire.Registered{MaxFrameBytes: uint64(c.h.opts.MaxFrameBytes)})
	if err != nil {
		return false
	}
	added := false
	c.out.Do(func() ([]byte, bool) {
		added = c.h.addWorker(c.w)
		return registered, added
	})
	return added
}

// read reads one frame. It returns the message; or nil after answering a
// frame it refused; or an error when the connection is over.
func (c *conn) read() (wire.Message, error) {
	typ, r, err := c.ws.NextReader()
	if err != nil {
		return nil, err
	}
	max := c.h.opts.MaxFrameBytes
	c.buf.Reset()
	if _, err := c.buf.ReadFrom(io.LimitReader(r, int64(max)+1)); err != nil {
		return nil, err
	}
	if n := c.buf.Len(); n > max {
		rest, err := io.Copy(io.Discard, io.LimitReader(r, int64(discardFactor*max-n)+1))
		if err != nil {
			return nil, err
		}
		if int64(n)+rest > int64(discardFactor*max) {
			c.log.Warn("frame beyond what the hub discards; closing", "limit", max)
			c.closeWith(websocket.CloseMessageTooBig, string(wire.CodeFrameTooLarge))
			return nil, errors.New("hub: frame too large to discard")
		}
		c.reply(wire.NewError("", wire.CodeFrameTooLarge, "frame is %d bytes, the limit is %d", int64(n)+rest, max))
		return nil, nil
	}
	if typ != websocket.TextMessage {
		c.reply(wire.NewError("", wire.CodeBadFrame, "a binary frame: one JSON object per text frame"))
		return nil, nil
	}
	m, err := c.dec.Decode(c.buf.Bytes())
	if err != nil {
		var e *wire.Error
		if !errors.As(err, &e) {
			e = wire.NewError("", wire.CodeInternal, "%v", err)
		}
		c.reply(e)
		return nil, nil
	}
	return m, nil
}

// handle acts on one message of a registered worker.
func (c *conn) handle(m wire.Message) {
	h, w := c.h, c.w
	switch m := m.(type) {
	case *wire.Register:
		c.reply(wire.NewError("", wire.CodeUnexpectedMessage, "registered already; send models to change the announcement"))
	case *wire.Models:
		h.setModels(w, int(min(m.Capacity, 1<<30)), slices.Clone(m.Models))
	case *wire.Chunk:
		t := h.task(w, m.ID)
		if t == nil {
			if !h.wasCancelled(w, m.ID) {
				c.reply(wire.NewError(m.ID, wire.CodeUnknownJob, "no job %s runs on this worker", m.ID))
			}
			return
		}
		h.deliver(w, t, m.Seq, m.Delta)
	case *wire.Done:
		if !h.endTask(w, m.ID, &end{usage: m.Usage}) && !h.wasCancelled(w, m.ID) {
			c.reply(wire.NewError(m.ID, wire.CodeUnknownJob, "no job %s runs on this worker", m.ID))
		}
	case *wire.Fail:
		if !h.endTask(w, m.ID, failEnd(m)) && !h.wasCancelled(w, m.ID) {
			c.reply(wire.NewError(m.ID, wire.CodeUnknownJob, "no job %s runs on this worker", m.ID))
		}
	case *wire.Ping:
		c.send(&wire.Pong{Nonce: m.Nonce})
	}
}

// assign sends t to the worker. A task that cannot be encoded ends in
// internal; one that cannot be written ends when the connection does.
func (c *conn) assign(t *task) {
	a := &wire.Assign{ID: t.id, Model: t.model, Request: *t.req}
	if !t.deadline.IsZero() {
		a.TimeoutMS = uint64(max(1, (time.Until(t.deadline)+time.Millisecond-1)/time.Millisecond))
	}
	if err := c.send(a); err != nil && !errors.Is(err, errWrite) {
		c.h.endTask(c.w, t.id, &end{err: wire.NewError("", wire.CodeInternal, "hub: %v", err)})
	}
}

var errWrite = errors.New("hub: write to worker failed")

// reply answers a frame the hub refused.
func (c *conn) reply(e *wire.Error) {
	c.log.Debug("worker frame refused", "code", e.Code, "message", e.Message, "job", e.ID)
	c.send(e)
}

// send sends one message. A failed write closes the connection: its
// reader then ends and the worker is dropped.
func (c *conn) send(m wire.Message) error {
	b, err := c.encode(m)
	if err != nil {
		return err
	}
	if err := c.out.Write(b); err != nil {
		c.log.Debug("write to worker failed; closing", "err", err)
		return errWrite
	}
	return nil
}

func (c *conn) encode(m wire.Message) ([]byte, error) {
	b, err := wire.Encode(m)
	if err != nil {
		c.log.Error("message to worker not encodable", "type", m.Type(), "err", err)
	}
	return b, err
}

// ping pings every interval until the connection ends; the pong handler
// moves the read deadline on.
func (c *conn) ping(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.end:
			return
		case <-t.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.opts.WriteTimeout)); err != nil {
				c.ws.Close()
				return
			}
		}
	}
}

// closeWith sends a close frame with code and reason and closes the
// connection.
func (c *conn) closeWith(code int, reason string) {
	c.cls.Do(func() {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason),
			time.Now().Add(c.h.opts.WriteTimeout))
		c.ws.Close()
	})
}

// jobID is m's job id, if it is about a job.
func jobID(m wire.Message) string {
	if jm, ok := m.(wire.JobMessage); ok {
		return jm.JobID()
	}
	return ""
}
