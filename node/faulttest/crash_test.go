package faulttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paynode/paynode/internal/buildtest"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/nodetest"
)

// paynode is the binary the crash test runs, built the first time a test
// needs it (a run of the outage test alone builds nothing).
var paynode buildtest.Binary

func TestMain(m *testing.M) {
	code := m.Run()
	paynode.Remove()
	os.Exit(code)
}

// serveProc is one run of `paynode serve --config F`, its log in a file.
type serveProc struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error // cmd.Wait's, once exited is closed
}

func startServe(t *testing.T, bin, cfgPath, logPath string) *serveProc {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *serveProc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// tail is the log's last lines, for a failure message.
func (p *serveProc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.log(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// waitReady waits until the node says it serves agents.
func (p *serveProc) waitReady(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.log(), "serving agents at") {
		select {
		case <-p.exited:
			t.Fatalf("paynode serve exited (%v) before serving; log:\n%s", p.err, p.tail(40))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("paynode serve not serving after %s; log:\n%s", d, p.tail(40))
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serveProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

// term sends SIGTERM and waits for a clean exit.
func (p *serveProc) term(t *testing.T, d time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(d):
		t.Fatalf("paynode serve still running %s after SIGTERM; log:\n%s", d, p.tail(40))
	}
	if p.err != nil {
		t.Fatalf("paynode serve exited with %v after SIGTERM; log:\n%s", p.err, p.tail(40))
	}
}

var (
	releasedRe  = regexp.MustCompile(`released (\d+) jobs a previous run left unfinished`)
	claimSentRe = regexp.MustCompile(`msg="claim sent" .*?batch=(\d+)`)
	confirmedRe = regexp.MustCompile(`msg="claim confirmed" .*?batch=(\d+)`)
)

// inFlightClaims returns the batches a killed run's log says it sent and
// did not confirm, and the next run's log says it confirmed.
func inFlightClaims(killed, next string) []string {
	ids := func(re *regexp.Regexp, log string) map[string]bool {
		out := map[string]bool{}
		for _, m := range re.FindAllStringSubmatch(log, -1) {
			out[m[1]] = true
		}
		return out
	}
	confirmedBefore, confirmedAfter := ids(confirmedRe, killed), ids(confirmedRe, next)
	var out []string
	for id := range ids(claimSentRe, killed) {
		if !confirmedBefore[id] && confirmedAfter[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// TestCrashUnderLoad runs `paynode serve` as a process under a steady load
// of paid jobs — 8 channels, 8 jobs in flight on each — and kills it with
// SIGKILL three times at random points of the load, restarting it each
// time with the same config and ledger. The agents dial again and submit
// every job whose outcome they had not heard with the same id. Then the
// node is stopped with SIGTERM, which settles, and every channel must
// hold: claimed on chain == Σ cost of the receipts the agent holds == the
// ledger's charged; receipts numbered 1…n, one per charged job, none
// twice; nothing reserved; the ledger's voucher at least every voucher
// the node acknowledged; one Claimed event per confirmed claim.
//
// PAYNODE_CRASH_JOBS (default 5,000), PAYNODE_CRASH_KILLS (3) and
// PAYNODE_CRASH_SEED (random, logged) size and replay a run; see
// docs/faults.md for the full-size one.
func TestCrashUnderLoad(t *testing.T) {
	const (
		channels = 8
		slots    = 8 // jobs in flight per channel
	)
	jobs := envInt(t, "PAYNODE_CRASH_JOBS", 5000)
	kills := int(envInt(t, "PAYNODE_CRASH_KILLS", 3))
	seed := uint64(envInt(t, "PAYNODE_CRASH_SEED", time.Now().UnixNano()))
	t.Logf("%d jobs, %d kills, PAYNODE_CRASH_SEED=%d", jobs, kills, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>7))
	rng2 := rand.New(rand.NewPCG(seed>>3, seed)) // the agents' cuts, in their own goroutine
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Hour)
	defer cancel()

	bin := paynode.Path(t)
	e := newEnv(t)
	listen := freeAddr(t)
	cfgPath := e.writeConfig(t, e.chain.WSURL(), listen, time.Second)
	runs := 0
	serve := func() *serveProc {
		runs++
		p := startServe(t, bin, cfgPath, filepath.Join(e.dir, fmt.Sprintf("serve-%d.log", runs)))
		p.waitReady(t, time.Minute)
		return p
	}
	proc := serve()
	// The agents reach the node through a proxy that is also cut, at
	// other random points: connections lost while the node runs on, so
	// that resubmitted jobs are attached to while they run or replayed
	// with their output, not only after a restart.
	agentProxy, err := nodetest.NewProxy(listen)
	if err != nil {
		t.Fatal(err)
	}
	defer agentProxy.Close()
	payers := e.payers(t, 0, channels, "ws://"+agentProxy.Addr()+"/v1/agent")

	// Kill points: random numbers of jobs ended, between a tenth and nine
	// tenths of the load, and a random pause of up to 50 ms past each.
	points := make([]int64, kills)
	for i := range points {
		points[i] = jobs/10 + rng.Int64N(max(1, jobs*8/10))
	}
	slices.Sort(points)
	// The first kill waits for the run's next claim and lands while the
	// claim is on its way: sent, not yet confirmed. (First, so that it
	// comes while the load runs: claims go out every second.)
	const underClaim = 0

	quota := int((jobs + channels - 1) / channels)
	total := int64(quota * channels)
	l := startLoad(ctx, payers, quota, slots, nil)
	cuts := int(envInt(t, "PAYNODE_CRASH_CUTS", 3))
	cutsDone := make(chan struct{})
	go func() {
		defer close(cutsDone)
		at := make([]int64, cuts)
		for i := range at {
			at[i] = jobs/10 + rng2.Int64N(max(1, jobs*8/10))
		}
		slices.Sort(at)
		for _, n := range at {
			if waitUntil(ctx, 30*time.Minute, func() bool { return l.ended.Load() >= n }) != nil {
				return
			}
			agentProxy.Cut()
			time.Sleep(20 * time.Millisecond)
			agentProxy.Restore()
		}
	}()
	type killed struct {
		at         int64         // jobs ended when it was killed
		down       time.Duration // until the next run served agents
		underClaim bool          // right after a claim was sent
	}
	var log []killed
	for i, at := range points {
		if err := waitUntil(ctx, 30*time.Minute, func() bool { return l.ended.Load() >= at }); err != nil {
			t.Fatalf("waiting for %d jobs to end before kill %d: %v (%d ended)", at, i+1, err, l.ended.Load())
		}
		if i == underClaim {
			sent := strings.Count(proc.log(), "claim sent")
			if err := waitUntil(ctx, time.Minute, func() bool { return strings.Count(proc.log(), "claim sent") > sent }); err != nil {
				t.Fatalf("kill %d: no claim sent within a minute: %v", i+1, err)
			}
		} else {
			time.Sleep(time.Duration(rng.Int64N(int64(50 * time.Millisecond))))
		}
		ended := l.ended.Load()
		if ended >= total {
			t.Logf("kill %d comes after the load ended", i+1)
		}
		proc.kill(t)
		down := time.Now()
		proc = serve()
		log = append(log, killed{at: ended, down: time.Since(down), underClaim: i == underClaim})
	}
	if err := l.wait(); err != nil {
		t.Fatal(err)
	}
	<-cutsDone
	elapsed := time.Since(l.started)
	proc.term(t, 2*time.Minute)
	for i, k := range log {
		how := "at random"
		if k.underClaim {
			how = "right after a claim was sent"
		}
		t.Logf("kill %d (%s) after %d jobs ended: serving again %s later", i+1, how, k.at, k.down.Round(time.Millisecond))
	}
	for r := 2; r <= runs; r++ {
		prev, _ := os.ReadFile(filepath.Join(e.dir, fmt.Sprintf("serve-%d.log", r-1)))
		b, _ := os.ReadFile(filepath.Join(e.dir, fmt.Sprintf("serve-%d.log", r)))
		if m := releasedRe.FindSubmatch(b); m != nil {
			t.Logf("run %d released %s jobs the killed run left reserved", r, m[1])
		}
		if ids := inFlightClaims(string(prev), string(b)); len(ids) > 0 {
			t.Logf("run %d confirmed batch %v, sent by the killed run", r, ids)
		}
	}

	// Every job ended once, in a result or uncharged.
	st := l.stats()
	t.Logf("%d jobs in %s (%.0f/s with %d kills and %d agent-side cuts): %d charged (%d fresh, of which %d after a resubmission; %d replayed, %d of them with the output dropped), %d uncharged %v; %d resubmits after a lost connection, %d retries %v, %d connections",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), kills, cuts,
		st.Fresh+st.Replayed, st.Fresh, st.Resumed, st.Replayed, st.Dropped, st.Failed, st.Codes, st.Resubmits, st.Retries, st.RetryCodes, st.Dials)
	if got := int64(st.Fresh + st.Replayed + st.Failed); got != total || l.ended.Load() != total {
		t.Errorf("%d outcomes (%d counted by the load) for %d jobs", got, l.ended.Load(), total)
	}
	for code, n := range st.Codes {
		if code != "job_failed" {
			t.Errorf("%d jobs ended in %s; only jobs a kill interrupted may fail (job_failed)", n, code)
		}
	}
	if limit := kills * channels * slots; st.Failed > limit {
		t.Errorf("%d jobs failed; %d kills interrupt at most %d", st.Failed, kills, limit)
	}

	// The sums, channel by channel, from the ledger the node left.
	lg, err := bolt.Open(filepath.Join(e.dir, "paynode-data"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close(context.Background())
	batches, claimed := e.checkSettled(t, lg, payers)
	t.Logf("%d claim batches confirmed over %d runs; %s wei claimed in all", batches, runs, claimed)
	if t.Failed() {
		t.Logf("last run's log:\n%s", proc.tail(60))
	}
}
