package node_test

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/internal/devstack"
	"github.com/paynode/paynode/metrics"
	"github.com/paynode/paynode/metrics/promtest"
	"github.com/paynode/paynode/node/config"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/nodetest"
	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/testnet"
)

// TestPrometheusScrapesTheDashboard starts a real Prometheus scraping a
// running node while paid jobs flow — some cancelled, some refused, one
// channel being withdrawn with value unclaimed — and asks it for every
// PromQL expression of the Grafana dashboard: each must return a series.
// It also loads the alert rules, so a rule Prometheus cannot parse fails.
func TestPrometheusScrapesTheDashboard(t *testing.T) {
	promtest.Binary(t) // fails in CI, skips elsewhere, when Prometheus is missing
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	stack, err := devstack.Start(ctx, devstack.Options{
		TokenOffer: true,
		Builtin:    &builtin.Model{TokenDelay: 10 * time.Millisecond},
		Configure: func(c *config.Config) {
			c.Settlement.Interval = config.Duration{Duration: time.Hour} // settled by hand below
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close(context.Background()) })
	n := stack.Node
	prom := promtest.Start(t, promtest.Options{
		Targets:   []string{n.MetricsURL() + "/metrics"},
		RuleFiles: []string{"../metrics/alerts.yml"},
	})

	d := stack.Deployment
	client := stack.Chain.Client()
	accounts := stack.Chain.Accounts()
	prices := map[common.Address]*nodetest.Agent{}
	for _, o := range n.Offers() {
		prices[o.Offer.Asset] = &nodetest.Agent{Price: o.Offer.Price}
	}
	dial := func(asset common.Address, deposit *big.Int, salt int64) *nodetest.Agent {
		signer, _ := crypto.GenerateKey()
		id := nodetest.OpenChannel(t, client, d, accounts[3].Key, n.Provider(), signer, asset, deposit, common.BigToHash(big.NewInt(salt)))
		a, err := nodetest.Dial(ctx, n.AgentURL(), signer, n.Provider())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		a.ChannelID, a.Price = id, prices[asset].Price
		return a
	}
	eth := dial(common.Address{}, big.NewInt(1e18), 1)
	tusd := dial(*d.Token, big.NewInt(1_000_000_000), 2)

	// Paid jobs, streamed, flow until the test ends.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, a := range []*nodetest.Agent{eth, tusd} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; loadCtx.Err() == nil; i++ {
				out, err := a.Run(loadCtx, nodetest.Job{MaxTokens: 12, Stream: true})
				if err != nil && loadCtx.Err() == nil {
					t.Errorf("job %d: %v", i, err)
					return
				}
				if err == nil && out.Err != nil {
					t.Errorf("job %d: %v", i, out.Err)
					return
				}
			}
		}()
	}
	defer func() { stopLoad(); wg.Wait() }()

	// A cancelled job, and a refused one (a voucher below the price).
	cancelled := make(chan nodetest.Outcome, 1)
	go func() {
		out, _ := eth.Run(ctx, nodetest.Job{ID: "to-cancel", MaxTokens: 128, Prompt: "A long story, please."})
		cancelled <- out
	}()
	time.Sleep(30 * time.Millisecond) // the job takes ≥ 16 tokens × 10 ms
	if err := eth.Send(&wire.Cancel{ID: "to-cancel"}); err != nil {
		t.Fatal(err)
	}
	if out := <-cancelled; out.Err == nil || out.Err.Code != wire.CodeCancelled {
		t.Fatalf("cancelled job: %+v", out)
	}
	cheap := dial(common.Address{}, big.NewInt(1e18), 3)
	cheap.Price.Base = new(big.Int) // signs vouchers that leave the base price out
	cheap.Price.InPerM, cheap.Price.OutPerM = new(big.Int), new(big.Int)
	if out, err := cheap.Run(ctx, nodetest.Job{}); err != nil || out.Err == nil || out.Err.Code != wire.CodeVoucherTooLow {
		t.Fatalf("underpaid job: %+v, %v; want voucher_too_low", out, err)
	}

	// Settle what was charged so far, then have a payer ask to withdraw a
	// channel that still holds unclaimed value.
	for n.Settler().Stats().Confirmed == 0 {
		if _, err := n.Settler().Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	atRisk := dial(common.Address{}, big.NewInt(1e18), 4)
	if out, err := atRisk.Run(ctx, nodetest.Job{}); err != nil || out.Err != nil {
		t.Fatalf("job on the channel to withdraw: %+v, %v", out, err)
	}
	pc := bindings.NewPaymentChannels()
	testnet.TransactT(t, client, stack.Chain.ChainID(), accounts[3].Key, pc.Instance(client, d.PaymentChannels), pc.PackRequestWithdrawal(atRisk.ChannelID), nil)

	prom.WaitTargetsUp(t, 2, time.Minute)
	queries, err := metrics.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		samples := prom.WaitFor(t, q, 45*time.Second)
		t.Logf("%s → %d series, e.g. %v", q, len(samples), samples[0])
	}
	// The exact charge of the withdrawn channel reaches Prometheus.
	if got := prom.WaitFor(t, `sum(paynode_channels_at_risk{asset="ETH"})`, 30*time.Second); got[0].Value != 1 {
		t.Errorf("channels at risk: %v, want 1", got)
	}
}

