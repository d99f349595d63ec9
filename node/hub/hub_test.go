package hub_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/paynode/paynode/metrics"
	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/hub"
	"github.com/paynode/paynode/node/hub/hubtest"
	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/node/worker"
)

func TestLocalBuiltin(t *testing.T) {
	h := hub.New(hub.Options{})
	defer h.AddLocal("builtin", 2, []string{builtin.Name}, &builtin.Model{})()

	req := wire.ChatRequest{Messages: []wire.ChatMessage{{Role: "user", Content: "Hello, world!"}}, MaxTokens: 100, Stream: true}
	want, err := (&builtin.Model{}).Run(t.Context(), worker.Request(builtin.Name, &req), nil)
	if err != nil {
		t.Fatal(err)
	}
	slot, err := h.Reserve(builtin.Name)
	if err != nil {
		t.Fatal(err)
	}
	var chunks []string
	out, usage, err := slot.Run(t.Context(), req, func(d string) error {
		chunks = append(chunks, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if out != want.Output || strings.Join(chunks, "") != out || len(chunks) < 2 {
		t.Errorf("output %q from %d chunks %q, want %q streamed", out, len(chunks), chunks, want.Output)
	}
	if usage.InputTokens != want.Usage.InputTokens || usage.OutputTokens != want.Usage.OutputTokens {
		t.Errorf("usage %+v, want %+v", usage, want.Usage)
	}
	if q := h.Queues(); len(q) != 1 || q[0] != (metrics.ModelQueue{Model: builtin.Name, Workers: 1}) {
		t.Errorf("queues after the job: %+v", q)
	}
	if ws := h.Workers(); len(ws) != 1 || ws[0].Addr != "local" || ws[0].Capacity != 2 || ws[0].Running != 0 {
		t.Errorf("workers: %+v", ws)
	}
}

func TestReserveUnknownModel(t *testing.T) {
	h := hub.New(hub.Options{})
	_, err := h.Reserve(model)
	wantCode(t, err, wire.CodeUnknownModel)
	defer h.AddLocal("w", 1, []string{"other"}, &builtin.Model{})()
	_, err = h.Reserve(model)
	wantCode(t, err, wire.CodeUnknownModel)
	_, err = h.Reserve(strings.ToUpper("other")) // exact match only
	wantCode(t, err, wire.CodeUnknownModel)
}

func TestOverloaded(t *testing.T) {
	h, g, started := gated(hub.Options{QueueSize: 2, RetryAfter: 250 * time.Millisecond})

	// Capacity 1 and a queue of 2: three places.
	running := runAsync(t, t.Context(), h, model, nil)
	<-started
	var slots []*hub.Slot
	for range 2 {
		s, err := h.Reserve(model)
		if err != nil {
			t.Fatal(err)
		}
		slots = append(slots, s)
	}
	_, err := h.Reserve(model)
	e := wantCode(t, err, wire.CodeOverloaded)
	if !e.Retryable || e.RetryAfterMS != 250 {
		t.Errorf("overloaded: retryable %v, retry_after_ms %d; want true, 250", e.Retryable, e.RetryAfterMS)
	}
	if q := h.Queues(); q[0].Waiting != 2 || q[0].Running != 1 {
		t.Errorf("queues: %+v, want 2 waiting, 1 running", q)
	}
	slots[0].Release()
	slots[0].Release() // idempotent
	s, err := h.Reserve(model)
	if err != nil {
		t.Fatalf("reserve after a release: %v", err)
	}
	s.Release()
	slots[1].Release()
	g.Release <- struct{}{}
	if r := wait(t, running); r.err != nil {
		t.Fatal(r.err)
	}
	if q := h.Queues(); q[0].Waiting != 0 || q[0].Running != 0 {
		t.Errorf("queues at the end: %+v", q)
	}
	if _, _, err := s.Run(t.Context(), request("x"), nil); err == nil {
		t.Error("Run after Release succeeded")
	}
}

func TestLeastLoaded(t *testing.T) {
	h := hub.New(hub.Options{})
	started := make(chan string, 16)
	gates := map[string]*hubtest.Gate{}
	for i, name := range []string{"a", "b", "c"} {
		gates[name] = hubtest.NewGate(name, started)
		defer h.AddLocal(name, i+1, []string{model}, gates[name])()
	}
	// a 0/1, b 0/2, c 0/3 → a; then b (a full); c 0/3 < b 1/2; c 1/3 < b 1/2;
	// b 1/2 < c 2/3; c 2/3 is the only room left.
	want := []string{"a", "b", "c", "c", "b", "c"}
	var results []<-chan result
	for i, w := range want {
		results = append(results, runAsync(t, t.Context(), h, model, nil))
		if got := <-started; got != w {
			t.Fatalf("job %d went to %s, want %s", i+1, got, w)
		}
	}
	// All full: the next job waits, and takes the first place freed.
	results = append(results, runAsync(t, t.Context(), h, model, nil))
	if q := h.Queues(); q[0] != (metrics.ModelQueue{Model: model, Waiting: 1, Running: 6, Workers: 3}) {
		t.Errorf("queues: %+v", q)
	}
	gates["b"].Release <- struct{}{}
	if got := <-started; got != "b" {
		t.Fatalf("queued job went to %s, want b", got)
	}
	for name, n := range map[string]int{"a": 1, "b": 2, "c": 3} {
		for range n {
			gates[name].Release <- struct{}{}
		}
	}
	for _, ch := range results {
		if r := wait(t, ch); r.err != nil || r.output != "ok" {
			t.Fatalf("job: %+v", r)
		}
	}
}

func TestQueueFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, g, started := gated(hub.Options{})
		first := runAsync(t, t.Context(), h, model, nil)
		<-started
		// Queue three jobs, each Run blocked in line before the next
		// starts; they must run in that order.
		order := make(chan int, 3)
		var done []<-chan result
		for i := range 3 {
			slot, err := h.Reserve(model)
			if err != nil {
				t.Fatal(err)
			}
			ch := make(chan result, 1)
			done = append(done, ch)
			go func() {
				out, u, err := slot.Run(t.Context(), request("x"), func(string) error { order <- i; return nil })
				ch <- result{out, u, err}
			}()
			synctest.Wait()
			if n := hub.Queued(h, model); n != i+1 {
				t.Fatalf("%d queued, want %d", n, i+1)
			}
		}
		g.Release <- struct{}{}
		<-first
		for i := range 3 {
			<-started
			g.Release <- struct{}{}
			if got := <-order; got != i {
				t.Fatalf("job %d ran in place %d", got, i)
			}
			<-done[i]
		}
	})
}

