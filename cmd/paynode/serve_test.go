package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/internal/keyfile"
	"github.com/paynode/paynode/node"
	"github.com/paynode/paynode/node/ledger/bolt"
	"github.com/paynode/paynode/node/nodetest"
	"github.com/paynode/paynode/testnet"
)

// background runs a long-running command until its context is cancelled
// and returns its exit code on the channel.
type background struct {
	cancel context.CancelFunc
	done   chan int
	stdout *syncBuffer
	stderr *syncBuffer
}

func start(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	b := &background{cancel: cancel, done: make(chan int, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	m := &Main{Stdout: b.stdout, Stderr: b.stderr}
	go func() { b.done <- m.Exit(m.Run(ctx, args)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-b.done:
		case <-time.After(time.Minute):
			t.Error("command did not stop")
		}
	})
	return b
}

// waitOutput waits until re matches the command's stderr (or stdout) and
// returns its first group.
func (b *background) waitOutput(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		for _, s := range []string{b.stderr.String(), b.stdout.String()} {
			if m := re.FindStringSubmatch(s); m != nil {
				return m[1]
			}
		}
		select {
		case code := <-b.done:
			t.Fatalf("command exited %d; stderr:\n%s", code, b.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %s in the output; stderr:\n%s", re, b.stderr.String())
	return ""
}

// stop interrupts the command as SIGINT would and returns its exit code.
func (b *background) stop(t *testing.T) int {
	t.Helper()
	b.cancel()
	select {
	case code := <-b.done:
		b.done <- code // for the cleanup
		return code
	case <-time.After(time.Minute):
		t.Fatal("command did not stop within a minute")
	}
	return -1
}

// TestDevServesAPaidJob: `paynode dev` comes up and serves a paid job to
// the agent key it prints; `paynode status` shows the charge, exactly.
func TestDevServesAPaidJob(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	var errb syncBuffer
	m := &Main{Stdout: pw, Stderr: &errb}
	done := make(chan int, 1)
	go func() {
		done <- m.Exit(m.Run(ctx, []string{"dev", "--http", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--json"}))
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadBytes('\n')
	if err != nil {
		t.Fatalf("no output from dev (%v); stderr: %s", err, errb.String())
	}
	go io.Copy(io.Discard, pr)
	var info devInfo
	if err := json.Unmarshal(line, &info); err != nil {
		t.Fatalf("dev --json: %v: %s", err, line)
	}
	if len(info.Offers) != 1 || info.Offers[0].Asset != "ETH" {
		t.Fatalf("offers %+v; want one in ETH", info.Offers)
	}

	// The printed agent key is funded: it opens a channel and pays.
	agentKey, err := keyfile.Load(info.AgentKeyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := contracts.LoadDeployment(info.DeploymentFile)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ethclient.DialContext(ctx, info.RPC)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	id := nodetest.OpenChannel(t, client, d, agentKey, info.Provider, agentKey, common.Address{}, big.NewInt(1e16), common.HexToHash("0x1"))
	a, err := nodetest.Dial(ctx, info.AgentURL, agentKey, info.Provider)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	price, err := contracts.ParsePrice(info.Offers[0].Base, info.Offers[0].InPerM, info.Offers[0].OutPerM)
	if err != nil {
		t.Fatal(err)
	}
	a.ChannelID, a.Price = id, price
	out, err := a.Run(ctx, nodetest.Job{Prompt: "Hello, paynode.", MaxTokens: 16, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.Err != nil {
		t.Fatalf("job failed: %v", out.Err)
	}
	if out.Result.Output == "" || strings.Join(out.Chunks, "") != out.Result.Output {
		t.Fatalf("output %q, chunks %q", out.Result.Output, out.Chunks)
	}

	// `paynode status` reads the node's /status: the channel was charged
	// exactly what the receipt says.
	stdout, stderr, code := run(t, "status", "--node", info.MetricsURL, "--json")
	if code != 0 {
		t.Fatalf("status exited %d: %s", code, stderr)
	}
	var st node.Status
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Channels) != 1 || st.Channels[0].ID != id || st.Channels[0].Charged != out.Result.Cost.String() {
		t.Fatalf("status channels %+v; want %s charged %s", st.Channels, id, out.Result.Cost)
	}
	if len(st.Workers) != 1 || st.Workers[0].Name != "builtin" {
		t.Errorf("status workers %+v; want the builtin one", st.Workers)
	}
	if stdout, _, code := run(t, "status", "--node", info.MetricsURL); code != 0 || !strings.Contains(stdout, id.Hex()) {
		t.Errorf("status (text) exited %d:\n%s", code, stdout)
	}
	resp, err := http.Get(info.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `paynode_jobs_finished_total{model="paynode-test-1",offer="1",outcome="ok"} 1`) {
		t.Errorf("/metrics does not count the job:\n%s", grepLines(string(body), "paynode_jobs_finished"))
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("dev exited %d after an interrupt; stderr: %s", code, errb.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("dev did not stop")
	}
	if _, err := os.Stat(info.Dir); !os.IsNotExist(err) {
		t.Errorf("dev left its temporary directory %s behind (%v)", info.Dir, err)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

var agentURLRe = regexp.MustCompile(`serving agents at (ws://[0-9.:]+/v1/agent)`)

// TestServeWithRemoteWorker runs `paynode serve` from a config file with a
// `paynode worker` on the builtin backend: a job runs on the worker; an
// interrupt while a job runs lets it finish and be charged, then the node
// settles and exits 0; a restart with the same offers sends no
// transaction.
func TestServeWithRemoteWorker(t *testing.T) {
	chain := testnet.StartT(t, testnet.Config{})
	accounts := chain.Accounts()
	ctx := t.Context()
	d, err := testnet.Deploy(ctx, chain.Client(), accounts[0].Key, testnet.DeployOptions{PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := d.Save(filepath.Join(dir, "deployment.json")); err != nil {
		t.Fatal(err)
	}
	provider := accounts[1]
	if err := keyfile.WriteHex(filepath.Join(dir, "provider.key"), provider.Key); err != nil {
		t.Fatal(err)
	}
	token := "0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(filepath.Join(dir, "worker.token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
[chain]
rpc = %q
poll_interval = "100ms"

[api]
listen = %q
shutdown_timeout = "30s"

[metrics]
listen = "127.0.0.1:0"

[workers]
builtin = false

[settlement]
interval = "1h"

[[offers]]
model = "paynode-test-1"
asset = "ETH"
base = "1000"
in_per_m = "2000000"
out_per_m = "8000000"
max_tokens = 256
`, chain.WSURL(), freeAddr(t))
	cfgPath := filepath.Join(dir, "node.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	serve := start(t, "serve", "--config", cfgPath)
	agentURL := serve.waitOutput(t, agentURLRe)
	workerURL := strings.TrimSuffix(agentURL, "/v1/agent") + "/v1/worker"
	start(t, "worker", "--node", workerURL, "--token-file", filepath.Join(dir, "worker.token"),
		"--backend", "builtin", "--token-delay", "10ms", "--capacity", "2", "--name", "remote-1")

	signer, _ := crypto.GenerateKey()
	id := nodetest.OpenChannel(t, chain.Client(), d, accounts[2].Key, provider.Address, signer, common.Address{}, big.NewInt(1e16), common.HexToHash("0x2"))
	a, err := nodetest.Dial(ctx, agentURL, signer, provider.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.ChannelID, a.Price = id, mustPrice(t, "1000", "2000000", "8000000")
	// The worker may still be registering: retry while no worker serves
	// the model.
	var first nodetest.Outcome
	for range 100 {
		if first, err = a.Run(ctx, nodetest.Job{MaxTokens: 8}); err != nil {
			t.Fatal(err)
		}
		if first.Err == nil || first.Err.Code != "unknown_model" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if first.Err != nil {
		t.Fatalf("job failed: %v", first.Err)
	}

	// Interrupt with a job of about a second in flight: it finishes and
	// is charged, then the node settles and exits 0.
	type outcome struct {
		out nodetest.Outcome
		err error
	}
	slow := make(chan outcome, 1)
	go func() {
		out, err := a.Run(ctx, nodetest.Job{ID: "slow", MaxTokens: 100, Prompt: "Tell a long story about the sea, the wind and the ships."})
		slow <- outcome{out, err}
	}()
	time.Sleep(300 * time.Millisecond)
	if code := serve.stop(t); code != 0 {
		t.Fatalf("serve exited %d after an interrupt; stderr:\n%s", code, serve.stderr.String())
	}
	got := <-slow
	if got.err != nil || got.out.Err != nil {
		t.Fatalf("the job in flight at shutdown: %v %v", got.err, got.out.Err)
	}
	charged := new(big.Int).Add(first.Result.Cost.Big(), got.out.Result.Cost.Big())
	if nodetest.Claimed(t, chain.Client(), d, id).Cmp(charged) != 0 {
		t.Errorf("claimed on chain %s after shutdown, receipts add up to %s", nodetest.Claimed(t, chain.Client(), d, id), charged)
	}
	l, err := bolt.Open(filepath.Join(dir, "paynode-data"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := l.Channel(ctx, id)
	l.Close(ctx)
	if err != nil || cs.Charged.Cmp(charged) != 0 || cs.Reserved.Sign() != 0 {
		t.Fatalf("ledger after shutdown: %+v, %v; want charged %s, nothing reserved", cs, err, charged)
	}

	// A restart with the same offers sends no transaction.
	nonce, err := chain.Client().NonceAt(ctx, provider.Address, nil)
	if err != nil {
		t.Fatal(err)
	}
	again := start(t, "serve", "--config", cfgPath)
	again.waitOutput(t, agentURLRe)
	if n, _ := chain.Client().NonceAt(ctx, provider.Address, nil); n != nonce {
		t.Errorf("provider nonce %d after a restart with the same offers, was %d", n, nonce)
	}
	if code := again.stop(t); code != 0 {
		t.Fatalf("serve exited %d; stderr:\n%s", code, again.stderr.String())
	}
}

// freeAddr returns a loopback address with a port free right now: the
// restart below must publish the same endpoint to change no offer.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func mustPrice(t *testing.T, base, in, out string) contracts.Price {
	t.Helper()
	p, err := contracts.ParsePrice(base, in, out)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeAndWorkerRefuseBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[api]\nlisten = \"nowhere\"\nmax_jobz = 3\n"), 0o600)
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("0123456789abcdef0123\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"serve without config", []string{"serve"}, 2, "--config is required"},
		{"serve unknown key", []string{"serve", "--config", bad}, 1, "unknown key api.max_jobz"},
		{"serve missing config", []string{"serve", "--config", filepath.Join(dir, "nope.toml")}, 1, "no such file"},
		{"serve bad log format", []string{"serve", "--config", bad, "--log-format", "xml"}, 2, "--log-format"},
		{"worker without node", []string{"worker", "--token-file", token, "--backend", "builtin"}, 2, "--node is required"},
		{"worker without backend", []string{"worker", "--node", "ws://127.0.0.1:1/v1/worker", "--token-file", token}, 2, "--backend is required"},
		{"worker openai without upstream", []string{"worker", "--node", "ws://127.0.0.1:1/v1/worker", "--token-file", token, "--backend", "openai", "--model", "m"}, 2, "needs --upstream"},
		{"worker openai without model", []string{"worker", "--node", "ws://127.0.0.1:1/v1/worker", "--token-file", token, "--backend", "openai", "--upstream", "http://127.0.0.1:1"}, 2, "at least one --model"},
		{"worker builtin other model", []string{"worker", "--node", "ws://127.0.0.1:1/v1/worker", "--token-file", token, "--backend", "builtin", "--model", "gpt-9"}, 2, "serves paynode-test-1 only"},
		{"worker missing token file", []string{"worker", "--node", "ws://127.0.0.1:1/v1/worker", "--token-file", filepath.Join(dir, "nope"), "--backend", "builtin"}, 1, "--token-file"},
		{"status unreachable", []string{"status", "--node", "http://127.0.0.1:1", "--timeout", "2s"}, 1, "127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}
