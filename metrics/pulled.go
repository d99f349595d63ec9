package metrics

import (
	"fmt"
	"math/big"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// pulled is the collector of the state read from Sources at scrape time.
type pulled struct {
	now func() time.Time

	mu  sync.RWMutex // guards src
	src Sources

	// claimDuration is fed at scrape time from SettlementState.ClaimLatency
	// and collected in the same scrape.
	claimDuration prometheus.Histogram

	waiting, running, workers           *prometheus.Desc // model
	charged, unclaimed, claimed         *prometheus.Desc // asset
	head, lag, rpcErrors                *prometheus.Desc
	channels                            *prometheus.Desc // state
	transactions                        *prometheus.Desc // result
	gasUsed, pendingBatches, lastSettle *prometheus.Desc
	atRisk, atRiskValue, atRiskDeadline *prometheus.Desc // asset

	ledgerWrites, ledgerCommits, ledgerSync              *prometheus.Desc
	ledgerCheckpoints, ledgerCheckpointTime, ledgerApply *prometheus.Desc
	ledgerReplayed                                       *prometheus.Desc
}

func newPulled(now func() time.Time) *pulled {
	desc := func(subsystem, name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, subsystem, name), help, labels, nil)
	}
	return &pulled{
		now: now,
		claimDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "settlement", Name: "claim_duration_seconds",
			Help:    "Time from a claim batch's first transaction sent to its confirmation.",
			Buckets: claimBuckets,
		}),
		waiting: desc("scheduler", "waiting_jobs", "Jobs waiting for a worker, by model.", "model"),
		running: desc("scheduler", "running_jobs", "Jobs running on a worker, by model.", "model"),
		workers: desc("scheduler", "workers", "Workers serving the model, by every offered model (0: none serves it).", "model"),
		charged: desc("ledger", "charged_value_total",
			"Value charged for jobs, in whole units of the asset (float, for dashboards; the status API has the exact integers).", "asset"),
		unclaimed: desc("ledger", "unclaimed_value",
			"Value charged and not yet claimed on chain, in whole units of the asset (float; the status API has the exact integers).", "asset"),
		claimed: desc("ledger", "claimed_value_total",
			"Value claimed on chain, in whole units of the asset (float; the status API has the exact integers).", "asset"),
		head:      desc("chain", "head_block", "Number of the chain's head block as the node last saw it."),
		lag:       desc("chain", "lag_seconds", "Age of the head block the node last saw: now minus its timestamp (0 if the block is from the future)."),
		rpcErrors: desc("chain", "rpc_errors_total", "Chain JSON-RPC calls that failed."),
		channels:  desc("", "channels", "Payment channels to this provider, by state.", "state"),
		transactions: desc("settlement", "transactions_total",
			"Claim transactions by result: confirmed, failed (reverted or dropped), replaced (by a higher fee at the same nonce).", "result"),
		gasUsed:        desc("settlement", "gas_used_total", "Gas used by confirmed claim transactions."),
		pendingBatches: desc("settlement", "pending_batches", "Claim batches sent and not yet confirmed."),
		lastSettle:     desc("settlement", "last_success_timestamp_seconds", "Unix time of the last confirmed claim batch; absent before the first."),
		atRisk: desc("channels", "at_risk",
			"Channels whose withdrawal is requested while they hold unclaimed value, by asset; absent when none.", "asset"),
		atRiskValue: desc("channels", "at_risk_value",
			"Unclaimed value on the channels at risk, in whole units of the asset; absent when none.", "asset"),
		atRiskDeadline: desc("channels", "at_risk_deadline_timestamp_seconds",
			"Unix time of the earliest withdrawal deadline among the channels at risk: claim before it or lose the value; absent when none.", "asset"),
		ledgerWrites: desc("ledger", "writes_total", "Ledger writes made durable (two a paid job: its reservation and its charge)."),
		ledgerCommits: desc("ledger", "group_commits_total",
			"Journal records written and synced, each making a group of ledger writes durable with one fdatasync."),
		ledgerSync: desc("ledger", "sync_seconds_total",
			"Time spent writing and syncing journal records; divided by group commits, the disk's sync latency, which every paid job waits for once."),
		ledgerCheckpoints: desc("ledger", "checkpoints_total", "Commits of the ledger's open transaction to its database file."),
		ledgerCheckpointTime: desc("ledger", "checkpoint_seconds_total",
			"Time spent in checkpoints, during which the ledger's writer applies nothing."),
		ledgerApply: desc("ledger", "apply_seconds_total",
			"Time the ledger's single writer spent applying writes; with checkpoint time, its busy share."),
		ledgerReplayed: desc("ledger", "replayed_records",
			"Journal records the ledger recovered when the node started: writes made durable before a crash and not yet in the database file (0 after a clean stop)."),
	}
}

