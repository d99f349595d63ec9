package chainwatch

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/testnet"
)

// The tests in this file run on the embedded dev chain, and the watcher
// reads it over its real JSON-RPC, HTTP or WebSocket.

const withdrawalDelay = time.Hour

type devChain struct {
	chain   *testnet.Chain
	client  *ethclient.Client // in process, for sending
	dep     *contracts.Deployment
	pc      *bindings.PaymentChannels
	pcAt    *bind.BoundContract
	token   *bindings.TestUSD
	tokenAt *bind.BoundContract

	payer, provider, other testnet.DevAccount
	hotKey                 *ecdsa.PrivateKey
	hot                    common.Address
}

func tusd(units int64) *big.Int { return big.NewInt(units) } // base units: 6 decimals

func newDevChain(t *testing.T) *devChain {
	t.Helper()
	chain := testnet.StartT(t, testnet.Config{})
	accts := chain.Accounts()
	c := &devChain{chain: chain, client: chain.Client(), payer: accts[1], provider: accts[2], other: accts[3]}
	c.hotKey, _ = crypto.GenerateKey()
	c.hot = crypto.PubkeyToAddress(c.hotKey.PublicKey)
	dep, err := testnet.Deploy(t.Context(), c.client, accts[0].Key, testnet.DeployOptions{
		WithdrawalDelay: withdrawalDelay,
		TestToken:       true,
		Mint:            map[common.Address]*big.Int{c.payer.Address: tusd(1_000_000_000_000)},
		PollInterval:    10 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	c.dep = dep
	c.pc = bindings.NewPaymentChannels()
	c.pcAt = c.pc.Instance(c.client, dep.PaymentChannels)
	c.token = bindings.NewTestUSD()
	c.tokenAt = c.token.Instance(c.client, *dep.Token)
	return c
}

func (c *devChain) send(t *testing.T, key *ecdsa.PrivateKey, to *bind.BoundContract, data []byte, value *big.Int) *types.Receipt {
	t.Helper()
	return testnet.TransactT(t, c.client, c.chain.ChainID(), key, to, data, value)
}

// open opens a channel from the payer to provider and returns its id and
// the receipt's block.
func (c *devChain) open(t *testing.T, provider common.Address, asset common.Address, amount *big.Int, salt string) (common.Hash, uint64) {
	t.Helper()
	var value *big.Int
	if asset == (common.Address{}) {
		value = amount
	} else {
		c.send(t, c.payer.Key, c.tokenAt, c.token.PackApprove(c.dep.PaymentChannels, amount), nil)
	}
	r := c.send(t, c.payer.Key, c.pcAt, c.pc.PackOpen(provider, c.hot, asset, amount, crypto.Keccak256Hash([]byte(salt))), value)
	for _, l := range r.Logs {
		if ev, err := c.pc.UnpackChannelOpenedEvent(l); err == nil {
			return ev.ChannelId, r.BlockNumber.Uint64()
		}
	}
	t.Fatal("no ChannelOpened event")
	return common.Hash{}, 0
}

func (c *devChain) topUp(t *testing.T, id common.Hash, asset common.Address, amount *big.Int) uint64 {
	t.Helper()
	var value *big.Int
	if asset == (common.Address{}) {
		value = amount
	} else {
		c.send(t, c.payer.Key, c.tokenAt, c.token.PackApprove(c.dep.PaymentChannels, amount), nil)
	}
	return c.send(t, c.payer.Key, c.pcAt, c.pc.PackTopUp(id, amount), value).BlockNumber.Uint64()
}

// claim has providerKey claim amounts[i] on ids[i] in one transaction.
func (c *devChain) claim(t *testing.T, providerKey *ecdsa.PrivateKey, ids []common.Hash, amounts []*big.Int) uint64 {
	t.Helper()
	domain := c.dep.Domain()
	var claims []bindings.PaymentChannelsClaim
	for i, id := range ids {
		digest, err := domain.VoucherDigest(&contracts.Voucher{ChannelID: id, CumulativeAmount: amounts[i]})
		if err != nil {
			t.Fatal(err)
		}
		sig, err := contracts.Sign(digest, c.hotKey)
		if err != nil {
			t.Fatal(err)
		}
		r, vs, err := contracts.Compact(sig)
		if err != nil {
			t.Fatal(err)
		}
		claims = append(claims, bindings.PaymentChannelsClaim{ChannelId: id, VoucherAmount: amounts[i], Amount: amounts[i],
			ReceiptsRoot: crypto.Keccak256Hash(id[:]), R: r, Vs: vs})
	}
	return c.send(t, providerKey, c.pcAt, c.pc.PackClaimMany(claims), nil).BlockNumber.Uint64()
}

func (c *devChain) view(t *testing.T, id common.Hash, block uint64) channelView {
	t.Helper()
	v, err := bind.Call(c.pcAt, &bind.CallOpts{Context: t.Context(), BlockNumber: new(big.Int).SetUint64(block)}, c.pc.PackGetChannel(id), c.pc.UnpackGetChannel)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func dial(t *testing.T, url string) *ethclient.Client {
	t.Helper()
	client, err := ethclient.DialContext(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return client
}

// start runs w until the test ends or stop is called.
func start(t *testing.T, w *Watcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor waits until w has applied block n.
func waitFor(t *testing.T, w *Watcher, n uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := w.WaitFor(ctx, n); err != nil {
		t.Fatalf("waiting for block %d (at %d, stats %+v): %v", n, w.Head(), w.Stats(), err)
	}
}

// eventually waits until cond holds, polling.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-tick.C:
		}
	}
}

// check asserts w's state of id: the amounts given, and everything equal to
// the getChannel view at w's head.
func (c *devChain) check(t *testing.T, w *Watcher, id common.Hash, deposit, claimed *big.Int, withdrawal, closed bool) Channel {
	t.Helper()
	ch, ok := w.Channel(id)
	if !ok {
		t.Fatalf("channel %s unknown at block %d", id, w.Head())
	}
	if ch.Deposit.Cmp(deposit) != 0 || ch.Claimed.Cmp(claimed) != 0 || (ch.WithdrawableAt != 0) != withdrawal || ch.Closed != closed {
		t.Fatalf("channel %s: deposit %s claimed %s withdrawableAt %d closed %v; want %s %s %v %v",
			id, ch.Deposit, ch.Claimed, ch.WithdrawableAt, ch.Closed, deposit, claimed, withdrawal, closed)
	}
	v := c.view(t, id, w.Head())
	if ch.Payer != v.Payer || ch.Provider != v.Provider || ch.Signer != v.Signer || ch.Asset != v.Asset ||
		ch.Deposit.Cmp(v.Deposit) != 0 || ch.Claimed.Cmp(v.Claimed) != 0 || ch.WithdrawableAt != v.WithdrawableAt || ch.Closed != v.Closed {
		t.Fatalf("channel %s: watcher %+v, view %+v", id, ch, v)
	}
	return ch
}

func TestFollowsChannels(t *testing.T) {
	for _, transport := range []string{"http", "ws"} {
		t.Run(transport, func(t *testing.T) {
			c := newDevChain(t)
			url := c.chain.HTTPURL()
			if transport == "ws" {
				url = c.chain.WSURL()
			}
			w := New(dial(t, url), c.dep, c.provider.Address, NewMemStore())
			w.Logger = testLogger(t)
			w.PollInterval = 20 * time.Millisecond
			if transport == "ws" {
				// Only the subscription can wake the watcher in time.
				w.PollInterval = time.Hour
			}
			changes, cancel := w.Subscribe()
			defer cancel()
			start(t, w)
			if transport == "ws" {
				eventually(t, "a log subscription", func() bool { return w.Stats().Subscribed })
			}

			ethDeposit := new(big.Int).Add(big.NewInt(2*params.Ether), big.NewInt(1))
			ethID, _ := c.open(t, c.provider.Address, common.Address{}, ethDeposit, "eth")
			tusdDeposit := tusd(100_000_001)
			tusdID, block := c.open(t, c.provider.Address, *c.dep.Token, tusdDeposit, "tusd")
			waitFor(t, w, block)
			ch := c.check(t, w, ethID, ethDeposit, new(big.Int), false, false)
			if ch.Payer != c.payer.Address || ch.Signer != c.hot || ch.Asset != (common.Address{}) || ch.OpenedBlock == 0 {
				t.Fatalf("ETH channel %+v", ch)
			}
			ch = c.check(t, w, tusdID, tusdDeposit, new(big.Int), false, false)
			if ch.Asset != *c.dep.Token || ch.OpenedBlock != block {
				t.Fatalf("TUSD channel %+v", ch)
			}

			ethTop := new(big.Int).Add(big.NewInt(params.Ether/2), big.NewInt(3))
			c.topUp(t, ethID, common.Address{}, ethTop)
			ethDeposit.Add(ethDeposit, ethTop)
			tusdTop := tusd(5_000_007)
			block = c.topUp(t, tusdID, *c.dep.Token, tusdTop)
			tusdDeposit.Add(tusdDeposit, tusdTop)
			waitFor(t, w, block)
			c.check(t, w, ethID, ethDeposit, new(big.Int), false, false)
			c.check(t, w, tusdID, tusdDeposit, new(big.Int), false, false)

			ethClaim, tusdClaim := big.NewInt(612_345_678_901_234), tusd(2_345_678)
			block = c.claim(t, c.provider.Key, []common.Hash{ethID, tusdID}, []*big.Int{ethClaim, tusdClaim})
			waitFor(t, w, block)
			c.check(t, w, ethID, ethDeposit, ethClaim, false, false)
			c.check(t, w, tusdID, tusdDeposit, tusdClaim, false, false)

			c.send(t, c.payer.Key, c.pcAt, c.pc.PackRequestWithdrawal(ethID), nil)
			block = c.send(t, c.payer.Key, c.pcAt, c.pc.PackRequestWithdrawal(tusdID), nil).BlockNumber.Uint64()
			waitFor(t, w, block)
			c.check(t, w, ethID, ethDeposit, ethClaim, true, false)
			c.check(t, w, tusdID, tusdDeposit, tusdClaim, true, false)

			// Inside the window the provider still claims.
			tusdClaim = tusd(3_000_000)
			block = c.claim(t, c.provider.Key, []common.Hash{tusdID}, []*big.Int{tusdClaim})
			waitFor(t, w, block)
			c.check(t, w, tusdID, tusdDeposit, tusdClaim, true, false)

			if _, err := c.chain.AdjustTime(withdrawalDelay + time.Second); err != nil {
				t.Fatal(err)
			}
			block = c.send(t, c.payer.Key, c.pcAt, c.pc.PackFinalizeWithdrawal(ethID), nil).BlockNumber.Uint64()
			waitFor(t, w, block)
			c.check(t, w, ethID, ethDeposit, ethClaim, true, true)
			c.check(t, w, tusdID, tusdDeposit, tusdClaim, true, false)

			var got []Change
			timeout := time.After(30 * time.Second)
			for len(got) < 10 {
				select {
				case ch := <-changes:
					got = append(got, ch)
				case <-timeout:
					t.Fatalf("changes so far: %v", got)
				}
			}
			for id, want := range map[common.Hash][]ChangeKind{
				ethID:  {ChangeOpened, ChangeToppedUp, ChangeClaimed, ChangeWithdrawalRequested, ChangeWithdrawn},
				tusdID: {ChangeOpened, ChangeToppedUp, ChangeClaimed, ChangeWithdrawalRequested, ChangeClaimed},
			} {
				if k := kinds(got, id); fmt.Sprint(k) != fmt.Sprint(want) {
					t.Errorf("changes of %s: %v, want %v", id, k, want)
				}
			}
			last := got[len(got)-1]
			if last.Kind != ChangeWithdrawn || last.Channel.ID != ethID || !last.Channel.Closed || last.Block != block || last.TxHash == (common.Hash{}) {
				t.Errorf("last change %+v", last)
			}
			if s := w.Stats(); s.Channels != 2 || s.Events != 10 || s.RPCErrors != 0 || s.Subscribed != (transport == "ws") || !s.Synced {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestIgnoresOtherProviders(t *testing.T) {
	c := newDevChain(t)
	w := New(dial(t, c.chain.HTTPURL()), c.dep, c.provider.Address, NewMemStore())
	w.Logger = testLogger(t)
	w.PollInterval = 20 * time.Millisecond
	start(t, w)

	theirID, _ := c.open(t, c.other.Address, common.Address{}, big.NewInt(params.Ether), "theirs")
	ourID, _ := c.open(t, c.provider.Address, common.Address{}, big.NewInt(params.Ether), "ours")
	c.topUp(t, theirID, common.Address{}, big.NewInt(5))
	c.claim(t, c.other.Key, []common.Hash{theirID}, []*big.Int{big.NewInt(100)})
	block := c.send(t, c.payer.Key, c.pcAt, c.pc.PackRequestWithdrawal(theirID), nil).BlockNumber.Uint64()
	waitFor(t, w, block)

	chs := w.Channels()
	if len(chs) != 1 || chs[0].ID != ourID {
		t.Fatalf("channels %+v, want only %s", chs, ourID)
	}
	c.check(t, w, ourID, big.NewInt(params.Ether), new(big.Int), false, false)
	if _, err := w.Lookup(t.Context(), theirID); !errors.Is(err, ErrUnknownChannel) {
		t.Fatalf("Lookup(their channel) = %v, want ErrUnknownChannel", err)
	}
	if s := w.Stats(); s.Events != 1 || s.BadEvents != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestConfirmations: with 3 confirmations a channel shows once two blocks
// are on top of its opening; Lookup meanwhile says it is not confirmed.
func TestConfirmations(t *testing.T) {
	c := newDevChain(t)
	client := dial(t, c.chain.HTTPURL())
	w := New(client, c.dep, c.provider.Address, NewMemStore())
	w.Logger = testLogger(t)
	w.PollInterval = 10 * time.Millisecond
	w.Confirmations = 3
	w.LookupInterval = 0
	start(t, w)
	// A second watcher that does not run: it learns only through Lookup.
	idle := New(client, c.dep, c.provider.Address, NewMemStore())
	idle.Confirmations = 3
	idle.LookupInterval = 0

	id, opened := c.open(t, c.provider.Address, common.Address{}, big.NewInt(params.Ether), "confirm")
	for mined := range 2 {
		eventually(t, "the watcher to see the head", func() bool {
			s := w.Stats()
			return s.ChainHead == opened+uint64(mined) && s.Processed == opened+uint64(mined)-2 && s.Synced
		})
		if _, ok := w.Channel(id); ok {
			t.Fatalf("channel visible with %d blocks on top", mined)
		}
		for _, x := range []*Watcher{w, idle} {
			if _, err := x.Lookup(t.Context(), id); !errors.Is(err, ErrNotConfirmed) {
				t.Fatalf("Lookup with %d blocks on top = %v, want ErrNotConfirmed", mined, err)
			}
		}
		if _, err := c.chain.Mine(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, w, opened)
	c.check(t, w, id, big.NewInt(params.Ether), new(big.Int), false, false)
	if w.Head() != opened {
		t.Fatalf("head %d, want %d", w.Head(), opened)
	}

	ch, err := idle.Lookup(t.Context(), id)
	if err != nil || ch.Deposit.Cmp(big.NewInt(params.Ether)) != 0 || ch.UpdatedBlock != opened {
		t.Fatalf("Lookup once confirmed = %+v, %v", ch, err)
	}
	if _, ok := idle.Channel(id); !ok {
		t.Fatal("Lookup did not adopt the channel")
	}
	if _, err := idle.Lookup(t.Context(), crypto.Keccak256Hash([]byte("nobody"))); !errors.Is(err, ErrUnknownChannel) {
		t.Fatalf("Lookup(made up id) = %v", err)
	}
}

// recorder wraps a Backend: it records the eth_getLogs ranges and
// subscriptions, and fails the next calls on demand.
type recorder struct {
	Backend
	mu         sync.Mutex
	failNext   int
	froms      []uint64
	subscribes int
}

func (r *recorder) fail(n int) {
	r.mu.Lock()
	r.failNext = n
	r.mu.Unlock()
}

func (r *recorder) enter() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failNext > 0 {
		r.failNext--
		return errInjected
	}
	return nil
}

func (r *recorder) filterFroms() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.froms...)
}

func (r *recorder) BlockNumber(ctx context.Context) (uint64, error) {
	if err := r.enter(); err != nil {
		return 0, err
	}
	return r.Backend.BlockNumber(ctx)
}

func (r *recorder) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	return r.Backend.HeaderByNumber(ctx, n)
}

func (r *recorder) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.froms = append(r.froms, q.FromBlock.Uint64())
	r.mu.Unlock()
	return r.Backend.FilterLogs(ctx, q)
}

func (r *recorder) SubscribeFilterLogs(ctx context.Context, q ethereum.FilterQuery, ch chan<- types.Log) (ethereum.Subscription, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.subscribes++
	r.mu.Unlock()
	return r.Backend.SubscribeFilterLogs(ctx, q, ch)
}

func (r *recorder) CallContract(ctx context.Context, msg ethereum.CallMsg, n *big.Int) ([]byte, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	return r.Backend.CallContract(ctx, msg, n)
}

// TestRestart: a watcher started on the store of a stopped one resumes
// after its cursor, without reading from the start block again.
func TestRestart(t *testing.T) {
	c := newDevChain(t)
	client := dial(t, c.chain.HTTPURL())
	store := NewMemStore()
	w := New(&recorder{Backend: client}, c.dep, c.provider.Address, store)
	w.Logger = testLogger(t)
	w.PollInterval = 10 * time.Millisecond
	stop := start(t, w)
	deposit := tusd(42_000_000)
	id, block := c.open(t, c.provider.Address, *c.dep.Token, deposit, "restart")
	waitFor(t, w, block)
	stop()
	cur := w.Head()
	if cur <= c.dep.StartBlock {
		t.Fatalf("cursor %d is not past the start block %d", cur, c.dep.StartBlock)
	}

	top := tusd(1)
	c.topUp(t, id, *c.dep.Token, top)
	deposit.Add(deposit, top)
	claimed := tusd(17)
	c.claim(t, c.provider.Key, []common.Hash{id}, []*big.Int{claimed})
	block = c.send(t, c.payer.Key, c.pcAt, c.pc.PackRequestWithdrawal(id), nil).BlockNumber.Uint64()

	rec := &recorder{Backend: client}
	w2 := New(rec, c.dep, c.provider.Address, store)
	w2.Logger = testLogger(t)
	w2.PollInterval = 10 * time.Millisecond
	if err := w2.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ch, ok := w2.Channel(id); !ok || ch.Deposit.Cmp(tusd(42_000_000)) != 0 || w2.Head() != cur {
		t.Fatalf("loaded %+v at %d, want the state at %d", ch, w2.Head(), cur)
	}
	start(t, w2)
	waitFor(t, w2, block)
	c.check(t, w2, id, deposit, claimed, true, false)
	froms := rec.filterFroms()
	if len(froms) == 0 {
		t.Fatal("no eth_getLogs after the restart")
	}
	for _, from := range froms {
		if from <= cur {
			t.Fatalf("the restarted watcher read from block %d; its cursor was %d", from, cur)
		}
	}
}

// TestRecoversFromRPCErrors: calls that fail (the log subscription's
// included) are counted, retried, and leave the state exact.
func TestRecoversFromRPCErrors(t *testing.T) {
	c := newDevChain(t)
	rec := &recorder{Backend: dial(t, c.chain.WSURL())}
	w := New(rec, c.dep, c.provider.Address, NewMemStore())
	w.Logger = testLogger(t)
	w.PollInterval = 20 * time.Millisecond
	w.MinBackoff, w.MaxBackoff = 5*time.Millisecond, 40*time.Millisecond
	start(t, w)
	id, block := c.open(t, c.provider.Address, common.Address{}, big.NewInt(params.Ether), "flaky")
	waitFor(t, w, block)

	const failures = 7
	rec.fail(failures)
	top := big.NewInt(123_456_789)
	c.topUp(t, id, common.Address{}, top)
	block = c.claim(t, c.provider.Key, []common.Hash{id}, []*big.Int{big.NewInt(99)})
	waitFor(t, w, block)
	c.check(t, w, id, new(big.Int).Add(big.NewInt(params.Ether), top), big.NewInt(99), false, false)
	eventually(t, "a new subscription", func() bool { return w.Stats().Subscribed })
	if s := w.Stats(); s.RPCErrors != failures {
		t.Fatalf("RPC errors %d, want %d", s.RPCErrors, failures)
	}
	rec.mu.Lock()
	subs := rec.subscribes
	rec.mu.Unlock()
	if subs < 2 {
		t.Fatalf("%d subscriptions, want a new one after the failures", subs)
	}
}
