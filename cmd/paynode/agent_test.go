package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/agent/cli"
	"github.com/paynode/paynode/contracts/bindings"
	"github.com/paynode/paynode/internal/buildtest"
	"github.com/paynode/paynode/internal/devstack"
	"github.com/paynode/paynode/internal/keyfile"
	"github.com/paynode/paynode/node/config"
	"github.com/paynode/paynode/node/wire"
	"github.com/paynode/paynode/testnet"
)

// paynode is the binary the subprocess tests run, built once.
var paynode buildtest.Binary

func TestMain(m *testing.M) {
	code := m.Run()
	paynode.Remove()
	os.Exit(code)
}

// agentCLI runs `paynode agent …` as a subprocess against one dev stack.
type agentCLI struct {
	t     *testing.T
	bin   string
	chain []string // --rpc, --deployment
	store string
}

// exec runs the binary with args and returns stdout, stderr and the exit
// code.
func (a *agentCLI) exec(args ...string) (string, string, int) {
	a.t.Helper()
	cmd := exec.CommandContext(a.t.Context(), a.bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		a.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// agent runs `paynode agent cmd` with the chain and store flags and
// --json, wants exit 0, and decodes stdout into v.
func (a *agentCLI) agent(v any, cmd string, args ...string) {
	a.t.Helper()
	full := append([]string{"agent", cmd}, a.chain...)
	full = append(full, "--json")
	if cmd != "offers" {
		full = append(full, "--store", a.store)
	}
	out, errOut, code := a.exec(append(full, args...)...)
	if code != 0 {
		a.t.Fatalf("paynode agent %s %s: exit %d\nstderr: %s", cmd, strings.Join(args, " "), code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		a.t.Fatalf("paynode agent %s --json: %v\n%s", cmd, err, out)
	}
}

// fails runs `paynode agent cmd`, wants exit code want and a stderr
// naming every one of says.
func (a *agentCLI) fails(want int, says []string, cmd string, args ...string) {
	a.t.Helper()
	full := append(append([]string{"agent", cmd}, a.chain...), "--store", a.store)
	_, errOut, code := a.exec(append(full, args...)...)
	if code != want {
		a.t.Fatalf("paynode agent %s %s: exit %d, want %d\nstderr: %s", cmd, strings.Join(args, " "), code, want, errOut)
	}
	for _, s := range says {
		if !strings.Contains(errOut, s) {
			a.t.Fatalf("paynode agent %s %s: stderr does not name %q:\n%s", cmd, strings.Join(args, " "), s, errOut)
		}
	}
	a.t.Logf("paynode agent %s: %s", cmd, strings.TrimSpace(errOut))
}

func startAgentStack(t *testing.T) (*devstack.Stack, *agentCLI) {
	t.Helper()
	stack, err := devstack.Start(t.Context(), devstack.Options{TokenOffer: true, NoSync: true, Configure: func(c *config.Config) {
		c.Settlement.Interval = config.Duration{Duration: time.Hour}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close(context.Background()) })
	return stack, &agentCLI{
		t: t, bin: paynode.Path(t), store: t.TempDir(),
		chain: []string{"--rpc", stack.Chain.HTTPURL(), "--deployment", stack.DeploymentFile},
	}
}

// TestAgentCLI runs the agent's commands as a user's script does — the
// binary as a subprocess, --json parsed — against the real node: offers,
// open, run, status, topup and withdraw, to the refund.
func TestAgentCLI(t *testing.T) {
	stack, a := startAgentStack(t)
	d := stack.Deployment
	key := []string{"--key-file", stack.AgentKeyFile}
	hot, _ := crypto.GenerateKey()
	hotFile := filepath.Join(t.TempDir(), "hot.key")
	if err := keyfile.WriteHex(hotFile, hot); err != nil {
		t.Fatal(err)
	}
	withHot := append([]string{"--signer-key-file", hotFile}, key...)

	// offers
	var offers struct{ Offers []cli.OfferJSON }
	a.agent(&offers, "offers")
	if len(offers.Offers) != 2 {
		t.Fatalf("offers: %+v", offers)
	}
	a.agent(&offers, "offers", "--model", "paynode-test-1", "--asset", "TUSD")
	if len(offers.Offers) != 1 || offers.Offers[0].Symbol != "TUSD" || offers.Offers[0].Decimals != 6 || offers.Offers[0].Asset != *d.Token ||
		offers.Offers[0].Base != "1000" || offers.Offers[0].Provider != stack.Node.Provider() {
		t.Fatalf("TUSD offers: %+v", offers)
	}

	// open: 5 TUSD, signed for by the hot key
	var opened struct {
		Channel cli.ChannelJSON
		Funding string
	}
	a.agent(&opened, "open", append(withHot, "--model", "paynode-test-1", "--asset", "TUSD", "--deposit", "5TUSD")...)
	ch := opened.Channel
	if ch.Deposit != "5000000" || ch.State != "open" || ch.Signer != crypto.PubkeyToAddress(hot.PublicKey) || ch.Asset != *d.Token || opened.Funding != "permit" {
		t.Fatalf("open: %+v", opened)
	}

	// run: pays from that channel
	var r1 cli.RunJSON
	a.agent(&r1, "run", append(withHot, "--model", "paynode-test-1", "--asset", "TUSD", "--prompt", "Name three primes.", "--max-tokens", "20")...)
	if r1.Opened || r1.Channel != ch.ID || r1.Output == "" || r1.Usage.OutputTokens == 0 || r1.Symbol != "TUSD" {
		t.Fatalf("run: %+v", r1)
	}
	if err := r1.Receipt.Verify(d.Domain(), stack.Node.Provider()); err != nil || r1.Receipt.Cost.String() != r1.Cost || r1.Receipt.ResultHash != wire.ResultHash(r1.Output) {
		t.Fatalf("run's receipt %+v: %v", r1.Receipt, err)
	}
	// run in ETH, with no channel yet: it opens one
	var r2 cli.RunJSON
	a.agent(&r2, "run", append(key, "--model", "paynode-test-1", "--asset", "ETH", "--prompt", "Hello", "--deposit", "0.001ETH", "--max-tokens", "10")...)
	if !r2.Opened || r2.Deposit != "1000000000000000" || r2.Symbol != "ETH" || r2.Cost == "" {
		t.Fatalf("run with --deposit: %+v", r2)
	}

	// status: both channels, charged per the stored receipts
	var st struct {
		Payer    common.Address
		Channels []cli.ChannelJSON
	}
	a.agent(&st, "status", key...)
	if len(st.Channels) != 2 {
		t.Fatalf("status: %+v", st)
	}
	for _, c := range st.Channels {
		want := map[common.Hash]string{ch.ID: r1.Cost, r2.Channel: r2.Cost}[c.ID]
		if c.Charged != want || c.Receipts != 1 {
			t.Errorf("status of %s: charged %s in %d receipts; want %s in 1", c.ID, c.Charged, c.Receipts, want)
		}
		led, err := stack.Node.Ledger().Channel(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if led.Charged.String() != c.Charged {
			t.Errorf("channel %s: the node's ledger charged %s, the CLI's receipts %s", c.ID, led.Charged, c.Charged)
		}
	}

	// topup
	var top struct {
		Added   string
		Channel cli.ChannelJSON
	}
	a.agent(&top, "topup", append(key, "--channel", ch.ID.Hex(), "--amount", "1.5TUSD")...)
	if top.Added != "1500000" || top.Channel.Deposit != "6500000" {
		t.Fatalf("topup: %+v", top)
	}

	// withdraw: request, too early to finalize, then after the delay the
	// refund is deposit − claimed.
	for range 5 {
		if b, err := stack.Node.Settler().Settle(t.Context()); err != nil {
			t.Fatal(err)
		} else if b == nil {
			break
		}
	}
	var w cli.WithdrawJSON
	a.agent(&w, "withdraw", append(key, "--channel", ch.ID.Hex())...)
	if !w.Requested || w.Finalized || w.WithdrawableAt.IsZero() || w.Channel.State != "closing" || w.Channel.Claimed != r1.Cost {
		t.Fatalf("withdraw: %+v", w)
	}
	a.fails(1, []string{"cannot finalize yet", "run this again then"}, "withdraw", append(key, "--channel", ch.ID.Hex(), "--finalize")...)
	head, err := stack.Chain.Client().HeaderByNumber(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Chain.AdjustTime(w.WithdrawableAt.Sub(time.Unix(int64(head.Time), 0)) + time.Second); err != nil {
		t.Fatal(err)
	}
	a.agent(&w, "withdraw", append(key, "--channel", ch.ID.Hex(), "--finalize")...)
	claimed, _ := new(big.Int).SetString(r1.Cost, 10)
	if want := new(big.Int).Sub(big.NewInt(6_500_000), claimed); !w.Finalized || w.Refund != want.String() || w.Channel.State != "closed" {
		t.Fatalf("withdraw --finalize: %+v; want a refund of %s", w, want)
	}
}

// TestAgentCLIBadInput: each mistake is an exit code and a message that
// names the cause.
func TestAgentCLIBadInput(t *testing.T) {
	stack, a := startAgentStack(t)
	key := []string{"--key-file", stack.AgentKeyFile}
	job := func(extra ...string) []string {
		return append(append([]string{"--prompt", "Hello", "--max-tokens", "20"}, key...), extra...)
	}

	// An offer whose node is gone.
	acc := stack.Chain.Accounts()
	reg := bindings.NewOfferRegistry()
	testnet.TransactT(t, stack.Chain.Client(), stack.Chain.ChainID(), acc[5].Key, reg.Instance(stack.Chain.Client(), stack.Deployment.OfferRegistry),
		reg.PackRegister(bindings.OfferRegistryOfferInput{Model: "ghost-1", Endpoint: "ws://127.0.0.1:1/v1/agent",
			Base: big.NewInt(1000), InPerM: big.NewInt(1), OutPerM: big.NewInt(1), MaxTokens: 100}), nil)

	a.fails(1, []string{"no_offer", `"gpt-9"`}, "run", job("--model", "gpt-9")...)
	a.fails(1, []string{"no_offer", "the cap is 100"}, "run", job("--model", "paynode-test-1", "--max-price", "100", "--asset", "ETH")...)
	a.fails(1, []string{"no_channel", "give --deposit"}, "run", job("--model", "paynode-test-1", "--asset", "ETH")...)
	a.fails(1, []string{"budget_per_job", "per-job limit 1000"}, "run", job("--model", "paynode-test-1", "--asset", "ETH", "--deposit", "0.001ETH", "--max-job-cost", "1000")...)
	// A channel of 1000 wei cannot pay a job that may cost more.
	small, _ := crypto.GenerateKey()
	smallFile := filepath.Join(t.TempDir(), "small.key")
	keyfile.WriteHex(smallFile, small)
	var opened struct{ Channel cli.ChannelJSON }
	a.agent(&opened, "open", append(key, "--signer-key-file", smallFile, "--model", "paynode-test-1", "--asset", "ETH", "--deposit", "1000")...)
	a.fails(1, []string{"channel_too_small", opened.Channel.ID.Hex(), "top it up"}, "run", job("--model", "paynode-test-1", "--asset", "ETH", "--signer-key-file", smallFile)...)
	a.fails(1, []string{"unreachable", "127.0.0.1:1", "connection refused"}, "run", job("--model", "ghost-1", "--deposit", "0.001ETH")...)
	a.fails(2, []string{"bad_amount", "7 decimal places"}, "open", append(key, "--model", "paynode-test-1", "--asset", "TUSD", "--deposit", "0.0000001TUSD")...)
	a.fails(2, []string{"--model is required"}, "run", key...)
	a.fails(2, []string{"--deposit is required"}, "open", append(key, "--model", "paynode-test-1")...)
	a.fails(1, []string{"missing.key"}, "status", "--key-file", filepath.Join(t.TempDir(), "missing.key"))

	// Every command teaches.
	for _, cmd := range []string{"offers", "open", "topup", "run", "status", "withdraw", "proxy"} {
		_, errOut, code := a.exec("agent", cmd, "--help")
		if code != 0 || !strings.Contains(errOut, "Usage: paynode agent "+cmd) || !strings.Contains(errOut, "Examples:") || !strings.Contains(errOut, "-json") {
			t.Errorf("paynode agent %s --help: exit %d\n%s", cmd, code, errOut)
		}
	}
}

// TestAgentProxyCommand: `paynode agent proxy` serves the OpenAI API and
// pays for a request.
func TestAgentProxyCommand(t *testing.T) {
	stack, a := startAgentStack(t)
	addr := freeAddr(t)
	b := start(t, append(append([]string{"agent", "proxy"}, a.chain...),
		"--key-file", stack.AgentKeyFile, "--store", a.store, "--listen", addr, "--deposit", "0.001ETH")...)
	b.waitOutput(t, regexp.MustCompile(`serving the OpenAI API at (\S+)`))
	body := `{"model":"paynode-test-1","messages":[{"role":"user","content":"Hello"}],"max_tokens":10}`
	r, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := io.ReadAll(r.Body)
	r.Body.Close()
	var c struct {
		Usage struct {
			CompletionTokens uint64 `json:"completion_tokens"`
		}
		PaynodeReceipt *wire.Receipt `json:"paynode_receipt"`
	}
	if err := json.Unmarshal(resp, &c); err != nil || c.PaynodeReceipt == nil || c.Usage.CompletionTokens == 0 {
		t.Fatalf("proxy answered %s (%v)", resp, err)
	}
	led, err := stack.Node.Ledger().Channel(t.Context(), c.PaynodeReceipt.ChannelID)
	if err != nil || led.Charged.Cmp(c.PaynodeReceipt.Cost.Big()) != 0 {
		t.Fatalf("the node charged %v (%v); the receipt says %s", led.Charged, err, c.PaynodeReceipt.Cost)
	}
	if code := b.stop(t); code != 0 {
		t.Fatalf("proxy exited %d", code)
	}
}
