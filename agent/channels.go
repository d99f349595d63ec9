package agent

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/node/wire"
)

// Backend is what the SDK needs of a chain: contract calls, transactions
// and logs, and receipts. *ethclient.Client is one.
type Backend interface {
	bind.ContractBackend
	contracts.ReceiptReader
}

// Channels opens, tops up and withdraws payment channels on chain, from a
// funding key (the payer). The channels it opens name a separate signer,
// the agent's hot key, which signs vouchers and holds no funds: the agent
// that pays per job never holds the funding key.
//
// A Channels serializes its transactions, so that one payer key's nonces
// never race.
type Channels struct {
	Backend    Backend
	Deployment *contracts.Deployment
	Payer      *ecdsa.PrivateKey
	// PollInterval is how often a sent transaction's receipt is polled;
	// default one second.
	PollInterval time.Duration
	// PermitTTL is how long a permit stays valid after the head block's
	// time; default one hour.
	PermitTTL time.Duration

	mu sync.Mutex // serializes transactions from Payer
}

// NewChannels returns a Channels for deployment d, paying from payer.
func NewChannels(b Backend, d *contracts.Deployment, payer *ecdsa.PrivateKey) *Channels {
	return &Channels{Backend: b, Deployment: d, Payer: payer}
}

var pcABI = bindings.NewPaymentChannels()

// PayerAddress is the funding key's address.
func (c *Channels) PayerAddress() common.Address { return crypto.PubkeyToAddress(c.Payer.PublicKey) }

// ChannelID is the id PaymentChannels gives the channel of payer, provider,
// signer, asset and salt: keccak256(abi.encode(payer, provider, signer,
// asset, salt)). It is known before the channel is opened, and a retried
// open of the same salt fails (ChannelExists) rather than paying twice.
func ChannelID(payer, provider, signer, asset common.Address, salt common.Hash) common.Hash {
	var buf [5 * 32]byte
	copy(buf[12:32], payer[:])
	copy(buf[32+12:64], provider[:])
	copy(buf[64+12:96], signer[:])
	copy(buf[96+12:128], asset[:])
	copy(buf[128:], salt[:])
	return crypto.Keccak256Hash(buf[:])
}

// NewSalt returns 32 random bytes for a new channel.
func NewSalt() common.Hash { return wire.NewNonce() }

// OpenParams describe a channel to open.
type OpenParams struct {
	Provider common.Address
	// Signer is the hot key that will sign vouchers; it need hold nothing.
	Signer common.Address
	// Asset is the zero address for ETH, else an ERC-20.
	Asset   common.Address
	Deposit *big.Int
	// Salt tells apart channels of the same payer, provider, signer and
	// asset; zero means a random one.
	Salt common.Hash
	// NoPermit approves and opens even when the token has EIP-2612 permit.
	NoPermit bool
}

// Opened is a channel just opened.
type Opened struct {
	ID   common.Hash
	Salt common.Hash
	// Funding says how the deposit was paid: "eth", "permit" (one
	// transaction), "approve" (approve, then open) or "allowance" (the
	// allowance was there already).
	Funding string
	Txs     []common.Hash
}

