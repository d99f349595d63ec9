package agent_test

import (
	"crypto/ecdsa"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/testnet"
)

// chainEnv is the embedded dev chain with the contracts and TestUSD
// deployed. dev1 is the agent's funding wallet, dev2 and dev3 providers.
type chainEnv struct {
	chain   *testnet.Chain
	client  *ethclient.Client
	d       *contracts.Deployment
	funder  testnet.DevAccount
	prov    testnet.DevAccount
	prov2   testnet.DevAccount
	deposit *big.Int
}

const testDelay = time.Hour

func newChainEnv(t *testing.T) *chainEnv {
	t.Helper()
	chain := testnet.StartT(t, testnet.Config{})
	client := chain.Client()
	acc := chain.Accounts()
	d, err := testnet.Deploy(t.Context(), client, acc[0].Key, testnet.DeployOptions{
		WithdrawalDelay: testDelay, TestToken: true, PollInterval: 10 * time.Millisecond,
		Mint: map[common.Address]*big.Int{acc[1].Address: tusd(1000)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &chainEnv{chain: chain, client: client, d: d, funder: acc[1], prov: acc[2], prov2: acc[3]}
}

func tusd(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1_000_000)) }

func (e *chainEnv) channels() *agent.Channels {
	c := agent.NewChannels(e.client, e.d, e.funder.Key)
	c.PollInterval = 10 * time.Millisecond
	return c
}

func (e *chainEnv) send(t *testing.T, key *ecdsa.PrivateKey, to *bind.BoundContract, data []byte) *types.Receipt {
	t.Helper()
	return testnet.TransactT(t, e.client, new(big.Int).SetUint64(e.d.ChainID), key, to, data, nil)
}

func (e *chainEnv) register(t *testing.T, key *ecdsa.PrivateKey, in bindings.OfferRegistryOfferInput) {
	t.Helper()
	reg := bindings.NewOfferRegistry()
	e.send(t, key, reg.Instance(e.client, e.d.OfferRegistry), reg.PackRegister(in))
}

func offerInput(model string, asset common.Address, base, inPerM, outPerM int64) bindings.OfferRegistryOfferInput {
	return bindings.OfferRegistryOfferInput{Model: model, Endpoint: "ws://127.0.0.1:7070/v1/agent", Asset: asset,
		Base: big.NewInt(base), InPerM: big.NewInt(inPerM), OutPerM: big.NewInt(outPerM), MaxTokens: 1024}
}

func TestDiscovery(t *testing.T) {
	e := newChainEnv(t)
	token := *e.d.Token
	eth := common.Address{}
	e.register(t, e.prov.Key, offerInput("llama", eth, 1000, 2_000_000, 8_000_000))  // id 1: 1000+2000+8000 = 11000
	e.register(t, e.prov2.Key, offerInput("llama", eth, 5000, 1_000_000, 2_000_000)) // id 2: 5000+1000+2000 = 8000
	e.register(t, e.prov2.Key, offerInput("llama", token, 10, 1_000, 1_000))         // id 3: TUSD
	e.register(t, e.prov.Key, offerInput("mistral", eth, 1, 1, 1))                   // id 4
	e.register(t, e.prov.Key, offerInput("llama", eth, 1, 1, 1))                     // id 5, deactivated below
	in := offerInput("llama", eth, 1, 1, 1)
	in.Endpoint = "http://not-a-websocket"
	e.register(t, e.prov.Key, in) // id 6: no websocket endpoint
	reg := bindings.NewOfferRegistry()
	e.send(t, e.prov.Key, reg.Instance(e.client, e.d.OfferRegistry), reg.PackDeactivate(big.NewInt(5)))

	disc := agent.NewDiscovery(e.client, e.d)
	disc.PageSize = 2 // three pages and a short one
	all, err := disc.Offers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 || all[0].ID.Int64() != 1 || all[5].ID.Int64() != 6 || all[4].Active {
		t.Fatalf("offers %+v", all)
	}
	if all[2].Asset != token || all[0].Price.OutPerM.Int64() != 8_000_000 || all[0].Provider != e.prov.Address {
		t.Fatalf("offer fields %+v", all[0])
	}

	ethAsset := eth
	found, err := disc.Find(t.Context(), agent.Filter{Model: "llama", Asset: &ethAsset})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[0].ID.Int64() != 2 || found[1].ID.Int64() != 1 {
		t.Fatalf("llama in ETH, cheapest first: %+v", found)
	}
	best, err := disc.Choose(t.Context(), agent.Filter{Model: "llama", Asset: &ethAsset}, nil)
	if err != nil || best.ID.Int64() != 2 || best.Provider != e.prov2.Address {
		t.Fatalf("cheapest %+v, %v", best, err)
	}
	// A chooser of one's own: the first provider's offers only.
	mine := agent.ChooserFunc(func(offers []agent.Offer, _ agent.ReferenceJob) (agent.Offer, error) {
		for _, o := range offers {
			if o.Provider == e.prov.Address {
				return o, nil
			}
		}
		return offers[0], nil
	})
	if o, _ := disc.Choose(t.Context(), agent.Filter{Model: "llama", Asset: &ethAsset}, mine); o.ID.Int64() != 1 {
		t.Fatalf("own chooser chose %v", o.ID)
	}
	// Price caps.
	found, err = disc.Find(t.Context(), agent.Filter{Model: "llama", Asset: &ethAsset, MaxJobCost: big.NewInt(9000)})
	if err != nil || len(found) != 1 || found[0].ID.Int64() != 2 {
		t.Fatalf("under 9000: %+v %v", found, err)
	}
	found, err = disc.Find(t.Context(), agent.Filter{Model: "llama", MaxOutPerM: big.NewInt(2_000_000)})
	if err != nil || len(found) != 2 {
		t.Fatalf("out price cap: %+v %v", found, err)
	}
	if found, _ := disc.ProviderOffers(t.Context(), e.prov2.Address); len(found) != 2 {
		t.Fatalf("provider offers %+v", found)
	}
	// No match says why.
	for name, tc := range map[string]struct {
		f    agent.Filter
		want string
	}{
		"unknown model": {agent.Filter{Model: "gpt-9"}, `no active offer for model "gpt-9"`},
		"too dear":      {agent.Filter{Model: "llama", Asset: &ethAsset, MaxJobCost: big.NewInt(100)}, "the cap is 100"},
	} {
		_, err := disc.Find(t.Context(), tc.f)
		if agent.CodeOf(err) != agent.CodeNoOffer || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestChannelLifecycle opens ETH and TUSD channels (permit and approve)
// from the funding key naming a separate signer, tops up by policy, pays
// jobs through a node, lets the provider claim with the SDK's voucher,
// and withdraws: the payer gets back exactly deposit − claimed.
func TestChannelLifecycle(t *testing.T) {
	e := newChainEnv(t)
	ch := e.channels()
	hotKey, _ := crypto.GenerateKey() // the agent's signer: holds nothing
	hot := crypto.PubkeyToAddress(hotKey.PublicKey)
	token := *e.d.Token
	pc := bindings.NewPaymentChannels()
	pcAt := pc.Instance(e.client, e.d.PaymentChannels)

	ethDeposit := new(big.Int).Div(big.NewInt(params.Ether), big.NewInt(100)) // 0.01 ETH
	opened, err := ch.Open(t.Context(), agent.OpenParams{Provider: e.prov.Address, Signer: hot, Deposit: ethDeposit})
	if err != nil {
		t.Fatal(err)
	}
	onChainID, err := bind.Call(pcAt, nil, pc.PackChannelId(e.funder.Address, e.prov.Address, hot, common.Address{}, opened.Salt), pc.UnpackChannelId)
	if err != nil || common.Hash(onChainID) != opened.ID || opened.Funding != "eth" {
		t.Fatalf("channel id %x, SDK %s (%v), funding %s", onChainID, opened.ID, err, opened.Funding)
	}
	st, err := ch.Get(t.Context(), opened.ID)
	if err != nil || st.Deposit.Cmp(ethDeposit) != 0 || st.Signer != hot || st.Payer != e.funder.Address || st.Provider != e.prov.Address {
		t.Fatalf("channel %+v %v", st, err)
	}

	// TUSD with a permit: one transaction.
	permitted, err := ch.Open(t.Context(), agent.OpenParams{Provider: e.prov.Address, Signer: hot, Asset: token, Deposit: tusd(100)})
	if err != nil || permitted.Funding != "permit" || len(permitted.Txs) != 1 {
		t.Fatalf("permit open %+v %v", permitted, err)
	}
	// And with approve, then open.
	approved, err := ch.Open(t.Context(), agent.OpenParams{Provider: e.prov.Address, Signer: hot, Asset: token, Deposit: tusd(5), NoPermit: true})
	if err != nil || approved.Funding != "approve" || len(approved.Txs) != 2 {
		t.Fatalf("approve open %+v %v", approved, err)
	}
	if st, _ := ch.Get(t.Context(), permitted.ID); st.Deposit.Cmp(tusd(100)) != 0 || st.Asset != token {
		t.Fatalf("TUSD channel %+v", st)
	}
	// A second open with the same salt fails rather than paying twice.
	if _, err := ch.Open(t.Context(), agent.OpenParams{Provider: e.prov.Address, Signer: hot, Asset: token, Deposit: tusd(1), Salt: permitted.Salt}); agent.CodeOf(err) != agent.CodeChannel || !strings.Contains(err.Error(), "ChannelExists") {
		t.Fatalf("reopen: %v", err)
	}
	found, err := ch.Find(t.Context(), e.prov.Address)
	if err != nil || len(found) != 3 {
		t.Fatalf("find: %d channels, %v", len(found), err)
	}

	// Top-up policy: below the threshold adds the amount, above does nothing.
	policy := agent.TopUpPolicy{Threshold: tusd(10), Amount: tusd(20)}
	if added, err := ch.ApplyTopUp(t.Context(), approved.ID, policy, big.NewInt(0)); err != nil || added.Cmp(tusd(20)) != 0 {
		t.Fatalf("top up: %v %v", added, err)
	}
	if added, err := ch.ApplyTopUp(t.Context(), approved.ID, policy, tusd(1)); err != nil || added != nil {
		t.Fatalf("no top-up needed: %v %v", added, err)
	}
	if st, _ := ch.Get(t.Context(), approved.ID); st.Deposit.Cmp(tusd(25)) != 0 {
		t.Fatalf("after top-up: %s", st.Deposit)
	}
	if err := ch.TopUp(t.Context(), opened.ID, big.NewInt(1000)); err != nil {
		t.Fatal(err)
	}
	ethDeposit.Add(ethDeposit, big.NewInt(1000))

	// Pay for jobs on the ETH channel through a node, the client topping
	// the channel up by itself after each job (the threshold is above the
	// deposit).
	d := e.d
	node := newFakeNode(t, d, e.prov.Key)
	node.openChannel(opened.ID, hot)
	offer := agent.Offer{ID: big.NewInt(1), Provider: e.prov.Address, Active: true, Model: node.model,
		Endpoint: node.url(), Price: node.price, MaxTokens: 1024}
	toppedUp := make(chan error, 4)
	store, err := agent.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	client, err := agent.Dial(t.Context(), agent.Config{Offer: offer, Deployment: d, Signer: hotKey, Channel: opened.ID, Store: store,
		TopUp: &agent.AutoTopUp{Channels: ch, Policy: agent.TopUpPolicy{Threshold: big.NewInt(params.Ether), Amount: big.NewInt(777)},
			OnTopUp: func(added *big.Int, err error) { toppedUp <- err }}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, q := range []string{"one", "two"} {
		if _, err := client.Submit(t.Context(), chat(q)); err != nil {
			t.Fatal(err)
		}
		if err := <-toppedUp; err != nil {
			t.Fatal(err)
		}
	}
	client.Close()
	if st, _ := ch.Get(t.Context(), opened.ID); st.Deposit.Cmp(new(big.Int).Add(ethDeposit, big.NewInt(2*777))) != 0 {
		t.Fatalf("deposit after automatic top-ups %s", st.Deposit)
	}
	ethDeposit.Add(ethDeposit, big.NewInt(2*777))
	// The provider claims what it charged, with the voucher the SDK signed.
	node.mu.Lock()
	voucher, sig := node.vouchers[opened.ID], node.lastSig[opened.ID]
	claimed := new(big.Int).Set(node.charged[opened.ID])
	node.mu.Unlock()
	r, vs, err := contracts.Compact(sig)
	if err != nil {
		t.Fatal(err)
	}
	e.send(t, e.prov.Key, pcAt, pc.PackClaimMany([]bindings.PaymentChannelsClaim{{
		ChannelId: opened.ID, VoucherAmount: voucher, Amount: claimed, R: r, Vs: vs}}))
	if st, _ := ch.Get(t.Context(), opened.ID); st.Claimed.Cmp(claimed) != 0 || claimed.Cmp(client.Account().Charged) != 0 {
		t.Fatalf("claimed %s, want %s = client's charged %s", st.Claimed, claimed, client.Account().Charged)
	}

	// Withdraw: request, too early, then after the delay.
	at, err := ch.RequestWithdrawal(t.Context(), opened.ID)
	if err != nil || at.IsZero() {
		t.Fatal(at, err)
	}
	status, err := ch.Status(t.Context(), opened.ID, store)
	if err != nil {
		t.Fatal(err)
	}
	if status.Charged.Cmp(claimed) != 0 || status.Claimed.Cmp(claimed) != 0 || status.Receipts != 2 ||
		!status.WithdrawableAt.Equal(at) || status.Remaining.Cmp(new(big.Int).Sub(ethDeposit, claimed)) != 0 {
		t.Fatalf("status %+v", status)
	}
	if err := ch.TopUp(t.Context(), opened.ID, big.NewInt(1)); agent.CodeOf(err) != agent.CodeChannelClosed {
		t.Fatalf("top-up while withdrawing: %v", err)
	}
	if _, err := ch.FinalizeWithdrawal(t.Context(), opened.ID); err == nil || !strings.Contains(err.Error(), "WithdrawalTooEarly") {
		t.Fatalf("early finalize: %v", err)
	}
	if _, err := e.chain.AdjustTime(testDelay + time.Second); err != nil {
		t.Fatal(err)
	}
	before, _ := e.client.BalanceAt(t.Context(), e.funder.Address, nil)
	refund, err := ch.FinalizeWithdrawal(t.Context(), opened.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := new(big.Int).Sub(ethDeposit, claimed)
	if refund.Cmp(want) != 0 {
		t.Fatalf("refund %s, want deposit %s − claimed %s = %s", refund, ethDeposit, claimed, want)
	}
	after, _ := e.client.BalanceAt(t.Context(), e.funder.Address, nil)
	// The payer's balance moved by the refund less the gas of the finalize.
	gasPaid := new(big.Int).Sub(new(big.Int).Add(before, refund), after)
	if gasPaid.Sign() <= 0 || gasPaid.Cmp(big.NewInt(params.GWei*1_000_000)) > 0 {
		t.Fatalf("balance %s → %s with refund %s", before, after, refund)
	}
	if st, _ := ch.Get(t.Context(), opened.ID); !st.Closed {
		t.Fatalf("channel not closed: %+v", st)
	}
}

func TestReadAsset(t *testing.T) {
	e := newChainEnv(t)
	a, err := agent.ReadAsset(t.Context(), e.client, *e.d.Token)
	if err != nil || a.Symbol != "TUSD" || a.Decimals != 6 {
		t.Fatalf("%+v %v", a, err)
	}
	x, err := a.Parse("2.5TUSD")
	if err != nil || x.Cmp(big.NewInt(2_500_000)) != 0 {
		t.Fatal(x, err)
	}
	if a, _ := agent.ReadAsset(t.Context(), e.client, common.Address{}); a != agent.ETH {
		t.Fatalf("%+v", a)
	}
}
