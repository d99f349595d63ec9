package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/internal/devstack"
	"github.com/paynode/paynode/node"
	"github.com/paynode/paynode/node/config"
	"github.com/paynode/paynode/node/executor/builtin"
)

const devHelp = `
Runs everything a provider runs, in one process, for local use: the dev
chain (a real go-ethereum node) with paynode's contracts, and a provider node
with a builtin worker serving one offer (paynode-test-1, paid in ETH). It
prints the chain's RPC URL, the agents' websocket URL, the metrics URL and
the path of a funded agent key file, then serves until interrupted.

Everything lives in --dir (a new temporary directory by default, removed on
exit): deployment.json, node.toml (the config 'paynode serve' would read),
the provider's and the agent's key files, the worker token and the ledger.
The keys are the public dev accounts: never send real value to them.

Examples:
  paynode dev
  paynode dev --json > dev.json &
  paynode dev --http 127.0.0.1:8545 --listen 127.0.0.1:7070 --metrics-listen 127.0.0.1:9464`

// devInfo is what `paynode dev --json` prints.
type devInfo struct {
	ChainID         uint64             `json:"chainId"`
	RPC             string             `json:"rpc"`
	WS              string             `json:"ws"`
	AgentURL        string             `json:"agentUrl"`
	WorkerURL       string             `json:"workerUrl"`
	MetricsURL      string             `json:"metricsUrl"`
	UnpaidURL       string             `json:"unpaidUrl,omitempty"`
	Dir             string             `json:"dir"`
	DeploymentFile  string             `json:"deploymentFile"`
	ConfigFile      string             `json:"configFile"`
	Provider        common.Address     `json:"provider"`
	Agent           common.Address     `json:"agent"`
	AgentKeyFile    string             `json:"agentKeyFile"`
	WorkerTokenFile string             `json:"workerTokenFile"`
	Offers          []node.OfferStatus `json:"offers"`
}

func (m *Main) runDev(ctx context.Context, args []string) error {
	flags := m.newFlagSet("dev", "[flags]", devHelp)
	httpAddr := flags.String("http", "127.0.0.1:8545", "the dev chain's JSON-RPC (HTTP and WebSocket) address; port 0 picks a free one")
	listen := flags.String("listen", "127.0.0.1:7070", "the node's API address: agents at /v1/agent, workers at /v1/worker")
	metricsListen := flags.String("metrics-listen", "127.0.0.1:9464", "the node's metrics address: /metrics, /healthz, /readyz, /status")
	dir := flags.String("dir", "", "directory for the deployment, config, keys and ledger (default: a temporary one)")
	tokenDelay := flags.Duration("token-delay", 0, "pause of the builtin model before each output token (to watch streaming)")
	tokenOffer := flags.Bool("tusd-offer", false, "also offer the builtin model for TUSD, the dev chain's test dollar")
	asJSON := flags.Bool("json", false, "print the stack's details as one JSON object on stdout")
	capacity := flags.Int("builtin-capacity", 64, "jobs the builtin worker runs at once")
	withPprof := flags.Bool("pprof", false, "serve Go's profiler at /debug/pprof/ on the metrics listener")
	benchUnpaid := flags.Bool("bench-unpaid", false, "UNSAFE, for 'paynode bench' only: also take jobs WITHOUT payment at "+node.UnpaidPath)
	lf := addLogFlags(flags)
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	log, err := lf.logger(m.Stderr)
	if err != nil {
		return err
	}
	if *lf.level == "info" {
		// The node's info lines repeat the progress lines below.
		log, _ = logFlags{format: lf.format, level: ptr("warn")}.logger(m.Stderr)
	}
	start := time.Now()
	stack, err := devstack.Start(ctx, devstack.Options{
		Dir: *dir, ChainHTTP: *httpAddr, APIListen: *listen, MetricsListen: *metricsListen,
		Builtin: &builtin.Model{TokenDelay: *tokenDelay}, TokenOffer: *tokenOffer, Log: log,
		BenchUnpaid: *benchUnpaid,
		Configure: func(c *config.Config) {
			c.Workers.BuiltinCapacity = *capacity
			c.Metrics.Pprof = *withPprof
		},
		Progress: func(msg string) { fmt.Fprintln(m.Stderr, "paynode dev:", msg) },
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(m.Stderr, "paynode dev: stopping")
		stack.Close(context.WithoutCancel(ctx))
	}()
	n := stack.Node
	info := devInfo{
		ChainID: stack.Deployment.ChainID, RPC: stack.Chain.HTTPURL(), WS: stack.Chain.WSURL(),
		AgentURL: n.AgentURL(), WorkerURL: n.WorkerURL(), MetricsURL: n.MetricsURL(),
		Dir: stack.Dir, DeploymentFile: stack.DeploymentFile, ConfigFile: stack.ConfigFile,
		Provider: n.Provider(), Agent: crypto.PubkeyToAddress(stack.AgentKey.PublicKey),
		AgentKeyFile: stack.AgentKeyFile, WorkerTokenFile: stack.WorkerTokenFile,
	}
	if *benchUnpaid {
		info.UnpaidURL = strings.TrimSuffix(n.AgentURL(), "/v1/agent") + node.UnpaidPath
	}
	st, err := n.Status(ctx)
	if err != nil {
		return err
	}
	info.Offers = st.Offers
	if *asJSON {
		if err := json.NewEncoder(m.Stdout).Encode(info); err != nil {
			return err
		}
	} else {
		m.printDev(info, time.Since(start))
	}
	select {
	case <-ctx.Done():
	case <-n.Failed():
		return n.Err()
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func (m *Main) printDev(info devInfo, took time.Duration) {
	w := m.Stdout
	fmt.Fprintf(w, "paynode dev: up in %s (chain id %d)\n\n", took.Round(time.Millisecond), info.ChainID)
	fmt.Fprintf(w, "  chain RPC         %s  (WebSocket %s)\n", info.RPC, info.WS)
	fmt.Fprintf(w, "  agents            %s\n", info.AgentURL)
	fmt.Fprintf(w, "  workers           %s  (token in %s)\n", info.WorkerURL, info.WorkerTokenFile)
	fmt.Fprintf(w, "  metrics           %s/metrics  (also /healthz, /readyz, /status)\n", info.MetricsURL)
	fmt.Fprintf(w, "  provider          %s\n", info.Provider)
	fmt.Fprintf(w, "  agent key file    %s  (%s: 10,000 ETH, 1,000,000 TUSD)\n", info.AgentKeyFile, info.Agent)
	fmt.Fprintf(w, "  deployment        %s\n", info.DeploymentFile)
	fmt.Fprintf(w, "  node config       %s\n\n", info.ConfigFile)
	fmt.Fprintf(w, "Offers:\n")
	for _, o := range info.Offers {
		fmt.Fprintf(w, "  #%s %s in %s: %s a job + %s per 1M input tokens + %s per 1M output tokens (base units), up to %d tokens\n",
			o.ID, o.Model, o.Asset, o.Base, o.InPerM, o.OutPerM, o.MaxTokens)
	}
	fmt.Fprintf(w, "\nRunning until interrupted (Ctrl-C).\n")
}
