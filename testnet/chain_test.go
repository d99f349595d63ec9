package testnet_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/paynode/paynode/testnet"
)

// wellKnown are the addresses anvil prints for the mnemonic
// "test test test test test test test test test test test junk".
var wellKnown = []string{
	"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
	"0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
	"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
	"0x90F79bf6EB2c4f870365E785982E1f101E93b906",
	"0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
	"0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
	"0x976EA74026E726554dB657fA54763abd0C3a0aa9",
	"0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
	"0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
	"0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
}

func TestDevAccountsAreTheWellKnownOnes(t *testing.T) {
	accounts := testnet.DevAccounts()
	if len(accounts) != len(wellKnown) {
		t.Fatalf("got %d dev accounts, want %d", len(accounts), len(wellKnown))
	}
	for i, a := range accounts {
		want := common.HexToAddress(wellKnown[i])
		if got := crypto.PubkeyToAddress(a.Key.PublicKey); got != want {
			t.Errorf("%s: key derives to %s, want %s", a.Name, got, want)
		}
		if a.Address != want {
			t.Errorf("%s: Address %s, want %s", a.Name, a.Address, want)
		}
	}
	// Callers get a copy: changing it changes nothing for the next caller.
	accounts[0].Name = "changed"
	if testnet.DevAccounts()[0].Name == "changed" {
		t.Error("DevAccounts returns a shared slice")
	}
}

func TestChainIDOverHTTPAndWS(t *testing.T) {
	chain := testnet.StartT(t, testnet.Config{ChainID: 4242})
	httpURL, wsURL := mustParse(t, chain.HTTPURL()), mustParse(t, chain.WSURL())
	if httpURL.Scheme != "http" || wsURL.Scheme != "ws" {
		t.Fatalf("schemes: %s and %s", chain.HTTPURL(), chain.WSURL())
	}
	if httpURL.Hostname() != "127.0.0.1" || httpURL.Port() == "0" {
		t.Errorf("HTTP endpoint %s is not on a chosen port of 127.0.0.1", chain.HTTPURL())
	}
	if httpURL.Host != wsURL.Host {
		t.Errorf("WebSocket %s is not on the HTTP listener %s", chain.WSURL(), chain.HTTPURL())
	}
	for _, endpoint := range []string{chain.HTTPURL(), chain.WSURL()} {
		client := dial(t, endpoint)
		id, err := client.ChainID(t.Context())
		if err != nil {
			t.Fatalf("%s: %v", endpoint, err)
		}
		if id.Uint64() != 4242 {
			t.Errorf("%s: chain id %d, want 4242", endpoint, id)
		}
	}
	if chain.ChainID().Uint64() != 4242 {
		t.Errorf("ChainID() = %d", chain.ChainID())
	}
	if id, err := chain.Client().ChainID(t.Context()); err != nil || id.Uint64() != 4242 {
		t.Errorf("in-process client: chain id %v, err %v", id, err)
	}
}

