package agent

import (
	"cmp"
	"context"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/node/wire"
)

// Offer is one offer on OfferRegistry: a provider's model, the websocket
// endpoint that takes its jobs, the asset it is paid in and its price.
type Offer struct {
	ID          *big.Int
	Provider    common.Address
	Active      bool
	UpdatedAt   time.Time
	Model       string
	Endpoint    string         // ws:// or wss:// URL of the node's /v1/agent
	Asset       common.Address // zero: native ETH
	Price       contracts.Price
	MaxTokens   uint64 // the output bound of a job that gives none
	MetadataURI string
}

func offerFromBinding(o bindings.OfferRegistryOffer) Offer {
	return Offer{
		ID: o.Id, Provider: o.Provider, Active: o.Active,
		UpdatedAt: time.Unix(int64(o.UpdatedAt), 0).UTC(),
		Model:     o.Model, Endpoint: o.Endpoint, Asset: o.Asset,
		Price:     contracts.Price{Base: o.Base, InPerM: o.InPerM, OutPerM: o.OutPerM},
		MaxTokens: o.MaxTokens, MetadataURI: o.MetadataURI,
	}
}

// MaxCost is what a job with request r is priced at before it runs, exactly
// as the node prices it: the offer's price for r's input token bound
// (wire.ChatRequest.InputTokenBound) and its max_tokens (the offer's
// MaxTokens when r gives none). It also returns that output bound. A
// max_tokens above the offer's is an error (the node would refuse it with
// bad_request).
func (o *Offer) MaxCost(r *wire.ChatRequest) (*big.Int, uint64, error) {
	out := r.MaxTokens
	if out == 0 {
		out = o.MaxTokens
	}
	if out > o.MaxTokens {
		return nil, 0, fmt.Errorf("max_tokens %d is above the offer's %d", out, o.MaxTokens)
	}
	return o.Price.Cost(r.InputTokenBound(), out), out, nil
}

// ReferenceJob is the job offers are compared at: its input and output
// token counts. The max cost of the reference job, Price.Cost(InputTokens,
// OutputTokens), is what Filter.MaxJobCost caps and what Cheapest ranks by,
// so that offers that weigh base, input and output prices differently
// compare on one figure.
type ReferenceJob struct {
	InputTokens  uint64
	OutputTokens uint64
}

// DefaultReferenceJob is a short chat turn: 1,000 tokens in, 1,000 out.
var DefaultReferenceJob = ReferenceJob{InputTokens: 1000, OutputTokens: 1000}

// ReferenceCost is the offer's price for job ref.
func (o *Offer) ReferenceCost(ref ReferenceJob) *big.Int {
	return o.Price.Cost(ref.InputTokens, ref.OutputTokens)
}

// Filter selects offers. The zero Filter takes every active offer with a
// websocket endpoint.
type Filter struct {
	// Model, when set, is the model name, exactly.
	Model string
	// Asset, when set, is the asset paid in: &common.Address{} for ETH.
	Asset *common.Address
	// Providers, when set, are the only providers taken.
	Providers []common.Address
	// MaxJobCost, when set, caps the max cost of Reference (in the offer's
	// asset's base units; give Asset too, or base units of different
	// assets compare meaninglessly).
	MaxJobCost *big.Int
	// Reference is the job MaxJobCost and Cheapest price; zero means
	// DefaultReferenceJob.
	Reference ReferenceJob
	// MaxBase, MaxInPerM and MaxOutPerM, when set, cap each part of the
	// price on its own.
	MaxBase, MaxInPerM, MaxOutPerM *big.Int
	// MinMaxTokens, when set, takes only offers that allow at least this
	// many output tokens.
	MinMaxTokens uint64
	// IncludeInactive also takes deactivated offers (to list them; they
	// take no jobs).
	IncludeInactive bool
}

func (f *Filter) reference() ReferenceJob {
	if f.Reference == (ReferenceJob{}) {
		return DefaultReferenceJob
	}
	return f.Reference
}