// Open opens a channel from the payer to p.Provider, naming p.Signer, and
// deposits p.Deposit: ETH as the transaction's value; an ERC-20 with an
// EIP-2612 permit when the token has one (a single transaction), else with
// approve and then open. It returns once the opening transaction is mined.
func (c *Channels) Open(ctx context.Context, p OpenParams) (*Opened, error) {
	switch {
	case p.Provider == (common.Address{}):
		return nil, errorf("open", CodeChannel, "no provider")
	case p.Signer == (common.Address{}):
		return nil, errorf("open", CodeChannel, "no signer")
	case p.Deposit == nil || p.Deposit.Sign() <= 0:
		return nil, errorf("open", CodeChannel, "the deposit must be above 0")
	}
	if p.Salt == (common.Hash{}) {
		p.Salt = NewSalt()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	payer := c.PayerAddress()
	out := &Opened{ID: ChannelID(payer, p.Provider, p.Signer, p.Asset, p.Salt), Salt: p.Salt}
	pc := pcABI.Instance(c.Backend, c.Deployment.PaymentChannels)
	if p.Asset == (common.Address{}) {
		out.Funding = "eth"
		r, err := c.send(ctx, "open", pc, pcABI.PackOpen(p.Provider, p.Signer, p.Asset, p.Deposit, p.Salt), p.Deposit)
		if err != nil {
			return nil, err
		}
		out.Txs = append(out.Txs, r.TxHash)
		return out, nil
	}
	token := erc20.Instance(c.Backend, p.Asset)
	opts := &bind.CallOpts{Context: ctx}
	allowance, err := bind.Call(token, opts, erc20.PackAllowance(payer, c.Deployment.PaymentChannels), erc20.UnpackAllowance)
	if err != nil {
		return nil, &Error{Op: "open", Code: CodeChannel, Message: fmt.Sprintf("read allowance of token %s", p.Asset), Err: err}
	}
	switch {
	case allowance.Cmp(p.Deposit) >= 0:
		out.Funding = "allowance"
	case !p.NoPermit:
		v, r, s, deadline, err := c.signPermit(ctx, token, p.Asset, p.Deposit)
		if err == nil {
			out.Funding = "permit"
			rc, err := c.send(ctx, "open", pc, pcABI.PackOpenWithPermit(p.Provider, p.Signer, p.Asset, p.Deposit, p.Salt, deadline, v, r, s), nil)
			if err != nil {
				return nil, err
			}
			out.Txs = append(out.Txs, rc.TxHash)
			return out, nil
		}
		if !errors.Is(err, errNoPermit) {
			return nil, err
		}
		fallthrough
	default:
		out.Funding = "approve"
		rc, err := c.send(ctx, "approve", token, erc20.PackApprove(c.Deployment.PaymentChannels, p.Deposit), nil)
		if err != nil {
			return nil, err
		}
		out.Txs = append(out.Txs, rc.TxHash)
	}
	rc, err := c.send(ctx, "open", pc, pcABI.PackOpen(p.Provider, p.Signer, p.Asset, p.Deposit, p.Salt), nil)
	if err != nil {
		return nil, err
	}
	out.Txs = append(out.Txs, rc.TxHash)
	return out, nil
}

var errNoPermit = errors.New("token has no EIP-2612 permit")

const permitType = "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"

var permitTypeHash = crypto.Keccak256Hash([]byte(permitType))

// signPermit signs an EIP-2612 permit for PaymentChannels to take value
// of token from the payer. errNoPermit: the token has no nonces or
// DOMAIN_SEPARATOR.
func (c *Channels) signPermit(ctx context.Context, token *bind.BoundContract, addr common.Address, value *big.Int) (uint8, [32]byte, [32]byte, *big.Int, error) {
	var r, s [32]byte
	payer := c.PayerAddress()
	opts := &bind.CallOpts{Context: ctx}
	nonce, err := bind.Call(token, opts, erc20.PackNonces(payer), erc20.UnpackNonces)
	if err != nil {
		return 0, r, s, nil, errNoPermit
	}
	sep, err := bind.Call(token, opts, erc20.PackDOMAINSEPARATOR(), erc20.UnpackDOMAINSEPARATOR)
	if err != nil {
		return 0, r, s, nil, errNoPermit
	}
	// The deadline counts from the chain's time, not the wall clock: a
	// test chain may run ahead.
	head, err := c.Backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, r, s, nil, &Error{Op: "open", Code: CodeChannel, Message: "read the head block", Err: err}
	}
	ttl := c.PermitTTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	deadline := new(big.Int).SetUint64(head.Time + uint64(ttl/time.Second))
	var buf [6 * 32]byte
	copy(buf[:], permitTypeHash[:])
	copy(buf[32+12:64], payer[:])
	copy(buf[64+12:96], c.Deployment.PaymentChannels[:])
	value.FillBytes(buf[96:128])
	nonce.FillBytes(buf[128:160])
	deadline.FillBytes(buf[160:192])
	structHash := crypto.Keccak256Hash(buf[:])
	digest := crypto.Keccak256Hash([]byte{0x19, 0x01}, sep[:], structHash[:])
	sig, err := contracts.Sign(digest, c.Payer)
	if err != nil {
		return 0, r, s, nil, err
	}
	copy(r[:], sig[:32])
	copy(s[:], sig[32:64])
	return sig[64], r, s, deadline, nil
}

