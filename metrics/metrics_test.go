package metrics

import (
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// tenJobsTwoFail records what a node sees for ten paid jobs on one offer
// of which two fail: ten vouchers accepted, ten jobs accepted, eight ok
// (125 ms each, first token after 20 ms), one timeout, one worker failure.
func tenJobsTwoFail(m *Metrics) {
	for i := range 10 {
		m.VoucherAccepted()
		m.JobAccepted("paynode-test-1")
		outcome := OutcomeOK
		switch i {
		case 3:
			outcome = "job_timeout"
		case 7:
			outcome = "worker_failed"
		}
		m.JobFinished("1", "paynode-test-1", outcome, 125*time.Millisecond, 20*time.Millisecond)
	}
}

func TestJobCounters(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg, BuildInfo{Version: "v1.2.3", GoVersion: "go1.26", Commit: "abc"})
	tenJobsTwoFail(m)

	if got := testutil.ToFloat64(m.jobsFinished.WithLabelValues("1", "paynode-test-1", "ok")); got != 8 {
		t.Errorf("ok jobs = %v, want 8", got)
	}
	const want = `
# HELP paynode_jobs_accepted_total Jobs whose payment was accepted and that were dispatched, by model.
# TYPE paynode_jobs_accepted_total counter
paynode_jobs_accepted_total{model="paynode-test-1"} 10
# HELP paynode_jobs_finished_total Accepted jobs that ended, by offer, model and outcome ("ok" or the error code the job ended with).
# TYPE paynode_jobs_finished_total counter
paynode_jobs_finished_total{model="paynode-test-1",offer="1",outcome="job_timeout"} 1
paynode_jobs_finished_total{model="paynode-test-1",offer="1",outcome="ok"} 8
paynode_jobs_finished_total{model="paynode-test-1",offer="1",outcome="worker_failed"} 1
# HELP paynode_jobs_in_flight Jobs accepted and not yet finished.
# TYPE paynode_jobs_in_flight gauge
paynode_jobs_in_flight 0
# HELP paynode_payment_vouchers_accepted_total Vouchers that passed the payment check.
# TYPE paynode_payment_vouchers_accepted_total counter
paynode_payment_vouchers_accepted_total 10
# HELP paynode_jobs_duration_seconds Time from acceptance to the result of jobs that ended ok, by model.
# TYPE paynode_jobs_duration_seconds histogram
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="0.005"} 0
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="0.01"} 0
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="0.025"} 0
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="0.05"} 0
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="0.1"} 0
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="0.25"} 8
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="0.5"} 8
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="1"} 8
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="2.5"} 8
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="5"} 8
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="10"} 8
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="30"} 8
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="60"} 8
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="120"} 8
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="300"} 8
paynode_jobs_duration_seconds_bucket{model="paynode-test-1",le="+Inf"} 8
paynode_jobs_duration_seconds_sum{model="paynode-test-1"} 1
paynode_jobs_duration_seconds_count{model="paynode-test-1"} 8
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"paynode_jobs_accepted_total", "paynode_jobs_finished_total", "paynode_jobs_in_flight",
		"paynode_payment_vouchers_accepted_total", "paynode_jobs_duration_seconds"); err != nil {
		t.Error(err)
	}
	// Only the eight ok jobs are in the latency histograms.
	if n := histogramCount(t, reg, "paynode_jobs_time_to_first_token_seconds"); n != 8 {
		t.Errorf("time to first token observations = %d, want 8", n)
	}
}

// histogramCount returns the sample count of the histogram called name
// (summed over its series).
func histogramCount(t *testing.T, g prometheus.Gatherer, name string) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}

func TestJobFinishedWithoutFirstToken(t *testing.T) {
	m := New(nil, BuildInfo{})
	m.JobAccepted("m")
	m.JobFinished("1", "m", OutcomeOK, time.Second, 0)
	if n := testutil.CollectAndCount(m.jobTTFT); n != 0 {
		t.Errorf("a job without output added %d time-to-first-token series", n)
	}
	if n := testutil.CollectAndCount(m.jobDuration); n != 1 {
		t.Errorf("duration series = %d, want 1", n)
	}
}

func TestRefusals(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg, BuildInfo{})
	m.JobRefused("paynode-test-1", "voucher_too_low")
	m.JobRefused("paynode-test-1", "voucher_too_low")
	m.JobRefused("no-such-model", "unknown_model")
	m.JobRefused("paynode-test-1", "overloaded")

	for code, want := range map[string]float64{"voucher_too_low": 2, "unknown_model": 1, "overloaded": 1, "wrong_signer": 0} {
		if got := testutil.ToFloat64(m.jobsRefused.WithLabelValues(code)); got != want {
			t.Errorf("refused %s = %v, want %v", code, got, want)
		}
	}
	// Every voucher rejection reason is exported from the start; only
	// payment codes count as rejected vouchers.
	if n := testutil.CollectAndCount(m.vouchersRejected); n != len(voucherRejections) {
		t.Errorf("rejection series = %d, want %d", n, len(voucherRejections))
	}
	if got := testutil.ToFloat64(m.vouchersRejected.WithLabelValues("voucher_too_low")); got != 2 {
		t.Errorf("rejected voucher_too_low = %v, want 2", got)
	}
	for _, code := range []string{"overloaded", "unknown_model"} {
		if slices.Contains(voucherRejections, code) {
			t.Errorf("%s counts as a rejected voucher", code)
		}
	}
}

func TestConnections(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg, BuildInfo{})
	for range 3 {
		m.AgentConnected(1)
		m.WorkerConnected(1)
	}
	m.AgentConnected(-1)
	m.WorkerLost()
	const want = `
# HELP paynode_api_agent_connections Agent websocket connections open.
# TYPE paynode_api_agent_connections gauge
paynode_api_agent_connections 2
# HELP paynode_hub_worker_connections Worker websocket connections open.
# TYPE paynode_hub_worker_connections gauge
paynode_hub_worker_connections 3
# HELP paynode_hub_workers_lost_total Workers that went away with jobs assigned.
# TYPE paynode_hub_workers_lost_total counter
paynode_hub_workers_lost_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"paynode_api_agent_connections", "paynode_hub_worker_connections", "paynode_hub_workers_lost_total"); err != nil {
		t.Error(err)
	}
}

