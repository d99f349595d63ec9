package cli_test

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/paynode/paynode/agent/cli"
)

// Mistakes in how a command is called are usage errors that say what is
// wrong, before anything touches the chain. (The commands themselves are
// tested against the real node in cmd/paynode, as a subprocess.)
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{nil, "no command"},
		{[]string{"pay"}, `unknown command "pay"`},
		{[]string{"run", "--key-file", "k"}, "--model is required"},
		{[]string{"run", "--model", "m", "--key-file", "k"}, "--prompt is required"},
		{[]string{"open", "--key-file", "k", "--model", "m"}, "--deposit is required"},
		{[]string{"open", "--key-file", "k", "--deposit", "1"}, "give --model, or --provider and --asset"},
		{[]string{"topup", "--key-file", "k"}, "--amount is required"},
		{[]string{"withdraw", "--key-file", "k"}, "--channel is required"},
		{[]string{"offers", "stray"}, `unexpected argument "stray"`},
		{[]string{"status", "--no-such-flag"}, "no-such-flag"},
	} {
		var out, errb bytes.Buffer
		err := (&cli.Main{Stdout: &out, Stderr: &errb}).Run(t.Context(), tc.args)
		if !errors.Is(err, cli.ErrUsage) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%q: %v; want a usage error saying %q", tc.args, err, tc.says)
		}
		if out.Len() != 0 {
			t.Errorf("%q: wrote %q on stdout", tc.args, out.String())
		}
	}
}

// A deployment file that cannot be read is said once, with its path.
func TestDeploymentFileError(t *testing.T) {
	missing := t.TempDir() + "/deployment.json"
	var out, errb bytes.Buffer
	err := (&cli.Main{Stdout: &out, Stderr: &errb}).Run(t.Context(), []string{"offers", "--deployment", missing})
	if err == nil || !strings.HasPrefix(err.Error(), "deployment file: open "+missing) {
		t.Fatalf("offers with a missing deployment file: %v", err)
	}
}

// Every command's --help teaches: a summary, the usage line, examples and
// the flags.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"offers", "open", "topup", "run", "status", "withdraw", "proxy"} {
		var errb bytes.Buffer
		err := (&cli.Main{Stdout: &bytes.Buffer{}, Stderr: &errb}).Run(t.Context(), []string{cmd, "--help"})
		h := errb.String()
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(h, "Usage: paynode agent "+cmd) || !strings.Contains(h, "Examples:\n  paynode agent "+cmd) ||
			!strings.Contains(h, "-json") || !strings.Contains(h, "-rpc") {
			t.Errorf("%s --help (%v):\n%s", cmd, err, h)
		}
	}
}