func TestSeparateWSListener(t *testing.T) {
	chain := testnet.StartT(t, testnet.Config{WSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:" + freePort(t)})
	if mustParse(t, chain.HTTPURL()).Host == mustParse(t, chain.WSURL()).Host {
		t.Fatalf("WebSocket %s shares the HTTP listener", chain.WSURL())
	}
	if _, err := dial(t, chain.WSURL()).ChainID(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestGenesisFunding(t *testing.T) {
	chain := testnet.StartT(t, testnet.Config{})
	accounts := chain.Accounts()
	if len(accounts) != 10 {
		t.Fatalf("%d accounts funded", len(accounts))
	}
	for _, a := range accounts {
		balance, err := chain.Client().BalanceAt(t.Context(), a.Address, nil)
		if err != nil {
			t.Fatal(err)
		}
		if balance.Cmp(testnet.DefaultBalance()) != 0 {
			t.Errorf("%s holds %s wei", a.Name, balance)
		}
	}
}

// A transfer sent over HTTP is sealed with nobody calling Mine, and the
// balances move by exactly the value and the value plus the fee.
func TestTransferIsMinedOnDemand(t *testing.T) {
	chain := testnet.StartT(t, testnet.Config{})
	client := dial(t, chain.HTTPURL())
	ctx := t.Context()
	from, to := chain.Accounts()[0], chain.Accounts()[1]
	value := big.NewInt(1_234_567_890_123_456_789)

	gasPrice, err := client.SuggestGasPrice(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := client.SuggestGasTipCap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if head.BaseFee == nil || head.BaseFee.Sign() == 0 {
		t.Fatalf("base fee %v: want a real one", head.BaseFee)
	}

	cases := []struct {
		name string
		tx   func(nonce uint64) types.TxData
	}{
		{"legacy at suggested gas price", func(nonce uint64) types.TxData {
			return &types.LegacyTx{Nonce: nonce, To: &to.Address, Value: value, Gas: params.TxGas, GasPrice: gasPrice}
		}},
		{"dynamic fee at suggested tip", func(nonce uint64) types.TxData {
			feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
			return &types.DynamicFeeTx{ChainID: chain.ChainID(), Nonce: nonce, To: &to.Address, Value: value,
				Gas: params.TxGas, GasTipCap: tip, GasFeeCap: feeCap}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nonce, err := client.PendingNonceAt(ctx, from.Address)
			if err != nil {
				t.Fatal(err)
			}
			tx := types.MustSignNewTx(from.Key, types.LatestSignerForChainID(chain.ChainID()), tc.tx(nonce))
			if err := client.SendTransaction(ctx, tx); err != nil {
				t.Fatal(err)
			}
			receipt := waitReceipt(t, client, tx.Hash(), 10*time.Second)
			if receipt.Status != types.ReceiptStatusSuccessful {
				t.Fatalf("status %d", receipt.Status)
			}
			before := new(big.Int).Sub(receipt.BlockNumber, big.NewInt(1))
			fee := new(big.Int).Mul(new(big.Int).SetUint64(receipt.GasUsed), receipt.EffectiveGasPrice)
			if fee.Sign() == 0 {
				t.Error("the transfer paid no fee")
			}
			assertDelta(t, client, from.Address, before, receipt.BlockNumber, new(big.Int).Neg(new(big.Int).Add(value, fee)))
			assertDelta(t, client, to.Address, before, receipt.BlockNumber, value)
		})
	}
}

func TestNewHeadsOverWS(t *testing.T) {
	chain := testnet.StartT(t, testnet.Config{})
	client := dial(t, chain.WSURL())
	heads := make(chan *types.Header, 4)
	sub, err := client.SubscribeNewHead(t.Context(), heads)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	sendTransfer(t, chain, chain.Accounts()[2], chain.Accounts()[3].Address)
	select {
	case h := <-heads:
		if h.Number.Sign() <= 0 {
			t.Errorf("head number %s", h.Number)
		}
	case err := <-sub.Err():
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("no head within 10s")
	}
}

func TestTwoChainsInOneProcess(t *testing.T) {
	a := testnet.StartT(t, testnet.Config{ChainID: 1001})
	b := testnet.StartT(t, testnet.Config{ChainID: 1002})
	if a.HTTPURL() == b.HTTPURL() {
		t.Fatalf("both chains on %s", a.HTTPURL())
	}
	sendTransfer(t, a, a.Accounts()[0], a.Accounts()[1].Address)
	for _, c := range []struct {
		chain  *testnet.Chain
		id     uint64
		blocks uint64
	}{{a, 1001, 1}, {b, 1002, 0}} {
		client := dial(t, c.chain.HTTPURL())
		id, err := client.ChainID(t.Context())
		if err != nil || id.Uint64() != c.id {
			t.Errorf("%s: chain id %v, err %v", c.chain.HTTPURL(), id, err)
		}
		n, err := client.BlockNumber(t.Context())
		if err != nil || n != c.blocks {
			t.Errorf("%s: block %d, err %v; want %d", c.chain.HTTPURL(), n, err, c.blocks)
		}
	}
}

func TestCloseFreesThePort(t *testing.T) {
	chain, err := testnet.Start(t.Context(), testnet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	addr := mustParse(t, chain.HTTPURL()).Host
	if err := chain.Close(); err != nil {
		t.Fatal(err)
	}
	if err := chain.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := chain.Mine(); !errors.Is(err, testnet.ErrClosed) {
		t.Errorf("Mine after Close: %v, want ErrClosed", err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port still taken after Close: %v", err)
	}
	l.Close()
	// And a new chain can take the same fixed port.
	again := testnet.StartT(t, testnet.Config{HTTPAddr: addr})
	if got := mustParse(t, again.HTTPURL()).Host; got != addr {
		t.Errorf("restarted on %s, want %s", got, addr)
	}
}

func TestMineAndAdjustTime(t *testing.T) {
	chain := testnet.StartT(t, testnet.Config{})
	first, err := chain.Mine()
	if err != nil {
		t.Fatal(err)
	}
	if first.NumberU64() != 1 || len(first.Transactions()) != 0 {
		t.Fatalf("Mine: block %d with %d txs", first.NumberU64(), len(first.Transactions()))
	}

	const skip = 7 * 24 * time.Hour
	start := uint64(time.Now().Unix())
	adjusted, err := chain.AdjustTime(skip)
	if err != nil {
		t.Fatal(err)
	}
	if adjusted.NumberU64() != 2 {
		t.Errorf("AdjustTime sealed block %d, want 2", adjusted.NumberU64())
	}
	if min := start + uint64(skip/time.Second); adjusted.Time() < min {
		t.Errorf("block time %d, want at least %d", adjusted.Time(), min)
	}
	if max := uint64(time.Now().Unix()) + uint64(skip/time.Second); adjusted.Time() > max {
		t.Errorf("block time %d, want at most %d", adjusted.Time(), max)
	}

	// The clock stays moved: a transaction sent now lands after it.
	receipt := sendTransfer(t, chain, chain.Accounts()[4], chain.Accounts()[5].Address)
	head, err := chain.Client().HeaderByNumber(t.Context(), receipt.BlockNumber)
	if err != nil {
		t.Fatal(err)
	}
	if head.Time <= adjusted.Time() {
		t.Errorf("next block at %d, not after the adjusted %d", head.Time, adjusted.Time())
	}

	if _, err := chain.AdjustTime(500 * time.Millisecond); err == nil {
		t.Error("AdjustTime under a second: want an error")
	}
}

func TestBlockPeriod(t *testing.T) {
	chain := testnet.StartT(t, testnet.Config{BlockPeriod: time.Second})
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := chain.Client().BlockNumber(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n >= 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("block %d after 10s of a 1s period", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestConcurrentSendersAllMined(t *testing.T) {
	chain := testnet.StartT(t, testnet.Config{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			from := chain.Accounts()[i]
			for range 5 {
				if _, err := transfer(t.Context(), chain, from, chain.Accounts()[9].Address); err != nil {
					t.Errorf("%s: %v", from.Name, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestStartRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]testnet.Config{
		"sub-second period": {BlockPeriod: 200 * time.Millisecond},
		"negative period":   {BlockPeriod: -time.Second},
		"no port":           {HTTPAddr: "127.0.0.1"},
		"no host":           {HTTPAddr: ":0"},
		"bad ws address":    {WSAddr: "127.0.0.1:http"},
	} {
		t.Run(name, func(t *testing.T) {
			chain, err := testnet.Start(t.Context(), cfg)
			if err == nil {
				chain.Close()
				t.Fatal("want an error")
			}
			if !strings.HasPrefix(err.Error(), "testnet: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestLoggerGetsNoGethInfo(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	chain := testnet.StartT(t, testnet.Config{Logger: logger})
	if err := chain.Close(); err != nil {
		t.Fatal(err)
	}
	// Geth logs "HTTP server started" and similar at info: none of it may
	// come through; our own start line does.
	out := buf.String()
	for line := range strings.Lines(out) {
		if strings.Contains(line, "component=geth") && !strings.Contains(line, "level=WARN") && !strings.Contains(line, "level=ERROR") {
			t.Errorf("geth line under warn came through: %s", line)
		}
	}
	if !strings.Contains(out, "dev chain started") {
		t.Errorf("no start line:\n%s", out)
	}
}

func sendTransfer(t *testing.T, chain *testnet.Chain, from testnet.DevAccount, to common.Address) *types.Receipt {
	t.Helper()
	receipt, err := transfer(t.Context(), chain, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return receipt
}

// transfer sends 1 wei over the in-process client and waits for the receipt.
func transfer(ctx context.Context, chain *testnet.Chain, from testnet.DevAccount, to common.Address) (*types.Receipt, error) {
	client := chain.Client()
	nonce, err := client.PendingNonceAt(ctx, from.Address)
	if err != nil {
		return nil, err
	}
	gasPrice, err := client.SuggestGasPrice(ctx)
	if err != nil {
		return nil, err
	}
	tx := types.MustSignNewTx(from.Key, types.LatestSignerForChainID(chain.ChainID()),
		&types.LegacyTx{Nonce: nonce, To: &to, Value: big.NewInt(1), Gas: params.TxGas, GasPrice: gasPrice})
	if err := client.SendTransaction(ctx, tx); err != nil {
		return nil, err
	}
	return receiptWithin(ctx, client, tx.Hash(), 10*time.Second)
}

func waitReceipt(t *testing.T, client *ethclient.Client, hash common.Hash, timeout time.Duration) *types.Receipt {
	t.Helper()
	receipt, err := receiptWithin(t.Context(), client, hash, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return receipt
}

// receiptWithin polls for a receipt more often than bind.WaitMined, whose
// one-second ticker would dominate these tests.
func receiptWithin(ctx context.Context, client *ethclient.Client, hash common.Hash, timeout time.Duration) (*types.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for {
		receipt, err := client.TransactionReceipt(ctx, hash)
		if err == nil {
			return receipt, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("transaction %s not mined within %s: %v", hash, timeout, err)
		case <-ticker.C:
		}
	}
}

func assertDelta(t *testing.T, client *ethclient.Client, addr common.Address, before, after *big.Int, want *big.Int) {
	t.Helper()
	b0, err := client.BalanceAt(t.Context(), addr, before)
	if err != nil {
		t.Fatal(err)
	}
	b1, err := client.BalanceAt(t.Context(), addr, after)
	if err != nil {
		t.Fatal(err)
	}
	if got := new(big.Int).Sub(b1, b0); got.Cmp(want) != 0 {
		t.Errorf("%s: balance moved by %s, want %s", addr, got, want)
	}
}

func dial(t *testing.T, endpoint string) *ethclient.Client {
	t.Helper()
	client, err := ethclient.DialContext(t.Context(), endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return client
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A transaction whose fee cap is under the base fee stays pending. go-ethereum's
// own on-demand loop would seal empty blocks for it without end; ours seals
// one, logs, and goes on sealing the transactions that come after it, until
// the falling base fee lets the stuck one in.
func TestUnderpricedTransactionDoesNotStallSealing(t *testing.T) {
	var logs syncBuffer
	chain := testnet.StartT(t, testnet.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := t.Context()
	client := chain.Client()
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	stuckFrom := chain.Accounts()[6]
	feeCap := new(big.Int).Div(head.BaseFee, big.NewInt(2))
	stuck := types.MustSignNewTx(stuckFrom.Key, types.LatestSignerForChainID(chain.ChainID()), &types.DynamicFeeTx{
		ChainID: chain.ChainID(), Nonce: 0, To: &chain.Accounts()[7].Address, Value: big.NewInt(1),
		Gas: params.TxGas, GasTipCap: big.NewInt(1), GasFeeCap: feeCap,
	})
	if err := client.SendTransaction(ctx, stuck); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		sendTransfer(t, chain, chain.Accounts()[8], chain.Accounts()[7].Address)
		if _, err := client.TransactionReceipt(ctx, stuck.Hash()); err == nil {
			break
		}
		if i == 50 {
			t.Fatal("the underpriced transaction was never sealed")
		}
	}
	if !strings.Contains(logs.String(), "left out") {
		t.Errorf("no warning about the left-out transaction:\n%s", logs.String())
	}
}
