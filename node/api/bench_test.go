package api

import (
	"context"
	"fmt"
	"math/big"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gorilla/websocket"

	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/hub"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/wire"
)

// benchWindow is how many jobs the benchmark agent keeps in flight on its
// one connection.
const benchWindow = 32

// BenchmarkPaidJob measures paid jobs through the server over loopback:
// one agent connection, benchWindow jobs pipelined, each job the whole
// path — submit decoded, offer and channel checked, a place reserved on
// the scheduler, the payment authorized (a durable reservation), the
// builtin model run (no delay), the job charged (a signed receipt, a
// durable charge), the result encoded and read by the agent. The ledger
// is bbolt with fsync (the production setting) or without (nosync). The
// agent either sends one voucher, signed once, high enough for every job
// (same-voucher: the server checks its signature once), or a new one with
// each job (new-voucher: one ECDSA recovery a job); vouchers are signed
// before the clock starts. Reported: jobs/s and the p50 and p99 of the
// time from a submit's write to its result's read.
func BenchmarkPaidJob(b *testing.B) {
	for _, bc := range []struct {
		name              string
		noSync, perJobVch bool
	}{
		{"fsync/same-voucher", false, false},
		{"fsync/new-voucher", false, true},
		{"nosync/same-voucher", true, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixtureSync(b, bc.noSync, nil)
			a := f.newAgent(tusd, 1<<62)
			c := f.connect(a)
			subs := make([]*wire.Submit, b.N)
			for i := range subs {
				subs[i] = f.submit(a, fmt.Sprintf("bench-%d", i), modelBuiltin, fmt.Sprintf("question %d?", i), 64, false)
			}
			if !bc.perJobVch {
				f.sign(a, subs[0], big.NewInt(1<<62))
				for _, m := range subs[1:] {
					m.Voucher = subs[0].Voucher
				}
			}
			sent := make([]time.Time, b.N)
			latency := make([]time.Duration, 0, b.N)
			byID := make(map[string]int, b.N)
			for i, m := range subs {
				byID[m.ID] = i
			}
			b.ResetTimer()
			start := time.Now()
			next := 0
			for ; next < min(benchWindow, b.N); next++ {
				sent[next] = time.Now()
				c.send(subs[next])
			}
			for done := 0; done < b.N; {
				switch m := c.next().(type) {
				case *wire.Accepted:
				case *wire.Result:
					latency = append(latency, time.Since(sent[byID[m.ID]]))
					done++
					if next < b.N {
						sent[next] = time.Now()
						c.send(subs[next])
						next++
					}
				default:
					b.Fatalf("got %s", describe(m))
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(latency)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
			b.ReportMetric(float64(latency[len(latency)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(latency[len(latency)*99/100].Microseconds())/1000, "p99-ms")
			if st := f.channel(a); st.ReceiptSeq != uint64(b.N) || st.Reserved.Sign() != 0 {
				b.Fatalf("ledger %+v after %d jobs", st, b.N)
			}
		})
	}
}

// BenchmarkIdleConnection measures the memory of authenticated agent
// connections that sit idle: heap and goroutine stacks in use after n
// connections are open, over n. Agent and server run in one process, so
// the figure holds both ends of each connection (the agent's end is one
// gorilla client without goroutines): it bounds the server's share from
// above.
func BenchmarkIdleConnection(b *testing.B) {
	const n = 500
	f := newFixture(b, nil)
	inUse := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse + ms.StackInuse
	}
	for range b.N {
		before := inUse()
		conns := make([]*client, n)
		for i := range conns {
			conns[i] = f.connect(f.newAgent(tusd, 1_000_000))
		}
		after := inUse()
		b.ReportMetric(float64(after-before)/n, "bytes/conn")
		for _, c := range conns {
			c.ws.Close()
		}
		waitFor(b, func() bool { return f.srv.Stats().Connections == 0 })
	}
}

// noJobs is a ledger that knows no job.
type noJobs struct{ Ledger }

func (noJobs) Job(context.Context, common.Hash, string) (*ledger.Job, error) {
	return nil, ledger.ErrNotFound
}

// hubScheduler is the worker hub as the server's scheduler.
type hubScheduler struct{ h *hub.Hub }

func (s hubScheduler) Reserve(model string) (Slot, error) {
	slot, err := s.h.Reserve(model)
	if err != nil {
		return nil, err
	}
	return slot, nil
}

// BenchmarkFreeJob is the path of a job through the server, the worker
// hub and the builtin model in process, without payment: what every job
// costs apart from the voucher check, the ledger and the receipt's
// signature. One agent connection keeps benchWindow jobs in flight, each
// asking 16 output tokens (streamed from the model through the hub, not
// to the agent), and reads accepted and result. Allocations are the
// server's, the hub's and the model's, and the agent's (in the same
// process) decoding of two frames a job.
func BenchmarkFreeJob(b *testing.B) {
	h := hub.New(hub.Options{})
	defer h.AddLocal("builtin", 512, []string{modelBuiltin}, &builtin.Model{})()
	f := newFixture(b, func(o *Options) {
		o.Payments, o.Scheduler, o.Ledger = Unpaid{}, hubScheduler{h}, noJobs{o.Ledger}
	})
	a := f.newAgent(tusd, 1<<62)
	c := f.connect(a)
	subs := make([]*wire.Submit, b.N)
	for i := range subs {
		subs[i] = &wire.Submit{
			ID: fmt.Sprintf("free-%d", i), Model: modelBuiltin, ChannelID: a.channel,
			Request: wire.ChatRequest{Messages: []wire.ChatMessage{{Role: "user", Content: fmt.Sprintf("Benchmark prompt %d", i%97)}}, MaxTokens: 16},
			Voucher: wire.Voucher{Amount: wire.AmountOf(1), Signature: make(wire.Signature, wire.SignatureLen)},
		}
	}
	frames := make([][]byte, b.N)
	for i, m := range subs {
		var err error
		if frames[i], err = wire.Encode(m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	next := 0
	for ; next < min(benchWindow, b.N); next++ {
		c.sendRaw(websocket.TextMessage, frames[next])
	}
	for done := 0; done < b.N; {
		switch m := c.next().(type) {
		case *wire.Accepted:
		case *wire.Result:
			done++
			if next < b.N {
				c.sendRaw(websocket.TextMessage, frames[next])
				next++
			}
		default:
			b.Fatalf("got %s", describe(m))
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}
