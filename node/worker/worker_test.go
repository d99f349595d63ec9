package worker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/hub"
	"github.com/paynode/paynode/node/hub/hubtest"
	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/node/worker"
)

const token = "worker-token-for-tests"

// node starts a hub on a loopback listener and returns it with its
// websocket URL.
func node(t testing.TB, opts hub.Options) (*hub.Hub, string) {
	t.Helper()
	opts.Token = token
	h := hub.New(opts)
	return h, hubtest.Serve(t, h)
}

// conns records the connections a worker dials, so a test can cut them.
type conns struct {
	mu  sync.Mutex
	all []net.Conn
}

func (c *conns) dialer() *websocket.Dialer {
	return &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.mu.Lock()
			c.all = append(c.all, nc)
			c.mu.Unlock()
		}
		return nc, err
	}}
}

// cut closes every connection dialled so far, as a network failure would.
func (c *conns) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, nc := range c.all {
		nc.Close()
	}
	c.all = nil
}

// start runs w until the test ends; the returned channel gets Run's error.
func start(t testing.TB, w *worker.Worker) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("Run did not return")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func prompt(i int) wire.ChatRequest {
	return wire.ChatRequest{
		Messages:  []wire.ChatMessage{{Role: "user", Content: fmt.Sprintf("Tell me about job %d, at length.", i)}},
		MaxTokens: 100,
	}
}

// expected is the builtin model's own answer to r.
func expected(t testing.TB, r wire.ChatRequest) executor.Result {
	t.Helper()
	res, err := (&builtin.Model{}).Run(context.Background(), worker.Request(builtin.Name, &r), nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func job(ctx context.Context, h *hub.Hub, model string, r wire.ChatRequest, emit func(string) error) (string, wire.Usage, error) {
	slot, err := h.Reserve(model)
	if err != nil {
		return "", wire.Usage{}, err
	}
	return slot.Run(ctx, r, emit)
}

func TestBuiltinOverLoopback(t *testing.T) {
	h, url := node(t, hub.Options{})
	stop := start(t, &worker.Worker{
		URL: url, Token: token, Name: "gpu-1", Capacity: 4,
		Models: []string{builtin.Name}, Executor: &builtin.Model{},
	})
	hubtest.WaitFor(t, "registered", hubtest.Workers(h, 1))
	if w := h.Workers()[0]; w.Name != "gpu-1" || w.Capacity != 4 || w.Models[0] != builtin.Name || w.Addr == "local" {
		t.Errorf("worker %+v", w)
	}

	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			r := prompt(i)
			want := expected(t, r)
			var chunks []string
			out, usage, err := job(t.Context(), h, builtin.Name, r, func(d string) error {
				chunks = append(chunks, d)
				return nil
			})
			if err != nil {
				t.Errorf("job %d: %v", i, err)
				return
			}
			if out != want.Output || strings.Join(chunks, "") != out || len(chunks) < 2 {
				t.Errorf("job %d: %q from chunks %q, want %q streamed", i, out, chunks, want.Output)
			}
			if usage.InputTokens != want.Usage.InputTokens || usage.OutputTokens != want.Usage.OutputTokens {
				t.Errorf("job %d: usage %+v, want %+v", i, usage, want.Usage)
			}
		})
	}
	wg.Wait()
	if err := stop(); err != nil {
		t.Errorf("Run after its context ended: %v", err)
	}
	hubtest.WaitFor(t, "gone", hubtest.Workers(h, 0))
}

