package agent

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Payer is an agent's paying side for any number of models: for a model
// it chooses an offer on chain, finds the payer's open channel to that
// provider in that asset naming the signer (or opens one, when Deposit
// says how much), and keeps one Client per offer. The Clients of offers
// that pay from one channel (two models of one provider, in one asset)
// share one account of it: the receipts of each explain the gaps in seq
// the other's jobs leave (docs/protocol.md, "Receipts above a gap"), and
// every voucher covers the jobs in flight of both. The CLI's `run` and
// the OpenAI-compatible proxy are built on it.
type Payer struct {
	Discovery *Discovery
	// Channels holds the funding key; the channels it finds and opens name
	// Signer.
	Channels *Channels
	Signer   *ecdsa.PrivateKey
	// Filter selects the offers (its Model is set per call); Chooser picks
	// one, Cheapest when nil.
	Filter  Filter
	Chooser Chooser
	Store   *Store
	Budget  *Budget
	// Deposit, when set, gives the deposit of the channel to open for
	// offer o when the payer has none; nil from it (or no Deposit) means
	// open none: a job without a channel fails with CodeNoChannel.
	Deposit func(o *Offer) (*big.Int, error)
	// Configure, when set, tunes each Client's Config before it dials.
	Configure func(*Config)
	// OnOpen, when set, hears of each channel the Payer opens.
	OnOpen func(o *Offer, opened *Opened, deposit *big.Int)

	// ChooseEvery is how long a model's choice of offer holds before the
	// offers are read again (a price may change, a cheaper offer appear);
	// default one minute. Until then a job costs no chain read.
	ChooseEvery time.Duration

	mu      sync.Mutex
	clients map[string]*Client     // by offer id; guarded by mu
	chosen  map[string]chosenOffer // by model; guarded by mu
	books   map[common.Hash]*book  // by channel, shared by its clients; guarded by mu
}

type chosenOffer struct {
	offer Offer
	at    time.Time
}

// Offers lists the offers that pass p.Filter, cheapest first.
func (p *Payer) Offers(ctx context.Context) ([]Offer, error) {
	return p.Discovery.Find(ctx, p.Filter)
}

// Choose picks the offer for model under p.Filter.
func (p *Payer) Choose(ctx context.Context, model string) (Offer, error) {
	f := p.Filter
	f.Model = model
	chooser := p.Chooser
	if chooser == nil {
		chooser = Cheapest
	}
	return p.Discovery.Choose(ctx, f, chooser)
}

