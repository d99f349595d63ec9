// Package wsconn is the websocket transport that the node's agent API,
// its worker hub and the remote worker share: it sends the frames that
// are ready at the same moment in one write call instead of one call
// each, without delaying a frame that is alone.
//
// gorilla/websocket writes every message with its own write call on the
// network connection, so a connection with many small frames queued (a
// result per job, a chunk per token) spends a system call on each. Here
// the network connection under the websocket is a *Conn, whose writes can
// be held and then flushed as one. gorilla still frames every message,
// so each message stays one websocket frame, byte for byte as before; only
// the grouping of the bytes into write calls changes.
//
// A writer that owns the connection (the agent API's writer goroutine)
// calls Hold and Flush around the frames it drains from its queue. Writers
// shared by several goroutines (the hub's and the worker's) use Writer,
// which writes a frame at once when no write is under way and otherwise
// leaves it to the write under way, which takes every frame queued
// meanwhile in one more flush.
package wsconn

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// flushAt bounds the bytes a held Conn keeps before it writes them out
// anyway: a drain of many frames costs one write call a flushAt bytes.
const flushAt = 64 << 10

// bufs are the held bytes of connections that are holding; a connection
// that is not holding keeps none, so an idle connection costs nothing.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, flushAt); return &b }}

// Conn is a net.Conn whose writes can be held and sent together. Its
// methods are safe for concurrent use; a write made by another goroutine
// while the connection holds is held too, and goes out with the rest.
type Conn struct {
	net.Conn

	mu sync.Mutex
	// guarded by mu:
	holding bool
	buf     *[]byte // from bufs while holding and something was written
}

// NewConn wraps c.
func NewConn(c net.Conn) *Conn { return &Conn{Conn: c} }

// Write writes p, or keeps it for Flush while the connection holds.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.holding {
		return c.Conn.Write(p)
	}
	if c.buf != nil && len(*c.buf)+len(p) > flushAt {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) >= flushAt {
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = bufs.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// Hold keeps the writes from now on until Flush.
func (c *Conn) Hold() {
	c.mu.Lock()
	c.holding = true
	c.mu.Unlock()
}

// Flush writes what was held in one write call and stops holding. Its
// error is that of the write: the connection is then broken.
func (c *Conn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	return c.flushLocked()
}

func (c *Conn) flushLocked() error {
	if c.buf == nil {
		return nil
	}
	b := c.buf
	c.buf = nil
	_, err := c.Conn.Write(*b)
	*b = (*b)[:0]
	bufs.Put(b)
	return err
}

// hijacker hands the upgrader a *Conn in place of the hijacked net.Conn.
type hijacker struct {
	http.ResponseWriter
	conn *Conn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = NewConn(c)
	return h.conn, rw, nil
}

// Upgrade is u.Upgrade with the websocket over a *Conn, which it returns
// too.
func Upgrade(u *websocket.Upgrader, w http.ResponseWriter, r *http.Request, h http.Header) (*websocket.Conn, *Conn, error) {
	hj := &hijacker{ResponseWriter: w}
	ws, err := u.Upgrade(hj, r, h)
	if err != nil {
		return nil, nil, err
	}
	return ws, hj.conn, nil
}

// Dialer returns a copy of d whose connections are *Conn, and a function
// that returns the *Conn of the last connection it dialled (nil if it
// dialled none, or if d dials TLS itself with NetDialTLSContext, whose
// connections it leaves as they are). Use the copy for one dial at a
// time.
func Dialer(d *websocket.Dialer) (*websocket.Dialer, func() *Conn) {
	dd := *d
	dial := d.NetDialContext
	if dial == nil && d.NetDial != nil {
		nd := d.NetDial
		dial = func(_ context.Context, network, addr string) (net.Conn, error) { return nd(network, addr) }
	}
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	var mu sync.Mutex
	var last *Conn
	dd.NetDial = nil
	dd.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		wc := NewConn(c)
		mu.Lock()
		last = wc
		mu.Unlock()
		return wc, nil
	}
	return &dd, func() *Conn {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// WriteFrames writes frames to ws as text messages, each with a write
// deadline of timeout from now, held on nc (when not nil) so that two or
// more go out in one write call. A lone frame is written at once.
func WriteFrames(ws *websocket.Conn, nc *Conn, timeout time.Duration, frames [][]byte) error {
	held := nc != nil && len(frames) > 1
	if held {
		nc.Hold()
	}
	var err error
	for _, f := range frames {
		ws.SetWriteDeadline(time.Now().Add(timeout))
		if err = ws.WriteMessage(websocket.TextMessage, f); err != nil {
			break
		}
	}
	if held {
		if ferr := nc.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// Writer writes the frames of one websocket connection for any number of
// goroutines. A frame is written by the goroutine that brings it when no
// write is under way; one that comes during a write is queued, and the
// goroutine writing takes the queue in one more flush before it returns.
// After a write fails, the websocket is closed (so its reader ends) and
// every later Write returns the error.
type Writer struct {
	ws      *websocket.Conn
	nc      *Conn // nil: frames are written one by one
	timeout time.Duration

	mu sync.Mutex
	// guarded by mu:
	queue   [][]byte
	spare   [][]byte // the queue's other backing array
	writing bool
	err     error
}

// NewWriter returns a Writer of ws, whose network connection is nc (nil
// when it is not a *Conn), with a write deadline of timeout a frame.
func NewWriter(ws *websocket.Conn, nc *Conn, timeout time.Duration) *Writer {
	return &Writer{ws: ws, nc: nc, timeout: timeout}
}

// Write sends frame, or queues it for the write under way. Its error is
// the connection's: a frame queued behind a write that then fails is
// lost with the connection, and the next Write reports it.
func (w *Writer) Write(frame []byte) error {
	return w.Do(func() ([]byte, bool) { return frame, true })
}

// Do runs next with no frame written or queued meanwhile, then sends the
// frame it returns (if ok) as Write does. A caller uses it to send a frame
// that must go out before any frame another goroutine may send once next
// has run.
func (w *Writer) Do(next func() (frame []byte, ok bool)) error {
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	frame, ok := next()
	if !ok {
		w.mu.Unlock()
		return nil
	}
	w.queue = append(w.queue, frame)
	if w.writing {
		w.mu.Unlock()
		return nil
	}
	w.writing = true
	for len(w.queue) > 0 && w.err == nil {
		if len(w.queue) == 1 {
			// A frame alone: let the goroutines that are ready run
			// first, so that the frames they send meanwhile go in the
			// same write. With none ready, the frame goes at once.
			w.mu.Unlock()
			runtime.Gosched()
			w.mu.Lock()
		}
		frames := w.queue
		w.queue = w.spare[:0]
		w.mu.Unlock()
		err := WriteFrames(w.ws, w.nc, w.timeout, frames)
		clear(frames)
		w.mu.Lock()
		w.spare = frames[:0]
		if err != nil {
			w.err = err
			w.ws.Close()
		}
	}
	w.queue = nil
	w.writing = false
	err := w.err
	w.mu.Unlock()
	return err
}
