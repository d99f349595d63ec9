package offers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/testnet"
)

type env struct {
	client *ethclient.Client
	d      *contracts.Deployment
	token  common.Address
	accts  []testnet.DevAccount
}

// newEnv starts a dev chain with the contracts deployed by dev0; tests
// use the other accounts as providers.
func newEnv(t *testing.T) *env {
	t.Helper()
	chain := testnet.StartT(t, testnet.Config{})
	client := chain.Client()
	accts := chain.Accounts()
	d, err := testnet.Deploy(t.Context(), client, accts[0].Key, testnet.DeployOptions{
		TestToken: true, PollInterval: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{client: client, d: d, token: *d.Token, accts: accts}
}

func (e *env) sync(t *testing.T, p testnet.DevAccount, want []Offer) ([]Registered, []Change, error) {
	t.Helper()
	return Sync(t.Context(), e.client, e.d, p.Key, want, Options{PollInterval: 5 * time.Millisecond, Timeout: time.Minute})
}

// mustSync syncs and checks that what Sync returns is what the chain holds.
func (e *env) mustSync(t *testing.T, p testnet.DevAccount, want []Offer) ([]Registered, []Change) {
	t.Helper()
	got, changes, err := e.sync(t, p, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Sync returned %d offers, want %d", len(got), len(want))
	}
	onChain := e.current(t, p)
	for i, r := range got {
		if !r.Active || !r.Offer.Equal(want[i]) {
			t.Errorf("offer %d: got %+v, want %+v active", i, r, want[i])
		}
		c := find(t, onChain, r.ID)
		if !c.Active || !c.Offer.Equal(want[i]) {
			t.Errorf("offer %d on chain: %+v, want %+v active", i, c, want[i])
		}
	}
	// The chain holds nothing else active.
	active := 0
	for _, r := range onChain {
		if r.Active {
			active++
		}
	}
	if active != len(want) {
		t.Errorf("%d active offers on chain, want %d", active, len(want))
	}
	return got, changes
}

func (e *env) current(t *testing.T, p testnet.DevAccount) []Registered {
	t.Helper()
	rs, err := Current(t.Context(), e.client, e.d, p.Address)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func (e *env) nonce(t *testing.T, a common.Address) uint64 {
	t.Helper()
	n, err := e.client.NonceAt(t.Context(), a, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func find(t *testing.T, rs []Registered, id *big.Int) Registered {
	t.Helper()
	for _, r := range rs {
		if r.ID.Cmp(id) == 0 {
			return r
		}
	}
	t.Fatalf("offer %s is not on chain", id)
	return Registered{}
}

func offer(model string, asset common.Address, base int64) Offer {
	return Offer{
		Model: model, Endpoint: "ws://127.0.0.1:7070/v1/agent", Asset: asset,
		Price:     contracts.Price{Base: big.NewInt(base), InPerM: big.NewInt(2_000_000), OutPerM: big.NewInt(8_000_000)},
		MaxTokens: 1024,
	}
}

func actions(cs []Change) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.Action
	}
	return strings.Join(s, ",")
}

func TestSyncLifecycle(t *testing.T) {
	e := newEnv(t)
	p := e.accts[1]
	want := []Offer{
		offer("paynode-test-1", common.Address{}, 1000),
		offer("paynode-test-1", e.token, 5),
		offer("paynode-test-2", common.Address{}, 7),
	}

	// First run registers everything.
	first, changes := e.mustSync(t, p, want)
	if got := actions(changes); got != "register,register,register" {
		t.Fatalf("first Sync: %s", got)
	}
	for i, c := range changes {
		if c.ID.Cmp(first[i].ID) != 0 || c.TxHash == (common.Hash{}) || c.Model != want[i].Model || c.Asset != want[i].Asset {
			t.Errorf("change %d: %+v (offer id %s)", i, c, first[i].ID)
		}
	}

	// The same config again sends nothing.
	n := e.nonce(t, p.Address)
	again, changes := e.mustSync(t, p, want)
	if got := actions(changes); got != "unchanged,unchanged,unchanged" {
		t.Fatalf("second Sync: %s", got)
	}
	if e.nonce(t, p.Address) != n {
		t.Fatal("a Sync with nothing to change sent a transaction")
	}
	for i := range again {
		if again[i].ID.Cmp(first[i].ID) != 0 || changes[i].TxHash != (common.Hash{}) {
			t.Errorf("offer %d: id %s, was %s; change %+v", i, again[i].ID, first[i].ID, changes[i])
		}
	}

	// A new price updates that offer only, in place.
	want[1].Price.OutPerM = big.NewInt(9_000_001)
	_, changes = e.mustSync(t, p, want)
	if got := actions(changes); got != "unchanged,update,unchanged" {
		t.Fatalf("after a price change: %s", got)
	}
	if changes[1].ID.Cmp(first[1].ID) != 0 {
		t.Errorf("update changed the id: %s, was %s", changes[1].ID, first[1].ID)
	}
	if got := e.nonce(t, p.Address); got != n+1 {
		t.Errorf("price change sent %d transactions, want 1", got-n)
	}
	if got := find(t, e.current(t, p), first[1].ID).Offer.Price.OutPerM; got.Cmp(big.NewInt(9_000_001)) != 0 {
		t.Errorf("outPerM on chain = %s", got)
	}

	// An offer dropped from the config is deactivated.
	_, changes = e.mustSync(t, p, want[:2])
	if got := actions(changes); got != "unchanged,unchanged,deactivate" {
		t.Fatalf("after removing an offer: %s", got)
	}
	if c := changes[2]; c.ID.Cmp(first[2].ID) != 0 || c.Model != "paynode-test-2" || c.TxHash == (common.Hash{}) {
		t.Errorf("deactivation: %+v", c)
	}
	if find(t, e.current(t, p), first[2].ID).Active {
		t.Error("the removed offer is still active")
	}

	// Wanted again: OfferRegistry cannot update or reactivate an inactive
	// offer, so it is registered anew.
	back, changes := e.mustSync(t, p, want)
	if got := actions(changes); got != "unchanged,unchanged,register" {
		t.Fatalf("after adding it back: %s", got)
	}
	if back[2].ID.Cmp(first[2].ID) == 0 {
		t.Error("the offer wanted again kept its inactive id")
	}
	onChain := e.current(t, p)
	if len(onChain) != 4 || find(t, onChain, first[2].ID).Active {
		t.Errorf("on chain: %+v", onChain)
	}

	// Everything dropped: everything deactivated.
	_, changes = e.mustSync(t, p, nil)
	if got := actions(changes); got != "deactivate,deactivate,deactivate" {
		t.Fatalf("after removing all: %s", got)
	}
}

// Extra active offers with one model and asset (a register whose Sync was
// interrupted before it saw it mined, say) are deactivated, keeping the one
// with the wanted terms.
func TestSyncDeactivatesExtraOffers(t *testing.T) {
	e := newEnv(t)
	p := e.accts[2]
	want := []Offer{offer("m", common.Address{}, 1)}
	reg := bindings.NewOfferRegistry()
	at := reg.Instance(e.client, e.d.OfferRegistry)
	chainID := new(big.Int).SetUint64(e.d.ChainID)
	stale := offer("m", common.Address{}, 2).input()
	testnet.TransactT(t, e.client, chainID, p.Key, at, reg.PackRegister(stale), nil)           // id 1
	testnet.TransactT(t, e.client, chainID, p.Key, at, reg.PackRegister(want[0].input()), nil) // id 2
	testnet.TransactT(t, e.client, chainID, p.Key, at, reg.PackRegister(stale), nil)           // id 3

	got, changes := e.mustSync(t, p, want)
	if a := actions(changes); a != "unchanged,deactivate,deactivate" {
		t.Fatalf("changes: %s", a)
	}
	if got[0].ID.Int64() != 2 || changes[1].ID.Int64() != 1 || changes[2].ID.Int64() != 3 {
		t.Errorf("kept %s, deactivated %s and %s; want 2, 1 and 3", got[0].ID, changes[1].ID, changes[2].ID)
	}
}

func TestSyncRefuses(t *testing.T) {
	e := newEnv(t)
	p := e.accts[3]

	poor, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	poorAcct := testnet.DevAccount{Name: "poor", Key: poor, Address: crypto.PubkeyToAddress(poor.PublicKey)}

	noEndpoint := offer("m", common.Address{}, 1)
	noEndpoint.Endpoint = ""
	overflow := offer("m", common.Address{}, 1)
	overflow.Price.Base = new(big.Int).Lsh(big.NewInt(1), 256)
	otherChain := *e.d
	otherChain.ChainID++

	for _, tc := range []struct {
		name  string
		p     testnet.DevAccount
		d     *contracts.Deployment
		opts  Options
		want  []Offer
		is    error
		named []string // in the error message
	}{
		{
			name: "duplicate model and asset",
			p:    p,
			want: []Offer{offer("m", common.Address{}, 1), offer("n", common.Address{}, 1), offer("m", common.Address{}, 2)},
			is:   ErrDuplicate, named: []string{`"m"/ETH`, "offers[0] and offers[2]"},
		},
		{
			name: "duplicate of a token offer",
			p:    p,
			want: []Offer{offer("m", e.token, 1), offer("m", e.token, 1)},
			is:   ErrDuplicate, named: []string{`"m"/` + e.token.Hex()},
		},
		{
			name: "no ETH for gas",
			p:    poorAcct,
			want: []Offer{offer("m", common.Address{}, 1)},
			is:   ErrNoFunds, named: []string{poorAcct.Address.Hex(), "holds 0 wei"},
		},
		{
			name:  "revert names the Solidity error",
			p:     p,
			want:  []Offer{noEndpoint},
			named: []string{"EmptyEndpoint()", `register "m"/ETH would revert`},
		},
		{
			name:  "price above uint256",
			p:     p,
			want:  []Offer{overflow},
			named: []string{"base", "uint256"},
		},
		{
			name:  "base fee above the fee cap",
			p:     p,
			opts:  Options{GasFeeCap: big.NewInt(1)},
			want:  []Offer{offer("m", common.Address{}, 1)},
			named: []string{"above the cap of 1 wei"},
		},
		{
			name:  "deployment of another chain",
			p:     p,
			d:     &otherChain,
			want:  []Offer{offer("m", common.Address{}, 1)},
			named: []string{fmt.Sprintf("chain %d", otherChain.ChainID)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.d
			if d == nil {
				d = e.d
			}
			n := e.nonce(t, tc.p.Address)
			tc.opts.PollInterval = 5 * time.Millisecond
			_, changes, err := Sync(t.Context(), e.client, d, tc.p.Key, tc.want, tc.opts)
			if err == nil {
				t.Fatal("Sync succeeded")
			}
			t.Log(err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error is not %v", tc.is)
			}
			for _, s := range tc.named {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q", s)
				}
			}
			if len(changes) != 0 || e.nonce(t, tc.p.Address) != n {
				t.Errorf("a refused Sync changed something: %+v", changes)
			}
		})
	}

	t.Run("revert is a RevertError", func(t *testing.T) {
		_, _, err := e.sync(t, p, []Offer{{Model: "m", Endpoint: "ws://x", Price: offer("m", common.Address{}, 1).Price}})
		var rev *contracts.RevertError
		if !errors.As(err, &rev) || rev.Name != "ZeroMaxTokens" {
			t.Fatalf("err = %v, want a ZeroMaxTokens revert", err)
		}
	})
}

// gasGuess skips gas estimation, so that a transaction that reverts is sent
// and mined.
type gasGuess struct{ *ethclient.Client }

func (gasGuess) EstimateGas(context.Context, ethereum.CallMsg) (uint64, error) { return 5_000_000, nil }

func TestSyncMinedRevert(t *testing.T) {
	e := newEnv(t)
	p := e.accts[8]
	bad := offer("bad", common.Address{}, 1)
	bad.MaxTokens = 0
	want := []Offer{offer("good", common.Address{}, 1), bad}
	_, changes, err := Sync(t.Context(), gasGuess{e.client}, e.d, p.Key, want, Options{PollInterval: 5 * time.Millisecond})
	if err == nil {
		t.Fatal("Sync succeeded")
	}
	t.Log(err)
	for _, s := range []string{`register "bad"/ETH`, "reverted", "ZeroMaxTokens()"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not say %q", s)
		}
	}
	// What was mined before the revert is reported.
	if len(changes) != 1 || changes[0].Action != ActionRegister || changes[0].Model != "good" || changes[0].TxHash == (common.Hash{}) {
		t.Errorf("changes: %+v", changes)
	}
}

func TestCurrentPages(t *testing.T) {
	e := newEnv(t)
	p := e.accts[4]
	defer func(n int) { pageSize = n }(pageSize)
	pageSize = 3

	if rs := e.current(t, p); len(rs) != 0 {
		t.Fatalf("a provider without offers has %d", len(rs))
	}
	var want []Offer
	for i := range 7 {
		want = append(want, offer(fmt.Sprintf("model-%d", i), common.Address{}, int64(i)))
		if i == 5 || i == 6 { // a multiple of the page size, and one past it
			e.mustSync(t, p, want)
		}
	}
	rs := e.current(t, p)
	if len(rs) != 7 {
		t.Fatalf("Current read %d offers, want 7", len(rs))
	}
	for i, r := range rs {
		if !r.Offer.Equal(want[i]) || !r.Active || (i > 0 && r.ID.Cmp(rs[i-1].ID) <= 0) {
			t.Errorf("offer %d: %+v", i, r)
		}
	}
	// Another provider's offers are not read.
	if rs := e.current(t, e.accts[5]); len(rs) != 0 {
		t.Errorf("dev5 has %d offers", len(rs))
	}
}

// Prices are uint256 on chain and *big.Int here: no value is rounded,
// truncated or narrowed to 64 bits on the way.
func TestPricesRoundTrip(t *testing.T) {
	e := newEnv(t)
	p := e.accts[6]
	pow := func(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }
	maxUint256 := new(big.Int).Sub(pow(256), big.NewInt(1))
	prices := []contracts.Price{
		{Base: new(big.Int), InPerM: new(big.Int), OutPerM: new(big.Int)},
		{Base: pow(64), InPerM: new(big.Int).Add(pow(64), big.NewInt(1)), OutPerM: new(big.Int).Sub(pow(64), big.NewInt(1))},
		{Base: new(big.Int).Add(pow(200), big.NewInt(12345)), InPerM: maxUint256, OutPerM: pow(255)},
	}
	var want []Offer
	for i, pr := range prices {
		o := offer(fmt.Sprintf("big-%d", i), e.token, 0)
		o.Price = pr
		want = append(want, o)
	}
	check := func(t *testing.T) {
		t.Helper()
		e.mustSync(t, p, want)
		for i, r := range e.current(t, p) {
			for _, f := range []struct {
				name      string
				got, want *big.Int
			}{
				{"base", r.Offer.Price.Base, want[i].Price.Base},
				{"in_per_m", r.Offer.Price.InPerM, want[i].Price.InPerM},
				{"out_per_m", r.Offer.Price.OutPerM, want[i].Price.OutPerM},
			} {
				if f.got.Cmp(f.want) != 0 {
					t.Errorf("offer %d %s = %s, want %s", i, f.name, f.got, f.want)
				}
			}
		}
	}
	check(t)
	// Raising a price by one base unit above 2^64 is a change.
	want[2].Price.Base = new(big.Int).Add(want[2].Price.Base, big.NewInt(1))
	_, changes, err := e.sync(t, p, want)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(changes); got != "unchanged,unchanged,update" {
		t.Fatalf("changes: %s", got)
	}
	check(t)
}

func TestSyncLogs(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil)).With("subsystem", "offers")
	_, _, err := Sync(t.Context(), e.client, e.d, e.accts[7].Key, []Offer{offer("m", common.Address{}, 1)},
		Options{PollInterval: 5 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"offer transaction sent", "offer transaction mined", "action=register", "subsystem=offers"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("log does not say %q:\n%s", s, buf.String())
		}
	}
}

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct{ public, listen, want string }{
		{"wss://node.example.com/v1/agent", "0.0.0.0:7070", "wss://node.example.com/v1/agent"},
		{"", "127.0.0.1:7070", "ws://127.0.0.1:7070/v1/agent"},
		{"", ":7070", "ws://127.0.0.1:7070/v1/agent"},
		{"", "0.0.0.0:7070", "ws://127.0.0.1:7070/v1/agent"},
		{"", "[::]:7070", "ws://127.0.0.1:7070/v1/agent"},
		{"", "[::1]:7070", "ws://[::1]:7070/v1/agent"},
		{"", "node.lan:7070", "ws://node.lan:7070/v1/agent"},
	} {
		if got := Endpoint(tc.public, tc.listen); got != tc.want {
			t.Errorf("Endpoint(%q, %q) = %q, want %q", tc.public, tc.listen, got, tc.want)
		}
	}
}