func TestAuth(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	for name, hdr := range map[string]http.Header{
		"no header":    {},
		"wrong token":  {"Authorization": {"Bearer nope"}},
		"token prefix": {"Authorization": {"Bearer " + testToken[:5]}},
		"other scheme": {"Authorization": {"Basic " + testToken}},
		"bare token":   {"Authorization": {testToken}},
	} {
		t.Run(name, func(t *testing.T) {
			ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
			if err == nil {
				ws.Close()
				t.Fatal("upgrade succeeded")
			}
			if resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("resp %v, err %v; want HTTP 401", resp, err)
			}
		})
	}
	if len(h.Workers()) != 0 {
		t.Error("a refused connection registered")
	}
	t.Run("no token configured", func(t *testing.T) {
		url := hubtest.Serve(t, hub.New(hub.Options{}))
		_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer "}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("resp %v, err %v; want HTTP 401", resp, err)
		}
	})
}

func TestRemoteJob(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	w := register(t, url, "gpu-1", 2, model, "m2")
	if ws := h.Workers(); len(ws) != 1 || ws[0].Name != "gpu-1" || ws[0].Addr == "local" || len(ws[0].Models) != 2 {
		t.Fatalf("workers: %+v", ws)
	}
	var chunks []string
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	res := runAsync(t, ctx, h, model, func(d string) error { chunks = append(chunks, d); return nil })
	a := w.readAssign()
	if a.Model != model || a.Request.Messages[0].Content != "hello" || a.Request.MaxTokens != 32 {
		t.Errorf("assign %+v", a)
	}
	if a.TimeoutMS == 0 || a.TimeoutMS > 60_000 {
		t.Errorf("timeout_ms %d, want the ctx deadline (≤ 60000)", a.TimeoutMS)
	}
	w.send(&wire.Chunk{ID: a.ID, Seq: 1, Delta: "Hello"})
	w.send(&wire.Chunk{ID: a.ID, Seq: 2, Delta: ", "})
	w.send(&wire.Chunk{ID: a.ID, Seq: 3, Delta: "world"})
	w.send(&wire.Done{ID: a.ID, Usage: wire.Usage{InputTokens: 3, OutputTokens: 4}})
	r := wait(t, res)
	if r.err != nil || r.output != "Hello, world" || r.usage != (wire.Usage{InputTokens: 3, OutputTokens: 4}) {
		t.Fatalf("result %+v", r)
	}
	if strings.Join(chunks, "|") != "Hello|, |world" {
		t.Errorf("chunks %q", chunks)
	}
}

