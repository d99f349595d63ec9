package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/paynode/paynode/internal/bench"
)

const benchHelp = `
Measures a node on this machine, load generator included: it starts
'paynode dev --bench-unpaid' as a child process (dev chain, durable ledger,
the builtin model with no compute), opens one payment channel per agent
connection, and reports:

  - jobs per second and p50/p99 latency WITHOUT payment (same node, API,
    hub and worker; no voucher check, no ledger write, no receipt
    signature) and WITH it (every voucher checked and recorded durably,
    every receipt signed by the node and verified by the agent), their
    ratio, and what payment adds to latency;
  - the CPU time (user and system) the node and the load generator spent
    a job in each run: the price of payment in CPU, which moves less than
    jobs per second when other work shares the machine;
  - how many of the paid receipts' signatures the agents verified: all
    of them by default; with --verify-every N fewer, never N receipts
    left without a verified one above them, by the rule of
    docs/protocol.md ("Verifying receipts in batches"), every receipt
    still checked for its channel, job, output, cost and running total;
  - the node's resident memory per idle agent connection;
  - the gas of the node's settlement, per claimed channel and per job.

docs/benchmarks.md keeps the figures with the command that made them.

Examples:
  paynode bench
  paynode bench --jobs 50000 --agents 64 --in-flight 32 --json > bench.json
  paynode bench --voucher-headroom 64 --verify-every 64`

func (m *Main) runBench(ctx context.Context, args []string) error {
	flags := m.newFlagSet("bench", "[flags]", benchHelp)
	var o bench.Options
	flags.IntVar(&o.Jobs, "jobs", 20000, "jobs in each of the unpaid and the paid run")
	flags.IntVar(&o.Agents, "agents", 32, "agent connections, one payment channel each")
	flags.IntVar(&o.InFlight, "in-flight", 16, "jobs in flight per connection")
	maxTokens := flags.Uint64("max-tokens", 16, "output tokens per job")
	flags.IntVar(&o.IdleConns, "idle-conns", 10000, "idle agent connections held for the memory figure")
	flags.IntVar(&o.Capacity, "capacity", 512, "jobs the node's builtin worker runs at once")
	flags.IntVar(&o.Headroom, "voucher-headroom", 0, "sign each voucher this many jobs' max cost ahead, and reuse it while it covers (0: a new voucher per job)")
	flags.IntVar(&o.VerifyEvery, "verify-every", 1, "verify paid receipts' signatures in batches, never leaving N receipts without a verified one above them (1: every receipt)")
	flags.BoolVar(&o.Pprof, "pprof", false, "serve the node's profiler (its metrics URL /debug/pprof/) while the benchmark runs")
	flags.StringVar(&o.CPUProfile, "cpuprofile", "", "write the load generator's CPU profile of each measured run to `PREFIX`.unpaid and PREFIX.paid")
	asJSON := flags.Bool("json", false, "print the report as JSON on stdout")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	o.MaxTokens = *maxTokens
	o.Progress = func(msg string) { fmt.Fprintln(m.Stderr, "paynode bench:", msg) }
	rep, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "machine\t%d CPUs, %s, %s, %s\n", rep.Machine.CPUs, rep.Machine.CPU, rep.Machine.OS, rep.Machine.GoVersion)
	verify := "every receipt's signature verified"
	if rep.VerifyEvery > 1 {
		verify = fmt.Sprintf("receipts' signatures verified in batches of up to %d", rep.VerifyEvery)
	}
	fmt.Fprintf(w, "load\t%d connections × %d in flight, %d output tokens a job, voucher headroom %d jobs, %s\n\n",
		rep.Agents, rep.InFlight, rep.MaxTokens, rep.Headroom, verify)
	fmt.Fprintf(w, "\tjobs/s\tp50\tp99\tfailed\tCPU a job: node\tload generator\n")
	for _, p := range []struct {
		name string
		ph   bench.Phase
	}{{"unpaid", rep.Unpaid}, {"paid", rep.Paid}} {
		fmt.Fprintf(w, "%s\t%.0f\t%.2f ms\t%.2f ms\t%d of %d\t%.0f µs\t%.0f µs\n", p.name, p.ph.JobsPerSec, p.ph.P50Millis, p.ph.P99Millis,
			p.ph.Failed, p.ph.Jobs, p.ph.NodeCPUMicros, p.ph.AgentCPUMicros)
	}
	fmt.Fprintf(w, "\npaid/unpaid\t%.2f\n", rep.Ratio)
	fmt.Fprintf(w, "paid receipts\t%d, %d signatures verified\n", rep.Receipts.Held, rep.Receipts.Verified)
	fmt.Fprintf(w, "payment adds\t%.2f ms at p50, %.2f ms at p99\n", rep.AddedP50Millis, rep.AddedP99Millis)
	fmt.Fprintf(w, "idle connections\t%d: %.1f KiB each (node RSS %.1f → %.1f MiB)\n", rep.Idle.Conns,
		float64(rep.Idle.BytesPerConn)/1024, float64(rep.Idle.RSSBefore)/(1<<20), float64(rep.Idle.RSSAfter)/(1<<20))
	g := rep.Settlement
	fmt.Fprintf(w, "settlement\t%d batches, %d channel claims, %d jobs: %d gas per channel, %d gas per job\n",
		g.Batches, g.Channels, g.Jobs, g.GasPerChannel, g.GasPerJob)
	return nil
}
