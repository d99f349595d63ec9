// Package offers makes OfferRegistry hold exactly the offers a node is
// configured with: it reads the provider's offers from the chain, and
// registers, updates and deactivates offers until the chain matches the
// config. Agents discover offers from the chain alone, so this is how a
// provider's prices and endpoint reach them.
package offers

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
)

// Offer is one offer as the provider publishes it: the fields of
// OfferRegistry's OfferInput.
type Offer struct {
	Model       string
	Endpoint    string         // the websocket URL agents connect to
	Asset       common.Address // the zero address for ETH
	Price       contracts.Price
	MaxTokens   uint64
	MetadataURI string
}

// Registered is an offer as the chain holds it.
type Registered struct {
	ID     *big.Int
	Offer  Offer
	Active bool
}

// The actions of a [Change].
const (
	ActionRegister   = "register"
	ActionUpdate     = "update"
	ActionDeactivate = "deactivate"
	ActionUnchanged  = "unchanged"
)

// Change is what Sync did to one offer. TxHash is zero for
// [ActionUnchanged].
type Change struct {
	Action string // ActionRegister, ActionUpdate, ActionDeactivate or ActionUnchanged
	ID     *big.Int
	Model  string
	Asset  common.Address
	TxHash common.Hash
}

// Backend is what Sync needs of a chain; *ethclient.Client is one.
type Backend interface {
	ethereum.ContractCaller
	ethereum.GasEstimator
	ethereum.GasPricer1559
	ethereum.TransactionSender
	ethereum.ChainIDReader
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	PendingNonceAt(ctx context.Context, account common.Address) (uint64, error)
	BalanceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (*big.Int, error)
	contracts.ReceiptReader
}

// DefaultPollInterval is how often Sync polls for a receipt unless told
// otherwise.
const DefaultPollInterval = time.Second

// Options tune Sync; the zero value works.
type Options struct {
	// GasFeeCap is the most wei per gas ever offered; nil = no cap. Sync
	// fails before sending anything when the base fee is already above it.
	GasFeeCap *big.Int
	// PollInterval is how often receipts are polled; default
	// DefaultPollInterval.
	PollInterval time.Duration
	// Timeout bounds the whole Sync, waiting for receipts included; zero
	// leaves it to ctx.
	Timeout time.Duration
	// Log hears of each transaction; nil discards. The caller names the
	// subsystem (Log.With("subsystem", "offers")).
	Log *slog.Logger
}

// Errors Sync returns for the cases a caller must tell apart.
var (
	ErrDuplicate = errors.New("offers: the same model and asset are wanted twice")
	ErrNoFunds   = errors.New("offers: not enough ETH for gas")
)

// pageSize is how many offers Current reads a call: OfferRegistry's
// MAX_PAGE. Tests make it small to cover paging.
var pageSize = 200

// Current reads every offer of provider from OfferRegistry, active or not,
// in registration order. Any [Backend] will do; it needs only calls.
func Current(ctx context.Context, b ethereum.ContractCaller, d *contracts.Deployment, provider common.Address) ([]Registered, error) {
	reg := bindings.NewOfferRegistry()
	var out []Registered
	for start := 0; ; start += pageSize {
		data := reg.PackGetProviderOffers(provider, big.NewInt(int64(start)), big.NewInt(int64(pageSize)))
		raw, err := b.CallContract(ctx, ethereum.CallMsg{To: &d.OfferRegistry, Data: data}, nil)
		if err != nil {
			return nil, fmt.Errorf("offers: read offers of %s: %w", provider, err)
		}
		if len(raw) == 0 {
			// Even an empty page is 64 bytes of ABI: nothing answered.
			return nil, fmt.Errorf("offers: no OfferRegistry at %s (is the deployment file for this chain?)", d.OfferRegistry)
		}
		page, err := reg.UnpackGetProviderOffers(raw)
		if err != nil {
			return nil, fmt.Errorf("offers: read offers of %s: %w", provider, err)
		}
		for _, o := range page {
			out = append(out, fromChain(o))
		}
		if len(page) < pageSize {
			return out, nil
		}
	}
}

