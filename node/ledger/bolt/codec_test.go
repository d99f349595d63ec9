package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/ledger"
)

// Fixtures with every field set, amounts past 64 bits.

var (
	tChan  = common.HexToHash("0xc0ffee")
	big30  = new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil)
	max256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
)

func sampleChannel() ledger.ChannelState {
	return ledger.ChannelState{
		ID: tChan, Charged: big30, Reserved: big.NewInt(12345),
		Voucher:    ledger.Voucher{Amount: max256, Signature: bytes.Repeat([]byte{7}, 65)},
		ReceiptSeq: 1 << 40, Claimed: big.NewInt(0), SettledSeq: 99,
	}
}

func sampleJob() jobRecord {
	return jobRecord{Job: ledger.Job{
		ChannelID: tChan, ID: "job-7", BodyHash: common.Hash{1, 2, 3}, MaxCost: big30,
		State: ledger.JobCharged, Cost: big.NewInt(77), FailCode: "upstream_error",
		Created: time.Date(2026, 11, 23, 1, 2, 3, 456, time.UTC),
	}, receiptSeq: 3}
}

func sampleReceipt() ledger.Receipt {
	return ledger.Receipt{Receipt: contracts.Receipt{
		ChannelID: tChan, JobID: common.Hash{9}, Cost: big.NewInt(77), CumulativeCharged: big30,
		InputTokens: 1000, OutputTokens: 1 << 33, ResultHash: common.Hash{0xee},
	}, Seq: 3, Signature: bytes.Repeat([]byte{5}, 65)}
}

func sampleBatch() ledger.Batch {
	return ledger.Batch{
		ID: 4, Nonce: 12, State: ledger.BatchMined, Block: 1 << 50, GasUsed: 2_205_398,
		TxHashes: []common.Hash{{1}, {2}},
		Claims: []ledger.Claim{
			{ChannelID: tChan, Amount: big30, VoucherAmount: max256, VoucherSig: []byte{1, 2}, ReceiptsRoot: common.Hash{3}, FromSeq: 1, ToSeq: 9},
			{ChannelID: common.Hash{4}, Amount: big.NewInt(1), VoucherAmount: big.NewInt(1), FromSeq: 5, ToSeq: 5},
		},
	}
}

func mustEq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s round trip:\n got %+v\nwant %+v", what, got, want)
	}
}

// normInts makes big.Ints comparable by reflect.DeepEqual (a zero from
// SetBytes and from NewInt(0) differ inside).
func normInts(v any) any {
	return fmt.Sprintf("%+v", v)
}