func (p *pulled) setSources(s Sources) {
	p.mu.Lock()
	p.src = s
	p.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (p *pulled) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		p.waiting, p.running, p.workers,
		p.charged, p.unclaimed, p.claimed,
		p.head, p.lag, p.rpcErrors, p.channels,
		p.transactions, p.gasUsed, p.pendingBatches, p.lastSettle,
		p.atRisk, p.atRiskValue, p.atRiskDeadline,
		p.ledgerWrites, p.ledgerCommits, p.ledgerSync,
		p.ledgerCheckpoints, p.ledgerCheckpointTime, p.ledgerApply, p.ledgerReplayed,
	} {
		ch <- d
	}
	p.claimDuration.Describe(ch)
}

// Collect implements prometheus.Collector: it calls each source once. A
// source that panics yields an invalid metric (the scrape reports the
// error, Handler still serves the rest), not a crashed node.
func (p *pulled) Collect(ch chan<- prometheus.Metric) {
	p.mu.RLock()
	s := p.src
	p.mu.RUnlock()
	if s.Queues != nil {
		if qs, ok := call(ch, p.waiting, s.Queues); ok {
			p.collectQueues(ch, qs)
		}
	}
	if s.Money != nil {
		if ms, ok := call(ch, p.charged, s.Money); ok {
			p.collectMoney(ch, ms)
		}
	}
	if s.Chain != nil {
		if c, ok := call(ch, p.head, s.Chain); ok {
			p.collectChain(ch, c)
		}
	}
	if s.Channels != nil {
		if cs, ok := call(ch, p.channels, s.Channels); ok {
			for state, n := range cs {
				ch <- prometheus.MustNewConstMetric(p.channels, prometheus.GaugeValue, float64(n), state)
			}
		}
	}
	if s.Settlement != nil {
		if st, ok := call(ch, p.transactions, s.Settlement); ok {
			p.collectSettlement(ch, st)
		}
	}
	if s.AtRisk != nil {
		if rs, ok := call(ch, p.atRisk, s.AtRisk); ok {
			p.collectAtRisk(ch, rs)
		}
	}
	if s.Ledger != nil {
		if l, ok := call(ch, p.ledgerWrites, s.Ledger); ok {
			p.collectLedger(ch, l)
		}
	}
}

// call runs a source, turning a panic into an invalid metric of desc.
func call[T any](ch chan<- prometheus.Metric, desc *prometheus.Desc, source func() T) (v T, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			ch <- prometheus.NewInvalidMetric(desc, fmt.Errorf("metrics source panicked: %v", r))
			ok = false
		}
	}()
	return source(), true
}

func (p *pulled) collectQueues(ch chan<- prometheus.Metric, qs []ModelQueue) {
	// Sum entries that name one model twice: two series with one label
	// set would fail the whole scrape.
	sum := map[string]*ModelQueue{}
	var order []string
	for _, q := range qs {
		t := sum[q.Model]
		if t == nil {
			t = &ModelQueue{Model: q.Model}
			sum[q.Model] = t
			order = append(order, q.Model)
		}
		t.Waiting += q.Waiting
		t.Running += q.Running
		t.Workers += q.Workers
	}
	for _, model := range order {
		q := sum[model]
		ch <- prometheus.MustNewConstMetric(p.waiting, prometheus.GaugeValue, float64(q.Waiting), model)
		ch <- prometheus.MustNewConstMetric(p.running, prometheus.GaugeValue, float64(q.Running), model)
		ch <- prometheus.MustNewConstMetric(p.workers, prometheus.GaugeValue, float64(q.Workers), model)
	}
}

// assetSum adds up one asset's amounts exactly, in base units.
type assetSum struct {
	decimals uint8
	amounts  []big.Int
}

// sumByAsset groups entries by asset (keeping the first one's decimals)
// and adds up n amounts of each, exactly; amounts(i) gives entry i's.
func sumByAsset(n, count int, asset func(i int) (string, uint8), amounts func(i int) []*big.Int) (map[string]*assetSum, []string) {
	sums := map[string]*assetSum{}
	var order []string
	for i := range count {
		name, decimals := asset(i)
		s := sums[name]
		if s == nil {
			s = &assetSum{decimals: decimals, amounts: make([]big.Int, n)}
			sums[name] = s
			order = append(order, name)
		}
		for j, a := range amounts(i) {
			if a != nil {
				s.amounts[j].Add(&s.amounts[j], a)
			}
		}
	}
	return sums, order
}

func (p *pulled) collectMoney(ch chan<- prometheus.Metric, ms []AssetMoney) {
	sums, order := sumByAsset(3, len(ms),
		func(i int) (string, uint8) { return ms[i].Asset, ms[i].Decimals },
		func(i int) []*big.Int { return []*big.Int{ms[i].Charged, ms[i].Unclaimed, ms[i].Claimed} })
	for _, asset := range order {
		s := sums[asset]
		ch <- prometheus.MustNewConstMetric(p.charged, prometheus.CounterValue, WholeUnits(&s.amounts[0], s.decimals), asset)
		ch <- prometheus.MustNewConstMetric(p.unclaimed, prometheus.GaugeValue, WholeUnits(&s.amounts[1], s.decimals), asset)
		ch <- prometheus.MustNewConstMetric(p.claimed, prometheus.CounterValue, WholeUnits(&s.amounts[2], s.decimals), asset)
	}
}