func fromChain(o bindings.OfferRegistryOffer) Registered {
	return Registered{
		ID:     o.Id,
		Active: o.Active,
		Offer: Offer{
			Model: o.Model, Endpoint: o.Endpoint, Asset: o.Asset,
			Price:     contracts.Price{Base: o.Base, InPerM: o.InPerM, OutPerM: o.OutPerM},
			MaxTokens: o.MaxTokens, MetadataURI: o.MetadataURI,
		},
	}
}

func (o Offer) input() bindings.OfferRegistryOfferInput {
	return bindings.OfferRegistryOfferInput{
		Model: o.Model, Endpoint: o.Endpoint, Asset: o.Asset,
		Base: o.Price.Base, InPerM: o.Price.InPerM, OutPerM: o.Price.OutPerM,
		MaxTokens: o.MaxTokens, MetadataURI: o.MetadataURI,
	}
}

// Equal reports whether two offers publish the same terms.
func (o Offer) Equal(p Offer) bool {
	return o.Model == p.Model && o.Endpoint == p.Endpoint && o.Asset == p.Asset &&
		o.MaxTokens == p.MaxTokens && o.MetadataURI == p.MetadataURI &&
		bigEqual(o.Price.Base, p.Price.Base) && bigEqual(o.Price.InPerM, p.Price.InPerM) &&
		bigEqual(o.Price.OutPerM, p.Price.OutPerM)
}

func bigEqual(a, b *big.Int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Cmp(b) == 0
}

// offerKey is what identifies an offer across restarts: its model and asset.
type offerKey struct {
	model string
	asset common.Address
}

func (o Offer) key() offerKey { return offerKey{o.Model, o.Asset} }

func (k offerKey) String() string {
	if k.asset == (common.Address{}) {
		return fmt.Sprintf("%q/ETH", k.model)
	}
	return fmt.Sprintf("%q/%s", k.model, k.asset)
}

// step is one transaction Sync sends, or an offer it leaves alone.
type step struct {
	change Change
	want   int // index in want; -1 for a deactivation
	data   []byte
	gas    uint64
}

