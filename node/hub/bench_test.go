package hub_test

import (
	"context"
	"testing"

	"github.com/paynode/paynode/node/executor"
	"github.com/paynode/paynode/node/hub"
	"github.com/paynode/paynode/node/hub/hubtest"
	"github.com/paynode/paynode/node/worker"
)

// zeroWork answers every job at once with one chunk: what is measured is
// the hub (and the websocket), not a model.
type zeroWork struct{}

func (zeroWork) Run(_ context.Context, _ executor.ChatRequest, emit func(string) error) (executor.Result, error) {
	if err := emit("ok"); err != nil {
		return executor.Result{}, executor.EmitError(err)
	}
	return executor.Result{Output: "ok", Usage: executor.Usage{InputTokens: 1, OutputTokens: 1}, FinishReason: executor.FinishStop}, nil
}

// roundTrips runs b.N jobs, one at a time or in parallel, and checks each.
func roundTrips(b *testing.B, h *hub.Hub, parallel bool) {
	req := request("hello")
	one := func() {
		slot, err := h.Reserve(model)
		if err != nil {
			b.Fatal(err)
		}
		out, _, err := slot.Run(context.Background(), req, func(string) error { return nil })
		if err != nil || out != "ok" {
			b.Fatalf("%q, %v", out, err)
		}
	}
	b.ReportAllocs()
	if !parallel {
		for b.Loop() {
			one()
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			one()
		}
	})
}

// BenchmarkLocalJob is one job's round trip through the hub to an
// in-process worker: Reserve, queue, dispatch, one chunk, done.
func BenchmarkLocalJob(b *testing.B) {
	for _, c := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel", true}} {
		b.Run(c.name, func(b *testing.B) {
			h := hub.New(hub.Options{})
			defer h.AddLocal("local", 64, []string{model}, zeroWork{})()
			roundTrips(b, h, c.parallel)
		})
	}
}

// BenchmarkRemoteJob is the same round trip to a worker.Worker over a
// loopback websocket: assign, chunk and done each cross the socket.
func BenchmarkRemoteJob(b *testing.B) {
	for _, c := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel", true}} {
		b.Run(c.name, func(b *testing.B) {
			h := hub.New(hub.Options{Token: testToken})
			url := hubtest.Serve(b, h)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			w := &worker.Worker{URL: url, Token: testToken, Name: "bench", Capacity: 64, Models: []string{model}, Executor: zeroWork{}}
			go func() { done <- w.Run(ctx) }()
			defer func() { cancel(); <-done }()
			hubtest.WaitFor(b, "registered", hubtest.Workers(h, 1))
			roundTrips(b, h, c.parallel)
		})
	}
}
