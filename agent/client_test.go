package agent_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

type env struct {
	node    *fakeNode
	d       *contracts.Deployment
	signer  *ecdsa.PrivateKey
	channel common.Hash
	offer   agent.Offer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	d := &contracts.Deployment{ChainID: 1337,
		OfferRegistry:   common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
		PaymentChannels: common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")}
	providerKey, _ := crypto.GenerateKey()
	n := newFakeNode(t, d, providerKey)
	signer, _ := crypto.GenerateKey()
	channel := crypto.Keccak256Hash([]byte(t.Name()))
	n.openChannel(channel, crypto.PubkeyToAddress(signer.PublicKey))
	return &env{node: n, d: d, signer: signer, channel: channel, offer: agent.Offer{
		ID: big.NewInt(1), Provider: n.provider, Active: true, Model: n.model, Endpoint: n.url(),
		Price: n.price, MaxTokens: 1024,
	}}
}

func (e *env) config() agent.Config {
	return agent.Config{
		Offer: e.offer, Deployment: e.d, Signer: e.signer, Channel: e.channel,
		Backoff: agent.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond},
	}
}

func (e *env) dial(t testing.TB, cfg agent.Config) *agent.Client {
	t.Helper()
	c, err := agent.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// withStore dials a client whose receipts a store keeps in a new
// directory; it returns the client, its config and the directory.
func (e *env) withStore(t testing.TB) (*agent.Client, agent.Config, string) {
	t.Helper()
	dir := t.TempDir()
	store, err := agent.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.Store = store
	return e.dial(t, cfg), cfg, dir
}

// reopen closes c and dials again with cfg, its store read back from dir.
func (e *env) reopen(t testing.TB, c *agent.Client, cfg agent.Config, dir string) *agent.Client {
	t.Helper()
	c.Close()
	store, err := agent.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = store
	return e.dial(t, cfg)
}

func chat(text string) agent.Job {
	return agent.Job{Messages: []wire.ChatMessage{{Role: "user", Content: text}}, MaxTokens: 64}
}

func maxCost(o agent.Offer, j agent.Job) *big.Int {
	req := wire.ChatRequest{Messages: j.Messages, MaxTokens: j.MaxTokens}
	c, _, err := o.MaxCost(&req)
	if err != nil {
		panic(err)
	}
	return c
}

func TestSubmitSignsChargedPlusMaxCost(t *testing.T) {
	e := newEnv(t)
	store, err := agent.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.Store = store
	c := e.dial(t, cfg)
	charged := new(big.Int)
	for i := range 3 {
		jb := chat(fmt.Sprintf("question %d", i))
		res, err := c.Submit(t.Context(), jb)
		if err != nil {
			t.Fatal(err)
		}
		want := new(big.Int).Add(charged, maxCost(e.offer, jb))
		if res.Voucher.Cmp(want) != 0 {
			t.Errorf("job %d: voucher %s, want charged %s + max cost = %s", i, res.Voucher, charged, want)
		}
		charged.Add(charged, res.Cost)
		if res.Output != fmt.Sprintf("echo: question %d", i) || res.Receipt.Seq != uint64(i+1) {
			t.Errorf("job %d: %+v", i, res)
		}
		if res.Cost.Cmp(res.MaxCost) > 0 {
			t.Errorf("cost %s above max cost %s", res.Cost, res.MaxCost)
		}
	}
	acc := c.Account()
	_, nodeCharged := e.node.stats(e.channel)
	if acc.Charged.Cmp(charged) != 0 || nodeCharged.Cmp(charged) != 0 || acc.InFlight.Sign() != 0 || acc.Receipts != 3 {
		t.Fatalf("account %+v, node charged %s, want %s", acc, nodeCharged, charged)
	}
	recs, err := store.Load(e.channel)
	if err != nil || len(recs) != 3 {
		t.Fatalf("store: %d records, %v", len(recs), err)
	}
}

// Pipelined jobs end out of order; every voucher still covers what the
// node has charged and reserved, and every receipt checks.
func TestPipelined(t *testing.T) {
	e := newEnv(t)
	e.node.jobTimeFn = func(id string) time.Duration {
		var n int
		fmt.Sscanf(id, "p-%d", &n)
		return time.Duration((n*7)%5) * 5 * time.Millisecond
	}
	c := e.dial(t, e.config())
	var wg sync.WaitGroup
	costs := make([]*big.Int, 20)
	for i := range costs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jb := chat(strings.Repeat("x", i*10))
			jb.ID = fmt.Sprintf("p-%d", i)
			res, err := c.Submit(t.Context(), jb)
			if err != nil {
				t.Error(err)
				return
			}
			costs[i] = res.Cost
		}()
	}
	wg.Wait()
	sum := new(big.Int)
	for _, c := range costs {
		if c != nil {
			sum.Add(sum, c)
		}
	}
	acc := c.Account()
	_, nodeCharged := e.node.stats(e.channel)
	if acc.Charged.Cmp(sum) != 0 || nodeCharged.Cmp(sum) != 0 || acc.Gaps != 0 || acc.Jobs != 0 {
		t.Fatalf("account %+v; node charged %s; Σ costs %s", acc, nodeCharged, sum)
	}
}

