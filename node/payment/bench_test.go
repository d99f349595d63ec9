package payment

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/wire"
)

// benchInFlight is the number of jobs the benchmarks keep in flight: the
// goroutines of b.RunParallel, b.SetParallelism(benchInFlight/GOMAXPROCS).
const benchInFlight = 64

// vouchersPerChannel is how many distinct vouchers a channel's agent
// cycles through when each job brings a new one; two in a row on a
// channel always differ, so each misses the verify cache.
const vouchersPerChannel = 4

type benchChannel struct {
	id       common.Hash
	vouchers []Voucher
}

// benchPayments is a payment check on a bbolt ledger in a fresh directory,
// through a probeLedger that counts its reads, with n open TUSD channels of
// a huge deposit, each with vouchers for far more than any benchmark
// charges.
func benchPayments(b *testing.B, n int, noSync bool) (*Payments, *bolt.Store, *probeLedger, []benchChannel) {
	b.Helper()
	l, err := bolt.Open(b.TempDir(), bolt.Options{NoSync: noSync, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close(context.Background()) })
	provider, _ := crypto.GenerateKey()
	d := &contracts.Deployment{ChainID: 1337, PaymentChannels: common.HexToAddress("0xc0ffee"), OfferRegistry: common.HexToAddress("0x1")}
	chans := &fakeChannels{chs: map[common.Hash]chainwatch.Channel{}, errs: map[common.Hash]error{}}
	pl := &probeLedger{Ledger: l}
	p := New(d, provider, pl, chans, nil)
	deposit := new(big.Int).Lsh(big.NewInt(1), 200)
	out := make([]benchChannel, n)
	for c := range out {
		id := common.BigToHash(big.NewInt(int64(1 + c)))
		signer, _ := crypto.GenerateKey()
		chans.chs[id] = chainwatch.Channel{
			ID: id, Signer: crypto.PubkeyToAddress(signer.PublicKey), Asset: tusd,
			Provider: crypto.PubkeyToAddress(provider.PublicKey), Deposit: deposit, Claimed: new(big.Int),
		}
		out[c].id = id
		for k := range vouchersPerChannel {
			amount := new(big.Int).Sub(deposit, big.NewInt(int64(k)))
			out[c].vouchers = append(out[c].vouchers, signVoucher(b, p.Domain(), signer, id, amount))
		}
	}
	return p, l, pl, out
}

// BenchmarkAuthorizeCharge measures the payment check on the paid-job hot
// path: one iteration is one job, Authorize (channel lookup, voucher
// check, durable reservation) then Charge (price, receipt signed by the
// provider key, durable charge), with benchInFlight jobs in flight spread
// over 1, 20 or 200 channels. The ledger is bbolt with fsync at every
// commit (the production setting) or without (NoSync, for reference: what
// the payment check costs without the disk). An agent either resends the
// channel's latest voucher (cached: the signature was checked before) or
// brings a new one with each job (fresh: one ECDSA recovery a job).
//
// Reported: jobs/s; the p50 and p99 latency of Authorize and of Charge as
// the caller sees them; reads/job, the ledger reads of the payment check
// (none: a new job is not looked up); from the ledger's counters,
// ops/commit (its average group commit, in writes), pages/op (pages
// written per write) and commit-µs (time to write and sync one commit).
func BenchmarkAuthorizeCharge(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		for _, channels := range []int{1, 20, 200} {
			for _, fresh := range []bool{false, true} {
				disk, voucher := "fsync", "cached"
				if noSync {
					disk = "nosync"
				}
				if fresh {
					voucher = "fresh"
				}
				name := fmt.Sprintf("%s/channels=%d/voucher=%s", disk, channels, voucher)
				b.Run(name, func(b *testing.B) { benchAuthorizeCharge(b, channels, noSync, fresh) })
			}
		}
	}
}