func (p *pulled) collectChain(ch chan<- prometheus.Metric, c ChainState) {
	ch <- prometheus.MustNewConstMetric(p.head, prometheus.GaugeValue, float64(c.Head))
	ch <- prometheus.MustNewConstMetric(p.rpcErrors, prometheus.CounterValue, float64(c.RPCErrors))
	if !c.HeadTime.IsZero() {
		lag := max(p.now().Sub(c.HeadTime).Seconds(), 0)
		ch <- prometheus.MustNewConstMetric(p.lag, prometheus.GaugeValue, lag)
	}
}

func (p *pulled) collectSettlement(ch chan<- prometheus.Metric, s SettlementState) {
	for _, r := range []struct {
		result string
		n      uint64
	}{{"confirmed", s.TxConfirmed}, {"failed", s.TxFailed}, {"replaced", s.TxReplaced}} {
		ch <- prometheus.MustNewConstMetric(p.transactions, prometheus.CounterValue, float64(r.n), r.result)
	}
	ch <- prometheus.MustNewConstMetric(p.gasUsed, prometheus.CounterValue, float64(s.GasUsed))
	ch <- prometheus.MustNewConstMetric(p.pendingBatches, prometheus.GaugeValue, float64(s.Pending))
	if !s.LastSettled.IsZero() {
		ch <- prometheus.MustNewConstMetric(p.lastSettle, prometheus.GaugeValue, unixSeconds(s.LastSettled))
	}
	for _, d := range s.ClaimLatency {
		p.claimDuration.Observe(d.Seconds())
	}
	p.claimDuration.Collect(ch)
}

func (p *pulled) collectAtRisk(ch chan<- prometheus.Metric, rs []ChannelAtRisk) {
	sums, order := sumByAsset(1, len(rs),
		func(i int) (string, uint8) { return rs[i].Asset, rs[i].Decimals },
		func(i int) []*big.Int { return []*big.Int{rs[i].Unclaimed} })
	count := map[string]int{}
	earliest := map[string]time.Time{}
	for _, r := range rs {
		count[r.Asset]++
		if e, ok := earliest[r.Asset]; !ok || r.Deadline.Before(e) {
			earliest[r.Asset] = r.Deadline
		}
	}
	for _, asset := range order {
		s := sums[asset]
		ch <- prometheus.MustNewConstMetric(p.atRisk, prometheus.GaugeValue, float64(count[asset]), asset)
		ch <- prometheus.MustNewConstMetric(p.atRiskValue, prometheus.GaugeValue, WholeUnits(&s.amounts[0], s.decimals), asset)
		ch <- prometheus.MustNewConstMetric(p.atRiskDeadline, prometheus.GaugeValue, unixSeconds(earliest[asset]), asset)
	}
}

func (p *pulled) collectLedger(ch chan<- prometheus.Metric, l LedgerState) {
	for _, c := range []struct {
		desc *prometheus.Desc
		v    float64
	}{
		{p.ledgerWrites, float64(l.Writes)},
		{p.ledgerCommits, float64(l.GroupCommits)},
		{p.ledgerSync, l.SyncTime.Seconds()},
		{p.ledgerCheckpoints, float64(l.Checkpoints)},
		{p.ledgerCheckpointTime, l.CheckpointTime.Seconds()},
		{p.ledgerApply, l.ApplyTime.Seconds()},
	} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, c.v)
	}
	ch <- prometheus.MustNewConstMetric(p.ledgerReplayed, prometheus.GaugeValue, float64(l.Replayed))
}

func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}

// WholeUnits returns base units of an asset with the given decimals as a
// float in whole units: 1500000 with 6 decimals is 1.5. It is the float64
// nearest the exact quotient (one correctly rounded conversion of the
// decimal, never a float division), and ±Inf past float64's range; nil is
// 0. For dashboards only: money itself stays *big.Int.
func WholeUnits(base *big.Int, decimals uint8) float64 {
	if base == nil || base.Sign() == 0 {
		return 0
	}
	// "1500000e-6": ParseFloat rounds the exact decimal value once.
	f, _ := strconv.ParseFloat(base.String()+"e-"+strconv.Itoa(int(decimals)), 64)
	return f
}

// newBuildInfo returns the constant paynode_build_info gauge; empty fields
// are filled from the binary's own build information.
func newBuildInfo(b BuildInfo) prometheus.Collector {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && b.Commit == "" {
				b.Commit = s.Value
			}
		}
	}
	if b.GoVersion == "" {
		b.GoVersion = runtime.Version()
	}
	if b.Version == "" {
		b.Version = "unknown"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Always 1; the labels name the running binary.",
		ConstLabels: prometheus.Labels{"version": b.Version, "goversion": b.GoVersion, "commit": b.Commit},
	})
	g.Set(1)
	return g
}
