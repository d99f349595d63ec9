// Package config reads and validates the provider node's TOML config file
// (docs/node.example.toml documents every key). Every error names the key
// it is about, e.g. `offers[1].in_per_m: "2.5" is not a decimal integer`,
// and an unknown key is an error too, so a typo is never silently ignored.
package config

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

// Config is the provider node's configuration.
type Config struct {
	Chain      Chain      `toml:"chain"`
	API        API        `toml:"api"`
	Metrics    Metrics    `toml:"metrics"`
	Store      Store      `toml:"store"`
	Workers    Workers    `toml:"workers"`
	Settlement Settlement `toml:"settlement"`
	Offers     []Offer    `toml:"offers"`

	// dir is the config file's directory: relative paths are taken from it.
	dir string
}

// Chain is where the contracts are and who the provider is.
type Chain struct {
	RPC           string   `toml:"rpc"`
	Deployment    string   `toml:"deployment"`
	KeyFile       string   `toml:"key_file"`
	PasswordFile  string   `toml:"password_file"`
	Confirmations uint64   `toml:"confirmations"`
	PollInterval  Duration `toml:"poll_interval"`
}

// API is the websocket API for agents and workers.
type API struct {
	Listen            string   `toml:"listen"`
	PublicURL         string   `toml:"public_url"` // the endpoint published in offers; ws://listen/v1/agent by default
	MaxFrameBytes     int      `toml:"max_frame_bytes"`
	MaxJobsPerConn    int      `toml:"max_jobs_per_conn"`
	MaxConnsPerSigner int      `toml:"max_conns_per_signer"`
	MaxPendingConns   int      `toml:"max_pending_conns"`
	HandshakeTimeout  Duration `toml:"handshake_timeout"`
	IdleTimeout       Duration `toml:"idle_timeout"`
	WriteTimeout      Duration `toml:"write_timeout"`
	JobTimeout        Duration `toml:"job_timeout"`
	ShutdownTimeout   Duration `toml:"shutdown_timeout"`
}

// Metrics is the operators' listener: /metrics, /healthz, /readyz, /status.
type Metrics struct {
	Listen string `toml:"listen"`
	// Pprof serves Go's profiler at /debug/pprof/ on the metrics
	// listener: keep that listener private when it is on.
	Pprof bool `toml:"pprof"`
}

// Store is where the ledger lives.
type Store struct {
	Path string `toml:"path"`
}

// Workers configures the worker hub.
type Workers struct {
	TokenFile       string `toml:"token_file"`
	Builtin         bool   `toml:"builtin"`
	BuiltinCapacity int    `toml:"builtin_capacity"` // jobs the builtin worker runs at once
	QueueSize       int    `toml:"queue_size"`       // jobs that may wait per model when every worker is busy
}

// Settlement tunes the claims on chain.
type Settlement struct {
	Interval       Duration `toml:"interval"`
	Threshold      string   `toml:"threshold"` // unclaimed base units that trigger a claim; "" = none
	DeadlineMargin Duration `toml:"deadline_margin"`
	MaxBatch       int      `toml:"max_batch"`
	ReplaceAfter   Duration `toml:"replace_after"`
	GasFeeCapWei   string   `toml:"gas_fee_cap_wei"` // the most wei per gas; "" = no cap
}

// Offer is one offer the node registers and serves.
type Offer struct {
	Model       string `toml:"model"`
	Asset       string `toml:"asset"` // "ETH" or an ERC-20 address
	Base        string `toml:"base"`
	InPerM      string `toml:"in_per_m"`
	OutPerM     string `toml:"out_per_m"`
	MaxTokens   uint64 `toml:"max_tokens"`
	MetadataURI string `toml:"metadata_uri"`
}

// AssetAddress is the offer's asset: the zero address for ETH.
func (o Offer) AssetAddress() common.Address {
	if strings.EqualFold(o.Asset, "ETH") {
		return common.Address{}
	}
	return common.HexToAddress(o.Asset)
}

// Price is the offer's price; valid after Validate.
func (o Offer) Price() contracts.Price {
	p, _ := contracts.ParsePrice(o.Base, o.InPerM, o.OutPerM)
	return p
}

// Duration is a time.Duration written as "90s", "5m", "1h30m".
type Duration struct{ time.Duration }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. 30s, 5m, 1h)", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Default returns the configuration a file's missing keys fall back to.
func Default() Config {
	return Config{
		Chain: Chain{
			RPC: "http://127.0.0.1:8545", Deployment: "deployment.json", KeyFile: "provider.key",
			Confirmations: 1, PollInterval: Duration{time.Second},
		},
		API: API{
			Listen: "127.0.0.1:7070", MaxFrameBytes: 1 << 20, MaxJobsPerConn: 64, MaxConnsPerSigner: 8, MaxPendingConns: 1024,
			HandshakeTimeout: Duration{10 * time.Second}, IdleTimeout: Duration{5 * time.Minute},
			WriteTimeout: Duration{10 * time.Second}, JobTimeout: Duration{5 * time.Minute},
			ShutdownTimeout: Duration{30 * time.Second},
		},
		Metrics: Metrics{Listen: "127.0.0.1:9464"},
		Store:   Store{Path: "paynode-data"},
		Workers: Workers{TokenFile: "worker.token", Builtin: true, BuiltinCapacity: 64, QueueSize: 256},
		Settlement: Settlement{
			Interval: Duration{time.Minute}, DeadlineMargin: Duration{10 * time.Minute},
			MaxBatch: 100, ReplaceAfter: Duration{2 * time.Minute},
		},
	}
}

// Load reads the config file at path over the defaults and validates it.
// Relative paths in it are taken from the file's directory.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.dir = filepath.Dir(path)
	return c, nil
}

