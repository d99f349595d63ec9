package bolt_test

import (
	"context"
	"fmt"
	"log"
	"math/big"
	"os"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/ledger/ledgertest"
)

// A paid job's money: reserve its max cost with the agent's voucher, then
// charge its actual cost with a receipt whose running total the ledger
// fills in inside the same durable write.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ledger")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	l, err := bolt.Open(dir, bolt.Options{Logger: quietLogger()})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close(ctx)

	ch := ledgertest.Chan(1)
	_, err = l.Reserve(ctx, ledger.ReserveOp{
		Job:     ledger.Job{ChannelID: ch, ID: "job-1", MaxCost: big.NewInt(9000)},
		Voucher: ledger.Voucher{Amount: big.NewInt(9000), Signature: make([]byte, 65)},
		Limit:   big.NewInt(9000), // min(voucher, deposit)
	})
	if err != nil {
		log.Fatal(err)
	}
	r, err := l.Charge(ctx, ledger.ChargeOp{
		ChannelID: ch, JobID: "job-1", Cost: big.NewInt(4200),
		// No running total: the ledger fills it in. The caller signs the
		// receipt it gets back.
		Receipt: ledger.Receipt{Receipt: contracts.Receipt{JobID: ledgertest.JobHash("job-1"), InputTokens: 12, OutputTokens: 500}},
	})
	if err != nil {
		log.Fatal(err)
	}
	st, _ := l.Channel(ctx, ch)
	fmt.Println("receipt", r.Seq, "cumulative", r.CumulativeCharged)
	fmt.Println("charged", st.Charged, "reserved", st.Reserved, "voucher", st.Voucher.Amount)
	// Output:
	// receipt 1 cumulative 4200
	// charged 4200 reserved 0 voucher 9000
}