func TestFailCodes(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	w := register(t, url, "w", 1, model)
	for code, want := range map[wire.Code]wire.Code{
		wire.CodeUpstreamError: wire.CodeUpstreamError,
		wire.CodeJobTimeout:    wire.CodeJobTimeout,
		wire.CodeOverloaded:    wire.CodeOverloaded,
		wire.CodeUnknownModel:  wire.CodeUnknownModel,
		wire.CodeCancelled:     wire.CodeCancelled,
		wire.CodeBadRequest:    wire.CodeWorkerFailed, // not a code workers send
		"brand_new_code":       wire.CodeWorkerFailed,
	} {
		res := runAsync(t, t.Context(), h, model, nil)
		a := w.readAssign()
		w.send(&wire.Fail{ID: a.ID, Code: code, Message: "backend said no"})
		e := wantCode(t, wait(t, res).err, want)
		if !strings.Contains(e.Message, "backend said no") {
			t.Errorf("%s: message %q lost the worker's", code, e.Message)
		}
		if e.Retryable != want.Retryable() {
			t.Errorf("%s: retryable %v without the worker's flag, want the code's default %v", code, e.Retryable, want.Retryable())
		}
	}
	// The worker's flag overrides the code's default, either way.
	for _, flag := range []bool{false, true} {
		res := runAsync(t, t.Context(), h, model, nil)
		a := w.readAssign()
		code := wire.CodeUpstreamError // retryable by default
		if flag {
			code = wire.CodeUnknownModel // not retryable by default
		}
		w.send(&wire.Fail{ID: a.ID, Code: code, Message: "backend said no", Retryable: &flag})
		if e := wantCode(t, wait(t, res).err, code); e.Retryable != flag {
			t.Errorf("%s with retryable %v: the agent is told %v", code, flag, e.Retryable)
		}
	}
}

func TestRerunBeforeChunk(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	a := register(t, url, "a", 1, model)
	b := register(t, url, "b", 1, model)
	res := runAsync(t, t.Context(), h, model, nil)
	first := a.readAssign() // a registered first: ties go to it
	a.ws.Close()
	second := b.readAssign()
	if second.ID == first.ID || second.Request.Messages[0] != first.Request.Messages[0] {
		t.Errorf("re-run %+v of %+v: want a new id, the same request", second, first)
	}
	b.send(&wire.Chunk{ID: second.ID, Seq: 1, Delta: "ok"})
	b.send(&wire.Done{ID: second.ID, Usage: wire.Usage{InputTokens: 1, OutputTokens: 1}})
	if r := wait(t, res); r.err != nil || r.output != "ok" {
		t.Fatalf("result %+v", r)
	}
	hubtest.WaitFor(t, "one worker", hubtest.Workers(h, 1))
}

func TestLostAfterChunk(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	a := register(t, url, "a", 1, model)
	b := register(t, url, "b", 1, model)
	got := make(chan string, 1)
	res := runAsync(t, t.Context(), h, model, func(d string) error { got <- d; return nil })
	as := a.readAssign()
	a.send(&wire.Chunk{ID: as.ID, Seq: 1, Delta: "partial"})
	if d := <-got; d != "partial" {
		t.Fatalf("emitted %q", d)
	}
	a.ws.Close()
	wantCode(t, wait(t, res).err, wire.CodeWorkerFailed)
	b.sync() // b got no assign
}

func TestRerunBounded(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	var ws []*raw
	for _, name := range []string{"a", "b", "c", "d"} {
		ws = append(ws, register(t, url, name, 1, model))
	}
	res := runAsync(t, t.Context(), h, model, nil)
	for _, w := range ws[:hub.MaxAttempts] {
		w.readAssign()
		w.ws.Close()
	}
	wantCode(t, wait(t, res).err, wire.CodeWorkerFailed)
	ws[3].sync() // the fourth worker never saw the job
}

