package api

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/payment"
	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/testnet"
)

// TestOnChain runs the server on the embedded dev chain: a channel opened
// on chain in ETH, read by the chain watcher, paid jobs pipelined through
// the real payment check, and sync reporting the deposit on chain.
func TestOnChain(t *testing.T) {
	chain := testnet.StartT(t, testnet.Config{})
	client := chain.Client()
	acc := chain.Accounts()
	d, err := testnet.Deploy(t.Context(), client, acc[0].Key, testnet.DeployOptions{PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	payer, provider := acc[1], acc[2]
	l, err := bolt.Open(t.TempDir(), bolt.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	w := chainwatch.New(client, d, provider.Address, ledger.MetaStore{L: l})
	w.PollInterval = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { defer close(watched); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-watched })

	// The payer funds a channel whose signer is the agent's hot key.
	hot, _ := crypto.GenerateKey()
	deposit := new(big.Int).Mul(big.NewInt(params.Ether), big.NewInt(2))
	pc := bindings.NewPaymentChannels()
	pcAt := pc.Instance(client, d.PaymentChannels)
	salt := common.BigToHash(big.NewInt(1))
	testnet.TransactT(t, client, chain.ChainID(), payer.Key, pcAt,
		pc.PackOpen(provider.Address, crypto.PubkeyToAddress(hot.PublicKey), common.Address{}, deposit, salt), deposit)
	id, err := bind.Call(pcAt, nil, pc.PackChannelId(payer.Address, provider.Address, crypto.PubkeyToAddress(hot.PublicKey), common.Address{}, salt), pc.UnpackChannelId)
	if err != nil {
		t.Fatal(err)
	}

	price, _ := contracts.ParsePrice("1000000000", "2000000000000", "8000000000000") // wei
	pay := payment.New(d, provider.Key, l, w, nil)
	srv, err := New(Options{
		Provider: provider.Address, Deployment: d,
		Offers:   []Offer{{ID: big.NewInt(1), Model: builtin.Name, Price: price, MaxTokens: 128}},
		Payments: pay, Channels: w, Ledger: l,
		Scheduler: &fakeScheduler{run: map[string]runFunc{builtin.Name: builtinRun(&builtin.Model{})}},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Shutdown(context.Background()); hs.Close() })

	f := &fixture{t: t, url: "ws" + strings.TrimPrefix(hs.URL, "http"), d: d, price: price}
	a := &agent{key: hot, channel: id, committed: new(big.Int)}
	c := f.connect(a)
	const jobs = 10
	for i := range jobs {
		c.send(f.submit(a, fmt.Sprintf("chain-%d", i), builtin.Name, fmt.Sprintf("question %d", i), 0, false))
	}
	sum := new(big.Int)
	for n := 0; n < jobs; {
		if r, ok := c.next().(*wire.Result); ok {
			if err := r.Verify(d.Domain(), provider.Address, id); err != nil {
				t.Fatal(err)
			}
			sum.Add(sum, r.Cost.Big())
			n++
		}
	}
	c.send(&wire.Sync{ChannelID: id})
	st := expect[*wire.Channel](c)
	if st.Deposit.Big().Cmp(deposit) != 0 || st.Charged.Big().Cmp(sum) != 0 || st.Reserved.Big().Sign() != 0 || st.ReceiptSeq != jobs {
		t.Fatalf("channel %+v, costs %s", st, sum)
	}
}
