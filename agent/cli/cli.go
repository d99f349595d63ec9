// Package cli is `paynode agent`: the agent SDK from the shell. Its
// commands list offers on chain, open and top up channels, pay for one
// job, show what a channel was charged, withdraw, and run the
// OpenAI-compatible proxy. Every command takes --json (amounts as decimal
// strings of base units) and prints amounts for people otherwise (1.25
// TUSD, 0.0001 ETH); amounts are read either way ("0.01ETH", "2.5TUSD", or
// an integer of base units).
//
// Keys come from files only (a hex key file or a go-ethereum keystore
// with --password-file or $PAYNODE_KEY_PASSWORD): --key-file is the
// funding wallet, the payer; --signer-key-file, when given, is the hot key
// the channel names to sign vouchers. Receipts are kept, one JSON-lines
// file per channel, in --store (default ~/.paynode/receipts).
package cli

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/internal/keyfile"
)

// ErrUsage marks an error in how a command was called (a flag missing or
// malformed); the binary exits 2 on it.
var ErrUsage = errors.New("usage")

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

// Main runs `paynode agent` commands.
type Main struct {
	Stdout io.Writer // data: what --json prints
	Stderr io.Writer // progress, help and errors, for people
}

type command struct {
	summary string
	run     func(m *Main, ctx context.Context, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"offers":   {"list the offers on chain: models, providers, prices", (*Main).offers},
		"open":     {"open a payment channel to a provider", (*Main).open},
		"topup":    {"add to a channel's deposit", (*Main).topup},
		"run":      {"pay for one job and print its output, usage, cost and receipt", (*Main).run},
		"status":   {"show channels: deposit, charged per receipts, claimed on chain", (*Main).status},
		"withdraw": {"request a channel's withdrawal, or finalize it for the refund", (*Main).withdraw},
		"proxy":    {"serve an OpenAI-compatible API that pays per request", (*Main).proxy},
	}
}

// Run runs the command named by args[0]. --help anywhere returns
// flag.ErrHelp after printing the help.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		m.usage()
		if len(args) == 0 {
			return usageError("no command")
		}
		return flag.ErrHelp
	}
	c, ok := commands[args[0]]
	if !ok {
		m.usage()
		return usageError("unknown command %q", args[0])
	}
	return c.run(m, ctx, args[1:])
}