// Client returns the client paying for model, dialling it (and finding or
// opening its channel) on first use.
func (p *Payer) Client(ctx context.Context, model string) (*Client, Offer, error) {
	every := p.ChooseEvery
	if every <= 0 {
		every = time.Minute
	}
	p.mu.Lock()
	if c, ok := p.chosen[model]; ok && time.Since(c.at) < every {
		if cl, ok := p.clients[c.offer.ID.String()]; ok {
			p.mu.Unlock()
			return cl, c.offer, nil
		}
	}
	p.mu.Unlock()
	offer, err := p.Choose(ctx, model)
	if err != nil {
		return nil, Offer{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.chosen == nil {
		p.chosen = map[string]chosenOffer{}
	}
	p.chosen[model] = chosenOffer{offer, time.Now()}
	key := offer.ID.String()
	if c, ok := p.clients[key]; ok {
		if sameTerms(&c.cfg.Offer, &offer) {
			return c, offer, nil
		}
		// The provider changed the offer: price jobs at its new terms.
		c.Close()
		delete(p.clients, key)
	}
	ch, _, err := p.ChannelFor(ctx, &offer, nil)
	if err != nil {
		return nil, offer, err
	}
	cfg := Config{Offer: offer, Deployment: p.Channels.Deployment, Signer: p.Signer, Channel: ch.ID, Store: p.Store, Budget: p.Budget}
	if p.Configure != nil {
		p.Configure(&cfg)
	}
	cfg.book = p.books[cfg.Channel]
	c, err := Dial(ctx, cfg)
	if err != nil {
		return nil, offer, err
	}
	if p.clients == nil {
		p.clients, p.books = map[string]*Client{}, map[common.Hash]*book{}
	}
	p.clients[key], p.books[cfg.Channel] = c, c.book
	return c, offer, nil
}

func sameTerms(a, b *Offer) bool {
	return a.Endpoint == b.Endpoint && a.Asset == b.Asset && a.Provider == b.Provider && a.MaxTokens == b.MaxTokens &&
		a.Price.Base.Cmp(b.Price.Base) == 0 && a.Price.InPerM.Cmp(b.Price.InPerM) == 0 && a.Price.OutPerM.Cmp(b.Price.OutPerM) == 0
}

// ChannelFor returns the payer's open channel to o's provider in o's
// asset naming the signer with the most left (the deposit less the larger
// of what the stored receipts say was charged and what was claimed),
// opening one with the Deposit when there is none (after probing the
// offer's endpoint: no deposit goes to a node that cannot be reached). need, when set, is
// the least that must be left: a channel with less is refused with
// CodeChannelTooSmall (top it up), never silently replaced. opened is
// non-nil when ChannelFor opened the channel.
func (p *Payer) ChannelFor(ctx context.Context, o *Offer, need *big.Int) (st *Status, opened *Opened, err error) {
	signer := crypto.PubkeyToAddress(p.Signer.PublicKey)
	all, err := p.Channels.Find(ctx, o.Provider)
	if err != nil {
		return nil, nil, err
	}
	var best *Status
	for _, ch := range all {
		if ch.Asset != o.Asset || ch.Signer != signer || ch.Closed || !ch.WithdrawableAt.IsZero() {
			continue
		}
		s, err := p.Channels.Status(ctx, ch.ID, p.Store)
		if err != nil {
			return nil, nil, err
		}
		if s.Untrusted != "" {
			continue
		}
		if best == nil || s.Remaining.Cmp(best.Remaining) > 0 {
			best = s
		}
	}
	if best != nil {
		if need != nil && best.Remaining.Cmp(need) < 0 {
			return best, nil, errorf("channel", CodeChannelTooSmall,
				"channel %s to provider %s has %s base units left; the job may cost up to %s: top it up", best.ID, o.Provider, best.Remaining, need)
		}
		if best.Remaining.Sign() > 0 {
			return best, nil, nil
		}
	}
	var deposit *big.Int
	if p.Deposit != nil {
		if deposit, err = p.Deposit(o); err != nil {
			return nil, nil, err
		}
	}
	if deposit == nil {
		if best != nil {
			return best, nil, errorf("channel", CodeChannelTooSmall,
				"channel %s to provider %s has nothing left: top it up, or give a deposit to open another", best.ID, o.Provider)
		}
		return nil, nil, errorf("channel", CodeNoChannel,
			"payer %s has no open channel to provider %s in %s signed by %s: open one, or give a deposit", p.Channels.PayerAddress(), o.Provider, assetName(o.Asset), signer)
	}
	if need != nil && deposit.Cmp(need) < 0 {
		return nil, nil, errorf("channel", CodeChannelTooSmall,
			"a deposit of %s base units cannot pay for the job, which may cost up to %s", deposit, need)
	}
	// No deposit to a node that is down or is not the offer's.
	if err := Probe(ctx, o, p.Channels.Deployment, nil); err != nil {
		return nil, nil, err
	}
	opened, err = p.Channels.Open(ctx, OpenParams{Provider: o.Provider, Signer: signer, Asset: o.Asset, Deposit: deposit})
	if err != nil {
		return nil, nil, err
	}
	if p.OnOpen != nil {
		p.OnOpen(o, opened, deposit)
	}
	s, err := p.Channels.Status(ctx, opened.ID, p.Store)
	if err != nil {
		return nil, opened, err
	}
	return s, opened, nil
}

// Close closes every client.
func (p *Payer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, c := range p.clients {
		c.Close()
		delete(p.clients, k)
	}
	return nil
}

// Describe is a one-line description of an offer's price, in the asset's
// units: "0.000000000000001 ETH a job + … per 1M input tokens + … per 1M
// output tokens".
func (a Asset) Describe(p *Offer) string {
	return fmt.Sprintf("%s a job + %s per 1M input tokens + %s per 1M output tokens", a.Format(p.Price.Base), a.Format(p.Price.InPerM), a.Format(p.Price.OutPerM))
}