func TestLabelValuesBounded(t *testing.T) {
	m := New(nil, BuildInfo{})
	for i := range 3 * MaxLabelValues {
		model := "model-" + strconv.Itoa(i)
		m.JobAccepted(model)
		m.JobFinished("offer-"+strconv.Itoa(i), model, "code-"+strconv.Itoa(i), time.Second, time.Second)
		m.JobRefused(model, "refusal-"+strconv.Itoa(i))
	}
	if n := testutil.CollectAndCount(m.jobsAccepted); n != MaxLabelValues+1 {
		t.Errorf("accepted series = %d, want %d and other", n, MaxLabelValues)
	}
	if got := testutil.ToFloat64(m.jobsAccepted.WithLabelValues(OtherLabelValue)); got != 2*MaxLabelValues {
		t.Errorf("other = %v, want %d", got, 2*MaxLabelValues)
	}
	// The payment codes were admitted first, so refusals keep room for them.
	if n := testutil.CollectAndCount(m.jobsRefused); n != MaxLabelValues+1 {
		t.Errorf("refused series = %d, want %d", n, MaxLabelValues+1)
	}
	m.JobAccepted("")
	if got := testutil.ToFloat64(m.jobsAccepted.WithLabelValues("unknown")); got != 0 {
		// "unknown" came past the bound, so it is other.
		t.Errorf("empty model counted as %v under unknown", got)
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.AgentConnected(1)
	m.JobAccepted("m")
	m.JobFinished("o", "m", OutcomeOK, time.Second, time.Second)
	m.JobRefused("m", "voucher_too_low")
	m.VoucherAccepted()
	m.WorkerConnected(1)
	m.WorkerLost()
	m.SetSources(Sources{Queues: func() []ModelQueue { return nil }})
}

func TestWholeUnits(t *testing.T) {
	e30, _ := new(big.Int).SetString("1000000000000000000000000000000", 10)
	odd, _ := new(big.Int).SetString("123456789012345678901234567891", 10)
	for _, tc := range []struct {
		name     string
		base     *big.Int
		decimals uint8
		want     float64
	}{
		{"1.5 TUSD", big.NewInt(1500000), 6, 1.5},
		{"1e30 wei", e30, 18, 1e12},
		{"1 wei", big.NewInt(1), 18, 1e-18},
		{"no decimals", big.NewInt(42), 0, 42},
		{"zero", new(big.Int), 6, 0},
		{"nil", nil, 6, 0},
		{"negative", big.NewInt(-5), 1, -0.5},
		{"30 digits", odd, 18, 123456789012.345678901234567891},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := WholeUnits(tc.base, tc.decimals); got != tc.want {
				t.Errorf("WholeUnits(%v, %d) = %v, want %v", tc.base, tc.decimals, got, tc.want)
			}
		})
	}
}

