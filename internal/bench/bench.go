// Package bench is `paynode bench`: it measures a node the way issue 7 and
// DESIGN.md ("Numbers the design is held to") ask, on one machine, load
// generator included.
//
// The node runs as a child process (`paynode dev --bench-unpaid`: the dev
// chain, a durable ledger, the builtin model with no compute), so its
// resident memory is its own. The benchmark then:
//
//  1. opens one payment channel per agent connection;
//  2. runs the same jobs through the node without payment (at
//     node.UnpaidPath: same API, hub and worker; no voucher check, no
//     ledger write, no receipt signature) and with it (at /v1/agent, every
//     receipt verified by the agent, or with Options.VerifyEvery fewer, in
//     batches), and reports jobs per second and
//     p50/p99 latency of each, their ratio, and what payment adds;
//  3. holds open many idle agent connections (handshake done) and reports
//     the node's resident memory per connection;
//  4. lets the node settle what it charged and reports the gas of its
//     claims per channel and per job.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node"
	"github.com/paynode/paynode/node/nodetest"
	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/testnet"
)

// Options tune a run; zero fields take the defaults in brackets.
type Options struct {
	Binary    string // the paynode executable that runs the node [os.Executable()]
	Jobs      int    // jobs per phase [20000]
	Agents    int    // agent connections, one channel each [32]
	InFlight  int    // jobs in flight per connection [16]
	MaxTokens uint64 // output tokens per job [16]
	IdleConns int    // idle connections held for the memory figure [10000]
	Capacity  int    // the builtin worker's capacity [512]
	// Headroom is how many jobs' max cost each voucher signs ahead [0:
	// a voucher per job]; see docs/protocol.md, Voucher headroom.
	Headroom int
	// VerifyEvery is how the load generator verifies receipts [1: every
	// receipt's signature]; above 1 it verifies fewer, never leaving
	// VerifyEvery receipts without a verified one above them, as
	// docs/protocol.md ("Verifying receipts in batches") allows.
	VerifyEvery int
	// Pprof serves the node's profiler at its metrics URL /debug/pprof/.
	Pprof bool
	// CPUProfile, when set, is where the load generator's own CPU
	// profiles go: CPUProfile+".unpaid" and CPUProfile+".paid", one for
	// each measured run.
	CPUProfile string
	Progress   func(string)
}

// Phase is one run of jobs.
type Phase struct {
	Jobs       int     `json:"jobs"`
	Failed     int     `json:"failed"`
	Seconds    float64 `json:"seconds"`
	JobsPerSec float64 `json:"jobsPerSecond"`
	P50Millis  float64 `json:"p50Ms"`
	P99Millis  float64 `json:"p99Ms"`
	// NodeCPUMicros and AgentCPUMicros are the CPU time (user and
	// system) the node's process and the load generator's spent a job
	// during the run, in microseconds; 0 where /proc cannot tell.
	NodeCPUMicros  float64 `json:"nodeCpuPerJobUs"`
	AgentCPUMicros float64 `json:"loadGeneratorCpuPerJobUs"`
}

// Report is what a run measured.
type Report struct {
	Machine   Machine `json:"machine"`
	Agents    int     `json:"agents"`
	InFlight  int     `json:"inFlightPerAgent"`
	Headroom  int     `json:"voucherHeadroomJobs"`
	MaxTokens uint64  `json:"maxTokens"`
	Unpaid    Phase   `json:"unpaid"`
	Paid      Phase   `json:"paid"`
	// Ratio is paid / unpaid jobs per second.
	Ratio float64 `json:"paidToUnpaid"`
	// AddedP50Millis and AddedP99Millis are what payment adds to latency.
	AddedP50Millis float64 `json:"addedP50Ms"`
	AddedP99Millis float64 `json:"addedP99Ms"`
	Idle           Idle    `json:"idle"`
	Settlement     Gas     `json:"settlement"`

	// VerifyEvery is Options.VerifyEvery; Receipts what the agents held and
	// verified of the paid run's receipts.
	VerifyEvery int      `json:"verifyReceiptsEvery"`
	Receipts    Receipts `json:"paidReceipts"`
}

// Receipts counts the paid run's receipts and the signatures the agents
// verified of them.
type Receipts struct {
	Held     int `json:"held"`
	Verified int `json:"signaturesVerified"`
}

