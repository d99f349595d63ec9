package cli

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/node/wire"
)

const runHelp = `
Pays for one job and prints its output, token usage, cost and receipt. It
chooses the cheapest offer for --model on chain (narrowed by --provider,
--asset and --max-price), and pays from the payer's open channel to that
provider in the offer's asset naming the signer; with none, it opens one
with --deposit. The job is priced at its bound (its input and
--max-tokens, or the offer's max tokens) and refused before anything is
signed when the budget flags or the channel's remaining deposit do not
allow it. The receipt is verified and kept in --store.

Examples:
  paynode agent run --rpc http://127.0.0.1:8545 --deployment deployment.json \
      --key-file agent.key --model paynode-test-1 --prompt "Name three primes." --deposit 0.01ETH
  paynode agent run --key-file wallet.key --signer-key-file hot.key --model paynode-test-1 \
      --prompt "Hello" --max-tokens 64 --max-job-cost 0.000001ETH --json
  echo "Summarize this" | paynode agent run --key-file agent.key --model paynode-test-1 --prompt -`

// RunJSON is `run --json`: amounts in base units of Asset.
type RunJSON struct {
	JobID    string         `json:"jobId"`
	Model    string         `json:"model"`
	Offer    string         `json:"offer"`
	Provider common.Address `json:"provider"`
	Asset    common.Address `json:"asset"`
	Symbol   string         `json:"symbol"`
	Decimals uint8          `json:"decimals"`
	Channel  common.Hash    `json:"channel"`
	// Opened: the channel was opened for this job, with Deposit.
	Opened   bool         `json:"opened"`
	Deposit  string       `json:"deposit,omitempty"`
	Output   string       `json:"output"`
	Usage    wire.Usage   `json:"usage"`
	Cost     string       `json:"cost"`
	MaxCost  string       `json:"maxCost"`
	Voucher  string       `json:"voucher"`
	Receipt  wire.Receipt `json:"receipt"`
	Replayed bool         `json:"replayed,omitempty"`
	// Charged is the channel's cumulative charge after the job, Remaining
	// its deposit less that (or less what was claimed, if more).
	Charged   string `json:"charged"`
	Remaining string `json:"remaining"`
}

