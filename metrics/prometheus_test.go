package metrics

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paynode/paynode/metrics/promtest"
)

// TestDashboardOnPrometheus serves the metrics with traffic flowing, lets
// a real Prometheus scrape them with the alert rules loaded, and asks it
// every query of the dashboard: each must return a series.
func TestDashboardOnPrometheus(t *testing.T) {
	promtest.Binary(t) // skip or fail before any traffic starts
	reg := NewRegistry()
	m := New(reg, BuildInfo{Version: "v0.0.0-test"})
	src := knownSources()
	// A head two seconds old, and one claim confirmed in 3 s before each
	// scrape, so that claim duration quantiles are numbers.
	src.Chain = func() ChainState {
		return ChainState{Head: 99, HeadTime: time.Now().Add(-2 * time.Second), RPCErrors: 1}
	}
	settlement := src.Settlement
	src.Settlement = func() SettlementState {
		s := settlement()
		s.LastSettled = time.Now().Add(-10 * time.Second)
		s.ClaimLatency = []time.Duration{3 * time.Second}
		return s
	}
	m.SetSources(src)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler(reg))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	// Traffic before the first scrape and on, so that every rate is there.
	tenJobsTwoFail(m)
	m.JobRefused("paynode-test-1", "voucher_too_low")
	m.AgentConnected(2)
	m.WorkerConnected(1)
	m.WorkerLost()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				tenJobsTwoFail(m)
				m.JobRefused("paynode-test-1", "overloaded")
			}
		}
	})
	t.Cleanup(func() { close(stop); wg.Wait() })

	prom := promtest.Start(t, promtest.Options{
		Targets:   []string{srv.URL + "/metrics"},
		RuleFiles: []string{"alerts.yml"},
	})
	prom.WaitTargetsUp(t, 3, time.Minute)

	queries, err := DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	// Every query once it has had a few scrapes to work on; retried for a
	// while, since the newest scrape may not be queryable yet.
	pending := slices.Clone(queries)
	deadline := time.Now().Add(30 * time.Second)
	for len(pending) > 0 && time.Now().Before(deadline) {
		pending = slices.DeleteFunc(pending, func(q string) bool {
			samples, err := prom.Query(t.Context(), q)
			return err == nil && len(samples) > 0
		})
		time.Sleep(500 * time.Millisecond)
	}
	for _, q := range pending {
		samples, err := prom.Query(t.Context(), q)
		t.Errorf("dashboard query returns no series: %s\n(answer %v, %v)", q, samples, err)
	}

	// Exact values travel through Prometheus as the node exported them.
	for expr, want := range map[string]float64{
		`paynode_ledger_charged_value_total{asset="ETH"}`:        1e12,
		`paynode_ledger_charged_value_total{asset="TUSD"}`:       1.5,
		`paynode_channels_at_risk_value{asset="TUSD"}`:           3.5,
		`paynode_scheduler_workers{model="big-model"}`:           0,
		`paynode_settlement_transactions_total{result="failed"}`: 1,
	} {
		if s := prom.WaitFor(t, expr, 10*time.Second); len(s) != 1 || s[0].Value != want {
			t.Errorf("%s = %v, want %v", expr, s, want)
		}
	}

	// Prometheus loaded every alert of alerts.yml.
	rules, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := prom.AlertRules(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, match := range regexp.MustCompile(`(?m)^\s*- alert: (\w+)`).FindAllStringSubmatch(string(rules), -1) {
		if !slices.Contains(loaded, match[1]) {
			t.Errorf("alert %s not loaded; loaded: %q", match[1], loaded)
		}
	}
	// With big-model's workers at 0 since the start, its alert is pending.
	prom.WaitFor(t, `ALERTS{alertname="PaynodeNoWorkerForModel",model="big-model"}`, 10*time.Second)
}