// Machine describes where the figures were taken.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPU       string `json:"cpu"`
	OS        string `json:"os"`
	GoVersion string `json:"goVersion"`
}

// Idle is the memory figure.
type Idle struct {
	Conns        int   `json:"connections"`
	RSSBefore    int64 `json:"rssBeforeBytes"`
	RSSAfter     int64 `json:"rssAfterBytes"`
	BytesPerConn int64 `json:"bytesPerConnection"`
}

// Gas is the settlement figure.
type Gas struct {
	Batches       uint64 `json:"batches"`
	Channels      uint64 `json:"channelClaims"`
	Jobs          uint64 `json:"jobs"`
	GasUsed       uint64 `json:"gasUsed"`
	GasPerChannel uint64 `json:"gasPerChannel"`
	GasPerJob     uint64 `json:"gasPerJob"`
}

func (o *Options) defaults() error {
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.Binary = exe
	}
	for _, f := range []struct {
		v   *int
		def int
	}{{&o.Jobs, 20000}, {&o.Agents, 32}, {&o.InFlight, 16}, {&o.IdleConns, 10000}, {&o.Capacity, 512}, {&o.VerifyEvery, 1}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = 16
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	return nil
}

// devInfo is the part of `paynode dev --json` the benchmark reads.
type devInfo struct {
	RPC            string             `json:"rpc"`
	AgentURL       string             `json:"agentUrl"`
	UnpaidURL      string             `json:"unpaidUrl"`
	MetricsURL     string             `json:"metricsUrl"`
	DeploymentFile string             `json:"deploymentFile"`
	Provider       common.Address     `json:"provider"`
	Offers         []node.OfferStatus `json:"offers"`
}