func TestLostAloneFails(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	a := register(t, url, "a", 1, model)
	res := runAsync(t, t.Context(), h, model, nil)
	a.readAssign()
	a.ws.Close()
	wantCode(t, wait(t, res).err, wire.CodeWorkerFailed)
	_, err := h.Reserve(model)
	wantCode(t, err, wire.CodeUnknownModel)
}

func TestTimeoutCancelsWorker(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	w := register(t, url, "w", 1, model)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	res := runAsync(t, ctx, h, model, nil)
	a := w.readAssign()
	if a.TimeoutMS == 0 || a.TimeoutMS > 300 {
		t.Errorf("timeout_ms %d, want 1..300", a.TimeoutMS)
	}
	wantCode(t, wait(t, res).err, wire.CodeJobTimeout)
	w.readCancel(a.ID)
	// The worker's late answer to the cancel is dropped without a word.
	w.send(&wire.Chunk{ID: a.ID, Seq: 1, Delta: "late"})
	w.send(&wire.Fail{ID: a.ID, Code: wire.CodeCancelled, Message: "cancelled"})
	w.sync()
	if ws := h.Workers(); ws[0].Running != 0 {
		t.Errorf("running %d after the timeout", ws[0].Running)
	}
}

func TestCancelCancelsWorker(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	w := register(t, url, "w", 1, model)
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan string, 1)
	res := runAsync(t, ctx, h, model, func(d string) error { got <- d; return nil })
	a := w.readAssign()
	if a.TimeoutMS != 0 {
		t.Errorf("timeout_ms %d without a deadline", a.TimeoutMS)
	}
	w.send(&wire.Chunk{ID: a.ID, Seq: 1, Delta: "x"})
	<-got
	cancel()
	wantCode(t, wait(t, res).err, wire.CodeCancelled)
	w.readCancel(a.ID)
	w.send(&wire.Done{ID: a.ID}) // finished as it was cancelled: dropped
	w.sync()
}

func TestEmitErrorCancelsWorker(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	w := register(t, url, "w", 1, model)
	res := runAsync(t, t.Context(), h, model, func(string) error { return errors.New("agent gone") })
	a := w.readAssign()
	w.send(&wire.Chunk{ID: a.ID, Seq: 1, Delta: "x"})
	e := wantCode(t, wait(t, res).err, wire.CodeCancelled)
	if !strings.Contains(e.Message, "agent gone") {
		t.Errorf("message %q", e.Message)
	}
	w.readCancel(a.ID)
}

func TestLocalTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, g, _ := gated(hub.Options{})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		slot, err := h.Reserve(model)
		if err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		_, _, err = slot.Run(ctx, request("x"), nil)
		wantCode(t, err, wire.CodeJobTimeout)
		if d := time.Since(begin); d != 5*time.Minute {
			t.Errorf("timed out after %v", d)
		}
		// The executor's own context ended: the hub cancelled it, or
		// the deadline passed on to it did.
		if err := <-g.Ended; executor.CodeOf(err) == "" {
			t.Errorf("executor ended with %v", err)
		}
	})
}

func TestLocalCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, g, started := gated(hub.Options{})
		ctx, cancel := context.WithCancel(t.Context())
		res := runAsync(t, ctx, h, model, nil)
		<-started
		cancel()
		wantCode(t, (<-res).err, wire.CodeCancelled)
		if err := <-g.Ended; executor.CodeOf(err) != executor.CodeCancelled {
			t.Errorf("executor ended with %v, want cancelled", err)
		}
	})
}

func TestLocalRemoveReruns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := hub.New(hub.Options{})
		started := make(chan string, 4)
		a, b := hubtest.NewGate("a", started), hubtest.NewGate("b", started)
		removeA := h.AddLocal("a", 1, []string{model}, a)
		defer h.AddLocal("b", 1, []string{model}, b)()
		res := runAsync(t, t.Context(), h, model, nil)
		if got := <-started; got != "a" {
			t.Fatalf("ran on %s", got)
		}
		removeA()
		if got := <-started; got != "b" {
			t.Fatalf("re-ran on %s", got)
		}
		b.Release <- struct{}{}
		if r := <-res; r.err != nil {
			t.Fatal(r.err)
		}
		if err := <-a.Ended; executor.CodeOf(err) != executor.CodeCancelled {
			t.Errorf("removed worker's job ended with %v", err)
		}
	})
}

