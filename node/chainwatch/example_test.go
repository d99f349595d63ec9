package chainwatch_test

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/chainwatch"
)

// The node wires a watcher to its RPC, deployment, provider key and ledger,
// runs it, and asks it about each channel a job names.
func Example() {
	ctx := context.Background()
	client, err := ethclient.DialContext(ctx, "ws://127.0.0.1:8545") // http:// polls instead
	if err != nil {
		log.Fatal(err)
	}
	dep, err := contracts.LoadDeployment("deployment.json")
	if err != nil {
		log.Fatal(err)
	}
	provider := common.HexToAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
	w := chainwatch.New(client, dep, provider, chainwatch.NewMemStore()) // the ledger, in the node
	w.Confirmations = 2
	w.PollInterval = 2 * time.Second
	w.Logger = slog.Default()
	go func() {
		if err := w.Run(ctx); err != nil {
			log.Fatal(err)
		}
	}()

	changes, cancel := w.Subscribe()
	defer cancel()
	go func() {
		for c := range changes {
			if c.Kind == chainwatch.ChangeWithdrawalRequested {
				log.Printf("stop taking jobs on %s; claim before %d", c.Channel.ID, c.Channel.WithdrawableAt)
			}
		}
	}()

	// The payment check of one job.
	ch, err := w.Lookup(ctx, common.HexToHash("0x01"))
	switch {
	case errors.Is(err, chainwatch.ErrNotConfirmed):
		log.Print("deposit not yet confirmed; retry")
	case errors.Is(err, chainwatch.ErrUnknownChannel):
		log.Print("no such channel")
	case err != nil:
		log.Print("chain unavailable; retry")
	case ch.Closed || ch.WithdrawableAt != 0:
		log.Print("channel is closing")
	default:
		log.Printf("deposit %s, claimed %s", ch.Deposit, ch.Claimed)
	}
}