// Run runs the benchmark.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	say := func(format string, args ...any) { opts.Progress(fmt.Sprintf(format, args...)) }
	rep := &Report{Machine: machine(), Agents: opts.Agents, InFlight: opts.InFlight, MaxTokens: opts.MaxTokens, Headroom: opts.Headroom, VerifyEvery: opts.VerifyEvery}

	say("starting the node (%s dev --bench-unpaid)", opts.Binary)
	args := []string{"dev", "--http", "127.0.0.1:0", "--listen", "127.0.0.1:0",
		"--metrics-listen", "127.0.0.1:0", "--json", "--bench-unpaid", "--log-level", "error",
		"--builtin-capacity", strconv.Itoa(opts.Capacity)}
	if opts.Pprof {
		args = append(args, "--pprof")
	}
	child := exec.CommandContext(ctx, opts.Binary, args...)
	child.Stderr = os.Stderr
	stdout, err := child.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := child.Start(); err != nil {
		return nil, err
	}
	defer func() {
		child.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { child.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			child.Process.Kill()
		}
	}()
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("the node did not start: %w", err)
	}
	var info devInfo
	if err := json.Unmarshal(line, &info); err != nil {
		return nil, fmt.Errorf("paynode dev --json: %w", err)
	}
	if info.UnpaidURL == "" || len(info.Offers) == 0 {
		return nil, errors.New("the node serves no unpaid path or no offer")
	}
	if opts.Pprof {
		say("the node's profiler: %s/debug/pprof/ (pid %d)", info.MetricsURL, child.Process.Pid)
	}
	price, err := contracts.ParsePrice(info.Offers[0].Base, info.Offers[0].InPerM, info.Offers[0].OutPerM)
	if err != nil {
		return nil, err
	}
	d, err := contracts.LoadDeployment(info.DeploymentFile)
	if err != nil {
		return nil, err
	}
	client, err := ethclient.DialContext(ctx, info.RPC)
	if err != nil {
		return nil, err
	}
	defer client.Close()

	// One channel per connection, opened by the dev accounts not used by
	// the node, each with a signer key of its own.
	say("opening %d channels", opts.Agents)
	payers := testnet.DevAccounts()[3:]
	signers := make([]*ecdsa.PrivateKey, opts.Agents)
	channels := make([]common.Hash, opts.Agents)
	for i := range opts.Agents {
		signers[i], _ = crypto.GenerateKey()
		ch := agent.NewChannels(client, d, payers[i%len(payers)].Key)
		ch.PollInterval = 5 * time.Millisecond
		opened, err := ch.Open(ctx, agent.OpenParams{
			Provider: info.Provider, Signer: crypto.PubkeyToAddress(signers[i].PublicKey), Deposit: big.NewInt(1e18),
		})
		if err != nil {
			return nil, fmt.Errorf("open channel %d: %w", i, err)
		}
		channels[i] = opened.ID
	}
	dialAll := func(url string, noVerify bool) ([]*nodetest.Agent, error) {
		as := make([]*nodetest.Agent, opts.Agents)
		for i := range as {
			a, err := nodetest.Dial(ctx, url, signers[i], info.Provider)
			if err != nil {
				return nil, err
			}
			a.ChannelID, a.Price, a.NoVerify, a.VerifyEvery = channels[i], price, noVerify, opts.VerifyEvery
			if opts.Headroom > 0 {
				// A bench job's prompt is under 64 bytes.
				bound := (&wire.ChatRequest{Messages: []wire.ChatMessage{{Role: "user", Content: strings.Repeat("x", 64)}}}).InputTokenBound()
				a.Headroom = new(big.Int).Mul(price.Cost(bound, opts.MaxTokens), big.NewInt(int64(opts.Headroom)))
			}
			as[i] = a
		}
		return as, nil
	}
	unpaidAgents, err := dialAll(info.UnpaidURL, true)
	if err != nil {
		return nil, err
	}
	paidAgents, err := dialAll(info.AgentURL, false)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, a := range append(unpaidAgents, paidAgents...) {
			a.Close()
		}
	}()

	say("warming up")
	if _, err := phase(ctx, unpaidAgents, min(opts.Jobs/10, 2000), opts, "warm-u"); err != nil {
		return nil, err
	}
	if _, err := phase(ctx, paidAgents, min(opts.Jobs/10, 2000), opts, "warm-p"); err != nil {
		return nil, err
	}
	pid := child.Process.Pid
	say("%d jobs without payment", opts.Jobs)
	if rep.Unpaid, err = profiled(opts.CPUProfile, "unpaid", func() (Phase, error) {
		return cpuPerJob(pid, func() (Phase, error) { return phase(ctx, unpaidAgents, opts.Jobs, opts, "u") })
	}); err != nil {
		return nil, err
	}
	say("%d paid jobs", opts.Jobs)
	before := receipts(paidAgents)
	if rep.Paid, err = profiled(opts.CPUProfile, "paid", func() (Phase, error) {
		return cpuPerJob(pid, func() (Phase, error) { return phase(ctx, paidAgents, opts.Jobs, opts, "p") })
	}); err != nil {
		return nil, err
	}
	for _, a := range paidAgents {
		if err := a.Verify(); err != nil {
			return nil, err
		}
	}
	after := receipts(paidAgents)
	rep.Receipts = Receipts{Held: after.Held - before.Held, Verified: after.Verified - before.Verified}
	if rep.Unpaid.JobsPerSec > 0 {
		rep.Ratio = rep.Paid.JobsPerSec / rep.Unpaid.JobsPerSec
	}
	rep.AddedP50Millis = rep.Paid.P50Millis - rep.Unpaid.P50Millis
	rep.AddedP99Millis = rep.Paid.P99Millis - rep.Unpaid.P99Millis

	say("holding %d idle connections", opts.IdleConns)
	if rep.Idle, err = idle(ctx, child.Process.Pid, info, opts.IdleConns); err != nil {
		return nil, err
	}

	say("waiting for settlement")
	if rep.Settlement, err = settlement(ctx, info.MetricsURL); err != nil {
		return nil, err
	}
	return rep, nil
}

// phase runs jobs spread over the agents, inFlight at a time on each.
func phase(ctx context.Context, agents []*nodetest.Agent, jobs int, opts Options, tag string) (Phase, error) {
	var next atomic.Int64
	lat := make([]time.Duration, jobs)
	var failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for ai, a := range agents {
		for w := range opts.InFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(jobs) {
						return
					}
					t0 := time.Now()
					out, err := a.Run(ctx, nodetest.Job{
						ID: fmt.Sprintf("%s-%d-%d-%d", tag, ai, w, i), MaxTokens: opts.MaxTokens, Prompt: "Benchmark prompt " + strconv.FormatInt(i%97, 10),
					})
					lat[i] = time.Since(t0)
					if err != nil {
						errOnce.Do(func() { firstErr = err })
						return
					}
					if out.Err != nil {
						failed.Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	took := time.Since(start)
	if firstErr != nil {
		return Phase{}, firstErr
	}
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond) }
	return Phase{
		Jobs: jobs, Failed: int(failed.Load()), Seconds: took.Seconds(),
		JobsPerSec: float64(jobs) / took.Seconds(), P50Millis: ms(0.50), P99Millis: ms(0.99),
	}, nil
}

