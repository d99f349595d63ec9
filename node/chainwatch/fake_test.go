package chainwatch

import (
	"context"
	"errors"
	"maps"
	"math/big"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/paynode/paynode/contracts/bindings"
)

// fakeChain is a chain in memory that implements Backend, with the channel
// events of PaymentChannels and its getChannel view, and that can be
// reorganised at will. It has no subscriptions.
type fakeChain struct {
	contract common.Address

	mu       sync.Mutex
	blocks   []*fakeBlock // the canonical chain, blocks[n] is block n
	fork     byte         // bumped by reorg, so replaced blocks get new hashes
	failNext int          // calls to fail from now
	calls    map[string]int
	filters  []ethereum.FilterQuery
}

type fakeBlock struct {
	header *types.Header
	logs   []types.Log
	state  map[common.Hash]channelView // after the block
}

// fakeEvent emits one event: it changes the state as the contract would and
// returns the log's topics and data.
type fakeEvent func(st map[common.Hash]channelView) (topics []common.Hash, data []byte)

var errInjected = errors.New("injected RPC failure")

func newFakeChain(contract common.Address) *fakeChain {
	c := &fakeChain{contract: contract, calls: map[string]int{}}
	c.blocks = []*fakeBlock{{
		header: &types.Header{Number: big.NewInt(0), Difficulty: new(big.Int), GasLimit: 30_000_000},
		state:  map[common.Hash]channelView{},
	}}
	return c
}

// mine appends a block with events and returns its number.
func (c *fakeChain) mine(events ...fakeEvent) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	parent := c.blocks[len(c.blocks)-1]
	n := uint64(len(c.blocks))
	h := &types.Header{
		ParentHash: parent.header.Hash(),
		Number:     new(big.Int).SetUint64(n),
		Difficulty: new(big.Int),
		GasLimit:   30_000_000,
		Time:       1_700_000_000 + n,
		Extra:      []byte{c.fork},
	}
	b := &fakeBlock{header: h, state: maps.Clone(parent.state)}
	for i, ev := range events {
		topics, data := ev(b.state)
		b.logs = append(b.logs, types.Log{
			Address:     c.contract,
			Topics:      topics,
			Data:        data,
			BlockNumber: n,
			TxHash:      crypto.Keccak256Hash(h.Hash().Bytes(), []byte{byte(i)}),
			TxIndex:     uint(i),
			BlockHash:   h.Hash(),
			Index:       uint(i),
		})
	}
	c.blocks = append(c.blocks, b)
	return n
}

// reorg drops every block above n; the next mine builds a new branch.
func (c *fakeChain) reorg(n uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blocks = c.blocks[:n+1]
	c.fork++
}

func (c *fakeChain) head() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return uint64(len(c.blocks) - 1)
}

// fail makes the next n calls fail.
func (c *fakeChain) fail(n int) {
	c.mu.Lock()
	c.failNext = n
	c.mu.Unlock()
}

func (c *fakeChain) callCount(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

func (c *fakeChain) filterQueries() []ethereum.FilterQuery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.filters)
}

// enter counts a call and reports whether it is to fail. c.mu is held.
func (c *fakeChain) enter(method string) error {
	c.calls[method]++
	if c.failNext > 0 {
		c.failNext--
		return errInjected
	}
	return nil
}

func (c *fakeChain) BlockNumber(ctx context.Context) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("BlockNumber"); err != nil {
		return 0, err
	}
	return uint64(len(c.blocks) - 1), nil
}

func (c *fakeChain) HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("HeaderByNumber"); err != nil {
		return nil, err
	}
	b, err := c.block(number)
	if err != nil {
		return nil, err
	}
	return types.CopyHeader(b.header), nil
}

func (c *fakeChain) block(number *big.Int) (*fakeBlock, error) {
	if number == nil {
		return c.blocks[len(c.blocks)-1], nil
	}
	if !number.IsUint64() || number.Uint64() >= uint64(len(c.blocks)) {
		return nil, ethereum.NotFound
	}
	return c.blocks[number.Uint64()], nil
}

func (c *fakeChain) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("FilterLogs"); err != nil {
		return nil, err
	}
	c.filters = append(c.filters, q)
	from, to := q.FromBlock.Uint64(), q.ToBlock.Uint64()
	if to >= uint64(len(c.blocks)) {
		return nil, errors.New("range above the head")
	}
	var out []types.Log
	for n := from; n <= to; n++ {
		for _, l := range c.blocks[n].logs {
			if matches(q, &l) {
				out = append(out, l)
			}
		}
	}
	return out, nil
}

