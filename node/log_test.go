package node_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/internal/devstack"
	"github.com/paynode/paynode/node/executor/builtin"
	"github.com/paynode/paynode/node/nodetest"
	"github.com/paynode/paynode/node/wire"
)

// lockedBuffer is a bytes.Buffer for a logger written from many
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestJobLogLines: with the JSON log at debug level, every line about a
// job names the job and its channel, the hub's lines also its worker, and
// no private key, voucher signature or receipt signature appears anywhere
// in the log.
func TestJobLogLines(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var buf lockedBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	stack, a, signer := startPaying(t, ctx, devstack.Options{Log: log, Builtin: &builtin.Model{TokenDelay: 10 * time.Millisecond}})
	n := stack.Node
	var secrets []string
	for range 5 {
		out, err := a.Run(ctx, nodetest.Job{MaxTokens: 8})
		if err != nil || out.Err != nil {
			t.Fatalf("%+v, %v", out, err)
		}
		secrets = append(secrets, hex.EncodeToString(out.Result.Receipt.Signature))
	}
	res := make(chan nodetest.Outcome, 1)
	go func() {
		out, _ := a.Run(ctx, nodetest.Job{ID: "cancel-me", MaxTokens: 128, Prompt: "A long story."})
		res <- out
	}()
	time.Sleep(30 * time.Millisecond) // the job takes ≥ 16 tokens × 10 ms
	a.Send(&wire.Cancel{ID: "cancel-me"})
	if out := <-res; out.Err == nil {
		t.Fatal("the job to cancel succeeded")
	}
	if _, err := n.Settler().Settle(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{
		hex.EncodeToString(crypto.FromECDSA(stack.ProviderKey)),
		hex.EncodeToString(crypto.FromECDSA(stack.AgentKey)),
		hex.EncodeToString(crypto.FromECDSA(signer)),
	} {
		secrets = append(secrets, k)
	}

	text := buf.String()
	for _, s := range secrets {
		if strings.Contains(strings.ToLower(text), s) {
			t.Errorf("the log holds key or signature material %s…", s[:16])
		}
	}
	jobLines, workerLines := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("a log line is not JSON: %q", line)
		}
		msg, _ := rec["msg"].(string)
		if !strings.HasPrefix(msg, "job") {
			continue
		}
		jobLines++
		if rec["job"] == nil || rec["channel"] == nil {
			t.Errorf("job line without job and channel: %s", line)
		}
		if rec["task"] != nil {
			workerLines++
			if rec["worker"] == nil {
				t.Errorf("hub job line without its worker: %s", line)
			}
		}
	}
	if workerLines < 6 {
		t.Errorf("%d hub lines name a job's worker; want one at least for each of the 6 jobs", workerLines)
	}
	if jobLines < 10 {
		t.Errorf("only %d job lines for 6 jobs at debug level:\n%s", jobLines, text)
	}
}
