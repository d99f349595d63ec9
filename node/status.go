package node

import (
	"context"
	"encoding/json"
	"log"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/pprof"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/metrics"
	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/hub"
	"github.com/paynode/paynode/node/ledger"
	"github.com/paynode/paynode/node/settle"
)

// Status is the node's state for operators: GET /status on the metrics
// listener, and `paynode status`. Amounts are exact decimal strings of
// base units; the metrics carry the same values rounded to whole units.
type Status struct {
	Provider      common.Address       `json:"provider"`
	ChainID       uint64               `json:"chainId"`
	Contract      common.Address       `json:"paymentChannels"`
	Version       string               `json:"version"`
	UptimeSeconds int64                `json:"uptimeSeconds"`
	Chain         ChainStatus          `json:"chain"`
	Offers        []OfferStatus        `json:"offers"`
	Workers       []hub.WorkerInfo     `json:"workers"`
	Queues        []metrics.ModelQueue `json:"queues"`
	Totals        []AssetTotals        `json:"totals"`
	Channels      []ChannelStatus      `json:"channels"`
	Settlement    settle.Stats         `json:"settlement"`
}

// ChainStatus is the chain as the node follows it.
type ChainStatus struct {
	Head      uint64 `json:"head"`
	Processed uint64 `json:"processed"`
	Synced    bool   `json:"synced"`
	RPCErrors uint64 `json:"rpcErrors"`
}

// OfferStatus is one offer as registered.
type OfferStatus struct {
	ID        string `json:"id"`
	Model     string `json:"model"`
	Asset     string `json:"asset"`
	Base      string `json:"base"`
	InPerM    string `json:"inPerM"`
	OutPerM   string `json:"outPerM"`
	MaxTokens uint64 `json:"maxTokens"`
	Endpoint  string `json:"endpoint"`
}

// AssetTotals sums the channels of one asset.
type AssetTotals struct {
	Asset     string `json:"asset"`
	Charged   string `json:"charged"`
	Reserved  string `json:"reserved"`
	Claimed   string `json:"claimed"`
	Unclaimed string `json:"unclaimed"`
	Deposits  string `json:"deposits"`
}

// ChannelStatus is one channel: on chain and in the ledger.
type ChannelStatus struct {
	ID             common.Hash    `json:"id"`
	State          string         `json:"state"` // open, closing, closed
	Asset          string         `json:"asset"`
	Payer          common.Address `json:"payer"`
	Signer         common.Address `json:"signer"`
	Deposit        string         `json:"deposit"`
	Charged        string         `json:"charged"`
	Reserved       string         `json:"reserved"`
	Claimed        string         `json:"claimed"` // confirmed claims in the ledger
	Unclaimed      string         `json:"unclaimed"`
	Voucher        string         `json:"voucher"`
	Receipts       uint64         `json:"receipts"`
	WithdrawableAt uint64         `json:"withdrawableAt,omitempty"`
}

func channelState(c chainwatch.Channel) string {
	switch {
	case c.Closed:
		return "closed"
	case c.WithdrawableAt != 0:
		return "closing"
	}
	return "open"
}

type moneyRow struct {
	on  chainwatch.Channel
	led ledger.ChannelState
}

// money joins the watcher's channels with the ledger's.
func (n *Node) money(ctx context.Context) ([]moneyRow, error) {
	states, err := n.ledger.Channels(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[common.Hash]ledger.ChannelState, len(states))
	for _, s := range states {
		byID[s.ID] = s
	}
	var rows []moneyRow
	for _, c := range n.watcher.Channels() {
		s, ok := byID[c.ID]
		if !ok {
			s = ledger.ChannelState{ID: c.ID, Charged: new(big.Int), Reserved: new(big.Int), Claimed: new(big.Int)}
		}
		rows = append(rows, moneyRow{on: c, led: s})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].on.ID.Cmp(rows[j].on.ID) < 0 })
	return rows, nil
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

func unclaimed(s ledger.ChannelState) *big.Int {
	u := new(big.Int).Sub(orZero(s.Charged), orZero(s.Claimed))
	if u.Sign() < 0 {
		u.SetInt64(0)
	}
	return u
}