func TestDrain(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	a := register(t, url, "a", 1, model)
	started := make(chan string, 4)
	g := hubtest.NewGate("local", started)
	removeLocal := h.AddLocal("local", 1, []string{model}, g)

	// a takes the first job (earliest registered), then drains.
	first := runAsync(t, t.Context(), h, model, nil)
	as := a.readAssign()
	a.send(&wire.Models{Capacity: 0, Models: []string{model}})
	a.sync()
	if ws := h.Workers(); ws[0].Capacity != 0 || ws[0].Running != 1 {
		t.Errorf("drained worker: %+v", ws[0])
	}
	// New jobs go to the local worker, even though a is idle next.
	second := runAsync(t, t.Context(), h, model, nil)
	<-started
	a.send(&wire.Done{ID: as.ID})
	if r := wait(t, first); r.err != nil {
		t.Fatalf("the drained worker's job: %v", r.err)
	}
	third := runAsync(t, t.Context(), h, model, nil) // queued behind the local job
	g.Release <- struct{}{}
	<-started
	g.Release <- struct{}{}
	wait(t, second)
	wait(t, third)
	a.sync() // still no assign for a

	// With the local worker gone, a drained worker serves nothing.
	removeLocal()
	_, err := h.Reserve(model)
	wantCode(t, err, wire.CodeUnknownModel)
	a.send(&wire.Models{Capacity: 1, Models: []string{model}})
	a.sync()
	s, err := h.Reserve(model)
	if err != nil {
		t.Fatalf("after a's capacity came back: %v", err)
	}
	s.Release()
}

func TestQueuedJobsFailWhenModelGoes(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	a := register(t, url, "a", 1, model, "m2")
	first := runAsync(t, t.Context(), h, model, nil)
	as := a.readAssign()
	queued := runAsync(t, t.Context(), h, model, nil)
	hubtest.WaitFor(t, "queued", func() bool { return hub.Queued(h, model) == 1 })
	a.send(&wire.Models{Capacity: 1, Models: []string{"m2"}}) // model dropped
	wantCode(t, wait(t, queued).err, wire.CodeUnknownModel)
	a.send(&wire.Done{ID: as.ID}) // the running job still finishes
	if r := wait(t, first); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestHeartbeat(t *testing.T) {
	h, url := newHub(t, hub.Options{HeartbeatInterval: 50 * time.Millisecond})
	alive := register(t, url, "alive", 1, model)
	dead := register(t, url, "dead", 1, model)
	dead.ws.SetPingHandler(func(string) error { return nil }) // never pongs
	go alive.waitClosed()                                     // reads, so it answers pings
	if err := dead.waitClosed(); err == nil {
		t.Fatal("no error")
	}
	hubtest.WaitFor(t, "one worker", hubtest.Workers(h, 1))
	if ws := h.Workers(); ws[0].Name != "alive" {
		t.Errorf("workers left: %+v", ws)
	}
}

func TestRegisterTimeout(t *testing.T) {
	_, url := newHub(t, hub.Options{HeartbeatInterval: 50 * time.Millisecond})
	r := dial(t, url)
	err := r.waitClosed()
	if ce, ok := errors.AsType[*websocket.CloseError](err); !ok || ce.Code != websocket.ClosePolicyViolation || ce.Text != "register_timeout" {
		t.Fatalf("closed with %v, want 1008 register_timeout", err)
	}
}

func TestProtocolErrors(t *testing.T) {
	_, url := newHub(t, hub.Options{MaxFrameBytes: 1024})
	r := dial(t, url)

	// Before register.
	r.sendRaw(websocket.TextMessage, `{"type":"chunk","id":"n-1","seq":1,"delta":"x"}`)
	if e := r.readError(wire.CodeUnexpectedMessage); e.ID != "n-1" {
		t.Errorf("unexpected_message names job %q", e.ID)
	}
	r.send(&wire.Ping{})
	r.readError(wire.CodeUnexpectedMessage)
	r.sendRaw(websocket.TextMessage, `{"type":"register","name":"w","capacity":1,"models":["m1"],"token":"x"}`)
	if e := r.readError(wire.CodeBadField); e.Field != "token" {
		t.Errorf("field %q", e.Field)
	}
	r.sendRaw(websocket.TextMessage, `{"type":"register","name":"w","capacity":0,"models":["m1"]}`)
	r.readError(wire.CodeBadField)
	r.send(&wire.Register{Name: "w", Capacity: 1, Models: []string{model}})
	if _, ok := r.read().(*wire.Registered); !ok {
		t.Fatal("not registered after the errors")
	}

	for _, c := range []struct {
		name  string
		typ   int
		frame string
		code  wire.Code
		id    string
	}{
		{"malformed JSON", websocket.TextMessage, `{"type":"chunk",`, wire.CodeBadFrame, ""},
		{"not an object", websocket.TextMessage, `[1,2]`, wire.CodeBadFrame, ""},
		{"binary", websocket.BinaryMessage, `{"type":"ping"}`, wire.CodeBadFrame, ""},
		{"unknown type", websocket.TextMessage, `{"type":"assign","id":"n-1"}`, wire.CodeUnknownType, "n-1"},
		{"unknown field", websocket.TextMessage, `{"type":"done","id":"n-1","usage":{},"cost":"1"}`, wire.CodeBadField, "n-1"},
		{"second register", websocket.TextMessage, `{"type":"register","name":"w","capacity":1,"models":["m1"]}`, wire.CodeUnexpectedMessage, ""},
		{"chunk, unknown job", websocket.TextMessage, `{"type":"chunk","id":"n-9","seq":1,"delta":"x"}`, wire.CodeUnknownJob, "n-9"},
		{"done, unknown job", websocket.TextMessage, `{"type":"done","id":"n-9","usage":{"input_tokens":1,"output_tokens":1}}`, wire.CodeUnknownJob, "n-9"},
		{"fail, unknown job", websocket.TextMessage, `{"type":"fail","id":"n-9","code":"worker_failed","message":""}`, wire.CodeUnknownJob, "n-9"},
		{"oversize frame", websocket.TextMessage, `{"type":"ping","nonce":"` + strings.Repeat("x", 2000) + `"}`, wire.CodeFrameTooLarge, ""},
		{"oversize binary", websocket.BinaryMessage, strings.Repeat("x", 5000), wire.CodeFrameTooLarge, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r.sendRaw(c.typ, c.frame)
			if e := r.readError(c.code); e.ID != c.id {
				t.Errorf("error names job %q, want %q", e.ID, c.id)
			}
			r.sync() // the connection is still usable
		})
	}

	t.Run("beyond what the hub discards", func(t *testing.T) {
		r.sendRaw(websocket.TextMessage, strings.Repeat("x", 16*1024+1))
		err := r.waitClosed()
		if ce, ok := errors.AsType[*websocket.CloseError](err); !ok || ce.Code != websocket.CloseMessageTooBig || ce.Text != "frame_too_large" {
			t.Fatalf("closed with %v, want 1009 frame_too_large", err)
		}
	})
}

