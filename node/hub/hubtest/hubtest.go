// Package hubtest helps tests that need a worker hub on a real socket:
// the hub's own tests, the worker's, and the agent API's.
package hubtest

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/hub"
)

// Serve serves h's worker endpoint on a loopback listener until the test
// ends, then closes h (giving its jobs 5 s) and the listener. It returns
// the endpoint's websocket URL.
func Serve(t testing.TB, h *hub.Hub) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Close(ctx)
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/worker"
}

// WaitFor polls cond every millisecond for up to 10 s, for the hub's
// state that comes with no event (a worker registered, a job in line).
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Workers returns a condition for WaitFor: h has n workers.
func Workers(h *hub.Hub, n int) func() bool {
	return func() bool { return len(h.Workers()) == n }
}

// Gate is an executor whose jobs wait for the test. Each job sends Name
// on Started and its deadline (zero: none) on Deadlines, then waits for a
// value on Release, which ends it with the output GateOutput and usage
// 1 in, 1 out; or for its context to end. Ended gets each job's error
// (nil for a released job). The channels of NewGate hold 64 values.
type Gate struct {
	Name      string
	Started   chan string
	Release   chan struct{}
	Ended     chan error
	Deadlines chan time.Time
}

// GateOutput is the output of a released Gate job.
const GateOutput = "ok"

// NewGate returns a gate that announces its jobs on started.
func NewGate(name string, started chan string) *Gate {
	return &Gate{
		Name:      name,
		Started:   started,
		Release:   make(chan struct{}, 64),
		Ended:     make(chan error, 64),
		Deadlines: make(chan time.Time, 64),
	}
}

var _ executor.Executor = (*Gate)(nil)

// Run implements executor.Executor.
func (g *Gate) Run(ctx context.Context, req executor.ChatRequest, emit func(string) error) (executor.Result, error) {
	d, _ := ctx.Deadline()
	g.Deadlines <- d
	g.Started <- g.Name
	select {
	case <-g.Release:
	case <-ctx.Done():
		err := executor.ContextError(ctx)
		g.Ended <- err
		return executor.Result{}, err
	}
	g.Ended <- nil
	if emit != nil {
		if err := emit(GateOutput); err != nil {
			return executor.Result{}, executor.EmitError(err)
		}
	}
	return executor.Result{Output: GateOutput, Usage: executor.Usage{InputTokens: 1, OutputTokens: 1}, FinishReason: executor.FinishStop}, nil
}
