package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/agent"
)

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// OfferJSON is one offer in `offers --json`; amounts in base units.
type OfferJSON struct {
	ID          string         `json:"id"`
	Provider    common.Address `json:"provider"`
	Model       string         `json:"model"`
	Endpoint    string         `json:"endpoint"`
	Asset       common.Address `json:"asset"`
	Symbol      string         `json:"symbol"`
	Decimals    uint8          `json:"decimals"`
	Base        string         `json:"base"`
	InPerM      string         `json:"inPerM"`
	OutPerM     string         `json:"outPerM"`
	MaxTokens   uint64         `json:"maxTokens"`
	Active      bool           `json:"active"`
	JobCost     string         `json:"jobCost"` // the price of 1,000 tokens in and 1,000 out
	MetadataURI string         `json:"metadataUri,omitempty"`
}

const offersHelp = `
Lists the offers registered on the deployment's OfferRegistry, read from
the chain alone, cheapest first (by the price of a job of 1,000 input and
1,000 output tokens). Prices show in the offer's asset; --json gives base
units.

Examples:
  paynode agent offers --rpc http://127.0.0.1:8545 --deployment deployment.json
  paynode agent offers --model paynode-test-1 --max-price 0.00002ETH --json
  paynode agent offers --asset TUSD`

func (m *Main) offers(ctx context.Context, args []string) error {
	fs := m.flagSet("offers", "[--model M] [--asset A] [--max-price AMOUNT] [--all] [--json]", offersHelp)
	c := addChainFlags(fs)
	of := addOfferFlags(fs, "only offers of this model")
	all := fs.Bool("all", false, "also list deactivated offers")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, s, done, err := begin(ctx, c, nil)
	if err != nil {
		return err
	}
	defer done()
	f, _, err := of.filter(ctx, s, agent.DefaultReferenceJob)
	if err != nil {
		return err
	}
	f.IncludeInactive = *all
	offers, err := s.disc.Find(ctx, f)
	if err != nil {
		return err
	}
	out := make([]OfferJSON, 0, len(offers))
	for _, o := range offers {
		a, err := s.asset(ctx, o.Asset)
		if err != nil {
			return err
		}
		out = append(out, OfferJSON{
			ID: o.ID.String(), Provider: o.Provider, Model: o.Model, Endpoint: o.Endpoint,
			Asset: o.Asset, Symbol: a.Symbol, Decimals: a.Decimals,
			Base: o.Price.Base.String(), InPerM: o.Price.InPerM.String(), OutPerM: o.Price.OutPerM.String(),
			MaxTokens: o.MaxTokens, Active: o.Active, JobCost: o.ReferenceCost(agent.DefaultReferenceJob).String(), MetadataURI: o.MetadataURI,
		})
	}
	if c.json {
		return printJSON(m.Stdout, map[string]any{"offers": out})
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMODEL\tPROVIDER\tA JOB\tPER 1M IN\tPER 1M OUT\t1K IN + 1K OUT\tMAX TOKENS\tENDPOINT")
	for i, o := range offers {
		a := s.assets[o.Asset]
		state := ""
		if !o.Active {
			state = " (inactive)"
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", out[i].ID, o.Model, state, o.Provider.Hex(),
			a.Format(o.Price.Base), a.Format(o.Price.InPerM), a.Format(o.Price.OutPerM),
			a.Format(o.ReferenceCost(agent.DefaultReferenceJob)), o.MaxTokens, o.Endpoint)
	}
	return tw.Flush()
}

// ChannelJSON is a channel in --json output; amounts in base units.
type ChannelJSON struct {
	ID       common.Hash    `json:"id"`
	State    string         `json:"state"` // open, closing, closed
	Payer    common.Address `json:"payer"`
	Provider common.Address `json:"provider"`
	Signer   common.Address `json:"signer"`
	Asset    common.Address `json:"asset"`
	Symbol   string         `json:"symbol"`
	Decimals uint8          `json:"decimals"`
	Deposit  string         `json:"deposit"`
	// Charged is what the stored receipts add up to; Claimed what the
	// provider claimed on chain; Remaining the deposit less the larger.
	Charged        string     `json:"charged"`
	Claimed        string     `json:"claimed"`
	Remaining      string     `json:"remaining"`
	Receipts       int        `json:"receipts"`
	LastSeq        uint64     `json:"lastSeq"`
	WithdrawableAt *time.Time `json:"withdrawableAt,omitempty"`
	Untrusted      string     `json:"untrusted,omitempty"`
}

func channelJSON(st *agent.Status, a agent.Asset) ChannelJSON {
	out := ChannelJSON{
		ID: st.ID, State: channelState(&st.ChainChannel), Payer: st.Payer, Provider: st.Provider, Signer: st.Signer,
		Asset: st.Asset, Symbol: a.Symbol, Decimals: a.Decimals,
		Deposit: st.Deposit.String(), Charged: st.Charged.String(), Claimed: st.Claimed.String(), Remaining: st.Remaining.String(),
		Receipts: st.Receipts, LastSeq: st.LastSeq, Untrusted: st.Untrusted,
	}
	if !st.WithdrawableAt.IsZero() {
		t := st.WithdrawableAt
		out.WithdrawableAt = &t
	}
	return out
}

func channelState(ch *agent.ChainChannel) string {
	switch {
	case ch.Closed:
		return "closed"
	case !ch.WithdrawableAt.IsZero():
		return "closing"
	}
	return "open"
}

func (m *Main) printChannel(st *agent.Status, a agent.Asset) {
	w := m.Stdout
	fmt.Fprintf(w, "channel %s (%s)\n", st.ID.Hex(), channelState(&st.ChainChannel))
	fmt.Fprintf(w, "  provider   %s\n  payer      %s\n  signer     %s\n", st.Provider.Hex(), st.Payer.Hex(), st.Signer.Hex())
	fmt.Fprintf(w, "  deposit    %s\n  charged    %s  (%d receipts)\n  claimed    %s\n  remaining  %s\n",
		a.Format(st.Deposit), a.Format(st.Charged), st.Receipts, a.Format(st.Claimed), a.Format(st.Remaining))
	if !st.WithdrawableAt.IsZero() && !st.Closed {
		fmt.Fprintf(w, "  withdrawal requested: the refund can be taken from %s\n", st.WithdrawableAt.Format(time.RFC3339))
	}
	if st.Untrusted != "" {
		fmt.Fprintf(w, "  UNTRUSTED provider: %s\n", st.Untrusted)
	}
}

const openHelp = `
Opens a payment channel from the payer (--key-file) to a provider, in the
asset of its offer, naming the signer (--signer-key-file, or the payer's
own key) and depositing --deposit. The provider is the cheapest offer's
for --model (narrowed by --provider, --asset, --max-price), or --provider
with --asset. ERC-20 deposits use the token's permit when it has one.

Examples:
  paynode agent open --key-file agent.key --model paynode-test-1 --deposit 0.01ETH
  paynode agent open --key-file wallet.key --signer-key-file hot.key \
      --provider 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --asset TUSD --deposit 25TUSD --json`

func (m *Main) open(ctx context.Context, args []string) error {
	fs := m.flagSet("open", "--key-file F --deposit AMOUNT (--model M | --provider P --asset A) [flags]", openHelp)
	c := addChainFlags(fs)
	k := addKeyFlags(fs, true)
	of := addOfferFlags(fs, "the model whose cheapest offer's provider to open the channel to")
	deposit := fs.String("deposit", "", "the deposit: 0.01ETH, 25TUSD, or base units of the offer's asset (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *deposit == "" {
		return usageError("--deposit is required")
	}
	if of.model == "" && (of.provider == "" || of.asset == "") {
		return usageError("give --model, or --provider and --asset")
	}
	ctx, s, done, err := begin(ctx, c, k)
	if err != nil {
		return err
	}
	defer done()
	f, _, err := of.filter(ctx, s, agent.DefaultReferenceJob)
	if err != nil {
		return err
	}
	offer, err := s.disc.Choose(ctx, f, agent.Cheapest)
	if err != nil {
		return err
	}
	a, err := s.asset(ctx, offer.Asset)
	if err != nil {
		return err
	}
	_, amount, err := s.amount(ctx, "deposit", *deposit, &a)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "opening a channel to %s with %s…\n", offer.Provider.Hex(), a.Format(amount))
	opened, err := s.channels.Open(ctx, agent.OpenParams{Provider: offer.Provider, Signer: s.signerAddress(), Asset: offer.Asset, Deposit: amount})
	if err != nil {
		return err
	}
	st, a, err := s.status(ctx, opened.ID)
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(m.Stdout, struct {
			Channel ChannelJSON   `json:"channel"`
			Salt    common.Hash   `json:"salt"`
			Funding string        `json:"funding"`
			Txs     []common.Hash `json:"txs"`
		}{channelJSON(st, a), opened.Salt, opened.Funding, opened.Txs})
	}
	m.printChannel(st, a)
	fmt.Fprintf(m.Stdout, "  funded by  %s (%d transaction(s))\n", opened.Funding, len(opened.Txs))
	return nil
}

