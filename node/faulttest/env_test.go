package faulttest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/internal/keyfile"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/nodetest"
	"github.com/paynode/paynode/testnet"
)

// env is an embedded dev chain with the contracts deployed, and a
// directory with what `paynode serve` reads: deployment.json and
// provider.key (dev account 1).
type env struct {
	chain    *testnet.Chain
	d        *contracts.Deployment
	provider testnet.DevAccount
	dir      string
}

// The offer every test node makes: the builtin model for ETH at the
// example config's prices.
const (
	offerBase   = "1000"
	offerInPerM = "2000000"
	offerOutPer = "8000000"
)

func newEnv(t *testing.T) *env {
	t.Helper()
	chain := testnet.StartT(t, testnet.Config{})
	accounts := chain.Accounts()
	d, err := testnet.Deploy(t.Context(), chain.Client(), accounts[0].Key, testnet.DeployOptions{PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{chain: chain, d: d, provider: accounts[1], dir: t.TempDir()}
	if err := d.Save(filepath.Join(e.dir, "deployment.json")); err != nil {
		t.Fatal(err)
	}
	if err := keyfile.WriteHex(filepath.Join(e.dir, "provider.key"), e.provider.Key); err != nil {
		t.Fatal(err)
	}
	return e
}

// writeConfig writes the node's config file: chain.rpc and api.listen as
// given, the ledger in the env's directory, the builtin worker with room
// for every job the payers pipeline, settlement every settleEvery.
func (e *env) writeConfig(t *testing.T, rpc, listen string, settleEvery time.Duration) string {
	t.Helper()
	cfg := fmt.Sprintf(`# faulttest node
[chain]
rpc = %q
poll_interval = "100ms"

[api]
listen = %q
shutdown_timeout = "30s"

[metrics]
listen = "127.0.0.1:0"

[workers]
builtin = true
builtin_capacity = 64

[settlement]
interval = %q

[[offers]]
model = "paynode-test-1"
asset = "ETH"
base = %q
in_per_m = %q
out_per_m = %q
max_tokens = 256
`, rpc, listen, settleEvery.String(), offerBase, offerInPerM, offerOutPer)
	path := filepath.Join(e.dir, "node.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// payers opens n ETH channels to the provider, numbered from first, each
// from one of the dev accounts 2…9 and signed by a hot key of its own,
// and returns a payer for each, to dial url.
func (e *env) payers(t *testing.T, first, n int, url string) []*payer {
	t.Helper()
	price, err := contracts.ParsePrice(offerBase, offerInPerM, offerOutPer)
	if err != nil {
		t.Fatal(err)
	}
	accounts := e.chain.Accounts()
	out := make([]*payer, n)
	for k := range out {
		i := first + k
		signer, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		id := nodetest.OpenChannel(t, e.chain.Client(), e.d, accounts[2+i%8].Key, e.provider.Address, signer,
			common.Address{}, big.NewInt(1e18), common.BigToHash(big.NewInt(int64(i+1))))
		out[k] = newPayer(fmt.Sprintf("ch%d", i), url, signer, e.provider.Address, id, price)
		t.Cleanup(out[k].Close)
	}
	return out
}

// claimedEvents returns the PaymentChannels Claimed events by channel, in
// chain order.
func (e *env) claimedEvents(t *testing.T) map[common.Hash][]*bindings.PaymentChannelsClaimed {
	t.Helper()
	pc := bindings.NewPaymentChannels()
	logs, err := e.chain.Client().FilterLogs(t.Context(), ethereum.FilterQuery{
		FromBlock: big.NewInt(0),
		Addresses: []common.Address{e.d.PaymentChannels},
		Topics:    [][]common.Hash{{pc.GetABI().Events["Claimed"].ID}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[common.Hash][]*bindings.PaymentChannelsClaimed{}
	for i := range logs {
		ev, err := pc.UnpackClaimedEvent(&logs[i])
		if err != nil {
			t.Fatalf("log %d: %v", i, err)
		}
		out[ev.ChannelId] = append(out[ev.ChannelId], ev)
	}
	return out
}

// checkSettled holds every payer's channel to the node's ledger and the
// chain once everything is settled (payer.checkChannel, checkClaims),
// logs each channel's figures, and returns the number of confirmed
// batches and the total claimed.
func (e *env) checkSettled(t *testing.T, lg ledger.Ledger, payers []*payer) (int, *big.Int) {
	t.Helper()
	ctx := t.Context()
	confirmed, err := lg.Batches(ctx, ledger.BatchConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	if open, err := lg.Batches(ctx, ledger.BatchPending, ledger.BatchMined); err != nil || len(open) != 0 {
		t.Errorf("%d batches still open once settled (%v)", len(open), err)
	}
	events := e.claimedEvents(t)
	total := new(big.Int)
	for _, p := range payers {
		cs, err := lg.Channel(ctx, p.channel)
		if err != nil {
			t.Fatal(err)
		}
		claimed := nodetest.Claimed(t, e.chain.Client(), e.d, p.channel)
		p.checkChannel(t, cs, claimed)
		checkClaims(t, p.name, p.channel, events[p.channel], confirmed, claimed)
		total.Add(total, claimed)
		t.Logf("%s: %d receipts adding up to %s; claimed on chain %s in %d claims", p.name, cs.ReceiptSeq, p.receiptSum(), claimed, len(events[p.channel]))
	}
	return len(confirmed), total
}

// checkClaims holds a channel's Claimed events to the ledger's confirmed
// batches: one event per confirmed claim of the channel, in the same
// order, each in one of its batch's transactions with its amount and
// receipts root, each raising the total by exactly its amount, the last
// total the chain's claimed. A claim that took effect twice would show as
// an event no confirmed claim accounts for.
func checkClaims(t *testing.T, name string, channel common.Hash, events []*bindings.PaymentChannelsClaimed, batches []ledger.Batch, claimed *big.Int) {
	t.Helper()
	type claim struct {
		ledger.Claim
		txs []common.Hash
	}
	var claims []claim
	for _, b := range batches {
		for _, c := range b.Claims {
			if c.ChannelID == channel {
				claims = append(claims, claim{c, b.TxHashes})
			}
		}
	}
	if len(events) != len(claims) {
		t.Errorf("%s: %d Claimed events on chain for %d confirmed claims in the ledger", name, len(events), len(claims))
	}
	total := new(big.Int)
	for i, ev := range events {
		if want := new(big.Int).Add(total, ev.Amount); ev.TotalClaimed.Cmp(want) != 0 {
			t.Errorf("%s: Claimed event %d: total %s after %s + %s", name, i, ev.TotalClaimed, total, ev.Amount)
		}
		total.Set(ev.TotalClaimed)
		if i >= len(claims) {
			continue
		}
		c := claims[i]
		if ev.TotalClaimed.Cmp(c.Amount) != 0 || ev.ReceiptsRoot != c.ReceiptsRoot || !slices.Contains(c.txs, ev.Raw.TxHash) {
			t.Errorf("%s: Claimed event %d (total %s, root %x, tx %s) is not the ledger's claim %d (total %s, root %x, txs %v)",
				name, i, ev.TotalClaimed, ev.ReceiptsRoot, ev.Raw.TxHash, i, c.Amount, c.ReceiptsRoot, c.txs)
		}
	}
	if total.Cmp(claimed) != 0 {
		t.Errorf("%s: Claimed events add up to %s; the chain says %s claimed", name, total, claimed)
	}
}

// load runs jobs on payers: slots goroutines per payer, each taking the
// payer's next job id and running it to its outcome, until the payer's
// quota of jobs is used up (quota < 0: until stop is closed).
type load struct {
	payers  []*payer
	started time.Time
	ended   atomic.Int64 // jobs whose outcome is known
	charged atomic.Int64 // of them, with a receipt
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error // the first error of a job: ctx ended
}

func startLoad(ctx context.Context, payers []*payer, quota, slots int, stop <-chan struct{}) *load {
	l := &load{payers: payers, started: time.Now()}
	for _, p := range payers {
		var next atomic.Int64
		for range slots {
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					n := int(next.Add(1))
					if quota >= 0 && n > quota {
						return
					}
					id := p.name + "-" + strconv.Itoa(n)
					charged, err := p.do(ctx, id, jobRequest(id, n))
					if err != nil {
						l.mu.Lock()
						l.err = cmp(l.err, fmt.Errorf("job %s: %w", id, err))
						l.mu.Unlock()
						return
					}
					if charged {
						l.charged.Add(1)
					}
					l.ended.Add(1)
				}
			}()
		}
	}
	return l
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// wait waits for every job to end and returns the first error.
func (l *load) wait() error {
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// stats adds up the payers' counts.
func (l *load) stats() payerStats {
	var s payerStats
	for _, p := range l.payers {
		s.add(p.Stats())
	}
	return s
}

// freeAddr returns a loopback address with a port free right now: a node
// restarted on it publishes the same endpoint and agents dial it again.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// envInt reads a size from the environment, for the full-size runs.
func envInt(t *testing.T, name string, def int64) int64 {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return n
}

// envDuration reads a duration from the environment.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return d
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
