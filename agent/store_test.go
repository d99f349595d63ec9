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

// The record of the vouchers signed keeps the highest amount, synced
// before it is sent; a torn last line is skipped and cut before the next
// one, and it is no receipt file: Channels does not list it, and the
// receipts file of the channel stays as it was.
func TestStoreSigned(t *testing.T) {
	dir := t.TempDir()
	ch := common.HexToHash("0x01")
	s, _ := agent.OpenStore(dir)
	for _, v := range []int64{5000, 7000, 6000} {
		if err := s.RecordSigned(ch, big.NewInt(v)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	path := filepath.Join(dir, strings.ToLower(ch.Hex())+".vouchers.jsonl")
	raw, _ := os.ReadFile(path)
	if n := strings.Count(string(raw), "\n"); n != 2 {
		t.Fatalf("%d lines for two higher amounts:\n%s", n, raw)
	}
	os.WriteFile(path, append(raw, `{"time":"2024-01-01T00:00:00Z","amount":"9`...), 0o600)
	s, _ = agent.OpenStore(dir)
	if v, err := s.Signed(ch); err != nil || v.Cmp(big.NewInt(7000)) != 0 {
		t.Fatalf("signed %v, %v; want 7000", v, err)
	}
	if err := s.RecordSigned(ch, big.NewInt(8000)); err != nil {
		t.Fatal(err)
	}
	s, _ = agent.OpenStore(dir)
	if v, err := s.Signed(ch); err != nil || v.Cmp(big.NewInt(8000)) != 0 {
		t.Fatalf("signed %v, %v; want 8000", v, err)
	}
	if chans, err := s.Channels(); err != nil || len(chans) != 0 {
		t.Fatalf("channels %v, %v", chans, err)
	}
	if recs, err := s.Load(ch); err != nil || len(recs) != 0 {
		t.Fatalf("records %v, %v", recs, err)
	}
	if v, err := s.Signed(common.HexToHash("0x02")); err != nil || v.Sign() != 0 {
		t.Fatalf("a channel never paid from: %v, %v", v, err)
	}
}

// FuzzStoreSigned reads any file as the record of the vouchers signed: it
// never panics, and what it reads it keeps: a higher amount recorded
// after it is read back, a lower one changes nothing.
func FuzzStoreSigned(f *testing.F) {
	f.Add([]byte(`{"time":"2024-01-01T00:00:00Z","amount":"7000"}` + "\n"))
	f.Add([]byte(`{"time":"2024-01-01T00:00:00Z","amount":"7000"}` + "\n" + `{"amount":"1`))
	f.Add([]byte(`{"amount":"115792089237316195423570985008687907853269984665640564039457584007913129639935"}` + "\n"))
	f.Add([]byte(`{"amount":7000}` + "\n"))
	f.Add([]byte(`{"amount":"-1"}` + "\n\n"))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		dir := t.TempDir()
		ch := common.HexToHash("0x01")
		if err := os.WriteFile(filepath.Join(dir, strings.ToLower(ch.Hex())+".vouchers.jsonl"), file, 0o600); err != nil {
			t.Fatal(err)
		}
		s, _ := agent.OpenStore(dir)
		v, err := s.Signed(ch)
		if err != nil {
			return
		}
		if v.Sign() < 0 {
			t.Fatalf("signed %s", v)
		}
		// The amounts to record: one lower, and one higher unless v is
		// the highest an amount may be.
		want := new(big.Int).Add(v, big.NewInt(1))
		if _, err := wire.NewAmount(want).MarshalJSON(); err != nil {
			want.Set(v)
		}
		for _, a := range []*big.Int{new(big.Int).Sub(v, big.NewInt(1)), want} {
			if a.Sign() < 0 {
				continue
			}
			if err := s.RecordSigned(ch, a); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		s, _ = agent.OpenStore(dir)
		got, err := s.Signed(ch)
		if err != nil || got.Cmp(want) != 0 {
			t.Fatalf("read %s, recorded %s: read back %v, %v", v, want, got, err)
		}
	})
}