// TopUp adds amount to channel id's deposit (approving the token first
// when the allowance is short). Anyone may top up a channel; the refund
// still goes to its payer.
func (c *Channels) TopUp(ctx context.Context, id common.Hash, amount *big.Int) error {
	if amount == nil || amount.Sign() <= 0 {
		return errorf("top up", CodeChannel, "the amount must be above 0")
	}
	ch, err := c.Get(ctx, id)
	if err != nil {
		return err
	}
	if ch.Closed || !ch.WithdrawableAt.IsZero() {
		return errorf("top up", CodeChannelClosed, "channel %s is closed or being withdrawn", id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := pcABI.Instance(c.Backend, c.Deployment.PaymentChannels)
	if ch.Asset == (common.Address{}) {
		_, err := c.send(ctx, "top up", pc, pcABI.PackTopUp(id, amount), amount)
		return err
	}
	token := erc20.Instance(c.Backend, ch.Asset)
	allowance, err := bind.Call(token, &bind.CallOpts{Context: ctx}, erc20.PackAllowance(c.PayerAddress(), c.Deployment.PaymentChannels), erc20.UnpackAllowance)
	if err != nil {
		return &Error{Op: "top up", Code: CodeChannel, Message: "read allowance", Err: err}
	}
	if allowance.Cmp(amount) < 0 {
		if _, err := c.send(ctx, "approve", token, erc20.PackApprove(c.Deployment.PaymentChannels, amount), nil); err != nil {
			return err
		}
	}
	_, err = c.send(ctx, "top up", pc, pcABI.PackTopUp(id, amount), nil)
	return err
}

// TopUpPolicy keeps a channel funded: when its remaining deposit falls
// below Threshold, add Amount.
type TopUpPolicy struct {
	Threshold *big.Int
	Amount    *big.Int
}

// ApplyTopUp tops up channel id by p.Amount when its remaining deposit —
// the deposit less committed, what the agent has signed for (see
// Client.Committed), or less what was claimed if that is more — is below
// p.Threshold. It returns the amount added, nil when none was needed.
func (c *Channels) ApplyTopUp(ctx context.Context, id common.Hash, p TopUpPolicy, committed *big.Int) (*big.Int, error) {
	if p.Threshold == nil || p.Amount == nil || p.Amount.Sign() <= 0 {
		return nil, errorf("top up", CodeChannel, "a top-up policy needs a threshold and an amount above 0")
	}
	ch, err := c.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if ch.Remaining(committed).Cmp(p.Threshold) >= 0 {
		return nil, nil
	}
	if err := c.TopUp(ctx, id, p.Amount); err != nil {
		return nil, err
	}
	return new(big.Int).Set(p.Amount), nil
}

// ChainChannel is a channel's state on chain.
type ChainChannel struct {
	ID                             common.Hash
	Payer, Provider, Signer, Asset common.Address
	Deposit, Claimed               *big.Int
	// WithdrawableAt is when the payer may finalize a requested
	// withdrawal; zero while none was requested.
	WithdrawableAt time.Time
	Closed         bool
}

// Remaining is the deposit less the larger of committed (what the agent
// signed for) and what was claimed on chain; never below 0.
func (ch *ChainChannel) Remaining(committed *big.Int) *big.Int {
	used := ch.Claimed
	if committed != nil && committed.Cmp(used) > 0 {
		used = committed
	}
	r := new(big.Int).Sub(ch.Deposit, used)
	if r.Sign() < 0 {
		r.SetInt64(0)
	}
	return r
}

// Get reads channel id from the chain; an unknown channel is an error.
func (c *Channels) Get(ctx context.Context, id common.Hash) (*ChainChannel, error) {
	return getChannel(ctx, c.Backend, c.Deployment.PaymentChannels, id)
}

func getChannel(ctx context.Context, b bind.ContractBackend, addr common.Address, id common.Hash) (*ChainChannel, error) {
	pc := pcABI.Instance(b, addr)
	ch, err := bind.Call(pc, &bind.CallOpts{Context: ctx}, pcABI.PackGetChannel(id), pcABI.UnpackGetChannel)
	if err != nil {
		return nil, &Error{Op: "channel", Code: CodeChannel, Message: fmt.Sprintf("read channel %s", id), Retryable: true, Err: err}
	}
	if ch.Provider == (common.Address{}) {
		return nil, errorf("channel", CodeChannel, "no channel %s on chain", id)
	}
	out := &ChainChannel{
		ID: id, Payer: ch.Payer, Provider: ch.Provider, Signer: ch.Signer, Asset: ch.Asset,
		Deposit: ch.Deposit, Claimed: ch.Claimed, Closed: ch.Closed,
	}
	if ch.WithdrawableAt != 0 {
		out.WithdrawableAt = time.Unix(int64(ch.WithdrawableAt), 0).UTC()
	}
	return out, nil
}

// Find lists the channels the payer opened (to provider, when it is not
// the zero address), from PaymentChannels' ChannelOpened events since the
// deployment's start block, with their state now.
func (c *Channels) Find(ctx context.Context, provider common.Address) ([]*ChainChannel, error) {
	payer := c.PayerAddress()
	topics := [][]common.Hash{{pcABI.GetABI().Events["ChannelOpened"].ID}, nil, {common.BytesToHash(payer[:])}}
	if provider != (common.Address{}) {
		topics = append(topics, []common.Hash{common.BytesToHash(provider[:])})
	}
	logs, err := c.Backend.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(c.Deployment.StartBlock),
		Addresses: []common.Address{c.Deployment.PaymentChannels},
		Topics:    topics,
	})
	if err != nil {
		return nil, &Error{Op: "find channels", Code: CodeChannel, Message: "read ChannelOpened events", Retryable: true, Err: err}
	}
	var out []*ChainChannel
	for i := range logs {
		ev, err := pcABI.UnpackChannelOpenedEvent(&logs[i])
		if err != nil {
			continue
		}
		ch, err := c.Get(ctx, ev.ChannelId)
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, nil
}

// RequestWithdrawal starts the withdrawal of channel id: the node stops
// taking jobs on it, and the provider has until the returned time to claim
// what it is owed. Only the payer may request it.
func (c *Channels) RequestWithdrawal(ctx context.Context, id common.Hash) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := pcABI.Instance(c.Backend, c.Deployment.PaymentChannels)
	r, err := c.send(ctx, "request withdrawal", pc, pcABI.PackRequestWithdrawal(id), nil)
	if err != nil {
		return time.Time{}, err
	}
	for _, l := range r.Logs {
		if ev, err := pcABI.UnpackWithdrawalRequestedEvent(l); err == nil && ev.ChannelId == id {
			return time.Unix(int64(ev.WithdrawableAt), 0).UTC(), nil
		}
	}
	return time.Time{}, errorf("request withdrawal", CodeChannel, "transaction %s emitted no WithdrawalRequested", r.TxHash)
}