const topupHelp = `
Adds --amount to a channel's deposit, from the payer (--key-file). The
channel is --channel, or the payer's open channel to the cheapest offer's
provider for --model (the one with the most left).

Examples:
  paynode agent topup --key-file agent.key --channel 0x5c…e1 --amount 0.01ETH
  paynode agent topup --key-file agent.key --model paynode-test-1 --amount 0.005ETH --json`

func (m *Main) topup(ctx context.Context, args []string) error {
	fs := m.flagSet("topup", "--key-file F --amount AMOUNT (--channel ID | --model M) [flags]", topupHelp)
	c := addChainFlags(fs)
	k := addKeyFlags(fs, true)
	of := addOfferFlags(fs, "top up the channel to this model's cheapest offer's provider")
	channel := fs.String("channel", "", "the channel id")
	amountText := fs.String("amount", "", "what to add: 0.01ETH, 5TUSD, or base units (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *amountText == "" {
		return usageError("--amount is required")
	}
	ctx, s, done, err := begin(ctx, c, k)
	if err != nil {
		return err
	}
	defer done()
	ch, a, err := m.channel(ctx, s, *channel, of)
	if err != nil {
		return err
	}
	id := ch.ID
	_, amount, err := s.amount(ctx, "amount", *amountText, &a)
	if err != nil {
		return err
	}
	if err := s.channels.TopUp(ctx, id, amount); err != nil {
		return err
	}
	st, _, err := s.status(ctx, id)
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(m.Stdout, struct {
			Added   string      `json:"added"`
			Channel ChannelJSON `json:"channel"`
		}{amount.String(), channelJSON(st, a)})
	}
	fmt.Fprintf(m.Stdout, "added %s\n", a.Format(amount))
	m.printChannel(st, a)
	return nil
}

