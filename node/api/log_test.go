package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// A job's logger writes the job's id, channel and model with each line,
// after the server's own attributes, at the server's level.
func TestJobLogger(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})).With("subsystem", "api")
	key := jobKey{channel: common.HexToHash("0xc0"), id: "job-7"}
	log := slog.New(&jobHandler{base: base.Handler(), key: key, model: "m-1"})

	log.Debug("not written")
	if buf.Len() != 0 || log.Enabled(t.Context(), slog.LevelDebug) {
		t.Fatalf("a debug line at info level: %s", buf.String())
	}
	log.Info("first", "n", 1)
	log.With("worker", "w").WithGroup("g").Warn("second", "n", 2)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["subsystem"] != "api" || rec["job"] != "job-7" || rec["channel"] != key.channel.Hex() || rec["model"] != "m-1" {
			t.Errorf("line %d without the job's attributes: %s", i, line)
		}
	}
	if !strings.Contains(lines[1], `"worker":"w","g":{"n":2}`) {
		t.Errorf("With and WithGroup lost: %s", lines[1])
	}
}
