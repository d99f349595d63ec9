package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paynode/paynode/node"
)

const statusHelp = `
Shows a running node's state, read from its metrics listener's /status:
offers, workers and their queues, settlement, and every channel with its
deposit, charged, claimed and unclaimed amounts, exact, in base units (wei
for ETH, 1e-6 TUSD for the dev token). It also says whether the node is
ready to take jobs (/readyz), and exits 1 when it is not.

Examples:
  paynode status
  paynode status --node http://10.0.0.5:9464 --json | jq .totals`

func (m *Main) runStatus(ctx context.Context, args []string) error {
	flags := m.newFlagSet("status", "[flags]", statusHelp)
	base := flags.String("node", "http://127.0.0.1:9464", "the node's metrics listener (metrics.listen)")
	asJSON := flags.Bool("json", false, "print /status as JSON on stdout")
	timeout := flags.Duration("timeout", 10*time.Second, "give up after this long")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	url := strings.TrimRight(*base, "/")
	body, code, err := get(ctx, url+"/status")
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s/status: HTTP %d: %s", url, code, strings.TrimSpace(string(body)))
	}
	var st node.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("%s/status: %w", url, err)
	}
	readyBody, readyCode, err := get(ctx, url+"/readyz")
	if err != nil {
		return fmt.Errorf("%s/readyz: %w", url, err)
	}
	var ready struct {
		Reasons []string `json:"reasons"`
	}
	json.Unmarshal(readyBody, &ready)
	if *asJSON {
		m.Stdout.Write(body)
	} else {
		m.printStatus(&st, ready.Reasons)
	}
	if readyCode != http.StatusOK {
		return fmt.Errorf("not ready: %s", strings.Join(ready.Reasons, "; "))
	}
	return nil
}

func get(ctx context.Context, url string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return body, resp.StatusCode, err
}

func (m *Main) printStatus(st *node.Status, notReady []string) {
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "provider %s on chain %d (PaymentChannels %s), %s, up %s\n",
		st.Provider, st.ChainID, st.Contract, st.Version, time.Duration(st.UptimeSeconds)*time.Second)
	if len(notReady) == 0 {
		fmt.Fprintf(w, "ready: yes\n")
	} else {
		fmt.Fprintf(w, "ready: NO — %s\n", strings.Join(notReady, "; "))
	}
	fmt.Fprintf(w, "chain: head %d, processed %d, synced %v, %d RPC errors\n\n", st.Chain.Head, st.Chain.Processed, st.Chain.Synced, st.Chain.RPCErrors)
	fmt.Fprintf(w, "OFFER\tMODEL\tASSET\tBASE\tIN/1M\tOUT/1M\tMAX TOKENS\n")
	for _, o := range st.Offers {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", o.ID, o.Model, o.Asset, o.Base, o.InPerM, o.OutPerM, o.MaxTokens)
	}
	fmt.Fprintf(w, "\nWORKER\tADDRESS\tMODELS\tRUNNING/CAPACITY\n")
	for _, wk := range st.Workers {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d/%d\n", wk.Name, wk.Addr, strings.Join(wk.Models, ","), wk.Running, wk.Capacity)
	}
	fmt.Fprintf(w, "\nMODEL\tWAITING\tRUNNING\tWORKERS\n")
	for _, q := range st.Queues {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\n", q.Model, q.Waiting, q.Running, q.Workers)
	}
	fmt.Fprintf(w, "\nASSET\tDEPOSITS\tCHARGED\tRESERVED\tCLAIMED\tUNCLAIMED\n")
	for _, t := range st.Totals {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Asset, t.Deposits, t.Charged, t.Reserved, t.Claimed, t.Unclaimed)
	}
	s := st.Settlement
	fmt.Fprintf(w, "\nsettlement: %d rounds, %d batches (%d confirmed, %d failed, %d replaced), %d channel claims, %d gas\n",
		s.Rounds, s.Batches, s.Confirmed, s.Failed, s.Replaced, s.ClaimedChannels, s.GasUsed)
	fmt.Fprintf(w, "\nCHANNEL\tSTATE\tASSET\tDEPOSIT\tCHARGED\tCLAIMED\tUNCLAIMED\tRECEIPTS\n")
	for _, c := range st.Channels {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", c.ID, c.State, c.Asset, c.Deposit, c.Charged, c.Claimed, c.Unclaimed, c.Receipts)
	}
}
