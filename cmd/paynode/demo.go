package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/internal/devstack"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/wire"
)

const demoHelp = `
Shows paynode's whole loop in one process, in seconds. It starts what
'paynode dev' starts (a dev chain with the contracts, a provider node with
a builtin worker and an offer on chain), then an agent, through the SDK:
it finds the offer on chain, opens a payment channel from its wallet naming
a hot signer key, pays for --jobs jobs over the node's websocket (each with
a signed voucher, each answered with a signed receipt it verifies), has the
node settle the vouchers on chain, and withdraws what is left of its
deposit. It prints a summary and checks that three totals agree to the
last wei: what the agent's receipts add up to, what the node's ledger
charged, and what was claimed on chain. It exits 1 if they differ.

With --keep-running the node (and its metrics) stay up after the summary
until interrupted, and the channel stays open.

Examples:
  paynode demo
  paynode demo --jobs 100 --json
  paynode demo --metrics-listen 127.0.0.1:9464 --keep-running`

// demoSummary is what `paynode demo --json` prints. Amounts are decimal
// strings of wei.
type demoSummary struct {
	Jobs     int            `json:"jobs"`
	Failed   int            `json:"failed"`
	Model    string         `json:"model"`
	Provider common.Address `json:"provider"`
	Payer    common.Address `json:"payer"`
	Signer   common.Address `json:"signer"`
	Channel  common.Hash    `json:"channel"`
	Asset    string         `json:"asset"`
	Deposit  string         `json:"deposit"`
	// The three totals that must agree.
	AgentCharged  string `json:"agentCharged"`  // the agent's verified receipts
	LedgerCharged string `json:"ledgerCharged"` // the node's ledger
	ChainClaimed  string `json:"chainClaimed"`  // PaymentChannels on chain
	Agree         bool   `json:"agree"`
	InputTokens   uint64 `json:"inputTokens"`
	OutputTokens  uint64 `json:"outputTokens"`
	// Settlement: batches confirmed and the gas they used.
	Batches uint64 `json:"batches"`
	GasUsed uint64 `json:"gasUsed"`
	// Refund is what the withdrawal paid back: deposit − claimed.
	Withdrawn   bool    `json:"withdrawn"`
	Refund      string  `json:"refund,omitempty"`
	Seconds     float64 `json:"seconds"`
	JobsPerSec  float64 `json:"jobsPerSecond"`
	ReceiptsDir string  `json:"receiptsDir,omitempty"` // with --dir
	MetricsURL  string  `json:"metricsUrl"`
}

func (m *Main) runDemo(ctx context.Context, args []string) error {
	flags := m.newFlagSet("demo", "[--jobs N] [--json] [--metrics-listen ADDR] [--keep-running]", demoHelp)
	jobs := flags.Int("jobs", 20, "how many jobs the agent pays for")
	asJSON := flags.Bool("json", false, "print the summary as one JSON object on stdout")
	metricsListen := flags.String("metrics-listen", "127.0.0.1:0", "the node's metrics address: /metrics, /healthz, /readyz, /status")
	keep := flags.Bool("keep-running", false, "after the summary, keep the node and its metrics up until interrupted (the channel stays open)")
	dir := flags.String("dir", "", "directory for the deployment, config, keys, ledger and receipts (default: a temporary one)")
	lf := addLogFlags(flags)
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *jobs < 1 {
		return usageError("--jobs must be at least 1")
	}
	log, err := logFlags{format: lf.format, level: ptr("warn")}.logger(m.Stderr)
	if *lf.level != "info" {
		log, err = lf.logger(m.Stderr)
	}
	if err != nil {
		return err
	}
	say := func(format string, args ...any) { fmt.Fprintf(m.Stderr, "paynode demo: "+format+"\n", args...) }
	start := time.Now()
	stack, err := devstack.Start(ctx, devstack.Options{
		Dir: *dir, MetricsListen: *metricsListen, Log: log,
		Progress: func(msg string) { say("%s", msg) },
	})
	if err != nil {
		return err
	}
	defer func() {
		say("stopping")
		stack.Close(context.WithoutCancel(ctx))
	}()

	sum, err := m.demoAgent(ctx, stack, *jobs, !*keep, say)
	if err != nil {
		return err
	}
	sum.Seconds = time.Since(start).Seconds()
	if *dir == "" {
		sum.ReceiptsDir = "" // a temporary directory, removed on exit
	}
	if *asJSON {
		if err := json.NewEncoder(m.Stdout).Encode(sum); err != nil {
			return err
		}
	} else {
		m.printDemo(sum)
	}
	if !sum.Agree {
		return fmt.Errorf("the totals differ: agent receipts %s, node ledger %s, chain %s", sum.AgentCharged, sum.LedgerCharged, sum.ChainClaimed)
	}
	if *keep {
		say("the node keeps running (metrics at %s/metrics) until interrupted", stack.Node.MetricsURL())
		select {
		case <-ctx.Done():
		case <-stack.Node.Failed():
			return stack.Node.Err()
		}
	}
	return nil
}

