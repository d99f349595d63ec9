package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/paynode/paynode/internal/bench"
)

// TestBenchVerifyEvery: a small `paynode bench --json` run, the binary as
// a subprocess: --verify-every 16 verifies a fraction of the paid
// receipts' signatures and says so in the report; the default verifies
// every one. The second run also writes the load generator's CPU
// profiles.
func TestBenchVerifyEvery(t *testing.T) {
	bin := paynode.Path(t)
	prof := filepath.Join(t.TempDir(), "agent")
	for _, every := range []string{"", "16"} {
		args := []string{"bench", "--jobs", "400", "--agents", "2", "--in-flight", "4", "--idle-conns", "2", "--json"}
		if every != "" {
			args = append(args, "--verify-every", every, "--cpuprofile", prof)
		}
		cmd := exec.CommandContext(t.Context(), bin, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("paynode %v: %v\n%s", args, err, errb.String())
		}
		var rep bench.Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		r := rep.Receipts
		switch {
		case rep.Paid.Jobs != 400 || rep.Paid.Failed != 0 || r.Held != 400:
			t.Fatalf("report %+v", rep)
		case rep.Unpaid.NodeCPUMicros <= 0 || rep.Paid.NodeCPUMicros <= 0 || rep.Unpaid.AgentCPUMicros <= 0 || rep.Paid.AgentCPUMicros <= 0:
			t.Fatalf("CPU a job: unpaid %+v, paid %+v", rep.Unpaid, rep.Paid)
		case every == "" && (rep.VerifyEvery != 1 || r.Verified != 400):
			t.Fatalf("default: every %d, %d of %d verified", rep.VerifyEvery, r.Verified, r.Held)
		case every == "16" && (rep.VerifyEvery != 16 || r.Verified == 0 || r.Verified > 400/4):
			t.Fatalf("--verify-every 16: every %d, %d of %d verified", rep.VerifyEvery, r.Verified, r.Held)
		}
		t.Logf("--verify-every %q: %d of %d paid receipts' signatures verified", every, r.Verified, r.Held)
	}
	for _, run := range []string{"unpaid", "paid"} {
		// A CPU profile is a gzipped protocol buffer.
		if b, err := os.ReadFile(prof + "." + run); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Fatalf("--cpuprofile: %s.%s: %d bytes, %v", prof, run, len(b), err)
		}
	}
}

// TestBenchHelp: the help documents --verify-every.
func TestBenchHelp(t *testing.T) {
	_, errOut, code := run(t, "bench", "--help")
	if code != 0 || !contains(errOut, "Usage: paynode bench", "--verify-every", "Verifying receipts in batches", "Examples:") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}
