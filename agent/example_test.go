package agent_test

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/testnet"
)

// An agent finds the cheapest offer for a model on chain, opens a channel
// from its funding wallet naming a hot signer key, pays for a job within
// its budget, and checks the receipt. The chain is the embedded dev chain;
// the node is this package's test node, which speaks the protocol.
func Example() {
	ctx := context.Background()
	chain, _ := testnet.Start(ctx, testnet.Config{})
	defer chain.Close()
	acc := chain.Accounts()
	d, _ := testnet.Deploy(ctx, chain.Client(), acc[0].Key, testnet.DeployOptions{PollInterval: 10 * time.Millisecond})
	node := startFakeNode(d, acc[2].Key)
	defer node.close()
	// The provider publishes its offer.
	reg := bindings.NewOfferRegistry()
	auth := bind.NewKeyedTransactor(acc[2].Key, chain.ChainID())
	tx, _ := bind.Transact(reg.Instance(chain.Client(), d.OfferRegistry), auth,
		reg.PackRegister(bindings.OfferRegistryOfferInput{Model: "paynode-test-1", Endpoint: node.url(),
			Base: big.NewInt(1000), InPerM: big.NewInt(2_000_000), OutPerM: big.NewInt(8_000_000), MaxTokens: 1024}))
	contracts.WaitMined(ctx, chain.Client(), tx.Hash(), 10*time.Millisecond)

	// 1. Discovery, from the chain alone.
	eth := common.Address{}
	offer, err := agent.NewDiscovery(chain.Client(), d).Choose(ctx, agent.Filter{Model: "paynode-test-1", Asset: &eth}, agent.Cheapest)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("offer", offer.ID, "from", offer.Provider)

	// 2. A channel funded by the wallet, signed for by a hot key.
	signer, _ := crypto.GenerateKey()
	channels := agent.NewChannels(chain.Client(), d, acc[1].Key)
	channels.PollInterval = 10 * time.Millisecond
	deposit, _ := agent.ETH.Parse("0.001ETH")
	ch, err := channels.Open(ctx, agent.OpenParams{Provider: offer.Provider, Signer: crypto.PubkeyToAddress(signer.PublicKey), Deposit: deposit})
	if err != nil {
		fmt.Println(err)
		return
	}
	node.openChannel(ch.ID, crypto.PubkeyToAddress(signer.PublicKey))

	// 3. Pay per job, within a budget.
	perJob, _ := agent.ETH.Parse("5000")
	client, err := agent.Dial(ctx, agent.Config{
		Offer: offer, Deployment: d, Signer: signer, Channel: ch.ID,
		Budget: &agent.Budget{Limits: map[common.Address]agent.Limits{eth: {PerJob: perJob}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	res, err := client.Submit(ctx, agent.Job{
		Messages:  []wire.ChatMessage{{Role: "user", Content: "Name three primes."}},
		MaxTokens: 64,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Output)
	fmt.Println("max cost", res.MaxCost, "voucher", res.Voucher, "cost", res.Cost, "receipt seq", res.Receipt.Seq)

	// A job over budget is refused before anything is signed.
	_, err = client.Submit(ctx, agent.Job{Messages: []wire.ChatMessage{{Role: "user", Content: "Write a novel."}}})
	fmt.Println(agent.CodeOf(err))
	// Output:
	// offer 1 from 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
	// echo: Name three primes.
	// max cost 1588 voucher 1588 cost 1070 receipt seq 1
	// budget_per_job
}

// Amounts for people, exactly.
func ExampleAsset_Parse() {
	tusd := agent.Asset{Symbol: "TUSD", Decimals: 6}
	for _, s := range []string{"2.5TUSD", "2500000", "0.0000001TUSD", "1.5"} {
		x, err := tusd.Parse(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(x, "=", tusd.Format(x))
	}
	// Output:
	// 2500000 = 2.5 TUSD
	// 2500000 = 2.5 TUSD
	// agent: parse amount: bad_amount: "0.0000001TUSD": 7 decimal places; TUSD has 6
	// agent: parse amount: bad_amount: "1.5": a decimal needs the asset's symbol (1.5TUSD); a plain number is base units
}