// demoAgent is the agent's side: discovery, channel, jobs, settlement
// and (withdraw) the refund.
func (m *Main) demoAgent(ctx context.Context, stack *devstack.Stack, jobs int, withdraw bool, say func(string, ...any)) (*demoSummary, error) {
	n, d, eth := stack.Node, stack.Deployment, stack.Chain.Client()
	signer, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	sum := &demoSummary{
		Jobs: jobs, Model: builtin.Name, Provider: n.Provider(), Asset: "ETH",
		Payer: crypto.PubkeyToAddress(stack.AgentKey.PublicKey), Signer: crypto.PubkeyToAddress(signer.PublicKey),
		MetricsURL: n.MetricsURL(), ReceiptsDir: filepath.Join(stack.Dir, "receipts"),
	}

	eth0 := common.Address{}
	offer, err := agent.NewDiscovery(eth, d).Choose(ctx, agent.Filter{Model: builtin.Name, Asset: &eth0}, agent.Cheapest)
	if err != nil {
		return nil, err
	}
	say("agent: found offer #%s on chain: %s", offer.ID, agent.ETH.Describe(&offer))

	channels := agent.NewChannels(eth, d, stack.AgentKey)
	channels.PollInterval = 10 * time.Millisecond
	deposit, _ := agent.ETH.Parse("0.01ETH")
	opened, err := channels.Open(ctx, agent.OpenParams{Provider: offer.Provider, Signer: sum.Signer, Deposit: deposit})
	if err != nil {
		return nil, err
	}
	sum.Channel, sum.Deposit = opened.ID, deposit.String()
	say("agent: opened channel %s with %s, signed for by a hot key %s", opened.ID.Hex(), agent.ETH.Format(deposit), sum.Signer.Hex())

	store, err := agent.OpenStore(sum.ReceiptsDir)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	perJob, _ := agent.ETH.Parse("0.0001ETH")
	client, err := agent.Dial(ctx, agent.Config{
		Offer: offer, Deployment: d, Signer: signer, Channel: opened.ID, Store: store,
		Budget: &agent.Budget{Limits: map[common.Address]agent.Limits{eth0: {PerJob: perJob, Total: deposit}}},
	})
	if err != nil {
		return nil, err
	}
	defer client.Close()

	say("agent: paying for %d jobs over %s", jobs, offer.Endpoint)
	t0 := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := client.Submit(ctx, agent.Job{
				ID:        fmt.Sprintf("demo-%d", i+1),
				Messages:  []wire.ChatMessage{{Role: "user", Content: fmt.Sprintf("Job %d: tell me about paying per job.", i+1)}},
				MaxTokens: 32,
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				sum.Failed++
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			sum.InputTokens += res.Usage.InputTokens
			sum.OutputTokens += res.Usage.OutputTokens
		}()
	}
	wg.Wait()
	took := time.Since(t0)
	sum.JobsPerSec = float64(jobs-sum.Failed) / took.Seconds()
	if firstErr != nil {
		say("agent: %d of %d jobs failed; the first: %v", sum.Failed, jobs, firstErr)
	}
	agentCharged := client.Account().Charged
	sum.AgentCharged = agentCharged.String()
	say("agent: %d jobs paid in %s, charged %s per verified receipts", jobs-sum.Failed, took.Round(time.Millisecond), agent.ETH.Format(agentCharged))

	// Settlement: the node claims what it charged, in a batch.
	say("node: settling on chain")
	for range 10 {
		b, err := n.Settler().Settle(ctx)
		if err != nil {
			return nil, fmt.Errorf("settle: %w", err)
		}
		if b == nil {
			break
		}
	}
	stats := n.Settler().Stats()
	sum.Batches, sum.GasUsed = stats.Confirmed, stats.GasUsed
	led, err := n.Ledger().Channel(ctx, opened.ID)
	if err != nil {
		return nil, err
	}
	sum.LedgerCharged = led.Charged.String()
	ch, err := channels.Get(ctx, opened.ID)
	if err != nil {
		return nil, err
	}
	sum.ChainClaimed = ch.Claimed.String()
	sum.Agree = agentCharged.Cmp(led.Charged) == 0 && led.Charged.Cmp(ch.Claimed) == 0 && sum.Failed == 0
	if !withdraw || !sum.Agree {
		return sum, nil
	}

	// The withdrawal: request, wait out the provider's window (the dev
	// chain's clock is moved forward), finalize.
	client.Close()
	at, err := channels.RequestWithdrawal(ctx, opened.ID)
	if err != nil {
		return nil, err
	}
	head, err := eth.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	if wait := at.Sub(time.Unix(int64(head.Time), 0)); wait > 0 {
		say("agent: withdrawal requested; moving the dev chain's clock %s forward, past the provider's window", wait.Round(time.Second))
		if _, err := stack.Chain.AdjustTime(wait + time.Second); err != nil {
			return nil, err
		}
	}
	refund, err := channels.FinalizeWithdrawal(ctx, opened.ID)
	if err != nil {
		return nil, err
	}
	sum.Withdrawn, sum.Refund = true, refund.String()
	want := new(big.Int).Sub(deposit, ch.Claimed)
	if refund.Cmp(want) != 0 {
		sum.Agree = false
		say("the refund %s is not deposit − claimed = %s", refund, want)
	}
	return sum, nil
}