// channel reads the channel pickChannel names, and its asset.
func (m *Main) channel(ctx context.Context, s *session, channel string, of *offerFlags) (*agent.ChainChannel, agent.Asset, error) {
	id, err := m.pickChannel(ctx, s, channel, of)
	if err != nil {
		return nil, agent.Asset{}, err
	}
	ch, err := s.channels.Get(ctx, id)
	if err != nil {
		return nil, agent.Asset{}, err
	}
	a, err := s.asset(ctx, ch.Asset)
	return ch, a, err
}

// pickChannel is --channel, or the payer's open channel for --model's
// cheapest offer.
func (m *Main) pickChannel(ctx context.Context, s *session, channel string, of *offerFlags) (common.Hash, error) {
	if channel != "" {
		b := common.FromHex(channel)
		if len(b) != 32 {
			return common.Hash{}, usageError("--channel %q is not a channel id (32 bytes of hex)", channel)
		}
		return common.BytesToHash(b), nil
	}
	if of.model == "" && of.provider == "" {
		return common.Hash{}, usageError("give --channel, or --model to find the channel")
	}
	f, _, err := of.filter(ctx, s, agent.DefaultReferenceJob)
	if err != nil {
		return common.Hash{}, err
	}
	offer, err := s.disc.Choose(ctx, f, agent.Cheapest)
	if err != nil {
		return common.Hash{}, err
	}
	p := &agent.Payer{Discovery: s.disc, Channels: s.channels, Signer: s.signer, Store: s.store}
	st, _, err := p.ChannelFor(ctx, &offer, nil)
	if st != nil {
		return st.ID, nil
	}
	return common.Hash{}, err
}

const statusHelp = `
Shows the payer's channels as the chain and the stored receipts see them:
the deposit, what the receipts say was charged, what the provider claimed
on chain, and what is left; a withdrawal's date. Nothing is sent to the
node. Without --channel, every channel the payer opened (--provider: to
that provider).

Examples:
  paynode agent status --key-file agent.key
  paynode agent status --key-file agent.key --channel 0x5c…e1 --json`

func (m *Main) status(ctx context.Context, args []string) error {
	fs := m.flagSet("status", "--key-file F [--channel ID] [--provider P] [--json]", statusHelp)
	c := addChainFlags(fs)
	k := addKeyFlags(fs, false)
	channel := fs.String("channel", "", "only this channel")
	provider := fs.String("provider", "", "only channels to this provider")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, s, done, err := begin(ctx, c, k)
	if err != nil {
		return err
	}
	defer done()
	var ids []common.Hash
	if *channel != "" {
		id, err := m.pickChannel(ctx, s, *channel, nil)
		if err != nil {
			return err
		}
		ids = []common.Hash{id}
	} else {
		var prov common.Address
		if *provider != "" {
			if !common.IsHexAddress(*provider) {
				return usageError("--provider %q is not an address", *provider)
			}
			prov = common.HexToAddress(*provider)
		}
		chans, err := s.channels.Find(ctx, prov)
		if err != nil {
			return err
		}
		for _, ch := range chans {
			ids = append(ids, ch.ID)
		}
	}
	out := make([]ChannelJSON, 0, len(ids))
	for i, id := range ids {
		st, a, err := s.status(ctx, id)
		if err != nil {
			return err
		}
		out = append(out, channelJSON(st, a))
		if !c.json {
			if i > 0 {
				fmt.Fprintln(m.Stdout)
			}
			m.printChannel(st, a)
		}
	}
	if c.json {
		return printJSON(m.Stdout, map[string]any{"payer": s.channels.PayerAddress(), "channels": out})
	}
	if len(ids) == 0 {
		fmt.Fprintf(m.Stdout, "payer %s has no channels\n", s.channels.PayerAddress().Hex())
	}
	return nil
}