// Status returns the node's state.
func (n *Node) Status(ctx context.Context) (*Status, error) {
	d := n.deployment
	ws := n.watcher.Stats()
	st := &Status{
		Provider: n.provider, ChainID: d.ChainID, Contract: d.PaymentChannels,
		Version: n.opts.Version, UptimeSeconds: int64(time.Since(n.started).Seconds()),
		Chain:      ChainStatus{Head: ws.ChainHead, Processed: ws.Processed, Synced: ws.Synced, RPCErrors: ws.RPCErrors},
		Workers:    n.hub.Workers(),
		Queues:     n.queues(),
		Settlement: n.settler.Stats(),
		Offers:     []OfferStatus{},
		Channels:   []ChannelStatus{},
		Totals:     []AssetTotals{},
	}
	for _, r := range n.offers {
		p := r.Offer.Price
		st.Offers = append(st.Offers, OfferStatus{
			ID: r.ID.String(), Model: r.Offer.Model, Asset: n.assets.name(r.Offer.Asset),
			Base: p.Base.String(), InPerM: p.InPerM.String(), OutPerM: p.OutPerM.String(),
			MaxTokens: r.Offer.MaxTokens, Endpoint: r.Offer.Endpoint,
		})
	}
	rows, err := n.money(ctx)
	if err != nil {
		return nil, err
	}
	type sums struct{ charged, reserved, claimed, unclaimed, deposits *big.Int }
	totals := map[string]*sums{}
	var order []string
	for _, r := range rows {
		asset := n.assets.name(r.on.Asset)
		u := unclaimed(r.led)
		st.Channels = append(st.Channels, ChannelStatus{
			ID: r.on.ID, State: channelState(r.on), Asset: asset, Payer: r.on.Payer, Signer: r.on.Signer,
			Deposit: orZero(r.on.Deposit).String(), Charged: orZero(r.led.Charged).String(),
			Reserved: orZero(r.led.Reserved).String(), Claimed: orZero(r.led.Claimed).String(),
			Unclaimed: u.String(), Voucher: orZero(r.led.Voucher.Amount).String(),
			Receipts: r.led.ReceiptSeq, WithdrawableAt: r.on.WithdrawableAt,
		})
		t := totals[asset]
		if t == nil {
			t = &sums{new(big.Int), new(big.Int), new(big.Int), new(big.Int), new(big.Int)}
			totals[asset] = t
			order = append(order, asset)
		}
		t.charged.Add(t.charged, orZero(r.led.Charged))
		t.reserved.Add(t.reserved, orZero(r.led.Reserved))
		t.claimed.Add(t.claimed, orZero(r.led.Claimed))
		t.unclaimed.Add(t.unclaimed, u)
		t.deposits.Add(t.deposits, orZero(r.on.Deposit))
	}
	sort.Strings(order)
	for _, a := range order {
		t := totals[a]
		st.Totals = append(st.Totals, AssetTotals{
			Asset: a, Charged: t.charged.String(), Reserved: t.reserved.String(), Claimed: t.claimed.String(),
			Unclaimed: t.unclaimed.String(), Deposits: t.deposits.String(),
		})
	}
	return st, nil
}

// Ready reports why the node cannot take jobs, or nil when it can: the
// chain answers, the watcher has caught up, and a worker is connected.
func (n *Node) Ready(ctx context.Context) []string {
	var why []string
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := n.client.BlockNumber(ctx); err != nil {
		why = append(why, "chain unreachable: "+err.Error())
	}
	if !n.watcher.Synced() {
		why = append(why, "chain watcher still catching up")
	}
	if len(n.hub.Workers()) == 0 {
		why = append(why, "no worker connected")
	}
	n.errMu.Lock()
	closed := n.closed
	n.errMu.Unlock()
	if closed {
		why = append(why, "shutting down")
	}
	return why
}