// TestMetricsCountKnownTraffic: after 10 jobs of which 2 are cancelled
// and 1 refused, the node's counters say exactly that.
func TestMetricsCountKnownTraffic(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	reg := prometheus.NewRegistry()
	_, a, _ := startPaying(t, ctx, devstack.Options{Registry: reg, Builtin: &builtin.Model{TokenDelay: 10 * time.Millisecond}})
	for i := range 8 {
		if out, err := a.Run(ctx, nodetest.Job{MaxTokens: 8}); err != nil || out.Err != nil {
			t.Fatalf("job %d: %+v, %v", i, out, err)
		}
	}
	for i := range 2 {
		jobID := fmt.Sprintf("cancel-%d", i)
		res := make(chan nodetest.Outcome, 1)
		go func() {
			out, _ := a.Run(ctx, nodetest.Job{ID: jobID, MaxTokens: 128, Prompt: "A long story, please."})
			res <- out
		}()
		time.Sleep(30 * time.Millisecond) // the job takes ≥ 16 tokens × 10 ms
		a.Send(&wire.Cancel{ID: jobID})
		if out := <-res; out.Err == nil || out.Err.Code != wire.CodeCancelled {
			t.Fatalf("job %s: %+v; want cancelled", jobID, out)
		}
	}
	for name, want := range map[string]float64{
		`paynode_jobs_accepted_total{model="paynode-test-1"}`:                               10,
		`paynode_jobs_finished_total{model="paynode-test-1",offer="1",outcome="ok"}`:        8,
		`paynode_jobs_finished_total{model="paynode-test-1",offer="1",outcome="cancelled"}`: 2,
		`paynode_payment_vouchers_accepted_total`:                                           10,
		`paynode_jobs_in_flight`:                                      0,
		`paynode_api_agent_connections`:                               1,
		`paynode_jobs_duration_seconds_count{model="paynode-test-1"}`: 8,
	} {
		if got := gathered(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// The ledger made at least the jobs' writes durable (10 reserves, 8
	// charges, 2 releases; the chain watcher writes too), in group
	// commits that took time, and recovered nothing at this clean start.
	writes, commits := gathered(t, reg, "paynode_ledger_writes_total"), gathered(t, reg, "paynode_ledger_group_commits_total")
	if writes < 20 || commits < 1 || commits > writes {
		t.Errorf("ledger: %v writes in %v group commits; want at least 20 in between 1 and as many", writes, commits)
	}
	if sync := gathered(t, reg, "paynode_ledger_sync_seconds_total"); sync <= 0 {
		t.Errorf("paynode_ledger_sync_seconds_total = %v, want > 0", sync)
	}
	if replayed := gathered(t, reg, "paynode_ledger_replayed_records"); replayed != 0 {
		t.Errorf("paynode_ledger_replayed_records = %v after a clean start, want 0", replayed)
	}
}

// gathered returns the value of the one series named by sel, a metric
// name with its labels in Prometheus' text format.
func gathered(t *testing.T, g prometheus.Gatherer, sel string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, mf := range mfs {
		expfmt.MetricFamilyToText(&text, mf)
	}
	for _, line := range strings.Split(text.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, sel+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no series %s", sel)
	return 0
}

// TestVoucherRejectionCodesArePaymentCodes holds the metrics package's
// copy of the voucher refusal codes (it may import nothing of the node)
// to the payment check's codes.
func TestVoucherRejectionCodesArePaymentCodes(t *testing.T) {
	payment := map[string]bool{}
	for _, c := range []wire.Code{
		wire.CodeBadSignature, wire.CodeWrongSigner, wire.CodeWrongDomain, wire.CodeVoucherTooLow,
		wire.CodeVoucherAboveDeposit, wire.CodeUnknownChannel, wire.CodeWrongProvider,
		wire.CodeChannelClosing, wire.CodeWrongAsset, wire.CodeDepositUnconfirmed,
	} {
		payment[string(c)] = true
	}
	got := metrics.VoucherRejectionCodes()
	for _, c := range got {
		if !payment[c] {
			t.Errorf("metrics counts %q as a rejected voucher; it is not a voucher refusal of the payment check", c)
		}
		delete(payment, c)
	}
	for c := range payment {
		t.Errorf("voucher refusal %q is not counted by metrics", c)
	}
}