// Sync makes OfferRegistry hold exactly want for the provider of key, and
// returns the offers as registered, in the order of want, with the changes
// it made (one for each wanted offer, and one for each offer it
// deactivated).
//
// Offers are matched by model and asset. A wanted offer with an active
// match is left alone when its terms are equal and updated in place (same
// id) when they differ; one without is registered. The provider's active
// offers that are not wanted are deactivated, and so are extra active
// offers with the same model and asset (an earlier run interrupted between
// sending and seeing a register leaves one), keeping the one that already
// has the wanted terms, else the oldest. OfferRegistry refuses to update an
// inactive offer (OfferInactive) and cannot reactivate one, so an offer
// that was deactivated and is wanted again is registered anew under a new
// id; the old id stays inactive.
//
// Everything is checked before any transaction is sent: two wanted offers
// with the same model and asset ([ErrDuplicate]), each transaction's gas
// estimate (a revert names the Solidity error, e.g. EmptyEndpoint()), the
// fee cap, and that the provider holds enough ETH for every transaction at
// its fee cap ([ErrNoFunds]). When nothing differs no transaction is sent.
// New and updated offers go first, deactivations last, so that an offer
// being replaced is withdrawn only once its successor is on chain.
//
// Transactions are sent one after another, the first at the nonce
// PendingNonceAt gives and each next at the one after, each waited for
// (contracts.WaitMined) before the next is sent.
// That is only sound when nothing else sends from key meanwhile: the node
// runs Sync to completion before its settlement starts. On an error after
// a transaction was mined, the changes mined so far are returned with it.
func Sync(ctx context.Context, b Backend, d *contracts.Deployment, key *ecdsa.PrivateKey, want []Offer, opts Options) ([]Registered, []Change, error) {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := checkWant(want); err != nil {
		return nil, nil, err
	}
	chainID, err := b.ChainID(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("offers: chain id: %w", err)
	}
	if chainID.Uint64() != d.ChainID || !chainID.IsUint64() {
		return nil, nil, fmt.Errorf("offers: the deployment is for chain %d, the RPC serves chain %s", d.ChainID, chainID)
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	have, err := Current(ctx, b, d, from)
	if err != nil {
		return nil, nil, err
	}
	steps := plan(have, want)
	ids := make([]*big.Int, len(want))
	var pending []*step
	for i := range steps {
		s := &steps[i]
		if s.want >= 0 {
			ids[s.want] = s.change.ID
		}
		if s.change.Action != ActionUnchanged {
			pending = append(pending, s)
		}
	}
	var changes []Change
	if len(pending) > 0 {
		s := sender{b: b, d: d, key: key, from: from, chainID: chainID, opts: opts, log: log}
		if err := s.prepare(ctx, pending, want); err != nil {
			return nil, nil, err
		}
		if err := s.send(ctx, pending, ids); err != nil {
			return nil, doneChanges(steps), err
		}
		if have, err = Current(ctx, b, d, from); err != nil {
			return nil, doneChanges(steps), err
		}
	}
	for _, s := range steps {
		changes = append(changes, s.change)
	}
	byID := make(map[string]Registered, len(have))
	for _, r := range have {
		byID[r.ID.String()] = r
	}
	out := make([]Registered, len(want))
	for i, id := range ids {
		r, ok := byID[id.String()]
		if !ok || !r.Active || !r.Offer.Equal(want[i]) {
			return nil, changes, fmt.Errorf("offers: offer %s of %s is not as sent: did another process change it meanwhile?", id, want[i].key())
		}
		out[i] = r
	}
	return out, changes, nil
}

// checkWant refuses what OfferRegistry cannot hold for one provider without
// ambiguity, and prices that do not fit a uint256.
func checkWant(want []Offer) error {
	seen := make(map[offerKey]int, len(want))
	for i, o := range want {
		if j, dup := seen[o.key()]; dup {
			return fmt.Errorf("%w: offers[%d] and offers[%d] are both %s", ErrDuplicate, j, i, o.key())
		}
		seen[o.key()] = i
		if err := o.Price.Validate(); err != nil {
			return fmt.Errorf("offers: offers[%d] (%s): %w", i, o.key(), err)
		}
	}
	return nil
}

// plan decides what to do with each wanted offer, in the order of want,
// and then with each active offer on chain that is not wanted, by id.
func plan(have []Registered, want []Offer) []step {
	active := map[offerKey][]Registered{}
	for _, r := range have {
		if r.Active {
			active[r.Offer.key()] = append(active[r.Offer.key()], r)
		}
	}
	var steps, retire []step
	for i, w := range want {
		k := w.key()
		matches := active[k]
		delete(active, k)
		if len(matches) == 0 {
			steps = append(steps, step{want: i, change: Change{Action: ActionRegister, Model: w.Model, Asset: w.Asset}})
			continue
		}
		keep := slices.IndexFunc(matches, func(r Registered) bool { return r.Offer.Equal(w) })
		action := ActionUnchanged
		if keep < 0 {
			keep, action = 0, ActionUpdate
		}
		steps = append(steps, step{want: i, change: Change{Action: action, ID: matches[keep].ID, Model: w.Model, Asset: w.Asset}})
		for j, r := range matches {
			if j != keep {
				retire = append(retire, deactivation(r))
			}
		}
	}
	for _, rs := range active {
		for _, r := range rs {
			retire = append(retire, deactivation(r))
		}
	}
	slices.SortFunc(retire, func(a, b step) int { return a.change.ID.Cmp(b.change.ID) })
	return append(steps, retire...)
}

func deactivation(r Registered) step {
	return step{want: -1, change: Change{Action: ActionDeactivate, ID: r.ID, Model: r.Offer.Model, Asset: r.Offer.Asset}}
}

// doneChanges are the changes whose transaction was mined, and the offers
// left alone, after a failed Sync.
func doneChanges(steps []step) []Change {
	var out []Change
	for _, s := range steps {
		if s.change.Action == ActionUnchanged || s.change.TxHash != (common.Hash{}) {
			out = append(out, s.change)
		}
	}
	return out
}

// sender sends a Sync's transactions.
type sender struct {
	b       Backend
	d       *contracts.Deployment
	key     *ecdsa.PrivateKey
	from    common.Address
	chainID *big.Int
	opts    Options
	log     *slog.Logger
}

// prepare packs and estimates every step, and checks the fee cap and the
// provider's balance, so that a Sync that cannot finish fails before it has
// sent anything rather than halfway.
func (s *sender) prepare(ctx context.Context, steps []*step, want []Offer) error {
	reg := bindings.NewOfferRegistry()
	for _, st := range steps {
		var err error
		switch st.change.Action {
		case ActionRegister:
			st.data, err = reg.TryPackRegister(want[st.want].input())
		case ActionUpdate:
			st.data, err = reg.TryPackUpdate(st.change.ID, want[st.want].input())
		case ActionDeactivate:
			st.data = reg.PackDeactivate(st.change.ID)
		}
		if err != nil {
			return fmt.Errorf("offers: %s: %w", describe(st.change), err)
		}
		// No fee fields: a provider without ETH still gets an estimate, and
		// the balance check below says what it lacks.
		gas, err := s.b.EstimateGas(ctx, ethereum.CallMsg{From: s.from, To: &s.d.OfferRegistry, Data: st.data})
		if err != nil {
			if rev, ok := contracts.DecodeRevert(err); ok {
				return fmt.Errorf("offers: %s would revert: %w", describe(st.change), rev)
			}
			return fmt.Errorf("offers: estimate %s: %w", describe(st.change), err)
		}
		st.gas = gas + gas/5 // head room: state may move between estimate and inclusion
	}
	_, feeCap, err := s.fees(ctx)
	if err != nil {
		return err
	}
	need := new(big.Int)
	for _, st := range steps {
		need.Add(need, new(big.Int).Mul(new(big.Int).SetUint64(st.gas), feeCap))
	}
	balance, err := s.b.BalanceAt(ctx, s.from, nil)
	if err != nil {
		return fmt.Errorf("offers: balance of %s: %w", s.from, err)
	}
	if balance.Cmp(need) < 0 {
		return fmt.Errorf("%w: provider %s holds %s wei, less than the %s wei its %d offer transaction(s) may cost at %s wei per gas",
			ErrNoFunds, s.from, balance, need, len(steps), feeCap)
	}
	return nil
}

// fees are the tip and the fee cap for the next transaction: twice the base
// fee plus the tip, but never above Options.GasFeeCap.
func (s *sender) fees(ctx context.Context) (tip, feeCap *big.Int, err error) {
	head, err := s.b.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("offers: head: %w", err)
	}
	if tip, err = s.b.SuggestGasTipCap(ctx); err != nil {
		return nil, nil, fmt.Errorf("offers: tip: %w", err)
	}
	if tip, feeCap, err = contracts.FeeCaps(head.BaseFee, tip, nil, nil, s.opts.GasFeeCap); err != nil {
		return nil, nil, fmt.Errorf("offers: %w", err)
	}
	return tip, feeCap, nil
}

