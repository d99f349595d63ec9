package metrics_test

import (
	"bufio"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/paynode/paynode/metrics"
)

// The node makes one registry, records events through Metrics, sets the
// sources of the state it keeps elsewhere, and serves it all at /metrics.
func Example() {
	reg := metrics.NewRegistry()
	m := metrics.New(reg, metrics.BuildInfo{Version: "v1.0.0", Commit: "27c39af"})
	m.SetSources(metrics.Sources{
		Money: func() []metrics.AssetMoney {
			return []metrics.AssetMoney{{
				Asset: "TUSD", Decimals: 6,
				Charged: big.NewInt(1500000), Unclaimed: big.NewInt(1500000), Claimed: new(big.Int),
			}}
		},
	})

	m.VoucherAccepted()
	m.JobAccepted("paynode-test-1")
	m.JobFinished("1", "paynode-test-1", metrics.OutcomeOK, 120*time.Millisecond, 15*time.Millisecond)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		line := lines.Text()
		if strings.HasPrefix(line, "paynode_jobs_finished_total") || strings.HasPrefix(line, "paynode_ledger_unclaimed_value") {
			fmt.Println(line)
		}
	}
	// Output:
	// paynode_jobs_finished_total{model="paynode-test-1",offer="1",outcome="ok"} 1
	// paynode_ledger_unclaimed_value{asset="TUSD"} 1.5
}
