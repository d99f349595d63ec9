package testnet

import (
	"context"
	"log/slog"

	gethlog "github.com/ethereum/go-ethereum/log"
)

// gethLogger is the logger handed to the go-ethereum node: the caller's
// handler, warn level and above. Only the node and its RPC servers log
// through it; the rest of go-ethereum logs to its process-wide root logger,
// which discards everything unless the program replaces it. We do not: its
// SetDefault also replaces the program's default slog logger.
func gethLogger(l *slog.Logger) gethlog.Logger {
	return gethlog.NewLogger(minLevel{
		Handler: l.Handler().WithAttrs([]slog.Attr{slog.String("component", "geth")}),
		min:     slog.LevelWarn,
	})
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min && h.Handler.Enabled(ctx, level)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