func TestCodecRoundTrip(t *testing.T) {
	c := sampleChannel()
	b, err := encodeChannel(&c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := decodeChannel(tChan, b)
	if err != nil {
		t.Fatal(err)
	}
	mustEq(t, "channel", normInts(c2), normInts(c))

	j := sampleJob()
	b, err = encodeJob(&j)
	if err != nil {
		t.Fatal(err)
	}
	j2, err := decodeJob(tChan, "job-7", b)
	if err != nil {
		t.Fatal(err)
	}
	if !j2.Created.Equal(j.Created) {
		t.Errorf("created %v, want %v", j2.Created, j.Created)
	}
	j2.Created = j.Created
	mustEq(t, "job", normInts(j2), normInts(j))

	r := sampleReceipt()
	b, err = encodeReceipt(&r)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := decodeReceipt(tChan, 3, b)
	if err != nil {
		t.Fatal(err)
	}
	mustEq(t, "receipt", normInts(r2), normInts(r))

	bt := sampleBatch()
	b, err = encodeBatch(&bt)
	if err != nil {
		t.Fatal(err)
	}
	bt2, err := decodeBatch(4, b)
	if err != nil {
		t.Fatal(err)
	}
	mustEq(t, "batch", normInts(bt2), normInts(bt))
}

func TestCodecRejects(t *testing.T) {
	c := sampleChannel()
	c.Charged = new(big.Int).Lsh(big.NewInt(1), 256)
	if _, err := encodeChannel(&c); err == nil {
		t.Error("encoded an amount of 2^256")
	}
	c.Charged = big.NewInt(-1)
	if _, err := encodeChannel(&c); err == nil {
		t.Error("encoded a negative amount")
	}
	good, _ := encodeChannel(new(sampleChannel()))
	for name, b := range map[string][]byte{
		"empty":        {},
		"version 2":    append([]byte{2}, good[1:]...),
		"trailing":     append(bytes.Clone(good), 0),
		"truncated":    good[:len(good)-1],
		"leading zero": {1, 2, 0, 1, 0, 0, 0, 0, 0, 0},
		"amount of 33": append([]byte{1, 33}, make([]byte, 40)...),
		"long varint":  {1, 0, 0, 0, 0, 0x80, 0x00, 0, 0},
	} {
		if _, err := decodeChannel(tChan, b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	jb, _ := encodeJob(new(sampleJob()))
	bad := bytes.Clone(jb)
	bad[1+32+1+len(big30.Bytes())] = 9 // the state byte
	if _, err := decodeJob(tChan, "j", bad); err == nil {
		t.Error("decoded job state 9")
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder: none may panic, and
// whatever decodes must encode back to the same bytes (the encoding is
// canonical) and decode again to the same record.
func FuzzDecode(f *testing.F) {
	c := sampleChannel()
	j := sampleJob()
	r := sampleReceipt()
	bt := sampleBatch()
	for _, seed := range [][]byte{
		must(encodeChannel(&c)), must(encodeJob(&j)), must(encodeReceipt(&r)), must(encodeBatch(&bt)),
		must(encodeChannel(new(zeroChannel(tChan)))), must(encodeBatch(&ledger.Batch{State: ledger.BatchPending})),
		{}, {1}, {1, 0, 0, 0, 0, 0, 0, 0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := decodeChannel(tChan, b); err == nil {
			again := must(encodeChannel(&c))
			if !bytes.Equal(again, b) {
				t.Fatalf("channel %x re-encodes to %x", b, again)
			}
		}
		if j, err := decodeJob(tChan, "j", b); err == nil {
			again := must(encodeJob(&j))
			if !bytes.Equal(again, b) {
				t.Fatalf("job %x re-encodes to %x", b, again)
			}
		}
		if r, err := decodeReceipt(tChan, 1, b); err == nil {
			again := must(encodeReceipt(&r))
			if !bytes.Equal(again, b) {
				t.Fatalf("receipt %x re-encodes to %x", b, again)
			}
		}
		if bt, err := decodeBatch(1, b); err == nil {
			again := must(encodeBatch(&bt))
			if !bytes.Equal(again, b) {
				t.Fatalf("batch %x re-encodes to %x", b, again)
			}
		}
	})
}

// FuzzRoundTrip builds records from fuzzed fields and checks that each
// decodes back to itself.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{4}, "job", uint64(1), uint64(2), int64(3), uint8(1))
	f.Add(max256.Bytes(), []byte{}, "", uint64(0), ^uint64(0), int64(-1), uint8(3))
	f.Fuzz(func(t *testing.T, amt, sig []byte, text string, u1, u2 uint64, sec int64, state uint8) {
		if len(amt) > 32 {
			amt = amt[:32]
		}
		x := new(big.Int).SetBytes(amt)
		y := new(big.Int).SetUint64(u1)

		c := ledger.ChannelState{ID: tChan, Charged: x, Reserved: y, Voucher: ledger.Voucher{Amount: x, Signature: sig}, ReceiptSeq: u1, Claimed: y, SettledSeq: u2}
		c2, err := decodeChannel(tChan, must(encodeChannel(&c)))
		if err != nil || c2.Charged.Cmp(x) != 0 || c2.Reserved.Cmp(y) != 0 || c2.Voucher.Amount.Cmp(x) != 0 ||
			!bytes.Equal(c2.Voucher.Signature, sig) || c2.ReceiptSeq != u1 || c2.SettledSeq != u2 || c2.Claimed.Cmp(y) != 0 {
			t.Fatalf("channel %+v → %+v, %v", c, c2, err)
		}

		created := time.Time{}
		if sec != 0 {
			created = time.Unix(sec%(1<<35), int64(u2%1e9)).UTC()
		}
		j := jobRecord{Job: ledger.Job{ChannelID: tChan, ID: "k", BodyHash: common.BytesToHash(sig), MaxCost: x, State: ledger.JobState(1 + state%3),
			Cost: y, FailCode: text, Created: created}, receiptSeq: u2}
		j2, err := decodeJob(tChan, "k", must(encodeJob(&j)))
		if err != nil || j2.BodyHash != j.BodyHash || j2.MaxCost.Cmp(x) != 0 || j2.State != j.State || j2.Cost.Cmp(y) != 0 ||
			j2.FailCode != text || !j2.Created.Equal(created) || j2.receiptSeq != u2 {
			t.Fatalf("job %+v → %+v, %v", j, j2, err)
		}

		r := ledger.Receipt{Receipt: contracts.Receipt{ChannelID: tChan, JobID: common.BytesToHash(amt), Cost: x, CumulativeCharged: y,
			InputTokens: u1, OutputTokens: u2, ResultHash: common.BytesToHash(sig)}, Seq: u1, Signature: sig}
		r2, err := decodeReceipt(tChan, u1, must(encodeReceipt(&r)))
		if err != nil || r2.JobID != r.JobID || r2.Cost.Cmp(x) != 0 || r2.CumulativeCharged.Cmp(y) != 0 || r2.InputTokens != u1 ||
			r2.OutputTokens != u2 || r2.ResultHash != r.ResultHash || !bytes.Equal(r2.Signature, sig) {
			t.Fatalf("receipt %+v → %+v, %v", r, r2, err)
		}

		b := ledger.Batch{ID: u1, Nonce: u2, State: ledger.BatchState(1 + state%4), Block: u1, GasUsed: u2,
			TxHashes: []common.Hash{common.BytesToHash(amt)},
			Claims:   []ledger.Claim{{ChannelID: tChan, Amount: x, VoucherAmount: y, VoucherSig: sig, FromSeq: u1, ToSeq: u2}}}
		b2, err := decodeBatch(u1, must(encodeBatch(&b)))
		if err != nil || fmt.Sprint(b2) != fmt.Sprint(b) {
			t.Fatalf("batch %+v → %+v, %v", b, b2, err)
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkCodec compares the binary encoding with encoding/json for the
// two records every paid job writes.
func BenchmarkCodec(b *testing.B) {
	c := sampleChannel()
	j := sampleJob().Job
	b.Run("channel/binary", func(b *testing.B) {
		var size int
		for b.Loop() {
			v, _ := encodeChannel(&c)
			size = len(v)
			if _, err := decodeChannel(tChan, v); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size), "bytes")
	})
	b.Run("channel/json", func(b *testing.B) {
		var size int
		for b.Loop() {
			v, _ := json.Marshal(&c)
			size = len(v)
			var out ledger.ChannelState
			if err := json.Unmarshal(v, &out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size), "bytes")
	})
	jr := jobRecord{Job: j}
	b.Run("job/binary", func(b *testing.B) {
		var size int
		for b.Loop() {
			v, _ := encodeJob(&jr)
			size = len(v)
			if _, err := decodeJob(tChan, "job-7", v); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size), "bytes")
	})
	b.Run("job/json", func(b *testing.B) {
		var size int
		for b.Loop() {
			v, _ := json.Marshal(&j)
			size = len(v)
			var out ledger.Job
			if err := json.Unmarshal(v, &out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size), "bytes")
	})
}
