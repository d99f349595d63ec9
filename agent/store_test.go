package agent_test

import (
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/agent"
	"github.com/paynode/paynode/node/wire"
)

func record(seq uint64) *agent.Record {
	return &agent.Record{Time: time.Unix(1700000000, 0).UTC(), JobID: "j", MaxCost: wire.AmountOf(9),
		Receipt: wire.Receipt{ChannelID: common.HexToHash("0x01"), Cost: wire.AmountOf(seq), CumulativeCharged: wire.AmountOf(seq), Seq: seq, Signature: make(wire.Signature, wire.SignatureLen)}}
}

func TestStoreTornTail(t *testing.T) {
	dir := t.TempDir()
	ch := common.HexToHash("0x01")
	s, err := agent.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Append(ch, record(uint64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// A crash in the middle of the fourth line.
	path := filepath.Join(dir, strings.ToLower(ch.Hex())+".jsonl")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2024-01-01T00:00:00Z","job_id":"to`)
	f.Close()

	s, _ = agent.OpenStore(dir)
	recs, err := s.Load(ch)
	if err != nil || len(recs) != 3 || recs[2].Receipt.Seq != 3 || recs[0].MaxCost.Cmp(wire.AmountOf(9)) != 0 {
		t.Fatalf("loaded %d records, %v", len(recs), err)
	}
	// The next append cuts the torn line first.
	if err := s.Append(ch, record(4)); err != nil {
		t.Fatal(err)
	}
	recs, err = s.Load(ch)
	if err != nil || len(recs) != 4 || recs[3].Receipt.Seq != 4 {
		t.Fatalf("after append: %d records, %v", len(recs), err)
	}
	chans, err := s.Channels()
	if err != nil || len(chans) != 1 || chans[0] != ch {
		t.Fatalf("channels %v %v", chans, err)
	}
	// A malformed line in the middle is an error, not silently skipped.
	raw, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(raw), "\n")
	lines[1] = "{garbage\n"
	os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600)
	if _, err := s.Load(ch); err == nil {
		t.Fatal("a malformed line was skipped")
	}
}

func TestBudgetRollingHour(t *testing.T) {
	now := time.Unix(1700000000, 0)
	b := &agent.Budget{
		Limits: map[common.Address]agent.Limits{{}: {PerHour: big.NewInt(100)}},
		Now:    func() time.Time { return now },
	}
	p := common.HexToAddress("0x01")
	r1, err := b.Reserve(p, common.Address{}, big.NewInt(60))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reserve(p, common.Address{}, big.NewInt(50)); agent.CodeOf(err) != agent.CodeBudgetPerHour {
		t.Fatalf("over the hour: %v", err)
	}
	r1.Settle(big.NewInt(40)) // charged less than its max cost
	r2, err := b.Reserve(p, common.Address{}, big.NewInt(50))
	if err != nil {
		t.Fatal(err)
	}
	r2.Settle(nil) // failed: not charged
	now = now.Add(30 * time.Minute)
	if _, err := b.Reserve(p, common.Address{}, big.NewInt(61)); agent.CodeOf(err) != agent.CodeBudgetPerHour {
		t.Fatalf("40 spent 30 minutes ago: %v", err)
	}
	now = now.Add(31 * time.Minute) // the first job left the window
	if _, err := b.Reserve(p, common.Address{}, big.NewInt(100)); err != nil {
		t.Fatal(err)
	}
	total, hour := b.Spent(common.Address{})
	if total.Int64() != 140 || hour.Int64() != 100 {
		t.Fatalf("spent %s, %s in the hour", total, hour)
	}
	var nilBudget *agent.Budget
	if r, err := nilBudget.Reserve(p, common.Address{}, big.NewInt(1<<40)); err != nil || r != nil {
		t.Fatal(r, err)
	}
}
