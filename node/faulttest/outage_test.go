package faulttest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paynode/paynode/internal/keyfile"
	"github.com/paynode/paynode/node"
	"github.com/paynode/paynode/node/config"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/nodetest"
)

// TestChainOutage puts a TCP proxy between the node and the chain
// (chain.rpc names the proxy) and cuts it for PAYNODE_OUTAGE (default
// 10s; 60s in the full-size run, docs/faults.md) while 8 agents keep 8
// jobs each in flight on channels the node already knows. The cut comes
// right after a settlement batch was recorded, so a claim is in flight
// when the chain goes away. During the cut jobs must go on (no job
// fails, and a good number are charged); after Restore settlement must
// catch up without a restart: claimed on chain == Σ cost of the
// receipts per channel, with one Claimed event per confirmed claim (no
// claim took effect twice). Over ws:// (the RPC client dials the broken
// websocket again) and over http://.
func TestChainOutage(t *testing.T) {
	outage := envDuration(t, "PAYNODE_OUTAGE", 10*time.Second)
	for _, scheme := range []string{"ws", "http"} {
		t.Run(scheme, func(t *testing.T) { testChainOutage(t, scheme, outage) })
	}
}

func testChainOutage(t *testing.T, scheme string, outage time.Duration) {
	const (
		channels = 8
		slots    = 8
	)
	ctx, cancel := context.WithTimeout(t.Context(), outage+5*time.Minute)
	defer cancel()
	e := newEnv(t)
	chainAddr := strings.TrimPrefix(e.chain.HTTPURL(), "http://")
	proxy, err := nodetest.NewProxy(chainAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	cfgPath := e.writeConfig(t, scheme+"://"+proxy.Addr(), "127.0.0.1:0", time.Second)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := keyfile.Load(filepath.Join(e.dir, "provider.key"), "")
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(e.dir, "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	n, err := node.New(cfg, node.Options{Key: key, Log: slog.New(slog.NewTextHandler(logFile, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			n.Shutdown(context.Background())
		}
	}()
	nodeLog := func() string {
		b, _ := os.ReadFile(logFile.Name())
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		return strings.Join(lines[max(0, len(lines)-60):], "\n")
	}

	payers := e.payers(t, 0, channels, n.AgentURL())
	stop := make(chan struct{})
	l := startLoad(ctx, payers, -1, slots, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		cancel()
		l.wait()
	}()

	// Load until every channel is known and settlement has confirmed a
	// batch; then cut as soon as the next batch is recorded.
	if err := waitUntil(ctx, time.Minute, func() bool {
		return l.charged.Load() >= int64(channels*slots) && n.Settler().Stats().Confirmed >= 1
	}); err != nil {
		t.Fatalf("before the cut: %v (%d jobs charged, settler %+v)", err, l.charged.Load(), n.Settler().Stats())
	}
	batches := n.Settler().Stats().Batches
	if err := waitUntil(ctx, time.Minute, func() bool { return n.Settler().Stats().Batches > batches }); err != nil {
		t.Fatalf("no batch recorded to cut under: %v", err)
	}
	proxy.Cut()
	cutAt := time.Now()
	before, failedBefore := l.charged.Load(), l.stats().Failed
	beforeStats := n.Settler().Stats()

	// A channel opened during the cut is one the node cannot know: its
	// job is refused as retryable, nothing reserved, until the chain is
	// back; then it runs.
	late := e.payers(t, channels, 1, n.AgentURL())[0]
	lateDone := make(chan bool, 1)
	go func() {
		charged, _ := late.do(ctx, "late-1", jobRequest("late-1", 1))
		lateDone <- charged
	}()
	time.Sleep(time.Until(cutAt.Add(outage)))
	select {
	case <-lateDone:
		t.Errorf("a job on a channel opened during the outage ended during the outage: %+v", late.Stats())
	default:
	}
	during, failedDuring := l.charged.Load()-before, l.stats().Failed-failedBefore
	duringStats := n.Settler().Stats()
	proxy.Restore()
	t.Logf("cut with %d batches recorded, %d confirmed", beforeStats.Batches, beforeStats.Confirmed)
	t.Logf("cut for %s: %d jobs charged meanwhile (%.0f/s), %d failed; settler during the cut: %d batches recorded, %d confirmed",
		time.Since(cutAt).Round(time.Millisecond), during, float64(during)/outage.Seconds(), failedDuring,
		duringStats.Batches-beforeStats.Batches, duringStats.Confirmed-beforeStats.Confirmed)
	if failedDuring != 0 {
		t.Errorf("%d jobs failed during the outage: %v", failedDuring, l.stats().Codes)
	}
	if least := int64(10 * channels); during < least {
		t.Errorf("%d jobs charged during a %s outage; want at least %d", during, outage, least)
	}

	select {
	case charged := <-lateDone:
		st := late.Stats()
		t.Logf("the job on the channel opened during the outage: charged %v after %d retryable refusals %v", charged, st.Retries, st.RetryCodes)
		if !charged || st.Retries == 0 {
			t.Errorf("the job on the channel opened during the outage: charged %v after %d retryable refusals; want charged after at least one", charged, st.Retries)
		}
	case <-time.After(time.Minute):
		t.Errorf("the job on the channel opened during the outage did not end within a minute of Restore: %+v", late.Stats())
	}
	payers = append(payers, late)

	// More load after the outage, then stop it and let settlement catch
	// up on its own interval.
	restored := time.Now()
	after := l.charged.Load()
	time.Sleep(2 * time.Second)
	close(stop)
	if err := l.wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d jobs charged in the 2s after Restore; %d in all, %d uncharged %v", l.charged.Load()-after, l.charged.Load(), l.stats().Failed, l.stats().Codes)
	// Caught up: the chain holds every channel's receipts, and the ledger
	// has confirmed the batches that put them there.
	lg := n.Ledger()
	if err := waitUntil(ctx, 2*time.Minute, func() bool {
		for _, p := range payers {
			if nodetest.Claimed(t, e.chain.Client(), e.d, p.channel).Cmp(p.receiptSum()) != 0 {
				return false
			}
			if cs, err := lg.Channel(ctx, p.channel); err != nil || cs.Claimed.Cmp(cs.Charged) != 0 {
				return false
			}
		}
		open, err := lg.Batches(ctx, ledger.BatchPending, ledger.BatchMined)
		return err == nil && len(open) == 0
	}); err != nil {
		t.Errorf("settlement did not catch up within 2 minutes of Restore: %v; node log:\n%s", err, nodeLog())
	} else {
		t.Logf("settlement caught up %s after Restore; settler %+v", time.Since(restored).Round(time.Millisecond), n.Settler().Stats())
	}

	// The sums and the claims, channel by channel, before the node's own
	// shutdown round could hide a missed claim.
	confirmed, claimed := e.checkSettled(t, lg, payers)
	t.Logf("%d batches confirmed; %s wei claimed in all", confirmed, claimed)
	stopped = true
	if err := n.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	b, _ := os.ReadFile(logFile.Name())
	t.Logf("the node's warnings and errors: %s", logSummary(string(b)))
	if t.Failed() {
		t.Logf("node log:\n%s", nodeLog())
	}
}

var logMsgRe = regexp.MustCompile(`level=(WARN|ERROR) msg=("(?:[^"\\]|\\.)*"|\S+)`)

// logSummary counts a text log's warnings and errors by message.
func logSummary(log string) string {
	counts := map[string]int{}
	var order []string
	for _, m := range logMsgRe.FindAllStringSubmatch(log, -1) {
		k := m[1] + " " + m[2]
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	if len(order) == 0 {
		return "none"
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%s ×%d", k, counts[k])
	}
	return strings.Join(parts, "; ")
}