func TestBadToken(t *testing.T) {
	h, url := node(t, hub.Options{})
	w := &worker.Worker{
		URL: url, Token: "not-" + token, Name: "w", Models: []string{builtin.Name}, Executor: &builtin.Model{},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := w.Run(ctx)
	if !errors.Is(err, worker.ErrBadToken) || !strings.Contains(err.Error(), "token") || ctx.Err() != nil {
		t.Fatalf("Run: %v, want at once an error naming the token", err)
	}
	if len(h.Workers()) != 0 {
		t.Error("registered with a bad token")
	}
}

func TestBadConfig(t *testing.T) {
	ok := worker.Worker{URL: "ws://127.0.0.1:1/v1/worker", Name: "w", Models: []string{"m"}, Executor: &builtin.Model{}}
	for name, edit := range map[string]func(*worker.Worker){
		"no url":          func(w *worker.Worker) { w.URL = "" },
		"no name":         func(w *worker.Worker) { w.Name = "" },
		"no models":       func(w *worker.Worker) { w.Models = nil },
		"model twice":     func(w *worker.Worker) { w.Models = []string{"m", "m"} },
		"no executor":     func(w *worker.Worker) { w.Executor = nil },
		"negative":        func(w *worker.Worker) { w.Capacity = -1 },
		"name too long":   func(w *worker.Worker) { w.Name = strings.Repeat("n", wire.MaxNameLen+1) },
		"too many models": func(w *worker.Worker) { w.Models = make([]string, wire.MaxWorkerModels+1) },
	} {
		t.Run(name, func(t *testing.T) {
			w := ok
			edit(&w)
			if err := w.Run(t.Context()); err == nil {
				t.Fatal("Run accepted it")
			}
		})
	}
}

func TestCancelAndTimeoutReachTheExecutor(t *testing.T) {
	h, url := node(t, hub.Options{})
	g := hubtest.NewGate("g", make(chan string, 8))
	start(t, &worker.Worker{URL: url, Token: token, Name: "w", Capacity: 2, Models: []string{"m"}, Executor: g})
	hubtest.WaitFor(t, "registered", hubtest.Workers(h, 1))

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { _, _, err := job(ctx, h, "m", prompt(1), nil); errc <- err }()
		<-g.Started
		if d := <-g.Deadlines; !d.IsZero() {
			t.Errorf("deadline %v for a job without one", d)
		}
		cancel()
		if err := <-errc; wire.CodeOf(err) != wire.CodeCancelled {
			t.Errorf("Run: %v", err)
		}
		if err := <-g.Ended; executor.CodeOf(err) != executor.CodeCancelled {
			t.Errorf("executor: %v, want cancelled by the node's cancel", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		want, _ := ctx.Deadline()
		errc := make(chan error, 1)
		go func() { _, _, err := job(ctx, h, "m", prompt(2), nil); errc <- err }()
		<-g.Started
		if d := <-g.Deadlines; d.IsZero() || d.After(want.Add(50*time.Millisecond)) {
			t.Errorf("executor's deadline %v, the job's %v", d, want)
		}
		if err := <-errc; wire.CodeOf(err) != wire.CodeJobTimeout {
			t.Errorf("Run: %v", err)
		}
		if err := <-g.Ended; executor.CodeOf(err) == "" {
			t.Errorf("executor: %v, want ended by its deadline or the cancel", err)
		}
	})
}

func TestReconnect(t *testing.T) {
	h, url := node(t, hub.Options{})
	var c conns
	start(t, &worker.Worker{
		URL: url, Token: token, Name: "w", Models: []string{builtin.Name}, Executor: &builtin.Model{},
		Dialer: c.dialer(), MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
	})
	var since time.Time
	for i := range 3 {
		// A new registration: the old connection's may linger a moment.
		hubtest.WaitFor(t, "registered again", func() bool {
			ws := h.Workers()
			return len(ws) == 1 && ws[0].Since.After(since)
		})
		since = h.Workers()[0].Since
		if _, _, err := job(t.Context(), h, builtin.Name, prompt(i), nil); err != nil {
			t.Fatalf("job after %d cuts: %v", i, err)
		}
		c.cut()
	}
}

func TestDrainOnShutdown(t *testing.T) {
	h, url := node(t, hub.Options{})
	g := hubtest.NewGate("g", make(chan string, 8))
	stop := start(t, &worker.Worker{URL: url, Token: token, Name: "w", Models: []string{"m"}, Executor: g})
	hubtest.WaitFor(t, "registered", hubtest.Workers(h, 1))
	res := make(chan error, 1)
	go func() { _, _, err := job(t.Context(), h, "m", prompt(1), nil); res <- err }()
	<-g.Started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	hubtest.WaitFor(t, "draining", func() bool { ws := h.Workers(); return len(ws) == 1 && ws[0].Capacity == 0 })
	if _, err := h.Reserve("m"); wire.CodeOf(err) != wire.CodeUnknownModel {
		t.Errorf("Reserve while the only worker drains: %v", err)
	}
	g.Release <- struct{}{}
	if err := <-res; err != nil {
		t.Fatalf("the job running at shutdown: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
	hubtest.WaitFor(t, "gone", hubtest.Workers(h, 0))
}

func TestDrainTimeout(t *testing.T) {
	h, url := node(t, hub.Options{})
	g := hubtest.NewGate("g", make(chan string, 8))
	stop := start(t, &worker.Worker{URL: url, Token: token, Name: "w", Models: []string{"m"}, Executor: g, DrainTimeout: 50 * time.Millisecond})
	hubtest.WaitFor(t, "registered", hubtest.Workers(h, 1))
	res := make(chan error, 1)
	go func() { _, _, err := job(t.Context(), h, "m", prompt(1), nil); res <- err }()
	<-g.Started
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := <-g.Ended; executor.CodeOf(err) != executor.CodeCancelled {
		t.Errorf("executor: %v, want cancelled at the drain timeout", err)
	}
	// No other worker to run it again: the job fails, uncharged.
	if err := <-res; wire.CodeOf(err) != wire.CodeWorkerFailed {
		t.Errorf("Run: %v, want worker_failed", err)
	}
}

// TestChaos runs 500 jobs across 3 workers while one of them loses its
// connection again and again: every Run returns exactly once, with the
// builtin's output or worker_failed (a job cut after its first chunk),
// never anything else and never a wrong output.
func TestChaos(t *testing.T) {
	const jobs, parallel = 500, 48
	h, url := node(t, hub.Options{})
	var c conns
	model := &builtin.Model{TokenDelay: 50 * time.Microsecond}
	for i := range 3 {
		w := &worker.Worker{
			URL: url, Token: token, Name: fmt.Sprint("w", i), Capacity: 8,
			Models: []string{builtin.Name}, Executor: model,
			MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		}
		if i == 0 {
			w.Dialer = c.dialer()
		}
		start(t, w)
	}
	hubtest.WaitFor(t, "registered", hubtest.Workers(h, 3))

	var ok, failed, finished atomic.Int64
	returns := make([]atomic.Int32, jobs)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	cutter := make(chan struct{})
	go func() { // cut w0 every 25 jobs finished
		defer close(cutter)
		for next := int64(25); next < jobs; next += 25 {
			for finished.Load() < next {
				time.Sleep(100 * time.Microsecond)
			}
			c.cut()
		}
	}()
	for i := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r := prompt(i)
			out, usage, err := job(t.Context(), h, builtin.Name, r, nil)
			returns[i].Add(1)
			finished.Add(1)
			switch code := wire.CodeOf(err); {
			case err == nil:
				want := expected(t, r)
				if out != want.Output || usage.OutputTokens != want.Usage.OutputTokens {
					t.Errorf("job %d: wrong output %q", i, out)
				}
				ok.Add(1)
			case code == wire.CodeWorkerFailed:
				failed.Add(1)
			default:
				t.Errorf("job %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	<-cutter
	for i := range returns {
		if n := returns[i].Load(); n != 1 {
			t.Errorf("job %d returned %d times", i, n)
		}
	}
	if ok.Load()+failed.Load() != jobs {
		t.Errorf("%d ok + %d worker_failed, want %d in all", ok.Load(), failed.Load(), jobs)
	}
	t.Logf("%d ok, %d worker_failed", ok.Load(), failed.Load())
	for _, q := range h.Queues() {
		if q.Waiting != 0 || q.Running != 0 {
			t.Errorf("queue left over: %+v", q)
		}
	}
}

// fakeNode is a hand-driven node for what the hub never does, such as
// assigning past a worker's capacity.
func fakeNode(t *testing.T, serve func(ws *websocket.Conn)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		serve(ws)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestWorkerProtocol(t *testing.T) {
	g := hubtest.NewGate("g", make(chan string, 8))
	got := make(chan []wire.Message, 1)
	url := fakeNode(t, func(ws *websocket.Conn) {
		read := func() wire.Message {
			ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, b, err := ws.ReadMessage()
			if err != nil {
				return nil
			}
			m, err := wire.Decode(wire.WorkerToNode, b)
			if err != nil {
				t.Errorf("worker sent %s: %v", b, err)
			}
			return m
		}
		write := func(frame string) { ws.WriteMessage(websocket.TextMessage, []byte(frame)) }
		msgs := []wire.Message{read()} // register
		write(`{"type":"registered","max_frame_bytes":1048576,"something_new":true}`)
		write(`{"type":"brand_new_type"}`) // ignored: a newer node
		assign := `{"type":"assign","id":"%s","model":"m","request":{"messages":[{"role":"user","content":"hi"}],"max_tokens":5},"timeout_ms":60000}`
		write(fmt.Sprintf(assign, "n-1"))
		<-g.Started
		write(fmt.Sprintf(assign, "n-2")) // beyond capacity 1
		write(`{"type":"cancel","id":"n-99"}`)
		msgs = append(msgs, read()) // the refusal of n-2
		g.Release <- struct{}{}
		for {
			m := read()
			if m == nil {
				break
			}
			msgs = append(msgs, m)
			if _, ok := m.(*wire.Done); ok {
				break
			}
		}
		got <- msgs
	})
	stop := start(t, &worker.Worker{URL: url, Name: "w", Models: []string{"m"}, Executor: g})
	msgs := <-got
	stop()
	if r, ok := msgs[0].(*wire.Register); !ok || r.Capacity != 1 || r.Name != "w" {
		t.Fatalf("first frame %#v, want register with the default capacity 1", msgs[0])
	}
	if f, ok := msgs[1].(*wire.Fail); !ok || f.ID != "n-2" || f.Code != wire.CodeOverloaded {
		t.Fatalf("second frame %#v, want n-2 refused overloaded", msgs[1])
	}
	if d := <-g.Deadlines; time.Until(d) > time.Minute || time.Until(d) < 50*time.Second {
		t.Errorf("executor's deadline in %v, want timeout_ms 60000", time.Until(d))
	}
	want := []wire.Message{
		&wire.Chunk{ID: "n-1", Seq: 1, Delta: hubtest.GateOutput},
		&wire.Done{ID: "n-1", Usage: wire.Usage{InputTokens: 1, OutputTokens: 1}},
	}
	if !reflect.DeepEqual(msgs[2:], want) {
		t.Errorf("frames after the refusal: %#v, want %#v", msgs[2:], want)
	}
}

func TestRequest(t *testing.T) {
	temp := 0.7
	r := worker.Request("m", &wire.ChatRequest{
		Messages:    []wire.ChatMessage{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}},
		MaxTokens:   1 << 40,
		Temperature: &temp,
	})
	if r.Model != "m" || len(r.Messages) != 2 || r.Messages[1] != (executor.Message{Role: "user", Content: "u"}) ||
		!r.Stream || r.MaxTokens <= 0 || r.Temperature == nil || *r.Temperature != 0.7 || r.Temperature == &temp {
		t.Errorf("request %+v", r)
	}
}

func TestFailFor(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		err       error
		code      wire.Code
		retryable *bool // nil: not sent, the code's default holds
	}{
		{executor.Errorf(executor.CodeUpstreamError, true, "503"), wire.CodeUpstreamError, &yes},
		{executor.Errorf(executor.CodeUpstreamError, false, "malformed answer"), wire.CodeUpstreamError, &no},
		{executor.Errorf(executor.CodeUpstreamRejected, false, "400 unknown model"), wire.CodeUpstreamError, &no},
		{executor.Errorf(executor.CodeJobTimeout, false, "late"), wire.CodeJobTimeout, nil},
		{executor.Errorf(executor.CodeCancelled, false, "stop"), wire.CodeCancelled, nil},
		{executor.Errorf(executor.CodeBadRequest, false, "model"), wire.CodeWorkerFailed, nil},
		{errors.New("panic-ish"), wire.CodeWorkerFailed, nil},
		{executor.Errorf(executor.CodeUpstreamError, true, "%s", strings.Repeat("é", 2000)), wire.CodeUpstreamError, &yes},
	} {
		f := worker.FailFor("n-1", c.err)
		if f.ID != "n-1" || f.Code != c.code || f.Message == "" || len(f.Message) > 1024 {
			t.Errorf("%v: %+v, want code %s", c.err, f, c.code)
		}
		if (f.Retryable == nil) != (c.retryable == nil) || f.Retryable != nil && *f.Retryable != *c.retryable {
			t.Errorf("%v: retryable %v, want %v", c.err, f.Retryable, c.retryable)
		}
		if _, err := wire.Encode(f); err != nil {
			t.Errorf("%v: %v", c.err, err)
		}
	}
}

func TestStopWhileRegistering(t *testing.T) {
	registering := make(chan struct{})
	url := fakeNode(t, func(ws *websocket.Conn) {
		ws.ReadMessage() // the register, never answered
		close(registering)
		ws.ReadMessage() // until the worker hangs up
	})
	stop := start(t, &worker.Worker{URL: url, Name: "w", Models: []string{"m"}, Executor: &builtin.Model{}})
	<-registering
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
