package bindings_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBindingsUpToDate regenerates the bindings from the Solidity sources
// and fails on any difference from the committed files: a contract change
// without `go generate ./contracts/...` is caught here.
func TestBindingsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("regenerating bindings compiles the contracts; skipped with -short")
	}
	if _, err := os.Stat("../node_modules/@foundry-rs/forge-linux-amd64/bin/forge"); err != nil && os.Getenv("FORGE") == "" {
		if _, err := exec.LookPath("forge"); err != nil {
			t.Fatal("forge is not installed: run 'npm ci' in contracts/ (make test does)")
		}
	}
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "go", "run", "../internal/genbindings", "-root", "..", "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("genbindings: %v\n%s", err, msg)
	}
	generated, err := filepath.Glob(filepath.Join(out, "*.go"))
	if err != nil || len(generated) == 0 {
		t.Fatalf("no bindings generated (%v)", err)
	}
	for _, g := range generated {
		want, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(g)
		have, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("%s: generated but not committed: run 'go generate ./contracts/...'", name)
			continue
		}
		if !bytes.Equal(have, want) {
			t.Errorf("%s differs from what the contracts generate: run 'go generate ./contracts/...'", name)
		}
	}
}