func (m *Main) run(ctx context.Context, args []string) error {
	fs := m.flagSet("run", "--key-file F --model M --prompt TEXT [--deposit AMOUNT] [flags]", runHelp)
	c := addChainFlags(fs)
	k := addKeyFlags(fs, true)
	of := addOfferFlags(fs, "the model to run (required)")
	bf := addBudgetFlags(fs)
	prompt := fs.String("prompt", "", "the user message; - reads it from stdin (required)")
	system := fs.String("system", "", "a system message before the prompt")
	maxTokens := fs.Uint64("max-tokens", 0, "bound of the output in tokens (default: the offer's); the job is priced at it")
	deposit := fs.String("deposit", "", "open a channel with this deposit when the payer has none (0.01ETH, 25TUSD, base units)")
	jobID := fs.String("job-id", "", "the job id, an idempotency key: the same id is never paid twice (default: random)")
	stream := fs.Bool("stream", false, "print the output as it is produced (not with --json)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if of.model == "" {
		return usageError("--model is required")
	}
	if *prompt == "" {
		return usageError("--prompt is required")
	}
	text := *prompt
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		if err != nil {
			return err
		}
		text = strings.TrimRight(string(b), "\n")
	}
	ctx, s, done, err := begin(ctx, c, k)
	if err != nil {
		return err
	}
	defer done()

	job := agent.Job{ID: *jobID, MaxTokens: *maxTokens}
	if *system != "" {
		job.Messages = append(job.Messages, wire.ChatMessage{Role: "system", Content: *system})
	}
	job.Messages = append(job.Messages, wire.ChatMessage{Role: "user", Content: text})
	req := wire.ChatRequest{Messages: job.Messages, MaxTokens: job.MaxTokens}

	// The offers are compared, and --max-price applied, at this job.
	f, _, err := of.filter(ctx, s, agent.ReferenceJob{InputTokens: req.InputTokenBound(), OutputTokens: max(job.MaxTokens, 1)})
	if err != nil {
		return err
	}
	if job.MaxTokens == 0 && f.MaxJobCost != nil {
		// Without --max-tokens a job is bounded by each offer's own.
		f.Reference.OutputTokens = 0
	}
	offers, err := s.disc.Find(ctx, f)
	if err != nil {
		return err
	}
	offer := offers[0]
	if job.MaxTokens == 0 {
		// Rank by each offer's own bound, and cap by it.
		offer, err = cheapestAtBound(offers, &req, f.MaxJobCost)
		if err != nil {
			return err
		}
	}
	a, err := s.asset(ctx, offer.Asset)
	if err != nil {
		return err
	}
	maxCost, _, err := offer.MaxCost(&req)
	if err != nil {
		return &agent.Error{Op: "run", Code: agent.CodeBadJob, Message: err.Error()}
	}
	budget, err := bf.budget(ctx, s, &a)
	if err != nil {
		return err
	}
	// Refuse a job over budget before anything is sent, a channel
	// included.
	if err := budget.Check(offer.Provider, offer.Asset, maxCost); err != nil {
		return err
	}
	var dep *big.Int
	if *deposit != "" {
		if _, dep, err = s.amount(ctx, "deposit", *deposit, &a); err != nil {
			return err
		}
	}
	p := &agent.Payer{Discovery: s.disc, Channels: s.channels, Signer: s.signer, Store: s.store, Budget: budget,
		Deposit: func(*agent.Offer) (*big.Int, error) { return dep, nil },
		OnOpen: func(o *agent.Offer, opened *agent.Opened, deposit *big.Int) {
			fmt.Fprintf(m.Stderr, "opened channel %s to %s with %s\n", opened.ID.Hex(), o.Provider.Hex(), a.Format(deposit))
		},
	}
	st, opened, err := p.ChannelFor(ctx, &offer, maxCost)
	if err != nil {
		if agent.CodeOf(err) == agent.CodeNoChannel {
			return fmt.Errorf("%w; give --deposit (such as --deposit %s) to open one", err, compact(a, new(big.Int).Mul(maxCost, big.NewInt(100))))
		}
		return err
	}
	// One job from the shell: give up on an unreachable node in about a
	// second rather than retry as a long-running agent would.
	client, err := agent.Dial(ctx, agent.Config{Offer: offer, Deployment: s.d, Signer: s.signer, Channel: st.ID, Store: s.store, Budget: budget,
		Reconnects: 3, Backoff: agent.Backoff{Min: 200 * time.Millisecond, Max: time.Second}})
	if err != nil {
		return err
	}
	defer client.Close()
	if *stream && !c.json {
		job.OnChunk = func(d string) { fmt.Fprint(m.Stdout, d) }
	}
	res, err := client.Submit(ctx, job)
	if err != nil {
		return err
	}
	acct := client.Account()
	remaining := st.ChainChannel.Remaining(acct.Charged)
	out := RunJSON{
		JobID: res.ID, Model: offer.Model, Offer: offer.ID.String(), Provider: offer.Provider,
		Asset: offer.Asset, Symbol: a.Symbol, Decimals: a.Decimals, Channel: st.ID, Opened: opened != nil,
		Output: res.Output, Usage: res.Usage, Cost: res.Cost.String(), MaxCost: res.MaxCost.String(), Voucher: res.Voucher.String(),
		Receipt: res.Receipt, Replayed: res.Replayed, Charged: acct.Charged.String(), Remaining: remaining.String(),
	}
	if opened != nil {
		out.Deposit = st.Deposit.String()
	}
	if c.json {
		return printJSON(m.Stdout, out)
	}
	if job.OnChunk != nil {
		fmt.Fprintln(m.Stdout)
	} else {
		fmt.Fprintln(m.Stdout, res.Output)
	}
	w := m.Stdout
	fmt.Fprintln(w)
	fmt.Fprintf(w, "job       %s (%s, offer #%s of %s)\n", res.ID, offer.Model, offer.ID, offer.Provider.Hex())
	fmt.Fprintf(w, "usage     %d input + %d output tokens\n", res.Usage.InputTokens, res.Usage.OutputTokens)
	fmt.Fprintf(w, "cost      %s  (at most %s; %s base units)\n", a.Format(res.Cost), a.Format(res.MaxCost), res.Cost)
	fmt.Fprintf(w, "receipt   #%d on channel %s, signed by the provider and verified; kept in %s\n", res.Receipt.Seq, st.ID.Hex(), s.store.Dir())
	fmt.Fprintf(w, "channel   charged %s in all, %s left\n", a.Format(acct.Charged), a.Format(remaining))
	return nil
}

// cheapestAtBound picks, among offers, the cheapest for req at each
// offer's own max tokens, under maxCost when set.
func cheapestAtBound(offers []agent.Offer, req *wire.ChatRequest, maxCost *big.Int) (agent.Offer, error) {
	var best *agent.Offer
	var bestCost *big.Int
	for i := range offers {
		cost, _, err := offers[i].MaxCost(req)
		if err != nil || (maxCost != nil && cost.Cmp(maxCost) > 0) {
			continue
		}
		if best == nil || cost.Cmp(bestCost) < 0 {
			best, bestCost = &offers[i], cost
		}
	}
	if best == nil {
		return agent.Offer{}, &agent.Error{Op: "discover", Code: agent.CodeNoOffer,
			Message: fmt.Sprintf("no offer for model %q prices this job at its max tokens within --max-price %s", offers[0].Model, maxCost)}
	}
	return *best, nil
}

// compact is an amount as a flag takes it: "0.01ETH".
func compact(a agent.Asset, x *big.Int) string { return strings.ReplaceAll(a.Format(x), " ", "") }
