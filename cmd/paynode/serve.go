package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/paynode/paynode/internal/keyfile"
	"github.com/paynode/paynode/node"
	"github.com/paynode/paynode/node/config"
)

const serveHelp = `
Runs the provider node: it follows the provider's payment channels on chain,
registers the configured offers on OfferRegistry (no transaction when they
are unchanged), takes paid jobs from agents at /v1/agent and gives them to
workers (the builtin one, and remote ones at /v1/worker), and settles what
it charged on chain in batches. Operators find /metrics, /healthz, /readyz
and /status on the metrics listener.

The config file is TOML; docs/node.example.toml documents every key with
its default. Flags override the file. The provider key is read from
chain.key_file: a hex key file or a go-ethereum keystore JSON, whose
password comes from chain.password_file or $PAYNODE_KEY_PASSWORD.

On SIGINT or SIGTERM the node stops taking jobs, lets the jobs in flight
finish (up to api.shutdown_timeout), settles, and exits 0.

Examples:
  paynode serve --config node.toml
  paynode serve --config node.toml --listen 0.0.0.0:7070 --log-format json`

// logFlags are the flags every long-running command takes for its log.
type logFlags struct {
	format, level *string
}

func addLogFlags(fs interface {
	String(name, value, usage string) *string
}) logFlags {
	return logFlags{
		format: fs.String("log-format", "text", "log format on stderr: text or json"),
		level:  fs.String("log-level", "info", "least severe log level shown: debug, info, warn or error"),
	}
}

func (l logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(*l.level)); err != nil {
		return nil, usageError("--log-level %q: want debug, info, warn or error", *l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(*l.format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError("--log-format %q: want text or json", *l.format)
}

func (m *Main) runServe(ctx context.Context, args []string) error {
	flags := m.newFlagSet("serve", "--config FILE [flags]", serveHelp)
	configPath := flags.String("config", "", "the node's TOML config file (see docs/node.example.toml)")
	rpc := flags.String("rpc", "", "override chain.rpc")
	listen := flags.String("listen", "", "override api.listen")
	metricsListen := flags.String("metrics-listen", "", "override metrics.listen")
	store := flags.String("store", "", "override store.path")
	keyFile := flags.String("key-file", "", "override chain.key_file")
	passwordFile := flags.String("password-file", "", "override chain.password_file")
	lf := addLogFlags(flags)
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *configPath == "" {
		return usageError("--config is required (docs/node.example.toml documents every key)")
	}
	log, err := lf.logger(m.Stderr)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	for _, o := range []struct {
		flag string
		v    string
		dst  *string
	}{
		{"rpc", *rpc, &cfg.Chain.RPC}, {"listen", *listen, &cfg.API.Listen},
		{"metrics-listen", *metricsListen, &cfg.Metrics.Listen}, {"store", *store, &cfg.Store.Path},
		{"key-file", *keyFile, &cfg.Chain.KeyFile}, {"password-file", *passwordFile, &cfg.Chain.PasswordFile},
	} {
		if o.v != "" {
			*o.dst = o.v
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config %s: %w", *configPath, err)
	}
	key, err := keyfile.Load(cfg.Path(cfg.Chain.KeyFile), cfg.Path(cfg.Chain.PasswordFile))
	if err != nil {
		return fmt.Errorf("chain.key_file: %w", err)
	}
	n, err := node.New(cfg, node.Options{Key: key, Log: log})
	if err != nil {
		return err
	}
	return n.Run(ctx)
}
