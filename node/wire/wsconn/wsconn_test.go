package wsconn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// countingConn counts the write calls made on a net.Conn and can make
// them wait.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	gate   chan struct{} // when set, each write waits for a value
	fail   error         // when set, writes fail with it
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	gate, fail := c.gate, c.fail
	c.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if fail != nil {
		return 0, fail
	}
	return c.Conn.Write(p)
}

func (c *countingConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// countingListener wraps the connections it accepts in countingConns.
type countingListener struct {
	net.Listener
	conns chan *countingConn
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: c}
	l.conns <- cc
	return cc, nil
}

// pair is a websocket served through Upgrade, its network connection
// counted, and a client dialled to it.
type pair struct {
	server *websocket.Conn
	nc     *Conn
	raw    *countingConn
	client *websocket.Conn
}

func newPair(t *testing.T) *pair {
	t.Helper()
	conns := make(chan *countingConn, 1)
	got := make(chan *pair, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u websocket.Upgrader
		ws, nc, err := Upgrade(&u, w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		got <- &pair{server: ws, nc: nc}
	}))
	srv.Listener = &countingListener{Listener: srv.Listener, conns: conns}
	srv.Start()
	t.Cleanup(srv.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	p := <-got
	t.Cleanup(func() { p.server.Close() })
	p.raw, p.client = <-conns, client
	if p.nc.Conn != net.Conn(p.raw) {
		t.Fatal("Upgrade did not wrap the hijacked connection")
	}
	return p
}

// writes runs send and returns how many write calls it made on p's
// network connection.
func (p *pair) writes(t *testing.T, send func() error) int {
	t.Helper()
	before := p.raw.count()
	if err := send(); err != nil {
		t.Fatal(err)
	}
	return p.raw.count() - before
}

// readAll reads n messages and checks each is one text message equal to
// want[i].
func readAll(t *testing.T, ws *websocket.Conn, want [][]byte) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, w := range want {
		typ, got, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if typ != websocket.TextMessage || !bytes.Equal(got, w) {
			t.Fatalf("message %d: type %d %q, want %q", i, typ, got, w)
		}
	}
}

func frames(n int, prefix string) [][]byte {
	fs := make([][]byte, n)
	for i := range fs {
		fs[i] = fmt.Appendf(nil, `{"type":"chunk","id":"%s","seq":%d}`, prefix, i+1)
	}
	return fs
}

func TestWriteFramesOneWriteForABatch(t *testing.T) {
	p := newPair(t)
	batch := frames(20, "a")
	batch = append(batch, bytes.Repeat([]byte("x"), 70_000)) // longer than a frame's 16-bit length
	n := p.writes(t, func() error { return WriteFrames(p.server, p.nc, time.Second, batch) })
	readAll(t, p.client, batch)
	// 20 small frames share a write; the large one passes flushAt and
	// goes out after them, with its header.
	if n < 1 || n > 3 {
		t.Fatalf("%d frames took %d write calls, want at most 3", len(batch), n)
	}

	lone := frames(1, "b")
	if n := p.writes(t, func() error { return WriteFrames(p.server, p.nc, time.Second, lone) }); n != 1 {
		t.Fatalf("a lone frame took %d write calls", n)
	}
	readAll(t, p.client, lone)
}

func TestWriteFramesWithoutConn(t *testing.T) {
	p := newPair(t)
	batch := frames(5, "c")
	n := p.writes(t, func() error { return WriteFrames(p.server, nil, time.Second, batch) })
	readAll(t, p.client, batch)
	if n != len(batch) {
		t.Fatalf("%d frames took %d write calls without a *Conn, want one each", len(batch), n)
	}
}