func (m *Main) printDemo(s *demoSummary) {
	w := m.Stdout
	eth := agent.ETH
	wei := func(x string) string {
		v, _ := new(big.Int).SetString(x, 10)
		return fmt.Sprintf("%s (%s wei)", eth.Format(v), x)
	}
	verdict := "agree"
	if !s.Agree {
		verdict = "DIFFER"
	}
	fmt.Fprintf(w, "\npaynode demo: %d jobs paid per job on chain, in %.1fs\n\n", s.Jobs-s.Failed, s.Seconds)
	fmt.Fprintf(w, "  model             %s, from provider %s\n", s.Model, s.Provider.Hex())
	fmt.Fprintf(w, "  channel           %s, deposit %s\n", s.Channel.Hex(), wei(s.Deposit))
	fmt.Fprintf(w, "  jobs              %d paid, %d failed (%.0f jobs/s), %d input + %d output tokens\n",
		s.Jobs-s.Failed, s.Failed, s.JobsPerSec, s.InputTokens, s.OutputTokens)
	fmt.Fprintf(w, "  agent receipts    %s\n", wei(s.AgentCharged))
	fmt.Fprintf(w, "  node ledger       %s\n", wei(s.LedgerCharged))
	fmt.Fprintf(w, "  claimed on chain  %s  (%d batch(es), %d gas)\n", wei(s.ChainClaimed), s.Batches, s.GasUsed)
	if s.Withdrawn {
		fmt.Fprintf(w, "  payer refund      %s  (deposit − claimed)\n", wei(s.Refund))
	}
	fmt.Fprintf(w, "  totals            %s\n", verdict)
	if s.ReceiptsDir != "" {
		fmt.Fprintf(w, "  receipts          %s\n", s.ReceiptsDir)
	}
}
