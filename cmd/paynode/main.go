// Command paynode is the one binary of paynode: the provider node, the dev
// chain, deployment, workers and the agent's tools. main only wires the
// packages together; each subcommand lives in its own file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set:
// the heap may grow to three times the live data between collections
// instead of twice. A paid job allocates a few kilobytes that die within
// it, so collection is a steady share of a busy node's CPU; at 200 that
// share falls by about half (paid jobs/s on the build machine +5–8%,
// docs/benchmarks.md) while an idle connection still costs about 20 KiB.
// GOGC and GOMEMLIMIT, when set, decide as usual.
const defaultGCPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(m.Exit(m.Run(ctx, os.Args[1:])))
}

// Main runs paynode's commands; its writers are swapped in tests.
type Main struct {
	Stdout io.Writer // data: what --json prints, what scripts parse
	Stderr io.Writer // progress and errors, for people
}

// command is one subcommand: its one-line summary and its runner.
type command struct {
	summary string
	run     func(m *Main, ctx context.Context, args []string) error
}

var commands = map[string]command{
	"agent":  {"pay providers per job: offers, open, topup, run, status, withdraw, proxy", (*Main).runAgent},
	"bench":  {"measure a node on this machine: paid and unpaid jobs/s, latency, memory, gas", (*Main).runBench},
	"chain":  {"run a local dev chain with paynode's contracts deployed", (*Main).runChain},
	"demo":   {"run the dev stack and an agent that pays for jobs; check receipts, ledger and chain agree", (*Main).runDemo},
	"deploy": {"deploy paynode's contracts onto any EVM chain", (*Main).runDeploy},
	"dev":    {"run the dev chain and a provider node with a builtin worker, in one process", (*Main).runDev},
	"serve":  {"run the provider node (--config FILE)", (*Main).runServe},
	"status": {"show a running node's offers, workers, channels and money", (*Main).runStatus},
	"worker": {"run a worker that serves a node's jobs on an inference server", (*Main).runWorker},
}

// errUsage marks an error in how the command was called; it exits 2.
var errUsage = errors.New("usage")

// usageError wraps a message so that it exits 2, like a flag error.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// Run runs the subcommand named by args[0].
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		m.usage()
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		m.usage()
		return usageError("unknown command %q", args[0])
	}
	if err := c.run(m, ctx, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &commandError{cmd: args[0], err: err}
	}
	return nil
}

// commandError is a subcommand's error, said as "paynode CMD: ...". The
// packages behind a command prefix their errors with their own name,
// which for `paynode agent` is the command's: it is said once.
type commandError struct {
	cmd string
	err error
}

func (e *commandError) Error() string {
	return "paynode " + e.cmd + ": " + strings.TrimPrefix(e.err.Error(), e.cmd+": ")
}

func (e *commandError) Unwrap() error { return e.err }

// Exit prints err on one line and returns the process exit code: 0 on
// success, 2 for a usage error, 1 for anything else.
func (m *Main) Exit(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		if msg := strings.TrimPrefix(err.Error(), "usage: "); msg != "usage" {
			fmt.Fprintln(m.Stderr, "error:", strings.Replace(msg, ": usage: ", ": ", 1))
		}
		return 2
	default:
		fmt.Fprintln(m.Stderr, "error:", err)
		return 1
	}
}

func (m *Main) usage() {
	fmt.Fprint(m.Stderr, `paynode: pay per job, on chain, for the compute AI agents use.

Usage: paynode <command> [flags]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(m.Stderr, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(m.Stderr, `
Run 'paynode <command> --help' for a command's flags and examples.
`)
}

// newFlagSet returns a FlagSet whose --help prints the summary, usage line,
// flags and examples of a command to stderr.
func (m *Main) newFlagSet(name, usage, help string) *flag.FlagSet {
	fs := flag.NewFlagSet("paynode "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: paynode %s %s\n\n%s\n\nFlags:\n", name, usage, strings.TrimSpace(help))
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