// FinalizeWithdrawal closes channel id after its withdrawal delay and
// returns the refund paid to the payer: the deposit less what was claimed.
func (c *Channels) FinalizeWithdrawal(ctx context.Context, id common.Hash) (*big.Int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := pcABI.Instance(c.Backend, c.Deployment.PaymentChannels)
	r, err := c.send(ctx, "finalize withdrawal", pc, pcABI.PackFinalizeWithdrawal(id), nil)
	if err != nil {
		return nil, err
	}
	for _, l := range r.Logs {
		if ev, err := pcABI.UnpackWithdrawnEvent(l); err == nil && ev.ChannelId == id {
			return ev.Refund, nil
		}
	}
	return nil, errorf("finalize withdrawal", CodeChannel, "transaction %s emitted no Withdrawn", r.TxHash)
}

// send sends data to contract from the payer, waits until it is mined,
// and fails unless it succeeded. A revert is reported with the contract's
// custom error.
func (c *Channels) send(ctx context.Context, op string, contract *bind.BoundContract, data []byte, value *big.Int) (*types.Receipt, error) {
	auth := bind.NewKeyedTransactor(c.Payer, new(big.Int).SetUint64(c.Deployment.ChainID))
	auth.Context = ctx
	auth.Value = value
	tx, err := bind.Transact(contract, auth, data)
	if err != nil {
		if rev, ok := contracts.DecodeRevert(err); ok {
			return nil, &Error{Op: op, Code: CodeChannel, Message: rev.Error(), Err: rev}
		}
		return nil, &Error{Op: op, Code: CodeChannel, Message: "send transaction", Err: err}
	}
	poll := c.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	r, err := contracts.WaitMined(ctx, c.Backend, tx.Hash(), poll)
	if err != nil {
		return nil, &Error{Op: op, Code: CodeChannel, Message: fmt.Sprintf("wait for transaction %s", tx.Hash()), Retryable: true, Err: err}
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return nil, errorf(op, CodeChannel, "transaction %s reverted", tx.Hash())
	}
	return r, nil
}

// Status is a channel as the chain and the agent's receipts see it.
type Status struct {
	ChainChannel
	// Charged is the highest cumulative_charged of the receipts the store
	// holds, Receipts their count and LastSeq the last one's seq.
	Charged  *big.Int
	Receipts int
	LastSeq  uint64
	// Untrusted says why the provider was marked untrusted, if it was.
	Untrusted string
	// Remaining is the deposit less the larger of Charged and Claimed.
	Remaining *big.Int
}

// Status reads channel id from the chain and its receipts from store (nil:
// none), without connecting to the node.
func (c *Channels) Status(ctx context.Context, id common.Hash, store *Store) (*Status, error) {
	ch, err := c.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	st := &Status{ChainChannel: *ch, Charged: new(big.Int)}
	if store != nil {
		recs, err := store.Load(id)
		if err != nil {
			return nil, &Error{Op: "status", Code: CodeBadReceipt, Message: "read receipts", Err: err}
		}
		for _, r := range recs {
			if r.Rejected != "" {
				st.Untrusted = r.Rejected
				continue
			}
			st.Receipts++
			if cum := r.Receipt.CumulativeCharged.Big(); cum.Cmp(st.Charged) > 0 {
				st.Charged = cum
			}
			st.LastSeq = max(st.LastSeq, r.Receipt.Seq)
		}
	}
	st.Remaining = ch.Remaining(st.Charged)
	return st, nil
}