// send signs, sends and waits for each step in turn, filling in its hash
// and, for a register, its new id.
func (s *sender) send(ctx context.Context, steps []*step, ids []*big.Int) error {
	nonce, err := s.b.PendingNonceAt(ctx, s.from)
	if err != nil {
		return fmt.Errorf("offers: nonce of %s: %w", s.from, err)
	}
	signer := types.LatestSignerForChainID(s.chainID)
	for _, st := range steps {
		tip, feeCap, err := s.fees(ctx)
		if err != nil {
			return err
		}
		tx, err := types.SignTx(types.NewTx(&types.DynamicFeeTx{
			ChainID: s.chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
			Gas: st.gas, To: &s.d.OfferRegistry, Data: st.data,
		}), signer, s.key)
		if err != nil {
			return fmt.Errorf("offers: sign %s: %w", describe(st.change), err)
		}
		if err := s.b.SendTransaction(ctx, tx); err != nil {
			if rev, ok := contracts.DecodeRevert(err); ok {
				err = rev
			}
			return fmt.Errorf("offers: send %s: %w", describe(st.change), err)
		}
		s.log.Info("offer transaction sent", "action", st.change.Action, "id", st.change.ID,
			"model", st.change.Model, "asset", st.change.Asset, "tx", tx.Hash(), "nonce", nonce)
		r, err := contracts.WaitMined(ctx, s.b, tx.Hash(), s.opts.PollInterval)
		if err != nil {
			return fmt.Errorf("offers: wait for %s (tx %s): %w", describe(st.change), tx.Hash(), err)
		}
		if r.Status != types.ReceiptStatusSuccessful {
			return fmt.Errorf("offers: %s: transaction %s reverted%s", describe(st.change), tx.Hash(), s.revertReason(ctx, st, r))
		}
		st.change.TxHash = tx.Hash()
		if st.change.Action == ActionRegister {
			id, err := registeredID(r)
			if err != nil {
				return fmt.Errorf("offers: %s (tx %s): %w", describe(st.change), tx.Hash(), err)
			}
			st.change.ID = id
			ids[st.want] = id
		}
		s.log.Info("offer transaction mined", "action", st.change.Action, "id", st.change.ID,
			"model", st.change.Model, "tx", tx.Hash(), "block", r.BlockNumber, "gas", r.GasUsed)
		nonce++
	}
	return nil
}

