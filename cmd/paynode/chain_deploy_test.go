package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/internal/keyfile"
	"github.com/paynode/paynode/testnet"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	code = m.Exit(m.Run(t.Context(), args))
	return out.String(), errb.String(), code
}

func TestChainCommand(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	var errb syncBuffer
	m := &Main{Stdout: pw, Stderr: &errb}
	done := make(chan int, 1)
	go func() {
		done <- m.Exit(m.Run(ctx, []string{"chain", "--http", "127.0.0.1:0", "--json",
			"--deployment-out", filepath.Join(dir, "deployment.json"), "--keys-dir", filepath.Join(dir, "keys")}))
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadBytes('\n')
	if err != nil {
		t.Fatalf("no output from chain (%v); stderr: %s", err, errb.String())
	}
	go io.Copy(io.Discard, pr)
	var info chainInfo
	if err := json.Unmarshal(line, &info); err != nil {
		t.Fatalf("chain --json: %v: %s", err, line)
	}

	// The printed URL answers eth_chainId, and the contracts have code.
	client, err := ethclient.DialContext(t.Context(), info.RPC)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	id, err := client.ChainID(t.Context())
	if err != nil || id.Uint64() != 1337 {
		t.Fatalf("eth_chainId = %v, %v", id, err)
	}
	d, err := contracts.LoadDeployment(info.DeploymentFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := testnet.CheckDeployed(t.Context(), client, d); err != nil {
		t.Fatal(err)
	}
	if d.Token == nil {
		t.Fatal("the dev chain deploys TestUSD")
	}
	// The key files hold the printed accounts.
	for _, a := range info.Accounts {
		k, err := keyfile.Load(a.KeyFile, "")
		if err != nil {
			t.Fatal(err)
		}
		if crypto.PubkeyToAddress(k.PublicKey) != a.Address {
			t.Fatalf("%s holds the key of another account", a.KeyFile)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("chain exited %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("chain did not stop on interrupt")
	}
}

func TestDeployCommand(t *testing.T) {
	anvil := testnet.StartAnvilT(t, testnet.AnvilOptions{})
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "deployer.key")
	if err := keyfile.WriteHex(keyPath, testnet.DevAccounts()[0].Key); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "deployment.json")

	stdout, stderr, code := run(t, "deploy", "--rpc", anvil.URL(), "--key-file", keyPath, "--test-token",
		"--mint-to", testnet.DevAccounts()[1].Address.Hex(), "--out", out)
	if code != 0 {
		t.Fatalf("deploy exited %d: %s", code, stderr)
	}
	d, err := contracts.LoadDeployment(out)
	if err != nil {
		t.Fatal(err)
	}
	var printed contracts.Deployment
	if err := json.Unmarshal([]byte(stdout), &printed); err != nil || printed.PaymentChannels != d.PaymentChannels {
		t.Fatalf("stdout is not the deployment JSON (%v): %s", err, stdout)
	}
	client, err := ethclient.DialContext(t.Context(), anvil.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := testnet.CheckDeployed(t.Context(), client, d); err != nil {
		t.Fatal(err)
	}
	if d.ChainID != testnet.DefaultAnvilChainID || d.WithdrawalDelay != uint64(testnet.DefaultWithdrawalDelay/time.Second) {
		t.Fatalf("deployment %+v", d)
	}

	poorKey := filepath.Join(dir, "poor.key")
	k, _ := crypto.GenerateKey()
	if err := keyfile.WriteHex(poorKey, k); err != nil {
		t.Fatal(err)
	}
	// Each bad input fails with one line naming the cause, exits non-zero,
	// and writes no deployment file.
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"already deployed", []string{"--rpc", anvil.URL(), "--key-file", keyPath, "--out", out}, 1, "already deployed"},
		{"unreachable rpc", []string{"--rpc", "http://127.0.0.1:1", "--key-file", keyPath, "--out", filepath.Join(dir, "x.json")}, 1, "cannot reach RPC"},
		{"missing key file", []string{"--rpc", anvil.URL(), "--key-file", filepath.Join(dir, "none.key"), "--out", filepath.Join(dir, "x.json")}, 1, "none.key"},
		{"key without funds", []string{"--rpc", anvil.URL(), "--key-file", poorKey, "--out", filepath.Join(dir, "x.json")}, 1, "no funds"},
		{"no --out", []string{"--rpc", anvil.URL(), "--key-file", keyPath}, 2, "--out is required"},
		{"bad --mint-to", []string{"--rpc", anvil.URL(), "--key-file", keyPath, "--test-token", "--mint-to", "0x12", "--out", filepath.Join(dir, "x.json")}, 2, "not an address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := run(t, append([]string{"deploy"}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, stderr)
			}
			last := lastLine(stderr)
			if !strings.HasPrefix(last, "error: ") || !strings.Contains(last, c.want) {
				t.Fatalf("last line %q, want an error naming %q", last, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "x.json")); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("a failed deploy wrote a deployment file")
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestUsage(t *testing.T) {
	_, stderr, code := run(t)
	if code != 2 || !strings.Contains(stderr, "Commands:") {
		t.Fatalf("no args: exit %d, %s", code, stderr)
	}
	_, stderr, code = run(t, "frobnicate")
	if code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: exit %d, %s", code, stderr)
	}
	_, stderr, code = run(t, "deploy", "--help")
	if code != 0 || !strings.Contains(stderr, "Examples:") || !strings.Contains(stderr, "-key-file") {
		t.Fatalf("deploy --help: exit %d, %s", code, stderr)
	}
}
