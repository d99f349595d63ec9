// Command genbindings compiles the Solidity contracts with forge and writes
// their Go bindings with abigen --v2. It is run by `go generate` in
// contracts/bindings, and by the test that checks the committed bindings are
// current.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// contractNames are the contracts that get bindings, by source file stem.
var contractNames = []string{"OfferRegistry", "PaymentChannels", "TestUSD"}

// aliases rename members whose generated Go types would clash inside the
// one bindings package (both PaymentChannels and TestUSD are EIP-712).
var aliases = map[string]string{
	"TestUSD": "eip712Domain=tokenEip712Domain",
}

func main() {
	out := flag.String("out", ".", "directory to write the bindings into")
	root := flag.String("root", "..", "the Foundry project root (contracts/)")
	pkg := flag.String("pkg", "bindings", "Go package name of the bindings")
	flag.Parse()
	if err := run(*root, *out, *pkg); err != nil {
		fmt.Fprintln(os.Stderr, "genbindings:", err)
		os.Exit(1)
	}
}

func run(root, outDir, pkg string) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	forge, err := FindForge(root)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "genbindings")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	// A private out and cache dir, so a concurrent `forge test` is undisturbed.
	build := exec.Command(forge, "build", "--root", root, "--skip", "test", "--skip", "script",
		"--out", filepath.Join(work, "out"), "--cache-path", filepath.Join(work, "cache"))
	build.Dir = root // foundry.toml names solc by a path relative to the root
	build.Stderr = os.Stderr
	if msg, err := build.Output(); err != nil {
		return fmt.Errorf("forge build: %w\n%s", err, msg)
	}
	for _, name := range contractNames {
		if err := bind(work, name, outDir, pkg); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// artifact is the part of a forge build artifact that abigen needs.
type artifact struct {
	ABI      json.RawMessage `json:"abi"`
	Bytecode struct {
		Object string `json:"object"`
	} `json:"bytecode"`
}

func bind(work, name, outDir, pkg string) error {
	raw, err := os.ReadFile(filepath.Join(work, "out", name+".sol", name+".json"))
	if err != nil {
		return err
	}
	var a artifact
	if err := json.Unmarshal(raw, &a); err != nil {
		return fmt.Errorf("decode artifact: %w", err)
	}
	if len(a.ABI) == 0 || a.Bytecode.Object == "" {
		return errors.New("artifact has no abi or bytecode")
	}
	abiPath := filepath.Join(work, name+".abi")
	binPath := filepath.Join(work, name+".bin")
	if err := os.WriteFile(abiPath, a.ABI, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(binPath, []byte(strings.TrimPrefix(a.Bytecode.Object, "0x")), 0o644); err != nil {
		return err
	}
	outFile := filepath.Join(outDir, strings.ToLower(name)+".go")
	args := []string{"tool", "abigen", "--v2", "--abi", abiPath, "--bin", binPath,
		"--pkg", pkg, "--type", name, "--out", outFile}
	if a, ok := aliases[name]; ok {
		args = append(args, "--alias", a)
	}
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("abigen: %w", err)
	}
	return os.Chmod(outFile, 0o644) // abigen writes 0600
}

// FindForge returns the forge binary: $FORGE, the one npm installed under
// the Foundry root, or forge on PATH.
func FindForge(root string) (string, error) {
	if p := os.Getenv("FORGE"); p != "" {
		return p, nil
	}
	local := filepath.Join(root, "node_modules", "@foundry-rs", "forge-linux-amd64", "bin", "forge")
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	if p, err := exec.LookPath("forge"); err == nil {
		return p, nil
	}
	return "", errors.New("forge not found: run 'npm ci' in contracts/ or set $FORGE")
}