// FuzzWholeUnits holds WholeUnits to the float64 nearest the exact
// rational, which big.Rat computes.
func FuzzWholeUnits(f *testing.F) {
	f.Add([]byte{0x16, 0xe3, 0x60}, uint8(6), false)
	f.Add([]byte{0x0c, 0x9f, 0x2c, 0x9c, 0xd0, 0x46, 0x74, 0xed, 0xea, 0x40, 0x00, 0x00, 0x00}, uint8(18), true)
	f.Fuzz(func(t *testing.T, b []byte, decimals uint8, neg bool) {
		base := new(big.Int).SetBytes(b)
		if neg {
			base.Neg(base)
		}
		exact := new(big.Rat).SetFrac(base, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil))
		want, _ := exact.Float64()
		if got := WholeUnits(base, decimals); got != want {
			t.Fatalf("WholeUnits(%v, %d) = %v, want %v", base, decimals, got, want)
		}
	})
}

// fixedNow is the scrape time of the pulled tests.
var fixedNow = time.Unix(1_800_000_000, 0)

// knownSources is state with known values: 1.5 TUSD charged of which 1
// claimed, 10^12 ETH (10^30 wei) charged, a head 12 s old, two channels at
// risk.
func knownSources(claimLatency ...time.Duration) Sources {
	e30, _ := new(big.Int).SetString("1000000000000000000000000000000", 10)
	return Sources{
		Queues: func() []ModelQueue {
			return []ModelQueue{
				{Model: "paynode-test-1", Waiting: 3, Running: 2, Workers: 1},
				{Model: "big-model", Workers: 0},
			}
		},
		Money: func() []AssetMoney {
			return []AssetMoney{
				{Asset: "TUSD", Decimals: 6, Charged: big.NewInt(1500000), Unclaimed: big.NewInt(500000), Claimed: big.NewInt(1000000)},
				{Asset: "ETH", Decimals: 18, Charged: e30, Unclaimed: e30, Claimed: nil},
			}
		},
		Chain: func() ChainState {
			return ChainState{Head: 1234, HeadTime: fixedNow.Add(-12 * time.Second), RPCErrors: 3}
		},
		Channels: func() map[string]int { return map[string]int{"open": 4, "closing": 1, "closed": 2} },
		Settlement: func() SettlementState {
			return SettlementState{
				TxConfirmed: 5, TxFailed: 1, TxReplaced: 2, GasUsed: 420000, Pending: 1,
				LastSettled:  fixedNow.Add(-time.Minute),
				ClaimLatency: claimLatency,
			}
		},
		AtRisk: func() []ChannelAtRisk {
			return []ChannelAtRisk{
				{Asset: "TUSD", Decimals: 6, Unclaimed: big.NewInt(1000000), Deadline: fixedNow.Add(time.Hour)},
				{Asset: "TUSD", Decimals: 6, Unclaimed: big.NewInt(2500000), Deadline: fixedNow.Add(5 * time.Minute)},
			}
		},
		Ledger: func() LedgerState {
			return LedgerState{
				Writes: 2000, GroupCommits: 80, SyncTime: 40 * time.Millisecond,
				Checkpoints: 3, CheckpointTime: 45 * time.Millisecond, ApplyTime: 1500 * time.Millisecond, Replayed: 7,
			}
		},
	}
}