func TestChunkRules(t *testing.T) {
	for _, c := range []struct {
		name   string
		chunks []wire.Chunk
	}{
		{"seq gap", []wire.Chunk{{Seq: 1, Delta: "a"}, {Seq: 3, Delta: "c"}}},
		{"seq repeated", []wire.Chunk{{Seq: 1, Delta: "a"}, {Seq: 1, Delta: "a"}}},
		{"seq from 0", []wire.Chunk{{Seq: 2, Delta: "a"}}},
		{"output too large", []wire.Chunk{{Seq: 1, Delta: "12345678"}, {Seq: 2, Delta: "123"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, url := newHub(t, hub.Options{MaxOutputBytes: 10})
			w := register(t, url, "w", 1, model)
			res := runAsync(t, t.Context(), h, model, nil)
			a := w.readAssign()
			for _, ch := range c.chunks {
				ch.ID = a.ID
				w.send(&ch)
			}
			wantCode(t, wait(t, res).err, wire.CodeWorkerFailed)
			w.readCancel(a.ID)
			w.send(&wire.Fail{ID: a.ID, Code: wire.CodeCancelled})
			w.sync()
		})
	}
}

func TestCloseDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, g, started := gated(hub.Options{})
		res := runAsync(t, t.Context(), h, model, nil)
		<-started
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		closed := make(chan error, 1)
		go func() { closed <- h.Close(ctx) }()
		synctest.Wait()
		_, err := h.Reserve(model)
		wantCode(t, err, wire.CodeShuttingDown)
		time.Sleep(30 * time.Second) // the job goes on while Close waits
		g.Release <- struct{}{}
		if r := <-res; r.err != nil {
			t.Fatalf("the running job: %v", r.err)
		}
		if err := <-closed; err != nil {
			t.Fatalf("Close: %v", err)
		}
		if len(h.Workers()) != 0 {
			t.Error("workers left after Close")
		}
	})
}

func TestCloseDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, g, started := gated(hub.Options{})
		res := runAsync(t, t.Context(), h, model, nil)
		<-started
		reserved, err := h.Reserve(model) // reserved before Close, run after its deadline
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close: %v, want the deadline", err)
		}
		wantCode(t, (<-res).err, wire.CodeShuttingDown)
		if err := <-g.Ended; executor.CodeOf(err) != executor.CodeCancelled {
			t.Errorf("executor ended with %v, want cancelled", err)
		}
		_, _, err = reserved.Run(t.Context(), request("x"), nil)
		wantCode(t, err, wire.CodeShuttingDown)
	})
}

func TestCloseRemote(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	w := register(t, url, "w", 1, model)
	res := runAsync(t, t.Context(), h, model, nil)
	a := w.readAssign()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- h.Close(ctx) }()
	// At the deadline the job ends, the worker gets cancel, then 1001.
	wantCode(t, wait(t, res).err, wire.CodeShuttingDown)
	w.readCancel(a.ID)
	err := w.waitClosed()
	if ce, ok := errors.AsType[*websocket.CloseError](err); !ok || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("closed with %v, want 1001", err)
	}
	if err := <-closed; err == nil {
		t.Error("Close returned nil after its deadline")
	}
	if _, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + testToken}}); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Close: %v %v, want HTTP 503", resp, err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	h, url := newHub(t, hub.Options{Metrics: metrics.New(reg, metrics.BuildInfo{})})
	check := func(connections, lost int) {
		t.Helper()
		want := fmt.Sprintf(`
# HELP paynode_hub_worker_connections Worker websocket connections open.
# TYPE paynode_hub_worker_connections gauge
paynode_hub_worker_connections %d
# HELP paynode_hub_workers_lost_total Workers that went away with jobs assigned.
# TYPE paynode_hub_workers_lost_total counter
paynode_hub_workers_lost_total %d
`, connections, lost)
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "paynode_hub_worker_connections", "paynode_hub_workers_lost_total"); err != nil {
			t.Error(err)
		}
	}
	a := register(t, url, "a", 1, model)
	b := register(t, url, "b", 1, model)
	removeLocal := h.AddLocal("local", 1, []string{"other"}, &builtin.Model{})
	check(2, 0) // connections: the local worker has none
	b.ws.Close()
	hubtest.WaitFor(t, "b gone", hubtest.Workers(h, 2))
	check(1, 0) // idle: not lost
	res := runAsync(t, t.Context(), h, model, nil)
	a.readAssign()
	a.ws.Close()
	wantCode(t, wait(t, res).err, wire.CodeWorkerFailed)
	hubtest.WaitFor(t, "a gone", hubtest.Workers(h, 1))
	check(0, 1)
	removeLocal()
	check(0, 1)
}

func TestRerunGoesFirst(t *testing.T) {
	h, url := newHub(t, hub.Options{})
	a := register(t, url, "a", 1, model)
	b := register(t, url, "b", 1, model)
	run := func(text string) <-chan result {
		slot, err := h.Reserve(model)
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan result, 1)
		go func() {
			out, u, err := slot.Run(t.Context(), request(text), nil)
			ch <- result{out, u, err}
		}()
		return ch
	}
	content := func(a *wire.Assign) string { return a.Request.Messages[0].Content }
	one := run("one")
	if got := content(a.readAssign()); got != "one" {
		t.Fatalf("a got %q", got)
	}
	two := run("two")
	twoID := b.readAssign().ID
	three := run("three")
	hubtest.WaitFor(t, "three queued", func() bool { return hub.Queued(h, model) == 1 })
	a.ws.Close()
	hubtest.WaitFor(t, "one back in line", func() bool { return hub.Queued(h, model) == 2 })
	b.send(&wire.Done{ID: twoID})
	for _, want := range []string{"one", "three"} { // the re-run first: it was in line before three
		as := b.readAssign()
		if content(as) != want {
			t.Fatalf("b got %q, want %q", content(as), want)
		}
		b.send(&wire.Done{ID: as.ID})
	}
	for _, ch := range []<-chan result{one, two, three} {
		if r := wait(t, ch); r.err != nil {
			t.Fatal(r.err)
		}
	}
}