func (m *Main) usage() {
	fmt.Fprint(m.Stderr, `paynode agent: find providers on chain and pay them per job.

Usage: paynode agent <command> [flags]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(m.Stderr, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(m.Stderr, `
Amounts are written "0.01ETH", "2.5 TUSD" or as an integer of base units
(wei, micro-TUSD); --json prints them as decimal strings of base units.

A first job on the dev chain ('paynode dev' prints the files):
  paynode agent run --rpc http://127.0.0.1:8545 --deployment deployment.json \
      --key-file agent.key --model paynode-test-1 --prompt "Hello" --deposit 0.01ETH

Run 'paynode agent <command> --help' for a command's flags and examples.
`)
}

// Summary is the line `paynode --help` shows for the agent command.
const Summary = "pay providers per job: offers, open, topup, run, status, withdraw, proxy"

func (m *Main) flagSet(name, usage, help string) *flag.FlagSet {
	fs := flag.NewFlagSet("paynode agent "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: paynode agent %s %s\n\n%s: %s.\n\n%s\n\nFlags:\n", name, usage, name, commands[name].summary, strings.TrimSpace(help))
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q (flags go before it? every value is a flag)", fs.Arg(0))
	}
	return nil
}

// chainFlags are the flags of every command that reads the chain.
type chainFlags struct {
	rpc, deployment string
	timeout         time.Duration
	json            bool
}

func addChainFlags(fs *flag.FlagSet) *chainFlags {
	c := &chainFlags{}
	fs.StringVar(&c.rpc, "rpc", "http://127.0.0.1:8545", "the chain's JSON-RPC URL (http, https, ws or wss)")
	fs.StringVar(&c.deployment, "deployment", "deployment.json", "the deployment file written by 'paynode deploy' or 'paynode chain'")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up after this long")
	fs.BoolVar(&c.json, "json", false, "print the result as one JSON object on stdout (amounts in base units)")
	return c
}

// keyFlags name the funding key, the signer key and the receipt store.
type keyFlags struct {
	keyFile, passwordFile             string
	signerKeyFile, signerPasswordFile string
	store                             string
}

func addKeyFlags(fs *flag.FlagSet, signer bool) *keyFlags {
	k := &keyFlags{}
	fs.StringVar(&k.keyFile, "key-file", "", "the payer's key file (the funding wallet): hex, or keystore JSON with --password-file or $"+keyfile.PasswordEnv)
	fs.StringVar(&k.passwordFile, "password-file", "", "the password of a keystore --key-file")
	if signer {
		fs.StringVar(&k.signerKeyFile, "signer-key-file", "", "the hot key that signs vouchers, named by the channel (default: the --key-file key)")
		fs.StringVar(&k.signerPasswordFile, "signer-password-file", "", "the password of a keystore --signer-key-file")
	}
	home, _ := os.UserHomeDir()
	fs.StringVar(&k.store, "store", filepath.Join(home, ".paynode", "receipts"), "directory of the receipts, one file per channel")
	return k
}

// session is what a command works with: the chain, the deployment and
// the keys.
type session struct {
	eth      *ethclient.Client
	d        *contracts.Deployment
	payer    *ecdsa.PrivateKey
	signer   *ecdsa.PrivateKey
	channels *agent.Channels
	disc     *agent.Discovery
	store    *agent.Store
	assets   map[common.Address]agent.Asset
}

func (s *session) close() {
	if s.store != nil {
		s.store.Close()
	}
	if s.eth != nil {
		s.eth.Close()
	}
}

// connect reads the deployment and dials the chain; with k, it loads the
// keys and opens the receipt store too.
func connect(ctx context.Context, c *chainFlags, k *keyFlags) (*session, error) {
	d, err := contracts.LoadDeployment(c.deployment)
	if err != nil {
		return nil, err // "deployment file: ...", with its path
	}
	s := &session{d: d, assets: map[common.Address]agent.Asset{}}
	if k != nil {
		if k.keyFile == "" {
			return nil, usageError("--key-file is required: the payer's key file")
		}
		if s.payer, err = keyfile.Load(k.keyFile, k.passwordFile); err != nil {
			return nil, err
		}
		s.signer = s.payer
		if k.signerKeyFile != "" {
			if s.signer, err = keyfile.Load(k.signerKeyFile, k.signerPasswordFile); err != nil {
				return nil, err
			}
		}
		if s.store, err = agent.OpenStore(k.store); err != nil {
			return nil, err
		}
	}
	if s.eth, err = ethclient.DialContext(ctx, c.rpc); err != nil {
		s.close()
		return nil, fmt.Errorf("chain %s: %w", c.rpc, err)
	}
	id, err := s.eth.ChainID(ctx)
	if err != nil {
		s.close()
		return nil, &agent.Error{Op: "connect", Code: agent.CodeUnreachable, Message: fmt.Sprintf("chain %s: %v", c.rpc, err), Err: err}
	}
	if id.Uint64() != d.ChainID {
		s.close()
		return nil, fmt.Errorf("chain %s has id %s; the deployment %s is on chain %d", c.rpc, id, c.deployment, d.ChainID)
	}
	s.disc = agent.NewDiscovery(s.eth, d)
	if s.payer != nil {
		s.channels = agent.NewChannels(s.eth, d, s.payer)
		s.channels.PollInterval = 250 * time.Millisecond
	}
	return s, nil
}

func (s *session) signerAddress() common.Address { return crypto.PubkeyToAddress(s.signer.PublicKey) }

// asset returns the asset at addr, read from the chain once.
func (s *session) asset(ctx context.Context, addr common.Address) (agent.Asset, error) {
	if a, ok := s.assets[addr]; ok {
		return a, nil
	}
	a, err := agent.ReadAsset(ctx, s.eth, addr)
	if err != nil {
		return agent.Asset{}, err
	}
	s.assets[addr] = a
	return a, nil
}

// assetNamed resolves --asset: ETH, the deployment's token by its symbol,
// or an ERC-20's address.
func (s *session) assetNamed(ctx context.Context, name string) (agent.Asset, error) {
	switch {
	case strings.EqualFold(name, "ETH"):
		return agent.ETH, nil
	case common.IsHexAddress(name):
		return s.asset(ctx, common.HexToAddress(name))
	case s.d.Token != nil:
		tok, err := s.asset(ctx, *s.d.Token)
		if err != nil {
			return agent.Asset{}, err
		}
		if strings.EqualFold(name, tok.Symbol) {
			return tok, nil
		}
	}
	return agent.Asset{}, usageError("asset %q: want ETH, the deployment's token symbol, or an ERC-20 address", name)
}

// amount reads an amount: with a symbol, in the asset it names (def
// must be that asset if given); a plain integer is base units of def.
func (s *session) amount(ctx context.Context, flagName, text string, def *agent.Asset) (agent.Asset, *big.Int, error) {
	sym := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(text), "0123456789."))
	var a agent.Asset
	switch {
	case sym != "":
		var err error
		if a, err = s.assetNamed(ctx, sym); err != nil {
			return a, nil, usageError("--%s %q: %v", flagName, text, errors.Unwrap(err))
		}
		if def != nil && a.Address != def.Address {
			return a, nil, usageError("--%s %q is in %s; the offer is paid in %s", flagName, text, a.Symbol, def.Symbol)
		}
	case def != nil:
		a = *def
	default:
		return a, nil, usageError("--%s %q: write the amount with its asset's symbol (0.01ETH, 2.5TUSD), or give --asset for base units", flagName, text)
	}
	x, err := a.Parse(text)
	if err != nil {
		return a, nil, usageError("--%s: %v", flagName, err)
	}
	return a, x, nil
}

// offerFlags select offers.
type offerFlags struct {
	model, asset, provider, maxPrice string
}

func addOfferFlags(fs *flag.FlagSet, modelHelp string) *offerFlags {
	o := &offerFlags{}
	fs.StringVar(&o.model, "model", "", modelHelp)
	fs.StringVar(&o.asset, "asset", "", "only offers paid in this asset: ETH, the deployment's token symbol (TUSD) or an ERC-20 address")
	fs.StringVar(&o.provider, "provider", "", "only this provider's offers (address)")
	fs.StringVar(&o.maxPrice, "max-price", "", "only offers whose job costs at most this at its bound (input + max tokens; for 'offers', 1,000 tokens in and out)")
	return o
}

// filter builds the discovery filter; ref is the job max price caps.
func (o *offerFlags) filter(ctx context.Context, s *session, ref agent.ReferenceJob) (agent.Filter, *agent.Asset, error) {
	f := agent.Filter{Model: o.model, Reference: ref}
	var asset *agent.Asset
	if o.asset != "" {
		a, err := s.assetNamed(ctx, o.asset)
		if err != nil {
			return f, nil, err
		}
		asset = &a
		f.Asset = &a.Address
	}
	if o.provider != "" {
		if !common.IsHexAddress(o.provider) {
			return f, nil, usageError("--provider %q is not an address", o.provider)
		}
		f.Providers = []common.Address{common.HexToAddress(o.provider)}
	}
	if o.maxPrice != "" {
		a, x, err := s.amount(ctx, "max-price", o.maxPrice, asset)
		if err != nil {
			return f, nil, err
		}
		asset = &a
		f.Asset = &a.Address
		f.MaxJobCost = x
	}
	return f, asset, nil
}

// budgetFlags are the mandate.
type budgetFlags struct {
	perJob, total, perHour string
}

func addBudgetFlags(fs *flag.FlagSet) *budgetFlags {
	b := &budgetFlags{}
	fs.StringVar(&b.perJob, "max-job-cost", "", "budget: refuse, before signing, a job whose max cost is above this")
	fs.StringVar(&b.total, "budget-total", "", "budget: refuse a job that would take the channel's spending (stored receipts included) past this")
	fs.StringVar(&b.perHour, "budget-per-hour", "", "budget: refuse a job that would take the last hour's spending past this")
	return b
}

// budget builds the mandate: limits in the assets their amounts name (a
// plain integer is in def). With any limit, only those assets may be paid.
func (b *budgetFlags) budget(ctx context.Context, s *session, def *agent.Asset) (*agent.Budget, error) {
	var limits map[common.Address]agent.Limits
	for _, f := range []struct {
		name, text string
		set        func(*agent.Limits, *big.Int)
	}{
		{"max-job-cost", b.perJob, func(l *agent.Limits, x *big.Int) { l.PerJob = x }},
		{"budget-total", b.total, func(l *agent.Limits, x *big.Int) { l.Total = x }},
		{"budget-per-hour", b.perHour, func(l *agent.Limits, x *big.Int) { l.PerHour = x }},
	} {
		if f.text == "" {
			continue
		}
		a, x, err := s.amount(ctx, f.name, f.text, def)
		if err != nil {
			return nil, err
		}
		if limits == nil {
			limits = map[common.Address]agent.Limits{}
		}
		l := limits[a.Address]
		f.set(&l, x)
		limits[a.Address] = l
	}
	if limits == nil {
		return nil, nil
	}
	return &agent.Budget{Limits: limits}, nil
}

// begin connects as every command does first; done releases what it
// holds.
func begin(ctx context.Context, c *chainFlags, k *keyFlags) (context.Context, *session, func(), error) {
	ctx, cancel := timeoutCtx(ctx, c)
	s, err := connect(ctx, c, k)
	if err != nil {
		cancel()
		return ctx, nil, nil, err
	}
	return ctx, s, func() { s.close(); cancel() }, nil
}

// status reads a channel from the chain and the store, and its asset.
func (s *session) status(ctx context.Context, id common.Hash) (*agent.Status, agent.Asset, error) {
	st, err := s.channels.Status(ctx, id, s.store)
	if err != nil {
		return nil, agent.Asset{}, err
	}
	a, err := s.asset(ctx, st.Asset)
	return st, a, err
}

func timeoutCtx(ctx context.Context, c *chainFlags) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}
