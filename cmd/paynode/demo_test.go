package main

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// TestDemo: `paynode demo --jobs 10 --json` pays for ten jobs, settles
// and withdraws, and its three totals agree.
func TestDemo(t *testing.T) {
	out, errOut, code := run(t, "demo", "--jobs", "10", "--json")
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, errOut)
	}
	var s demoSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if s.Jobs != 10 || s.Failed != 0 || !s.Agree || !s.Withdrawn {
		t.Fatalf("summary %+v", s)
	}
	charged, ok := new(big.Int).SetString(s.AgentCharged, 10)
	if !ok || charged.Sign() <= 0 || s.LedgerCharged != s.AgentCharged || s.ChainClaimed != s.AgentCharged {
		t.Fatalf("totals: agent %s, ledger %s, chain %s", s.AgentCharged, s.LedgerCharged, s.ChainClaimed)
	}
	deposit, _ := new(big.Int).SetString(s.Deposit, 10)
	if want := new(big.Int).Sub(deposit, charged); s.Refund != want.String() {
		t.Fatalf("refund %s; want deposit − claimed = %s", s.Refund, want)
	}
	if s.Batches == 0 || s.GasUsed == 0 || s.InputTokens == 0 || s.OutputTokens == 0 {
		t.Fatalf("summary %+v", s)
	}
}

// TestDemoHelp: the help says what the demo does and how to call it.
func TestDemoHelp(t *testing.T) {
	_, errOut, code := run(t, "demo", "--help")
	if code != 0 || !contains(errOut, "Usage: paynode demo", "--jobs", "Examples:", "agree") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