func benchAuthorizeCharge(b *testing.B, channels int, noSync, fresh bool) {
	p, l, pl, chans := benchPayments(b, channels, noSync)
	ctx := b.Context()
	price, err := contracts.ParsePrice("1000", "2000000", "8000000")
	if err != nil {
		b.Fatal(err)
	}
	var (
		next        atomic.Int64
		latMu       sync.Mutex
		authLat     []time.Duration
		chargeLat   []time.Duration
		parallelism = max(1, benchInFlight/runtime.GOMAXPROCS(0))
	)
	before := l.Stats()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var al, cl []time.Duration
		for pb.Next() {
			i := next.Add(1)
			ch := &chans[int(i)%channels]
			v := ch.vouchers[0]
			if fresh {
				v = ch.vouchers[int(i)/channels%vouchersPerChannel]
			}
			t0 := time.Now()
			a, err := p.Authorize(ctx, Request{
				ChannelID: ch.id, JobID: "job-" + strconv.FormatInt(i, 10), Asset: tusd, Price: price,
				InputTokens: 10, MaxTokens: 100, Voucher: v,
			})
			if err != nil {
				b.Error(err)
				return
			}
			t1 := time.Now()
			if _, err := p.Charge(ctx, a, Usage{InputTokens: 10, OutputTokens: uint64(i % 100)}, common.Hash{}); err != nil {
				b.Error(err)
				return
			}
			al, cl = append(al, t1.Sub(t0)), append(cl, time.Since(t1))
		}
		latMu.Lock()
		authLat, chargeLat = append(authLat, al...), append(chargeLat, cl...)
		latMu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()

	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(float64(pl.reads.Load())/float64(b.N), "reads/job")
	for _, m := range []struct {
		name string
		lat  []time.Duration
	}{{"authorize", authLat}, {"charge", chargeLat}} {
		if len(m.lat) == 0 {
			continue
		}
		slices.Sort(m.lat)
		b.ReportMetric(float64(m.lat[len(m.lat)/2].Microseconds()), m.name+"-p50-µs")
		b.ReportMetric(float64(m.lat[len(m.lat)*99/100].Microseconds()), m.name+"-p99-µs")
	}
	st := l.Stats()
	if commits, ops := st.Commits-before.Commits, st.Ops-before.Ops; commits > 0 && ops > 0 {
		b.ReportMetric(float64(ops)/float64(commits), "ops/commit")
		b.ReportMetric(float64(st.Writes-before.Writes)/float64(ops), "pages/op")
		b.ReportMetric(float64((st.CommitTime-before.CommitTime).Microseconds())/float64(commits), "commit-µs")
	}
}

// BenchmarkVerifyCached is the voucher check when the agent resends the
// voucher last checked on its channel: a comparison, no ECDSA.
func BenchmarkVerifyCached(b *testing.B) {
	p, id, signer, vs := benchVerify(b)
	for b.Loop() {
		if err := p.verify(id, signer, vs[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyUncached is the voucher check when each voucher differs
// from the last one checked on its channel: the EIP-712 digest, an ECDSA
// recovery, and the cache update.
func BenchmarkVerifyUncached(b *testing.B) {
	p, id, signer, vs := benchVerify(b)
	i := 0
	for b.Loop() {
		if err := p.verify(id, signer, vs[i&1]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func benchVerify(b *testing.B) (*Payments, common.Hash, common.Address, []Voucher) {
	b.Helper()
	key, _ := crypto.GenerateKey()
	signerKey, _ := crypto.GenerateKey()
	d := &contracts.Deployment{ChainID: 1337, PaymentChannels: common.HexToAddress("0xc0ffee")}
	p := New(d, key, nil, nil, nil)
	id := common.HexToHash("0xa1")
	vs := []Voucher{
		signVoucher(b, p.Domain(), signerKey, id, big.NewInt(1_000_000)),
		signVoucher(b, p.Domain(), signerKey, id, big.NewInt(1_000_001)),
	}
	signer := crypto.PubkeyToAddress(signerKey.PublicKey)
	for _, v := range vs {
		if err := p.verify(id, signer, v); err != nil {
			b.Fatal(err)
		}
	}
	return p, id, signer, vs
}

// BenchmarkSignReceipt is the provider's signature of a receipt, which
// Charge makes after the ledger's write, on the job's own goroutine.
func BenchmarkSignReceipt(b *testing.B) {
	key, _ := crypto.GenerateKey()
	p := New(&contracts.Deployment{ChainID: 1337, PaymentChannels: common.HexToAddress("0xc0ffee")}, key, nil, nil, nil)
	r := &contracts.Receipt{
		ChannelID: common.HexToHash("0xa1"), JobID: wire.JobKey("job-1"), Cost: big.NewInt(1076),
		CumulativeCharged: big.NewInt(1_000_000), InputTokens: 10, OutputTokens: 7,
		ResultHash: crypto.Keccak256Hash([]byte("output")),
	}
	for b.Loop() {
		if _, err := p.sign(r); err != nil {
			b.Fatal(err)
		}
	}
}
