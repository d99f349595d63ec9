package testnet_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paynode/paynode/testnet"
)

func TestAnvilAnswersAndStops(t *testing.T) {
	requireAnvil(t)
	anvil, err := testnet.StartAnvil(t.Context(), testnet.AnvilOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { anvil.Close() })

	for _, endpoint := range []string{anvil.URL(), anvil.WSURL()} {
		client := dial(t, endpoint)
		id, err := client.ChainID(t.Context())
		if err != nil {
			t.Fatalf("%s: %v", endpoint, err)
		}
		if id.Uint64() != testnet.DefaultAnvilChainID || anvil.ChainID().Cmp(id) != 0 {
			t.Errorf("%s: chain id %s, want %d", endpoint, id, testnet.DefaultAnvilChainID)
		}
	}
	// Same accounts, same funding as the embedded chain.
	client := dial(t, anvil.URL())
	for _, a := range anvil.Accounts() {
		balance, err := client.BalanceAt(t.Context(), a.Address, nil)
		if err != nil {
			t.Fatal(err)
		}
		if balance.Cmp(testnet.DefaultBalance()) != 0 {
			t.Errorf("%s holds %s on anvil", a.Name, balance)
		}
	}

	addr := mustParse(t, anvil.URL()).Host
	if err := anvil.Close(); err != nil {
		t.Fatal(err)
	}
	if err := anvil.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The port is free once Close returns: the process is gone.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("anvil's port still taken after Close: %v", err)
	}
	l.Close()
}

func TestAnvilChainIDOption(t *testing.T) {
	anvil := testnet.StartAnvilT(t, testnet.AnvilOptions{ChainID: 777})
	id, err := dial(t, anvil.URL()).ChainID(t.Context())
	if err != nil || id.Uint64() != 777 {
		t.Fatalf("chain id %v, err %v", id, err)
	}
}

func TestStartAnvilFailsFast(t *testing.T) {
	requireAnvil(t)
	path, err := testnet.FindAnvil()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = testnet.StartAnvil(t.Context(), testnet.AnvilOptions{Path: path, Args: []string{"--no-such-flag"}})
	if err == nil {
		t.Fatal("want an error for an unknown flag")
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s to notice anvil died", time.Since(start))
	}
}

func TestFindAnvilHonoursEnv(t *testing.T) {
	notExecutable := filepath.Join(t.TempDir(), "anvil")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ANVIL", notExecutable)
	if _, err := testnet.FindAnvil(); !errors.Is(err, testnet.ErrAnvilNotFound) {
		t.Errorf("FindAnvil with a non-executable $ANVIL: %v", err)
	}

	if err := os.Chmod(notExecutable, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := testnet.FindAnvil(); err != nil || got != notExecutable {
		t.Errorf("FindAnvil = %q, %v; want $ANVIL", got, err)
	}
}

// requireAnvil skips t when anvil is missing, except in CI (CI=true),
// which installs it: there a missing anvil fails the test rather than
// passing it off as skipped.
func requireAnvil(t *testing.T) {
	t.Helper()
	if _, err := testnet.FindAnvil(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("anvil is not installed, and CI installs it ('make test' does): %v", err)
		}
		t.Skipf("anvil is not installed (%v); 'make test' installs it", err)
	}
}