func TestPulledSources(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg, BuildInfo{})
	m.pulled.now = func() time.Time { return fixedNow }

	// Before SetSources the pulled metrics are absent.
	if n, err := testutil.GatherAndCount(reg, "paynode_ledger_unclaimed_value", "paynode_chain_head_block"); err != nil || n != 0 {
		t.Fatalf("before SetSources: %d series, %v", n, err)
	}
	// The first scrape hands over two claim latencies, the second none.
	latencies := [][]time.Duration{{2 * time.Second, 40 * time.Second}, nil}
	src := knownSources()
	settlement := src.Settlement
	src.Settlement = func() SettlementState {
		s := settlement()
		s.ClaimLatency, latencies = latencies[0], latencies[1:]
		return s
	}
	m.SetSources(src)

	const want = `
# HELP paynode_scheduler_waiting_jobs Jobs waiting for a worker, by model.
# TYPE paynode_scheduler_waiting_jobs gauge
paynode_scheduler_waiting_jobs{model="big-model"} 0
paynode_scheduler_waiting_jobs{model="paynode-test-1"} 3
# HELP paynode_scheduler_running_jobs Jobs running on a worker, by model.
# TYPE paynode_scheduler_running_jobs gauge
paynode_scheduler_running_jobs{model="big-model"} 0
paynode_scheduler_running_jobs{model="paynode-test-1"} 2
# HELP paynode_scheduler_workers Workers serving the model, by every offered model (0: none serves it).
# TYPE paynode_scheduler_workers gauge
paynode_scheduler_workers{model="big-model"} 0
paynode_scheduler_workers{model="paynode-test-1"} 1
# HELP paynode_ledger_charged_value_total Value charged for jobs, in whole units of the asset (float, for dashboards; the status API has the exact integers).
# TYPE paynode_ledger_charged_value_total counter
paynode_ledger_charged_value_total{asset="ETH"} 1e+12
paynode_ledger_charged_value_total{asset="TUSD"} 1.5
# HELP paynode_ledger_unclaimed_value Value charged and not yet claimed on chain, in whole units of the asset (float; the status API has the exact integers).
# TYPE paynode_ledger_unclaimed_value gauge
paynode_ledger_unclaimed_value{asset="ETH"} 1e+12
paynode_ledger_unclaimed_value{asset="TUSD"} 0.5
# HELP paynode_ledger_claimed_value_total Value claimed on chain, in whole units of the asset (float; the status API has the exact integers).
# TYPE paynode_ledger_claimed_value_total counter
paynode_ledger_claimed_value_total{asset="ETH"} 0
paynode_ledger_claimed_value_total{asset="TUSD"} 1
# HELP paynode_chain_head_block Number of the chain's head block as the node last saw it.
# TYPE paynode_chain_head_block gauge
paynode_chain_head_block 1234
# HELP paynode_chain_lag_seconds Age of the head block the node last saw: now minus its timestamp (0 if the block is from the future).
# TYPE paynode_chain_lag_seconds gauge
paynode_chain_lag_seconds 12
# HELP paynode_chain_rpc_errors_total Chain JSON-RPC calls that failed.
# TYPE paynode_chain_rpc_errors_total counter
paynode_chain_rpc_errors_total 3
# HELP paynode_channels Payment channels to this provider, by state.
# TYPE paynode_channels gauge
paynode_channels{state="closed"} 2
paynode_channels{state="closing"} 1
paynode_channels{state="open"} 4
# HELP paynode_settlement_transactions_total Claim transactions by result: confirmed, failed (reverted or dropped), replaced (by a higher fee at the same nonce).
# TYPE paynode_settlement_transactions_total counter
paynode_settlement_transactions_total{result="confirmed"} 5
paynode_settlement_transactions_total{result="failed"} 1
paynode_settlement_transactions_total{result="replaced"} 2
# HELP paynode_settlement_gas_used_total Gas used by confirmed claim transactions.
# TYPE paynode_settlement_gas_used_total counter
paynode_settlement_gas_used_total 420000
# HELP paynode_settlement_pending_batches Claim batches sent and not yet confirmed.
# TYPE paynode_settlement_pending_batches gauge
paynode_settlement_pending_batches 1
# HELP paynode_settlement_last_success_timestamp_seconds Unix time of the last confirmed claim batch; absent before the first.
# TYPE paynode_settlement_last_success_timestamp_seconds gauge
paynode_settlement_last_success_timestamp_seconds 1.79999994e+09
# HELP paynode_settlement_claim_duration_seconds Time from a claim batch's first transaction sent to its confirmation.
# TYPE paynode_settlement_claim_duration_seconds histogram
paynode_settlement_claim_duration_seconds_bucket{le="0.5"} 0
paynode_settlement_claim_duration_seconds_bucket{le="1"} 0
paynode_settlement_claim_duration_seconds_bucket{le="2"} 1
paynode_settlement_claim_duration_seconds_bucket{le="5"} 1
paynode_settlement_claim_duration_seconds_bucket{le="10"} 1
paynode_settlement_claim_duration_seconds_bucket{le="30"} 1
paynode_settlement_claim_duration_seconds_bucket{le="60"} 2
paynode_settlement_claim_duration_seconds_bucket{le="120"} 2
paynode_settlement_claim_duration_seconds_bucket{le="300"} 2
paynode_settlement_claim_duration_seconds_bucket{le="600"} 2
paynode_settlement_claim_duration_seconds_bucket{le="1800"} 2
paynode_settlement_claim_duration_seconds_bucket{le="3600"} 2
paynode_settlement_claim_duration_seconds_bucket{le="7200"} 2
paynode_settlement_claim_duration_seconds_bucket{le="21600"} 2
paynode_settlement_claim_duration_seconds_bucket{le="86400"} 2
paynode_settlement_claim_duration_seconds_bucket{le="+Inf"} 2
paynode_settlement_claim_duration_seconds_sum 42
paynode_settlement_claim_duration_seconds_count 2
# HELP paynode_channels_at_risk Channels whose withdrawal is requested while they hold unclaimed value, by asset; absent when none.
# TYPE paynode_channels_at_risk gauge
paynode_channels_at_risk{asset="TUSD"} 2
# HELP paynode_channels_at_risk_value Unclaimed value on the channels at risk, in whole units of the asset; absent when none.
# TYPE paynode_channels_at_risk_value gauge
paynode_channels_at_risk_value{asset="TUSD"} 3.5
# HELP paynode_channels_at_risk_deadline_timestamp_seconds Unix time of the earliest withdrawal deadline among the channels at risk: claim before it or lose the value; absent when none.
# TYPE paynode_channels_at_risk_deadline_timestamp_seconds gauge
paynode_channels_at_risk_deadline_timestamp_seconds{asset="TUSD"} 1.8000003e+09
# HELP paynode_ledger_writes_total Ledger writes made durable (two a paid job: its reservation and its charge).
# TYPE paynode_ledger_writes_total counter
paynode_ledger_writes_total 2000
# HELP paynode_ledger_group_commits_total Journal records written and synced, each making a group of ledger writes durable with one fdatasync.
# TYPE paynode_ledger_group_commits_total counter
paynode_ledger_group_commits_total 80
# HELP paynode_ledger_sync_seconds_total Time spent writing and syncing journal records; divided by group commits, the disk's sync latency, which every paid job waits for once.
# TYPE paynode_ledger_sync_seconds_total counter
paynode_ledger_sync_seconds_total 0.04
# HELP paynode_ledger_checkpoints_total Commits of the ledger's open transaction to its database file.
# TYPE paynode_ledger_checkpoints_total counter
paynode_ledger_checkpoints_total 3
# HELP paynode_ledger_checkpoint_seconds_total Time spent in checkpoints, during which the ledger's writer applies nothing.
# TYPE paynode_ledger_checkpoint_seconds_total counter
paynode_ledger_checkpoint_seconds_total 0.045
# HELP paynode_ledger_apply_seconds_total Time the ledger's single writer spent applying writes; with checkpoint time, its busy share.
# TYPE paynode_ledger_apply_seconds_total counter
paynode_ledger_apply_seconds_total 1.5
# HELP paynode_ledger_replayed_records Journal records the ledger recovered when the node started: writes made durable before a crash and not yet in the database file (0 after a clean stop).
# TYPE paynode_ledger_replayed_records gauge
paynode_ledger_replayed_records 7
`
	names := metricNames(t, want)
	// Twice: the claim latencies are observed once, not again each scrape.
	for scrape := range 2 {
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
			t.Errorf("scrape %d: %v", scrape+1, err)
		}
	}
}

