package bolt_test

import (
	"fmt"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/ledger/ledgertest"
)

// BenchmarkReserveCharge measures the hot path of a paid job, a durable
// Reserve then a durable Charge, from concurrent goroutines: one iteration
// is one job (two writes). Each goroutine pays on its own channel and
// keeps the channel's running total itself, as the payment code does.
//
// Reported: jobs/s and ops/s (writes a second), ops/commit (the average
// group-commit size) and the p50 and p99 latency of one write.
//
// "slowdisk" adds 2 ms to every group commit's write, as a network disk's
// sync takes: there the writer's overlap of applying with syncing shows.
func BenchmarkReserveCharge(b *testing.B) {
	for _, tc := range []struct {
		goroutines int
		noSync     bool
		syncDelay  time.Duration
	}{{1, false, 0}, {16, false, 0}, {64, false, 0}, {256, false, 0}, {64, true, 0}, {256, false, 2 * time.Millisecond}} {
		name := fmt.Sprintf("goroutines=%d", tc.goroutines)
		if tc.noSync {
			name += "/nosync"
		}
		if tc.syncDelay > 0 {
			name += "/slowdisk"
		}
		b.Run(name, func(b *testing.B) { benchReserveCharge(b, tc.goroutines, tc.noSync, tc.syncDelay) })
	}
}

func benchReserveCharge(b *testing.B, goroutines int, noSync bool, syncDelay time.Duration) {
	s := open(b, b.TempDir(), bolt.Options{NoSync: noSync})
	if syncDelay > 0 {
		bolt.SlowSyncs(s, syncDelay)
	}
	ctx := b.Context()
	maxCost := big.NewInt(1_000_000_000_000)
	voucher := new(big.Int).Lsh(big.NewInt(1), 200)
	var next atomic.Int64
	latencies := make([][]time.Duration, goroutines)
	before := s.Stats()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			ch := ledgertest.Chan(g)
			charged := new(big.Int)
			lat := make([]time.Duration, 0, 2*b.N/goroutines+2)
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				id := fmt.Sprintf("job-%d", i)
				t0 := time.Now()
				if _, err := s.Reserve(ctx, ledger.ReserveOp{
					Job:     ledger.Job{ChannelID: ch, ID: id, MaxCost: maxCost},
					Voucher: ledger.Voucher{Amount: voucher, Signature: make([]byte, 65)},
				}); err != nil {
					b.Error(err)
					return
				}
				t1 := time.Now()
				cost := big.NewInt(1000 + i%1000)
				charged.Add(charged, cost)
				if _, err := s.Charge(ctx, ledger.ChargeOp{ChannelID: ch, JobID: id, Cost: cost,
					Receipt: ledgertest.Receipt(ch, id, cost, charged)}); err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, t1.Sub(t0), time.Since(t1))
			}
			latencies[g] = lat
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	st := s.Stats()
	ops, commits := st.Ops-before.Ops, st.Commits-before.Commits
	all := slices.Concat(latencies...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(float64(ops)/elapsed.Seconds(), "ops/s")
	if commits > 0 {
		b.ReportMetric(float64(ops)/float64(commits), "ops/commit")
		b.ReportMetric(float64(st.Writes-before.Writes)/float64(ops), "pages/op")
		b.ReportMetric(float64((st.ApplyTime-before.ApplyTime).Microseconds())/float64(ops), "apply-µs/op")
		b.ReportMetric(float64((st.CommitTime-before.CommitTime).Microseconds())/float64(commits), "commit-µs")
	}
	if cps := st.Checkpoints - before.Checkpoints; cps > 0 {
		b.ReportMetric(float64((st.CheckpointTime-before.CheckpointTime).Microseconds())/float64(cps), "checkpoint-µs")
		b.ReportMetric(float64(ops)/float64(cps), "ops/checkpoint")
	}
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	}
}

// BenchmarkChannel measures the read every payment check makes, from
// parallel readers.
func BenchmarkChannel(b *testing.B) {
	s := open(b, b.TempDir(), bolt.Options{})
	ctx := b.Context()
	for c := range 100 {
		if _, err := s.Reserve(ctx, ledger.ReserveOp{
			Job:     ledger.Job{ChannelID: ledgertest.Chan(c), ID: "j", MaxCost: big.NewInt(1)},
			Voucher: ledger.Voucher{Amount: big.NewInt(100), Signature: make([]byte, 65)},
		}); err != nil {
			b.Fatal(err)
		}
	}
	var i atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Channel(ctx, ledgertest.Chan(int(i.Add(1)%100))); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