// revertReason replays a reverted transaction on the state before its block
// to name the Solidity error; exact when the block held only it, a best
// effort otherwise.
func (s *sender) revertReason(ctx context.Context, st *step, r *types.Receipt) string {
	if r.BlockNumber == nil || r.BlockNumber.Sign() == 0 {
		return ""
	}
	parent := new(big.Int).Sub(r.BlockNumber, big.NewInt(1))
	_, err := s.b.CallContract(ctx, ethereum.CallMsg{From: s.from, To: &s.d.OfferRegistry, Data: st.data}, parent)
	if rev, ok := contracts.DecodeRevert(err); ok {
		return ": " + rev.Error()
	}
	return ""
}

// registeredID finds the new offer's id in a register's receipt.
func registeredID(r *types.Receipt) (*big.Int, error) {
	reg := bindings.NewOfferRegistry()
	for _, l := range r.Logs {
		if ev, err := reg.UnpackOfferRegisteredEvent(l); err == nil {
			return ev.Id, nil
		}
	}
	return nil, errors.New("no OfferRegistered event in the receipt")
}

func describe(c Change) string {
	k := offerKey{c.Model, c.Asset}
	if c.ID == nil {
		return fmt.Sprintf("%s %s", c.Action, k)
	}
	return fmt.Sprintf("%s offer %s (%s)", c.Action, c.ID, k)
}

// Endpoint is the websocket URL published in offers: publicURL when set,
// else ws://<listen>/v1/agent. listen is used as it is, except that an
// unspecified host (":7070", "0.0.0.0:7070", "[::]:7070") becomes
// 127.0.0.1, which only agents on the same machine can reach: a node that
// serves others must set a public URL.
func Endpoint(publicURL, listen string) string {
	if publicURL != "" {
		return publicURL
	}
	if host, port, err := net.SplitHostPort(listen); err == nil {
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		listen = net.JoinHostPort(host, port)
	}
	return "ws://" + listen + "/v1/agent"
}