// A connection dropped after the node accepted a job: the client dials
// again and submits the job again under the same id; the node, which ran
// it to its end, replays the result. One run, one charge.
func TestDropMidJobChargesOnce(t *testing.T) {
	e := newEnv(t)
	e.node.jobTime = 30 * time.Millisecond
	e.node.drop = func(id string, attempt int) bool { return id == "drop-me" && attempt == 0 }
	c := e.dial(t, e.config())
	jb := chat("survive a drop")
	jb.ID = "drop-me"
	res, err := c.Submit(t.Context(), jb)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != "drop-me" || res.Attempts != 2 || !res.Replayed {
		t.Fatalf("result %+v", res)
	}
	if n := e.node.runCount(e.channel, "drop-me"); n != 1 {
		t.Fatalf("the node ran the job %d times", n)
	}
	_, charged := e.node.stats(e.channel)
	if charged.Cmp(res.Cost) != 0 || c.Account().Charged.Cmp(res.Cost) != 0 {
		t.Fatalf("node charged %s, client %s, receipt %s", charged, c.Account().Charged, res.Cost)
	}
	// The connection is back for the next job.
	if _, err := c.Submit(t.Context(), chat("after")); err != nil {
		t.Fatal(err)
	}
}

// A node that cancels the jobs of a dropped connection answers the
// resubmission job_failed: the id is spent, the job was not charged, and
// the client runs it again under a new id.
func TestDropCancelledJobRunsUnderNewID(t *testing.T) {
	e := newEnv(t)
	e.node.jobTime = 50 * time.Millisecond
	e.node.cancelOnDrop = true
	e.node.drop = func(id string, attempt int) bool { return id == "j" && attempt == 0 }
	c := e.dial(t, e.config())
	jb := chat("again")
	jb.ID = "j"
	res, err := c.Submit(t.Context(), jb)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != "j~1" {
		t.Fatalf("result id %q", res.ID)
	}
	_, charged := e.node.stats(e.channel)
	if charged.Cmp(res.Cost) != 0 || c.Account().Charged.Cmp(res.Cost) != 0 || c.Account().Jobs != 0 {
		t.Fatalf("node charged %s, client %+v, receipt %s", charged, c.Account(), res.Cost)
	}
}

// Every job in flight when the node drops all connections ends with one
// charge.
func TestDropAllInFlight(t *testing.T) {
	e := newEnv(t)
	e.node.jobTime = 40 * time.Millisecond
	c := e.dial(t, e.config())
	var wg sync.WaitGroup
	var mu sync.Mutex
	sum := new(big.Int)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Submit(t.Context(), chat(fmt.Sprint("job ", i)))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			sum.Add(sum, res.Cost)
			mu.Unlock()
		}()
	}
	time.Sleep(20 * time.Millisecond)
	e.node.dropAll()
	wg.Wait()
	_, charged := e.node.stats(e.channel)
	if charged.Cmp(sum) != 0 || c.Account().Charged.Cmp(sum) != 0 {
		t.Fatalf("node charged %s, client %s, Σ receipts %s", charged, c.Account().Charged, sum)
	}
}

func TestRetryRespectsRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.node.refuse = func(id string, attempt int) *wire.Error {
		if attempt < 2 {
			e := wire.NewError(id, wire.CodeOverloaded, "busy")
			e.RetryAfterMS = 60
			return e
		}
		return nil
	}
	c := e.dial(t, e.config())
	start := time.Now()
	res, err := c.Submit(t.Context(), chat("busy node"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 {
		t.Fatalf("attempts %d", res.Attempts)
	}
	if d := time.Since(start); d < 120*time.Millisecond {
		t.Fatalf("retried after %v, the node asked for 2 × 60ms", d)
	}
}

// job_in_progress is waited out for as long as the node lets a job run,
// not counted against the retries.
func TestJobInProgressWaits(t *testing.T) {
	e := newEnv(t)
	e.node.refuse = func(id string, attempt int) *wire.Error {
		if attempt < 3 {
			return wire.NewError(id, wire.CodeJobInProgress, "still running")
		}
		return nil
	}
	cfg := e.config()
	cfg.Retries = -1
	c := e.dial(t, cfg)
	if res, err := c.Submit(t.Context(), chat("patience")); err != nil || res.Attempts != 4 {
		t.Fatal(res, err)
	}
}

func TestRetriesSpent(t *testing.T) {
	e := newEnv(t)
	e.node.refuse = func(id string, _ int) *wire.Error { return wire.NewError(id, wire.CodeTooManyJobs, "full") }
	cfg := e.config()
	cfg.Retries = 2
	c := e.dial(t, cfg)
	_, err := c.Submit(t.Context(), chat("never"))
	if agent.CodeOf(err) != agent.CodeRetriesSpent || wire.CodeOf(err) != wire.CodeTooManyJobs {
		t.Fatalf("err %v (code %s)", err, agent.CodeOf(err))
	}
	if n, _ := e.node.stats(e.channel); n != 3 {
		t.Fatalf("%d submits, want 3", n)
	}
	if acc := c.Account(); acc.InFlight.Sign() != 0 {
		t.Fatalf("refused job still in flight: %+v", acc)
	}
}

func TestNonRetryableError(t *testing.T) {
	e := newEnv(t)
	e.node.refuse = func(id string, _ int) *wire.Error {
		return wire.NewError(id, wire.CodeWrongAsset, "ETH channel, TUSD offer")
	}
	c := e.dial(t, e.config())
	_, err := c.Submit(t.Context(), chat("x"))
	var we *wire.Error
	if agent.CodeOf(err) != agent.Code(wire.CodeWrongAsset) || !errors.As(err, &we) || we.Code != wire.CodeWrongAsset {
		t.Fatalf("err %v", err)
	}
	if n, _ := e.node.stats(e.channel); n != 1 {
		t.Fatalf("%d submits, want 1", n)
	}
}

func TestWrongNodeRefused(t *testing.T) {
	for name, change := range map[string]func(*wire.Challenge){
		"provider": func(c *wire.Challenge) { c.Provider = common.HexToAddress("0x1234") },
		"chain":    func(c *wire.Challenge) { c.ChainID++ },
		"contract": func(c *wire.Challenge) { c.Contract = common.HexToAddress("0x5678") },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.node.challenge = change
			_, err := agent.Dial(t.Context(), e.config())
			if agent.CodeOf(err) != agent.CodeWrongNode {
				t.Fatalf("err %v", err)
			}
			e.node.mu.Lock()
			conns := e.node.conns
			e.node.mu.Unlock()
			if conns != 1 {
				t.Fatalf("%d dials: a wrong node is not retried", conns)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	e := newEnv(t)
	e.node.srv.Close()
	cfg := e.config()
	cfg.Reconnects = 2
	_, err := agent.Dial(t.Context(), cfg)
	if agent.CodeOf(err) != agent.CodeUnreachable {
		t.Fatalf("err %v", err)
	}
}

func TestBudgetRefusalSignsNothing(t *testing.T) {
	e := newEnv(t)
	jb := chat("expensive")
	mc := maxCost(e.offer, jb)
	cases := []struct {
		name   string
		budget *agent.Budget
		code   agent.Code
	}{
		{"per job", &agent.Budget{Limits: map[common.Address]agent.Limits{{}: {PerJob: new(big.Int).Sub(mc, big.NewInt(1))}}}, agent.CodeBudgetPerJob},
		{"total", &agent.Budget{Limits: map[common.Address]agent.Limits{{}: {Total: big.NewInt(10)}}}, agent.CodeBudgetTotal},
		{"per hour", &agent.Budget{Limits: map[common.Address]agent.Limits{{}: {PerHour: big.NewInt(10)}}}, agent.CodeBudgetPerHour},
		{"provider", &agent.Budget{Providers: []common.Address{common.HexToAddress("0x99")}}, agent.CodeProviderNotAllowed},
		{"asset", &agent.Budget{Limits: map[common.Address]agent.Limits{common.HexToAddress("0x77"): {}}}, agent.CodeAssetNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.config()
			cfg.Budget = tc.budget
			c := e.dial(t, cfg)
			before, _ := e.node.stats(e.channel)
			_, err := c.Submit(t.Context(), jb)
			var be *agent.BudgetError
			if agent.CodeOf(err) != tc.code || !errors.As(err, &be) || be.Code != tc.code {
				t.Fatalf("err %v, want %s", err, tc.code)
			}
			if after, _ := e.node.stats(e.channel); after != before {
				t.Fatal("a job over budget reached the node")
			}
			if acc := c.Account(); acc.Committed.Sign() != 0 {
				t.Fatalf("a job over budget was counted: %+v", acc)
			}
		})
	}
}

func TestBudgetCountsActualCost(t *testing.T) {
	e := newEnv(t)
	jb := chat("within")
	mc := maxCost(e.offer, jb)
	limit := new(big.Int).Set(mc)
	b := &agent.Budget{Limits: map[common.Address]agent.Limits{{}: {Total: limit}}}
	cfg := e.config()
	cfg.Budget = b
	c := e.dial(t, cfg)
	res, err := c.Submit(t.Context(), jb)
	if err != nil {
		t.Fatal(err)
	}
	total, hour := b.Spent(common.Address{})
	if total.Cmp(res.Cost) != 0 || hour.Cmp(res.Cost) != 0 {
		t.Fatalf("spent %s / %s in the hour, want %s", total, hour, res.Cost)
	}
	// Room for two jobs at their actual cost, not three.
	limit.Add(mc, new(big.Int).Mul(res.Cost, big.NewInt(2)))
	limit.Sub(limit, big.NewInt(1))
	if _, err := c.Submit(t.Context(), jb); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(t.Context(), jb); agent.CodeOf(err) != agent.CodeBudgetTotal {
		t.Fatalf("third job: %v", err)
	}
}

func TestBadReceiptUntrusts(t *testing.T) {
	other, _ := crypto.GenerateKey()
	cases := map[string]func(e *env, r *wire.Result){
		"forged signature": func(e *env, r *wire.Result) {
			rc := r.Receipt.EIP712()
			digest, _ := e.d.Domain().ReceiptDigest(rc)
			r.Receipt.Signature, _ = contracts.Sign(digest, other)
		},
		"cost above max": func(e *env, r *wire.Result) {
			resign(e, r, func(rc *contracts.Receipt) {
				rc.Cost = big.NewInt(1 << 50)
				rc.CumulativeCharged = big.NewInt(1 << 50)
			})
		},
		"cumulative wrong": func(e *env, r *wire.Result) {
			resign(e, r, func(rc *contracts.Receipt) { rc.CumulativeCharged.Add(rc.CumulativeCharged, big.NewInt(1)) })
		},
		"another job": func(e *env, r *wire.Result) {
			resign(e, r, func(rc *contracts.Receipt) { rc.JobID = wire.JobKey("other") })
		},
		"another channel": func(e *env, r *wire.Result) {
			resign(e, r, func(rc *contracts.Receipt) { rc.ChannelID = common.HexToHash("0xabc") })
		},
		"output changed": func(e *env, r *wire.Result) { r.Output += "!" },
		"above the price": func(e *env, r *wire.Result) {
			resign(e, r, func(rc *contracts.Receipt) {
				rc.Cost.Add(rc.Cost, big.NewInt(1))
				rc.CumulativeCharged.Add(rc.CumulativeCharged, big.NewInt(1))
			})
		},
		"seq reused": func(e *env, r *wire.Result) { r.Receipt.Seq = 1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			c, cfg, dir := e.withStore(t)
			store := cfg.Store
			if _, err := c.Submit(t.Context(), chat("good")); err != nil {
				t.Fatal(err)
			}
			e.node.mutate = func(id string, r *wire.Result) { mutate(e, r) }
			_, err := c.Submit(t.Context(), chat("bad"))
			if agent.CodeOf(err) != agent.CodeBadReceipt || !errors.Is(err, agent.ErrUntrusted) {
				t.Fatalf("err %v", err)
			}
			before, _ := e.node.stats(e.channel)
			_, err = c.Submit(t.Context(), chat("no more"))
			if agent.CodeOf(err) != agent.CodeUntrusted {
				t.Fatalf("after a bad receipt: %v", err)
			}
			if after, _ := e.node.stats(e.channel); after != before {
				t.Fatal("an untrusted provider got another job")
			}
			// The evidence is on disk, and a restart remembers.
			recs, _ := store.Load(e.channel)
			if len(recs) != 2 || recs[1].Rejected == "" {
				t.Fatalf("records %+v", recs)
			}
			c2 := e.reopen(t, c, cfg, dir)
			if _, err := c2.Submit(t.Context(), chat("after restart")); agent.CodeOf(err) != agent.CodeUntrusted {
				t.Fatalf("after restart: %v", err)
			}
		})
	}
}

// resign changes a result's receipt and signs it again with the
// provider's key: a receipt that is the provider's but does not add up.
func resign(e *env, r *wire.Result, change func(*contracts.Receipt)) {
	rc := r.Receipt.EIP712()
	change(rc)
	digest, _ := e.d.Domain().ReceiptDigest(rc)
	sig, _ := contracts.Sign(digest, e.node.key)
	r.Receipt = wire.NewReceipt(rc, r.Receipt.Seq, sig)
	r.Cost = wire.NewAmount(rc.Cost)
	r.Usage = wire.Usage{InputTokens: rc.InputTokens, OutputTokens: rc.OutputTokens}
}

func TestReloadRecoversCharged(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	store, _ := agent.OpenStore(dir)
	cfg := e.config()
	cfg.Store = store
	c := e.dial(t, cfg)
	for i := range 3 {
		if _, err := c.Submit(t.Context(), chat(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	want := c.Account()
	c.Close()
	store.Close()

	store2, _ := agent.OpenStore(dir)
	cfg.Store = store2
	b := &agent.Budget{}
	cfg.Budget = b
	c2 := e.dial(t, cfg)
	got := c2.Account()
	if got.Charged.Cmp(want.Charged) != 0 || got.Receipts != 3 || got.LastSeq != 3 {
		t.Fatalf("reloaded %+v, want %+v", got, want)
	}
	if spent, _ := b.Spent(common.Address{}); spent.Cmp(want.Charged) != 0 {
		t.Fatalf("budget reloaded %s, want %s", spent, want.Charged)
	}
	jb := chat("next")
	res, err := c2.Submit(t.Context(), jb)
	if err != nil {
		t.Fatal(err)
	}
	if v := new(big.Int).Add(want.Charged, maxCost(e.offer, jb)); res.Voucher.Cmp(v) != 0 {
		t.Fatalf("voucher after reload %s, want %s", res.Voucher, v)
	}
}

func TestStreamAndCancel(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t, e.config())
	var got strings.Builder
	jb := chat("one two three")
	jb.OnChunk = func(d string) { got.WriteString(d) }
	res, err := c.Submit(t.Context(), jb)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != res.Output {
		t.Fatalf("streamed %q, output %q", got.String(), res.Output)
	}

	e.node.jobTime = time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	jb = chat("slow")
	jb.ID = "slow"
	if _, err := c.Submit(ctx, jb); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	// The job is cancelled on the node and leaves flight, uncharged.
	deadline := time.Now().Add(5 * time.Second)
	for c.Account().Jobs != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	e.node.mu.Lock()
	cancels := e.node.cancels
	e.node.mu.Unlock()
	if acc := c.Account(); acc.Jobs != 0 || acc.Charged.Cmp(res.Cost) != 0 || len(cancels) != 1 {
		t.Fatalf("account %+v, cancels %v", acc, cancels)
	}
}

func TestBadJobs(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t, e.config())
	for name, jb := range map[string]agent.Job{
		"no messages": {},
		"max_tokens":  {Messages: []wire.ChatMessage{{Role: "user", Content: "x"}}, MaxTokens: 4096},
		"role":        {Messages: []wire.ChatMessage{{Role: "robot", Content: "x"}}},
		"id too long": {ID: strings.Repeat("x", 200), Messages: []wire.ChatMessage{{Role: "user", Content: "x"}}},
	} {
		if _, err := c.Submit(t.Context(), jb); agent.CodeOf(err) != agent.CodeBadJob {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n, _ := e.node.stats(e.channel); n != 0 {
		t.Fatalf("%d bad jobs reached the node", n)
	}
}