// Match reports whether o passes f, and if not, why.
func (f *Filter) Match(o *Offer) (bool, string) {
	switch {
	case !o.Active && !f.IncludeInactive:
		return false, "inactive"
	case f.Model != "" && o.Model != f.Model:
		return false, "another model"
	case f.Asset != nil && o.Asset != *f.Asset:
		return false, "paid in " + assetName(o.Asset)
	case len(f.Providers) > 0 && !slices.Contains(f.Providers, o.Provider):
		return false, "provider not allowed"
	case f.MinMaxTokens > 0 && o.MaxTokens < f.MinMaxTokens:
		return false, fmt.Sprintf("max_tokens %d", o.MaxTokens)
	case above(o.Price.Base, f.MaxBase):
		return false, "base price " + o.Price.Base.String()
	case above(o.Price.InPerM, f.MaxInPerM):
		return false, "input price " + o.Price.InPerM.String()
	case above(o.Price.OutPerM, f.MaxOutPerM):
		return false, "output price " + o.Price.OutPerM.String()
	}
	if f.MaxJobCost != nil {
		if c := o.ReferenceCost(f.reference()); c.Cmp(f.MaxJobCost) > 0 {
			return false, "reference job costs " + c.String()
		}
	}
	if err := checkEndpoint(o.Endpoint); err != nil {
		return false, err.Error()
	}
	return true, ""
}

func above(x, limit *big.Int) bool { return limit != nil && x.Cmp(limit) > 0 }

func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("endpoint %q is not a ws:// or wss:// URL", s)
	}
	return nil
}

// Chooser picks the provider for a job among the offers that passed a
// filter (never empty), ranked cheapest first at the filter's reference
// job. Cheapest is the default; a Chooser may weigh latency, reputation,
// or spread jobs over providers.
type Chooser interface {
	Choose(offers []Offer, ref ReferenceJob) (Offer, error)
}

// ChooserFunc adapts a function to Chooser.
type ChooserFunc func(offers []Offer, ref ReferenceJob) (Offer, error)

// Choose calls f.
func (f ChooserFunc) Choose(offers []Offer, ref ReferenceJob) (Offer, error) { return f(offers, ref) }

// Cheapest chooses the offer whose reference job costs least; on a tie,
// the oldest offer (lowest id).
var Cheapest Chooser = ChooserFunc(func(offers []Offer, ref ReferenceJob) (Offer, error) {
	best := offers[0]
	for _, o := range offers[1:] {
		if byCost(ref)(o, best) < 0 {
			best = o
		}
	}
	return best, nil
})

func byCost(ref ReferenceJob) func(a, b Offer) int {
	return func(a, b Offer) int {
		if c := a.ReferenceCost(ref).Cmp(b.ReferenceCost(ref)); c != 0 {
			return c
		}
		return a.ID.Cmp(b.ID)
	}
}

// Discovery reads offers from OfferRegistry, and nothing else: an agent
// needs no directory but the chain.
type Discovery struct {
	Backend  bind.ContractBackend
	Registry common.Address
	// PageSize is how many offers one call reads; default and most
	// OfferRegistry.MAX_PAGE, 200.
	PageSize int
}

// NewDiscovery reads the OfferRegistry of deployment d through b.
func NewDiscovery(b bind.ContractBackend, d *contracts.Deployment) *Discovery {
	return &Discovery{Backend: b, Registry: d.OfferRegistry}
}

const maxPage = 200

var registryABI = bindings.NewOfferRegistry()

// Offers lists every offer ever registered, active or not, in id order,
// page by page.
func (d *Discovery) Offers(ctx context.Context) ([]Offer, error) {
	return d.page(ctx, func(start, limit *big.Int) []byte { return registryABI.PackGetOffers(start, limit) },
		registryABI.UnpackGetOffers)
}

// ProviderOffers lists one provider's offers, active or not, in
// registration order.
func (d *Discovery) ProviderOffers(ctx context.Context, provider common.Address) ([]Offer, error) {
	return d.page(ctx, func(start, limit *big.Int) []byte {
		return registryABI.PackGetProviderOffers(provider, start, limit)
	}, registryABI.UnpackGetProviderOffers)
}