func matches(q ethereum.FilterQuery, l *types.Log) bool {
	if len(q.Addresses) > 0 && !slices.Contains(q.Addresses, l.Address) {
		return false
	}
	for i, want := range q.Topics {
		if len(want) == 0 {
			continue
		}
		if i >= len(l.Topics) || !slices.Contains(want, l.Topics[i]) {
			return false
		}
	}
	return true
}

func (c *fakeChain) SubscribeFilterLogs(ctx context.Context, q ethereum.FilterQuery, ch chan<- types.Log) (ethereum.Subscription, error) {
	return nil, rpc.ErrNotificationsUnsupported
}

var getChannelMethod = bindings.NewPaymentChannels().GetABI().Methods["getChannel"]

func (c *fakeChain) CallContract(ctx context.Context, msg ethereum.CallMsg, number *big.Int) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("CallContract"); err != nil {
		return nil, err
	}
	if msg.To == nil || *msg.To != c.contract || len(msg.Data) < 4 || !slices.Equal(msg.Data[:4], getChannelMethod.ID) {
		return nil, errors.New("execution reverted")
	}
	args, err := getChannelMethod.Inputs.Unpack(msg.Data[4:])
	if err != nil {
		return nil, err
	}
	id := common.Hash(args[0].([32]byte))
	b, err := c.block(number)
	if err != nil {
		return nil, err
	}
	v, ok := b.state[id]
	if !ok {
		v = channelView{Deposit: new(big.Int), Claimed: new(big.Int)}
	}
	return getChannelMethod.Outputs.Pack(v)
}

// ------------------------------------------------------------ fake events

var pcEvents = bindings.NewPaymentChannels().GetABI().Events

func pack(name string, args ...any) []byte {
	data, err := pcEvents[name].Inputs.NonIndexed().Pack(args...)
	if err != nil {
		panic(err)
	}
	return data
}

func addrTopic(a common.Address) common.Hash { return common.BytesToHash(a.Bytes()) }

func evOpened(id common.Hash, payer, provider, signer, asset common.Address, deposit int64) fakeEvent {
	return func(st map[common.Hash]channelView) ([]common.Hash, []byte) {
		st[id] = channelView{Payer: payer, Provider: provider, Signer: signer, Asset: asset,
			Deposit: big.NewInt(deposit), Claimed: new(big.Int)}
		return []common.Hash{pcEvents["ChannelOpened"].ID, id, addrTopic(payer), addrTopic(provider)},
			pack("ChannelOpened", signer, asset, big.NewInt(deposit))
	}
}

func evToppedUp(id common.Hash, amount int64) fakeEvent {
	return func(st map[common.Hash]channelView) ([]common.Hash, []byte) {
		v := st[id]
		v.Deposit = new(big.Int).Add(v.Deposit, big.NewInt(amount))
		st[id] = v
		return []common.Hash{pcEvents["ChannelToppedUp"].ID, id}, pack("ChannelToppedUp", big.NewInt(amount), v.Deposit)
	}
}

func evClaimed(id common.Hash, total int64) fakeEvent {
	return func(st map[common.Hash]channelView) ([]common.Hash, []byte) {
		v := st[id]
		delta := new(big.Int).Sub(big.NewInt(total), v.Claimed)
		v.Claimed = big.NewInt(total)
		st[id] = v
		return []common.Hash{pcEvents["Claimed"].ID, id, addrTopic(v.Provider)},
			pack("Claimed", delta, big.NewInt(total), big.NewInt(total), common.Hash{})
	}
}

func evRequested(id common.Hash, at uint64) fakeEvent {
	return func(st map[common.Hash]channelView) ([]common.Hash, []byte) {
		v := st[id]
		v.WithdrawableAt = at
		st[id] = v
		return []common.Hash{pcEvents["WithdrawalRequested"].ID, id}, pack("WithdrawalRequested", at)
	}
}

func evWithdrawn(id common.Hash) fakeEvent {
	return func(st map[common.Hash]channelView) ([]common.Hash, []byte) {
		v := st[id]
		v.Closed = true
		st[id] = v
		refund := new(big.Int).Sub(v.Deposit, v.Claimed)
		return []common.Hash{pcEvents["Withdrawn"].ID, id, addrTopic(v.Payer)}, pack("Withdrawn", refund)
	}
}
