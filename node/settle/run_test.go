package settle_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/params"
)

// waitClaimed polls until the channel's on-chain claimed total equals
// want, failing t after a deadline.
func (e *env) waitClaimed(t *testing.T, ch *channel, want *big.Int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := e.onChain(t, ch.id).Claimed
		if got.Cmp(want) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("claimed on chain %s, want %s", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) charge(t *testing.T, ch *channel, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	for j := range n {
		e.runJob(t, ch, fmt.Sprintf("%s-%d", ch.id.Hex()[:10], j), rng)
	}
	if ch.costs.Sign() == 0 {
		t.Fatal("no job was charged")
	}
}

// runSettler starts Run and returns a stop function that cancels it and
// waits for its final round.
func (e *env) runSettler(t *testing.T) (stop func() error) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.settler.Run(ctx, 30*time.Second) }()
	// Wait for the round Run makes at start, so what a test charges next
	// is left to the trigger under test.
	deadline := time.Now().Add(20 * time.Second)
	for e.settler.Stats().Rounds == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run made no round at start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after its context ended")
			return nil
		}
	}
}

// Run claims everything charged once more when it is stopped, even with
// an interval that would not have come round.
func TestRunSettlesOnShutdown(t *testing.T) {
	e := newEnv(t)
	e.settler.Interval = time.Hour
	ch := e.open(t, common.Address{}, big.NewInt(params.Ether), 1)
	stop := e.runSettler(t)
	e.charge(t, ch, 5)
	if got := e.onChain(t, ch.id).Claimed; got.Sign() != 0 {
		t.Fatalf("claimed %s before any trigger", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	e.waitClaimed(t, ch, ch.costs)
}

// Unclaimed value past the threshold triggers a round before the interval.
func TestRunThreshold(t *testing.T) {
	e := newEnv(t)
	e.settler.Interval = time.Hour
	e.settler.Threshold = big.NewInt(1) // any unclaimed value
	ch := e.open(t, common.Address{}, big.NewInt(params.Ether), 2)
	stop := e.runSettler(t)
	defer stop()
	e.charge(t, ch, 5)
	e.waitClaimed(t, ch, ch.costs)
}

// A channel with unclaimed value near its withdrawal deadline is claimed
// before the interval.
func TestRunDeadline(t *testing.T) {
	e := newEnv(t)
	e.settler.Interval = time.Hour
	e.settler.DeadlineMargin = 48 * time.Hour // the deployment's delay is a day
	ch := e.open(t, common.Address{}, big.NewInt(params.Ether), 3)
	stop := e.runSettler(t)
	defer stop()
	e.charge(t, ch, 4)
	// Nothing is urgent until the payer asks to withdraw.
	time.Sleep(200 * time.Millisecond)
	if got := e.onChain(t, ch.id).Claimed; got.Sign() != 0 {
		t.Fatalf("claimed %s with nothing urgent", got)
	}
	e.send(t, e.payer.Key, e.pcAt, e.pc.PackRequestWithdrawal(ch.id), nil)
	e.waitClaimed(t, ch, ch.costs)
}

// Run claims, at start, what was charged while it was not running.
func TestRunSettlesAtStart(t *testing.T) {
	e := newEnv(t)
	e.settler.Interval = time.Hour
	ch := e.open(t, common.Address{}, big.NewInt(params.Ether), 5)
	e.charge(t, ch, 3)
	stop := e.runSettler(t)
	defer stop()
	e.waitClaimed(t, ch, ch.costs)
}

// Trigger starts a round at once.
func TestRunTrigger(t *testing.T) {
	e := newEnv(t)
	e.settler.Interval = time.Hour
	ch := e.open(t, common.Address{}, big.NewInt(params.Ether), 4)
	stop := e.runSettler(t)
	defer stop()
	e.charge(t, ch, 3)
	e.settler.Trigger()
	e.waitClaimed(t, ch, ch.costs)
}