func (d *Discovery) page(ctx context.Context, pack func(start, limit *big.Int) []byte, unpack func([]byte) ([]bindings.OfferRegistryOffer, error)) ([]Offer, error) {
	size := d.PageSize
	if size <= 0 || size > maxPage {
		size = maxPage
	}
	c := registryABI.Instance(d.Backend, d.Registry)
	opts := &bind.CallOpts{Context: ctx}
	var all []Offer
	for start := 0; ; start += size {
		page, err := bind.Call(c, opts, pack(big.NewInt(int64(start)), big.NewInt(int64(size))), unpack)
		if err != nil {
			return nil, &Error{Op: "discover", Code: CodeUnreachable, Message: fmt.Sprintf("read offers from %s", d.Registry), Retryable: true, Err: err}
		}
		for _, o := range page {
			all = append(all, offerFromBinding(o))
		}
		if len(page) < size {
			return all, nil
		}
	}
}

// Find returns the offers that pass f, cheapest first at f's reference
// job (ties: oldest first). No match is an *Error with CodeNoOffer whose
// message says what ruled the offers out.
func (d *Discovery) Find(ctx context.Context, f Filter) ([]Offer, error) {
	all, err := d.Offers(ctx)
	if err != nil {
		return nil, err
	}
	return FilterOffers(all, f)
}

// FilterOffers is Find over offers already read.
func FilterOffers(all []Offer, f Filter) ([]Offer, error) {
	var match []Offer
	reasons := map[string]int{}
	for i := range all {
		ok, why := f.Match(&all[i])
		if ok {
			match = append(match, all[i])
			continue
		}
		reasons[why]++
	}
	if len(match) == 0 {
		return nil, noOffer(all, f, reasons)
	}
	slices.SortStableFunc(match, byCost(f.reference()))
	return match, nil
}

func noOffer(all []Offer, f Filter, reasons map[string]int) *Error {
	what := "offer"
	if f.Model != "" {
		what = fmt.Sprintf("offer for model %q", f.Model)
	}
	if len(all) == 0 {
		return errorf("discover", CodeNoOffer, "no %s: the registry has no offers", what)
	}
	// Say what ruled out the offers that came closest: those of the model,
	// or failing that, all.
	var sameModel []Offer
	for _, o := range all {
		if (f.Model == "" || o.Model == f.Model) && (o.Active || f.IncludeInactive) {
			sameModel = append(sameModel, o)
		}
	}
	if len(sameModel) == 0 {
		return errorf("discover", CodeNoOffer, "no active %s among %d offers on chain", what, len(all))
	}
	type reason struct {
		why string
		n   int
	}
	var rs []reason
	for why, n := range reasons {
		if why != "inactive" && why != "another model" {
			rs = append(rs, reason{why, n})
		}
	}
	slices.SortFunc(rs, func(a, b reason) int { return cmp.Or(b.n-a.n, cmp.Compare(a.why, b.why)) })
	msg := fmt.Sprintf("no %s passes the filter (%d active)", what, len(sameModel))
	if f.MaxJobCost != nil {
		cheapest := slices.MinFunc(sameModel, byCost(f.reference()))
		msg += fmt.Sprintf("; the cheapest reference job (%d in, %d out tokens) costs %s, the cap is %s",
			f.reference().InputTokens, f.reference().OutputTokens, cheapest.ReferenceCost(f.reference()), f.MaxJobCost)
	}
	for i, r := range rs {
		if i == 3 {
			break
		}
		msg += fmt.Sprintf("; %d ruled out: %s", r.n, r.why)
	}
	return errorf("discover", CodeNoOffer, "%s", msg)
}

// Choose finds the offers that pass f and lets c (nil: Cheapest) choose.
func (d *Discovery) Choose(ctx context.Context, f Filter, c Chooser) (Offer, error) {
	offers, err := d.Find(ctx, f)
	if err != nil {
		return Offer{}, err
	}
	if c == nil {
		c = Cheapest
	}
	return c.Choose(offers, f.reference())
}