const withdrawHelp = `
Takes a channel's deposit back. The payer (--key-file) first requests the
withdrawal: the node stops taking jobs on the channel, and the provider has
the deployment's withdrawal delay to claim what it is owed. Once the delay
has passed, --finalize closes the channel and refunds the deposit less what
was claimed. --finalize requests the withdrawal too if it was not, and says
when the refund can be taken if that is not yet.

Examples:
  paynode agent withdraw --key-file agent.key --channel 0x5c…e1
  paynode agent withdraw --key-file agent.key --channel 0x5c…e1 --finalize --json`

// WithdrawJSON is `withdraw --json`.
type WithdrawJSON struct {
	Channel        ChannelJSON `json:"channel"`
	Requested      bool        `json:"requested"` // requested by this command
	WithdrawableAt time.Time   `json:"withdrawableAt"`
	Finalized      bool        `json:"finalized"`
	Refund         string      `json:"refund,omitempty"`
}

func (m *Main) withdraw(ctx context.Context, args []string) error {
	fs := m.flagSet("withdraw", "--key-file F --channel ID [--finalize] [--json]", withdrawHelp)
	c := addChainFlags(fs)
	k := addKeyFlags(fs, false)
	channel := fs.String("channel", "", "the channel id (required)")
	finalize := fs.Bool("finalize", false, "close the channel and take the refund, once the withdrawal delay has passed")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *channel == "" {
		return usageError("--channel is required")
	}
	ctx, s, done, err := begin(ctx, c, k)
	if err != nil {
		return err
	}
	defer done()
	ch, a, err := m.channel(ctx, s, *channel, nil)
	if err != nil {
		return err
	}
	id := ch.ID
	if ch.Payer != s.channels.PayerAddress() {
		return fmt.Errorf("channel %s was opened by %s; only its payer may withdraw (--key-file is %s)", id, ch.Payer, s.channels.PayerAddress())
	}
	if ch.Closed {
		return &agent.Error{Op: "withdraw", Code: agent.CodeChannelClosed, Message: fmt.Sprintf("channel %s is closed: its refund was paid", id)}
	}
	out := WithdrawJSON{WithdrawableAt: ch.WithdrawableAt}
	if ch.WithdrawableAt.IsZero() {
		if out.WithdrawableAt, err = s.channels.RequestWithdrawal(ctx, id); err != nil {
			return err
		}
		out.Requested = true
		if !c.json {
			fmt.Fprintf(m.Stdout, "withdrawal of channel %s requested; the refund can be taken from %s\n", id.Hex(), out.WithdrawableAt.Format(time.RFC3339))
		}
	} else if !*finalize && !c.json {
		fmt.Fprintf(m.Stdout, "withdrawal of channel %s was requested already; the refund can be taken from %s\n", id.Hex(), out.WithdrawableAt.Format(time.RFC3339))
	}
	var notYet error
	if *finalize {
		// The contract compares with the chain's time, not ours.
		head, err := s.eth.HeaderByNumber(ctx, nil)
		if err != nil {
			return err
		}
		now := time.Unix(int64(head.Time), 0).UTC()
		if now.Before(out.WithdrawableAt) {
			notYet = fmt.Errorf("cannot finalize yet: the refund can be taken from %s (in %s of chain time); run this again then",
				out.WithdrawableAt.Format(time.RFC3339), out.WithdrawableAt.Sub(now).Round(time.Second))
		} else {
			refund, err := s.channels.FinalizeWithdrawal(ctx, id)
			if err != nil {
				return err
			}
			out.Finalized, out.Refund = true, refund.String()
			if !c.json {
				fmt.Fprintf(m.Stdout, "channel %s closed; refunded %s to %s\n", id.Hex(), a.Format(refund), ch.Payer.Hex())
			}
		}
	}
	st, _, err := s.status(ctx, id)
	if err != nil {
		return err
	}
	out.Channel = channelJSON(st, a)
	if c.json {
		if err := printJSON(m.Stdout, out); err != nil {
			return err
		}
	} else {
		m.printChannel(st, a)
	}
	return notYet
}
