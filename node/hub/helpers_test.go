package hub_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/node/hub"
	"github.com/paynode/paynode/node/hub/hubtest"
	"github.com/paynode/paynode/node/wire"
)

const (
	testToken = "s3cret-worker-token"
	model     = "m1"
)

func newHub(t testing.TB, opts hub.Options) (*hub.Hub, string) {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	h := hub.New(opts)
	return h, hubtest.Serve(t, h)
}

// raw is a hand-driven worker connection: the test reads and writes its
// frames itself.
type raw struct {
	t  testing.TB
	ws *websocket.Conn
}

func dial(t testing.TB, url string) *raw {
	t.Helper()
	hdr := http.Header{"Authorization": {"Bearer " + testToken}}
	ws, _, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &raw{t: t, ws: ws}
}

// register dials and registers a worker serving models.
func register(t testing.TB, url, name string, capacity uint64, models ...string) *raw {
	t.Helper()
	r := dial(t, url)
	r.send(&wire.Register{Name: name, Capacity: capacity, Models: models})
	if m, ok := r.read().(*wire.Registered); !ok || m.MaxFrameBytes == 0 {
		t.Fatalf("register: got %#v, want registered", m)
	}
	return r
}

func (r *raw) send(m wire.Message) {
	r.t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		r.t.Fatal(err)
	}
	r.sendRaw(websocket.TextMessage, string(b))
}

func (r *raw) sendRaw(typ int, frame string) {
	r.t.Helper()
	if err := r.ws.WriteMessage(typ, []byte(frame)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// read returns the next frame from the hub, decoded.
func (r *raw) read() wire.Message {
	r.t.Helper()
	r.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, b, err := r.ws.ReadMessage()
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		r.t.Fatalf("read: frame type %d", typ)
	}
	m, err := wire.Decode(wire.NodeToWorker, b)
	if err != nil {
		r.t.Fatalf("read %s: %v", b, err)
	}
	return m
}

func (r *raw) readAssign() *wire.Assign {
	r.t.Helper()
	m := r.read()
	a, ok := m.(*wire.Assign)
	if !ok {
		r.t.Fatalf("got %#v, want assign", m)
	}
	return a
}

func (r *raw) readError(code wire.Code) *wire.Error {
	r.t.Helper()
	m := r.read()
	e, ok := m.(*wire.Error)
	if !ok || e.Code != code {
		r.t.Fatalf("got %#v, want error %s", m, code)
	}
	return e
}

func (r *raw) readCancel(id string) {
	r.t.Helper()
	m := r.read()
	if c, ok := m.(*wire.Cancel); !ok || c.ID != id {
		r.t.Fatalf("got %#v, want cancel %s", m, id)
	}
}

// sync pings and waits for the pong: the hub has handled every frame sent
// before, and sent nothing else in between.
func (r *raw) sync() {
	r.t.Helper()
	r.send(&wire.Ping{Nonce: "sync"})
	if m, ok := r.read().(*wire.Pong); !ok || m.Nonce != "sync" {
		r.t.Fatalf("got %#v, want pong", m)
	}
}

// waitClosed reads until the hub closes the connection, and returns the
// close error.
func (r *raw) waitClosed() error {
	r.t.Helper()
	r.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := r.ws.ReadMessage(); err != nil {
			return err
		}
	}
}

func request(text string) wire.ChatRequest {
	return wire.ChatRequest{Messages: []wire.ChatMessage{{Role: "user", Content: text}}, MaxTokens: 32}
}

// result is one Run's outcome.
type result struct {
	output string
	usage  wire.Usage
	err    error
}

// runAsync reserves and runs one job in a goroutine.
func runAsync(t testing.TB, ctx context.Context, h *hub.Hub, model string, emit func(string) error) <-chan result {
	t.Helper()
	slot, err := h.Reserve(model)
	if err != nil {
		t.Fatalf("reserve: %v", err)
	}
	ch := make(chan result, 1)
	go func() {
		out, u, err := slot.Run(ctx, request("hello"), emit)
		ch <- result{out, u, err}
	}()
	return ch
}

func wait(t testing.TB, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return result{}
	}
}

func wantCode(t testing.TB, err error, code wire.Code) *wire.Error {
	t.Helper()
	var e *wire.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want a *wire.Error %s", err, code)
	}
	return e
}

// gated returns a hub with one local worker "a" of capacity 1 running
// a gate, and the channel its jobs announce themselves on.
func gated(opts hub.Options) (*hub.Hub, *hubtest.Gate, chan string) {
	h := hub.New(opts)
	started := make(chan string, 8)
	g := hubtest.NewGate("a", started)
	h.AddLocal("a", 1, []string{model}, g)
	return h, g, started
}