// metricNames returns the names of the metric families in exposition text.
func metricNames(t *testing.T, text string) []string {
	t.Helper()
	var names []string
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names = append(names, strings.Fields(rest)[0])
		}
	}
	if len(names) == 0 {
		t.Fatal("no metric families in the expected text")
	}
	return names
}

func TestPulledDuplicatesAdded(t *testing.T) {
	m := New(nil, BuildInfo{})
	m.SetSources(Sources{
		Queues: func() []ModelQueue {
			return []ModelQueue{{Model: "a", Waiting: 1, Workers: 1}, {Model: "a", Waiting: 2, Workers: 1}}
		},
		Money: func() []AssetMoney {
			return []AssetMoney{
				{Asset: "TUSD", Decimals: 6, Unclaimed: big.NewInt(1)},
				{Asset: "TUSD", Decimals: 6, Unclaimed: big.NewInt(2)},
			}
		},
	})
	const want = `
# HELP paynode_scheduler_waiting_jobs Jobs waiting for a worker, by model.
# TYPE paynode_scheduler_waiting_jobs gauge
paynode_scheduler_waiting_jobs{model="a"} 3
# HELP paynode_ledger_unclaimed_value Value charged and not yet claimed on chain, in whole units of the asset (float; the status API has the exact integers).
# TYPE paynode_ledger_unclaimed_value gauge
paynode_ledger_unclaimed_value{asset="TUSD"} 3e-06
`
	if err := testutil.CollectAndCompare(m.pulled, strings.NewReader(want), metricNames(t, want)...); err != nil {
		t.Error(err)
	}
}