func TestConnHoldKeepsOrderAroundLargeWrites(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	raw := &countingConn{Conn: a}
	c := NewConn(raw)
	read := make(chan error, 1)
	want := []byte{}
	parts := [][]byte{[]byte("one,"), bytes.Repeat([]byte("L"), flushAt+1), []byte("two,"), bytes.Repeat([]byte("m"), flushAt-3), []byte("three")}
	for _, p := range parts {
		want = append(want, p...)
	}
	got := make([]byte, len(want))
	go func() {
		_, err := io.ReadFull(b, got)
		read <- err
	}()
	c.Hold()
	for _, p := range parts {
		if n, err := c.Write(p); err != nil || n != len(p) {
			t.Fatalf("write %d bytes: %d, %v", len(p), n, err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("held writes came out in another order")
	}
	// "one," then the large part (flushing "one," first), "two," and
	// the 64 KiB part less 3 (together past flushAt: "two," goes
	// first), then the rest at Flush.
	if n := raw.count(); n != 5 {
		t.Fatalf("%d write calls, want 5", n)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holding || c.buf != nil {
		t.Fatal("Flush left the connection holding or with a buffer")
	}
}

func TestWriterGroupsFramesThatWait(t *testing.T) {
	p := newPair(t)
	w := NewWriter(p.server, p.nc, 10*time.Second)

	// The first frame's write waits; the frames sent meanwhile queue
	// and go out in one more write once it is done.
	gate := make(chan struct{})
	p.raw.mu.Lock()
	p.raw.gate = gate
	before := p.raw.writes
	p.raw.mu.Unlock()
	first := frames(1, "first")
	done := make(chan error, 1)
	go func() { done <- w.Write(first[0]) }()
	waitFor(t, func() bool { return p.raw.count() > before })

	const senders, each = 8, 5
	sent := make([][][]byte, senders)
	var wg sync.WaitGroup
	for i := range senders {
		sent[i] = frames(each, fmt.Sprint("s", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range sent[i] {
				if err := w.Write(f); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait() // every frame is queued: none of these writes waited
	p.raw.mu.Lock()
	p.raw.gate = nil
	p.raw.mu.Unlock()
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := p.raw.count() - before; n != 2 {
		t.Fatalf("%d write calls for %d frames, want 2", n, 1+senders*each)
	}

	// Every frame arrives whole, each sender's in its order.
	readAll(t, p.client, first)
	next := make([]int, senders)
	p.client.SetReadDeadline(time.Now().Add(10 * time.Second))
	for range senders * each {
		_, got, err := p.client.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var s, seq int
		if _, err := fmt.Sscanf(string(got), `{"type":"chunk","id":"s%d","seq":%d}`, &s, &seq); err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		if !bytes.Equal(got, sent[s][next[s]]) {
			t.Fatalf("sender %d: got %q, want %q", s, got, sent[s][next[s]])
		}
		next[s]++
	}

	// Alone again, a frame goes out at once in its own write.
	if n := p.writes(t, func() error { return w.Write(first[0]) }); n != 1 {
		t.Fatalf("a lone frame took %d write calls", n)
	}
	readAll(t, p.client, first)
}

func TestWriterAfterAFailedWrite(t *testing.T) {
	p := newPair(t)
	w := NewWriter(p.server, p.nc, time.Second)
	boom := errors.New("boom")
	p.raw.mu.Lock()
	p.raw.fail = boom
	p.raw.mu.Unlock()
	if err := w.Write([]byte(`{}`)); !errors.Is(err, boom) {
		t.Fatalf("write: %v, want %v", err, boom)
	}
	ran := false
	if err := w.Do(func() ([]byte, bool) { ran = true; return nil, false }); !errors.Is(err, boom) || ran {
		t.Fatalf("after the failure: %v (ran %v), want %v without running", err, ran, boom)
	}
	// The websocket is closed: its reader ends.
	p.server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := p.server.ReadMessage(); err == nil || isTimeout(err) {
		t.Fatalf("read after the failure: %v, want the closed connection's error", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestDialerWrapsItsConnections(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u websocket.Upgrader
		ws, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			typ, m, err := ws.ReadMessage()
			if err != nil {
				return
			}
			ws.WriteMessage(typ, m)
		}
	}))
	defer srv.Close()
	var dialled int
	base := &websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		dialled++
		return net.Dial(network, addr)
	}}
	d, last := Dialer(base)
	if last() != nil {
		t.Fatal("a *Conn before any dial")
	}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if dialled != 1 || last() == nil || ws.NetConn() != net.Conn(last()) {
		t.Fatalf("dialled %d times through the given dialer; connection %T", dialled, ws.NetConn())
	}
	if base.NetDialContext != nil || base.NetDial == nil {
		t.Fatal("Dialer changed the dialer it was given")
	}
	w := NewWriter(ws, last(), time.Second)
	batch := frames(3, "d")
	if err := WriteFrames(ws, last(), time.Second, batch); err != nil {
		t.Fatal(err)
	}
	for _, f := range batch {
		if err := w.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	readAll(t, ws, append(batch, batch...))
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