// receipts sums what the agents hold.
func receipts(agents []*nodetest.Agent) Receipts {
	var r Receipts
	for _, a := range agents {
		held, verified := a.Receipts()
		r.Held += held
		r.Verified += verified
	}
	return r
}

// idle opens n connections that authenticate and then idle, and reads
// the node's resident memory before and after.
func idle(ctx context.Context, pid int, info devInfo, n int) (Idle, error) {
	before, err := rss(pid)
	if err != nil {
		return Idle{}, err
	}
	const perSigner = 8 // the node's default max_conns_per_signer
	conns := make([]*nodetest.Agent, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var key *ecdsa.PrivateKey
	for i := range n {
		if i%perSigner == 0 {
			key, _ = crypto.GenerateKey()
		}
		a, err := nodetest.Dial(ctx, info.AgentURL, key, info.Provider)
		if err != nil {
			return Idle{}, fmt.Errorf("idle connection %d: %w", i, err)
		}
		conns = append(conns, a)
	}
	time.Sleep(2 * time.Second) // let the node's allocations settle
	after, err := rss(pid)
	if err != nil {
		return Idle{}, err
	}
	return Idle{Conns: n, RSSBefore: before, RSSAfter: after, BytesPerConn: (after - before) / int64(n)}, nil
}

// cpuPerJob runs a phase and fills in the CPU time the node's process
// (pid) and this one spent a job during it.
func cpuPerJob(pid int, run func() (Phase, error)) (Phase, error) {
	node0, nerr := cpuTime(strconv.Itoa(pid))
	self0, serr := cpuTime("self")
	ph, err := run()
	if err != nil || ph.Jobs == 0 {
		return ph, err
	}
	if node1, err := cpuTime(strconv.Itoa(pid)); err == nil && nerr == nil {
		ph.NodeCPUMicros = float64((node1 - node0).Microseconds()) / float64(ph.Jobs)
	}
	if self1, err := cpuTime("self"); err == nil && serr == nil {
		ph.AgentCPUMicros = float64((self1 - self0).Microseconds()) / float64(ph.Jobs)
	}
	return ph, nil
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's times: 100
// on every architecture Go supports.
const clockTicks = 100

// cpuTime reads the user and system CPU time a process has used from
// /proc/PID/stat (PID may be "self").
func cpuTime(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w (Linux only)", err)
	}
	// The command name, in parentheses, may hold spaces: the fields
	// counted from the state, the third, start after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, errors.New("cpu time: /proc/PID/stat too short")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// rss reads a process's resident set size from /proc.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("resident memory: %w (Linux only)", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/PID/status")
}

// settlement waits until the node has claimed everything it charged and
// reads the gas its claims used.
func settlement(ctx context.Context, metricsURL string) (Gas, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var st node.Status
		if err := getJSON(ctx, metricsURL+"/status", &st); err != nil {
			return Gas{}, err
		}
		unclaimed := false
		var jobs uint64
		for _, c := range st.Channels {
			if c.Unclaimed != "0" {
				unclaimed = true
			}
			jobs += c.Receipts
		}
		s := st.Settlement
		if !unclaimed && s.Confirmed > 0 && s.ClaimedChannels > 0 {
			g := Gas{Batches: s.Confirmed, Channels: s.ClaimedChannels, Jobs: jobs, GasUsed: s.GasUsed}
			g.GasPerChannel = s.GasUsed / s.ClaimedChannels
			if jobs > 0 {
				g.GasPerJob = s.GasUsed / jobs
			}
			return g, nil
		}
		select {
		case <-ctx.Done():
			return Gas{}, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return Gas{}, errors.New("the node did not settle within 2 minutes")
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	return m
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// profiled runs fn with the process's CPU profile written to
// prefix+"."+name, or just runs it when prefix is empty.
func profiled(prefix, name string, fn func() (Phase, error)) (Phase, error) {
	if prefix == "" {
		return fn()
	}
	f, err := os.Create(prefix + "." + name)
	if err != nil {
		return Phase{}, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return Phase{}, fmt.Errorf("cpu profile: %w", err)
	}
	ph, err := fn()
	pprof.StopCPUProfile()
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("cpu profile: %w", cerr)
	}
	return ph, err
}