// Parse reads a config from TOML text over the defaults and validates it.
func Parse(text []byte) (*Config, error) {
	c := Default()
	md, err := toml.Decode(string(text), &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return nil, fmt.Errorf("line %d: %s: %s", pe.Position.Line, pe.LastKey, pe.Message)
			}
			return nil, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return nil, err
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := make([]string, len(undecoded))
		for i, k := range undecoded {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Path resolves a path from the config file's directory.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}

// Validate checks every field and names the first one that is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if !strings.HasPrefix(c.Chain.RPC, "http://") && !strings.HasPrefix(c.Chain.RPC, "https://") &&
		!strings.HasPrefix(c.Chain.RPC, "ws://") && !strings.HasPrefix(c.Chain.RPC, "wss://") {
		bad("chain.rpc", "%q is not an http(s):// or ws(s):// URL", c.Chain.RPC)
	}
	for _, f := range []kv[string]{{"chain.deployment", c.Chain.Deployment}, {"chain.key_file", c.Chain.KeyFile}, {"store.path", c.Store.Path}} {
		if f.v == "" {
			bad(f.key, "must be set")
		}
	}
	if c.Chain.Confirmations == 0 {
		bad("chain.confirmations", "must be at least 1 (1 = the head block counts)")
	}
	for _, f := range []kv[string]{{"api.listen", c.API.Listen}, {"metrics.listen", c.Metrics.Listen}} {
		if _, _, err := net.SplitHostPort(f.v); err != nil {
			bad(f.key, "%q is not host:port", f.v)
		}
	}
	for _, f := range []kv[int]{{"api.max_frame_bytes", c.API.MaxFrameBytes}, {"api.max_jobs_per_conn", c.API.MaxJobsPerConn},
		{"api.max_conns_per_signer", c.API.MaxConnsPerSigner}, {"api.max_pending_conns", c.API.MaxPendingConns},
		{"settlement.max_batch", c.Settlement.MaxBatch},
		{"workers.builtin_capacity", c.Workers.BuiltinCapacity}, {"workers.queue_size", c.Workers.QueueSize}} {
		if f.v <= 0 {
			bad(f.key, "must be positive")
		}
	}
	for _, f := range []kv[Duration]{{"chain.poll_interval", c.Chain.PollInterval}, {"api.handshake_timeout", c.API.HandshakeTimeout},
		{"api.idle_timeout", c.API.IdleTimeout}, {"api.write_timeout", c.API.WriteTimeout}, {"api.job_timeout", c.API.JobTimeout},
		{"api.shutdown_timeout", c.API.ShutdownTimeout}, {"settlement.interval", c.Settlement.Interval},
		{"settlement.deadline_margin", c.Settlement.DeadlineMargin}, {"settlement.replace_after", c.Settlement.ReplaceAfter}} {
		if f.v.Duration <= 0 {
			bad(f.key, "must be a positive duration")
		}
	}
	if c.Settlement.MaxBatch > 500 {
		bad("settlement.max_batch", "%d claims would not fit a block; at most 500", c.Settlement.MaxBatch)
	}
	for _, f := range []kv[string]{{"settlement.threshold", c.Settlement.Threshold}, {"settlement.gas_fee_cap_wei", c.Settlement.GasFeeCapWei}} {
		if f.v != "" {
			if _, err := parseAmount(f.v); err != nil {
				bad(f.key, "%v", err)
			}
		}
	}
	if !c.Workers.Builtin && c.Workers.TokenFile == "" {
		bad("workers.token_file", "must be set when workers.builtin is false: remote workers need a token")
	}
	if len(c.Offers) == 0 {
		bad("offers", "at least one [[offers]] is needed")
	}
	seen := map[string]int{}
	for i, o := range c.Offers {
		key := fmt.Sprintf("offers[%d]", i)
		if o.Model == "" {
			bad(key+".model", "must be set")
		}
		if !strings.EqualFold(o.Asset, "ETH") && !common.IsHexAddress(o.Asset) {
			bad(key+".asset", "%q is neither ETH nor an 0x token address", o.Asset)
		}
		id := o.Model + "/" + o.AssetAddress().Hex()
		if j, dup := seen[id]; dup {
			bad(key, "same model and asset as offers[%d]", j)
		}
		seen[id] = i
		for _, f := range []struct{ name, v string }{{"base", o.Base}, {"in_per_m", o.InPerM}, {"out_per_m", o.OutPerM}} {
			if _, err := parseAmount(f.v); err != nil {
				bad(key+"."+f.name, "%v", err)
			}
		}
		if o.MaxTokens == 0 {
			bad(key+".max_tokens", "must be at least 1")
		}
	}
	return errors.Join(errs...)
}

// kv is a key and its value, for checks in a fixed order.
type kv[T any] struct {
	key string
	v   T
}

// parseAmount reads a non-negative integer of base units written as a
// decimal string, by the wire's rules for amounts; money is never a float.
func parseAmount(s string) (*big.Int, error) {
	if s == "" {
		return nil, errors.New("must be set (a decimal integer of base units, in quotes)")
	}
	a, err := wire.ParseAmount(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an amount of base units: %s", s, strings.ReplaceAll(err.Error(), "\n", ": "))
	}
	return a.Big(), nil
}

// ThresholdAmount is settlement.threshold, nil when unset.
func (s Settlement) ThresholdAmount() *big.Int {
	v, _ := parseAmount(s.Threshold)
	return v
}

// GasFeeCap is settlement.gas_fee_cap_wei, nil when unset.
func (s Settlement) GasFeeCap() *big.Int {
	v, _ := parseAmount(s.GasFeeCapWei)
	return v
}