func TestChainLagNeverNegative(t *testing.T) {
	m := New(nil, BuildInfo{})
	m.pulled.now = func() time.Time { return fixedNow }
	m.SetSources(Sources{Chain: func() ChainState { return ChainState{Head: 1, HeadTime: fixedNow.Add(time.Second)} }})
	if n := testutil.CollectAndCount(m.pulled, "paynode_chain_lag_seconds"); n != 1 {
		t.Fatalf("lag series = %d", n)
	}
	m.SetSources(Sources{Chain: func() ChainState { return ChainState{Head: 1} }})
	if n := testutil.CollectAndCount(m.pulled, "paynode_chain_lag_seconds"); n != 0 {
		t.Errorf("lag without a head time: %d series", n)
	}
}

func TestPanickingSourceServesTheRest(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, BuildInfo{})
	m.SetSources(Sources{
		Money: func() []AssetMoney { panic("ledger closed") },
		Chain: func() ChainState { return ChainState{Head: 7} },
	})
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "ledger closed") {
		t.Errorf("gather error = %v, want the source's panic", err)
	}
	body := scrape(t, HandlerWithLogger(reg, slog.New(slog.DiscardHandler)))
	if !strings.Contains(body, "paynode_chain_head_block 7") {
		t.Errorf("scrape lacks the chain head:\n%s", body)
	}
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s\n%s", resp.Status, b)
	}
	return string(b)
}

func TestBuildInfo(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	New(reg, BuildInfo{Version: "v0.3.0", GoVersion: "go1.26.8", Commit: "27c39af"})
	const want = `
# HELP paynode_build_info Always 1; the labels name the running binary.
# TYPE paynode_build_info gauge
paynode_build_info{commit="27c39af",goversion="go1.26.8",version="v0.3.0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "paynode_build_info"); err != nil {
		t.Error(err)
	}
	// Empty fields are filled in, never left empty.
	reg = prometheus.NewPedanticRegistry()
	New(reg, BuildInfo{})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "paynode_build_info" {
			continue
		}
		for _, l := range mf.GetMetric()[0].GetLabel() {
			if l.GetValue() == "" {
				t.Errorf("build info label %s is empty", l.GetName())
			}
		}
	}
}

// TestLint gathers every metric the node exports, with traffic and every
// source set, Go and process collectors included, and lints the lot.
func TestLint(t *testing.T) {
	reg := NewRegistry()
	m := New(reg, BuildInfo{})
	tenJobsTwoFail(m)
	m.JobRefused("m", "voucher_too_low")
	m.AgentConnected(1)
	m.WorkerConnected(1)
	m.WorkerLost()
	m.SetSources(knownSources(time.Second))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg, BuildInfo{})
	defer func() {
		if recover() == nil {
			t.Error("a second New on one registry did not panic")
		}
	}()
	New(reg, BuildInfo{})
}