// operatorHandler serves the metrics listener.
func (n *Node) operatorHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics.Handler(n.registry))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if why := n.Ready(r.Context()); len(why) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reasons": why})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	})
	if n.cfg.Metrics.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		st, err := n.Status(r.Context())
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// queues are the hub's queues, with every offered model listed even when
// no worker serves it (the no-worker alert looks for those).
func (n *Node) queues() []metrics.ModelQueue {
	qs := n.hub.Queues()
	seen := make(map[string]bool, len(qs))
	for _, q := range qs {
		seen[q.Model] = true
	}
	for _, o := range n.offers {
		if !seen[o.Offer.Model] {
			seen[o.Offer.Model] = true
			qs = append(qs, metrics.ModelQueue{Model: o.Offer.Model})
		}
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].Model < qs[j].Model })
	return qs
}

// sources are the metrics read at scrape time.
func (n *Node) sources() metrics.Sources {
	return metrics.Sources{
		Queues: n.queues,
		Money: func() []metrics.AssetMoney {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			rows, err := n.scrapeRows.get(ctx)
			if err != nil {
				return nil
			}
			byAsset := map[common.Address]*metrics.AssetMoney{}
			var out []metrics.AssetMoney
			for _, r := range rows {
				m := byAsset[r.on.Asset]
				if m == nil {
					m = &metrics.AssetMoney{
						Asset: n.assets.name(r.on.Asset), Decimals: n.assets.decimalsOf(r.on.Asset),
						Charged: new(big.Int), Unclaimed: new(big.Int), Claimed: new(big.Int),
					}
					byAsset[r.on.Asset] = m
				}
				m.Charged.Add(m.Charged, orZero(r.led.Charged))
				m.Claimed.Add(m.Claimed, orZero(r.led.Claimed))
				m.Unclaimed.Add(m.Unclaimed, unclaimed(r.led))
			}
			for _, m := range byAsset {
				out = append(out, *m)
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Asset < out[j].Asset })
			return out
		},
		Chain: func() metrics.ChainState {
			ws := n.watcher.Stats()
			cs := metrics.ChainState{Head: ws.ChainHead, RPCErrors: ws.RPCErrors}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if h, err := n.client.HeaderByNumber(ctx, nil); err == nil {
				cs.Head = h.Number.Uint64()
				cs.HeadTime = time.Unix(int64(h.Time), 0)
			}
			return cs
		},
		Channels: func() map[string]int {
			m := map[string]int{"open": 0, "closing": 0, "closed": 0}
			for _, c := range n.watcher.Channels() {
				m[channelState(c)]++
			}
			return m
		},
		Settlement: func() metrics.SettlementState {
			s := n.settler.Stats()
			st := metrics.SettlementState{
				TxConfirmed: s.Confirmed, TxFailed: s.Failed, TxReplaced: s.Replaced, GasUsed: s.GasUsed,
				LastSettled: s.LastConfirmed, ClaimLatency: n.settler.TakeClaimLatencies(),
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if open, err := n.ledger.Batches(ctx, ledger.BatchPending, ledger.BatchMined); err == nil {
				st.Pending = len(open)
			}
			return st
		},
		Ledger: func() metrics.LedgerState {
			st := n.ledger.Stats()
			return metrics.LedgerState{
				Writes: st.Ops, GroupCommits: st.Commits, SyncTime: st.CommitTime,
				Checkpoints: st.Checkpoints, CheckpointTime: st.CheckpointTime,
				ApplyTime: st.ApplyTime, Replayed: st.Replayed,
			}
		},
		AtRisk: func() []metrics.ChannelAtRisk {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			rows, err := n.scrapeRows.get(ctx)
			if err != nil {
				return nil
			}
			out := []metrics.ChannelAtRisk{}
			for _, r := range rows {
				u := unclaimed(r.led)
				if r.on.WithdrawableAt == 0 || r.on.Closed || u.Sign() == 0 {
					continue
				}
				out = append(out, metrics.ChannelAtRisk{
					Asset: n.assets.name(r.on.Asset), Decimals: n.assets.decimalsOf(r.on.Asset),
					Unclaimed: u, Deadline: time.Unix(int64(r.on.WithdrawableAt), 0),
				})
			}
			return out
		},
	}
}

// slogErrorLog routes net/http's server errors into the node's log.
func slogErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.With("subsystem", "http").Handler(), slog.LevelWarn)
}
