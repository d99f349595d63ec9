package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"time"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/agent/proxy"
)

const proxyHelp = `
Serves an OpenAI-compatible API on --listen, so that an unchanged OpenAI
client pays per request: GET /v1/models lists the models offered on chain,
POST /v1/chat/completions (streaming and not) runs each request as a job
paid through the SDK — the cheapest offer for the request's model, from the
payer's channel to its provider (opened with --deposit when there is none),
within the budget flags. Each response carries OpenAI's usage and the
provider's signed receipt: the Paynode-Receipt header (base64 JSON; an HTTP
trailer when streaming) and a paynode_receipt field in the body or the last
chunk. Receipts are kept in --store.

Point a client at it with OPENAI_BASE_URL=http://127.0.0.1:8080/v1 (any
API key).

Examples:
  paynode agent proxy --key-file agent.key --listen 127.0.0.1:8080 --deposit 0.01ETH
  paynode agent proxy --key-file wallet.key --signer-key-file hot.key --asset TUSD \
      --deposit 5TUSD --max-job-cost 0.01TUSD --budget-per-hour 1TUSD
  curl -s http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \
      -d '{"model":"paynode-test-1","messages":[{"role":"user","content":"Hello"}]}'`

func (m *Main) proxy(ctx context.Context, args []string) error {
	fs := m.flagSet("proxy", "--key-file F [--listen ADDR] [--deposit AMOUNT] [flags]", proxyHelp)
	c := addChainFlags(fs)
	c.timeout = 0
	k := addKeyFlags(fs, true)
	of := addOfferFlags(fs, "serve only this model")
	bf := addBudgetFlags(fs)
	listen := fs.String("listen", "127.0.0.1:8080", "the address to serve on; keep it on loopback: whoever reaches it spends the payer's money")
	deposit := fs.String("deposit", "", "open a channel with this deposit to a provider the payer has none with (0.01ETH, 5TUSD; base units need --asset)")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := connect(ctx, c, k)
	if err != nil {
		return err
	}
	defer s.close()
	f, asset, err := of.filter(ctx, s, agent.DefaultReferenceJob)
	if err != nil {
		return err
	}
	budget, err := bf.budget(ctx, s, asset)
	if err != nil {
		return err
	}
	var depAsset agent.Asset
	var dep *big.Int
	if *deposit != "" {
		if depAsset, dep, err = s.amount(ctx, "deposit", *deposit, asset); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	p := &agent.Payer{
		Discovery: s.disc, Channels: s.channels, Signer: s.signer, Filter: f, Store: s.store, Budget: budget,
		Deposit: func(o *agent.Offer) (*big.Int, error) {
			if dep == nil || o.Asset != depAsset.Address {
				return nil, nil
			}
			return dep, nil
		},
		OnOpen: func(o *agent.Offer, opened *agent.Opened, deposit *big.Int) {
			log.Info("opened channel", "channel", opened.ID, "provider", o.Provider, "deposit", depAsset.Format(deposit))
		},
		Configure: func(cfg *agent.Config) { cfg.Logger = log },
	}
	defer p.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: &proxy.Server{Backend: proxy.PayerBackend(p), Logger: log}, ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String() + "/v1"
	if c.json {
		if err := printJSON(m.Stdout, map[string]string{"url": url, "listen": ln.Addr().String(), "payer": s.channels.PayerAddress().Hex(), "signer": s.signerAddress().Hex()}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(m.Stdout, "paynode agent proxy: serving the OpenAI API at %s (payer %s)\n", url, s.channels.PayerAddress().Hex())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
