package agent

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/contracts"
	"github.com/paynode/paynode/node/wire"
)

var (
	fuzzProvider, _ = crypto.HexToECDSA("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
	fuzzDomain      = contracts.NewDomain(big.NewInt(1337), common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"))
	fuzzChannel     = common.HexToHash("0xc4a1")
	fuzzPrice, _    = contracts.ParsePrice("1000", "2000000", "8000000")
)

// signedResult returns the provider's result for job id with usage in,
// out on top of a channel charged cum before it, as receipt seq.
func signedResult(t testing.TB, id, output string, in, out uint64, before *big.Int, seq uint64) *wire.Result {
	cost := fuzzPrice.Cost(in, out)
	rc := &contracts.Receipt{ChannelID: fuzzChannel, JobID: wire.JobKey(id), Cost: cost,
		CumulativeCharged: new(big.Int).Add(before, cost), InputTokens: in, OutputTokens: out, ResultHash: wire.ResultHash(output)}
	return resign(t, rc, id, output, seq)
}

func resign(t testing.TB, rc *contracts.Receipt, id, output string, seq uint64) *wire.Result {
	digest, err := fuzzDomain.ReceiptDigest(rc)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := contracts.Sign(digest, fuzzProvider)
	if err != nil {
		t.Fatal(err)
	}
	return &wire.Result{ID: id, Output: output, Usage: wire.Usage{InputTokens: rc.InputTokens, OutputTokens: rc.OutputTokens},
		Cost: wire.NewAmount(rc.Cost), Receipt: wire.NewReceipt(rc, seq, sig)}
}

// history is a book holding receipts 1 and 2, and the valid result 3.
func history(t testing.TB) (*book, *wire.Result, *big.Int) {
	b := testBook(0, nil)
	r1 := signedResult(t, "a", "out a", 10, 5, new(big.Int), 1)
	r2 := signedResult(t, "b", "out b", 20, 7, r1.Receipt.CumulativeCharged.Big(), 2)
	for _, r := range []*wire.Result{r1, r2} {
		if _, _, err := b.accept(&r.Receipt, r.ID, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	r3 := signedResult(t, "c", "out c", 30, 9, r2.Receipt.CumulativeCharged.Big(), 3)
	maxCost := fuzzPrice.Cost(40, 64)
	return b, r3, maxCost
}

// testBook is a book of fuzzChannel whose receipts fuzzProvider signs,
// under the batch rule every, capCost.
func testBook(every int, capCost *big.Int) *book {
	provider := crypto.PubkeyToAddress(fuzzProvider.PublicKey)
	return newBook(fuzzChannel, every, capCost, nil, func(r *wire.Receipt) error { return r.Verify(fuzzDomain, provider) })
}

func check(b *book, maxCost *big.Int, r *wire.Result) error {
	if err := checkResult(fuzzChannel, &fuzzPrice, maxCost, r); err != nil {
		return err
	}
	_, _, err := b.accept(&r.Receipt, r.ID, maxCost, false)
	return err
}

func TestVerifyValid(t *testing.T) {
	b, r3, maxCost := history(t)
	if err := check(b, maxCost, r3); err != nil {
		t.Fatal(err)
	}
	// The same receipt again (a replay) is no new charge.
	if dup, _, err := b.accept(&r3.Receipt, r3.ID, nil, false); err != nil || !dup {
		t.Fatal(dup, err)
	}
	if a := b.account(); a.Charged.Cmp(r3.Receipt.CumulativeCharged.Big()) != 0 || a.Receipts != 3 {
		t.Fatalf("%+v", a)
	}
}

// Receipts out of seq order: 3 before 2 is checked when 2 comes.
func TestVerifyOutOfOrder(t *testing.T) {
	b := testBook(0, nil)
	r1 := signedResult(t, "a", "x", 10, 5, new(big.Int), 1)
	r2 := signedResult(t, "b", "y", 20, 7, r1.Receipt.CumulativeCharged.Big(), 2)
	r3 := signedResult(t, "c", "z", 30, 9, r2.Receipt.CumulativeCharged.Big(), 3)
	send(t, b, r1, r2, r3) // their receipts fill the gaps below seq 3
	for _, r := range []*wire.Result{r3, r1, r2} {
		if _, _, err := b.accept(&r.Receipt, r.ID, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	// A seq 2 that does not fit between 1 and 3 is caught from either side.
	b = testBook(0, nil)
	send(t, b, r1, r2, r3)
	bad2 := signedResult(t, "b", "y", 20, 8, r1.Receipt.CumulativeCharged.Big(), 2)
	for _, r := range []*wire.Result{r3, r1} {
		if _, _, err := b.accept(&r.Receipt, r.ID, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := b.accept(&bad2.Receipt, bad2.ID, nil, false); err == nil {
		t.Fatal("seq 2 inconsistent with seq 3 accepted")
	}
	if _, _, err := b.accept(&r2.Receipt, r2.ID, nil, false); err == nil {
		t.Fatal("a book that saw a bad receipt still takes receipts")
	}
}

// FuzzVerifyReceipt mutates the third receipt of a channel, as it comes
// (signed fields changed under the provider's old signature) or re-signed
// by the provider itself (a provider whose figures do not add up), and
// holds that the verifier never takes a wrong one.
func FuzzVerifyReceipt(f *testing.F) {
	f.Add(uint8(0), uint64(1), false, "")
	f.Add(uint8(1), uint64(1), true, "")
	f.Add(uint8(2), uint64(0), true, "c")
	f.Add(uint8(3), uint64(5), true, "")
	f.Add(uint8(6), uint64(2), false, "out c")
	f.Add(uint8(8), uint64(0), false, "")
	f.Fuzz(func(t *testing.T, field uint8, delta uint64, resignIt bool, s string) {
		b, good, maxCost := history(t)
		r := *good
		r.Receipt.Signature = append(wire.Signature(nil), good.Receipt.Signature...)
		rc := good.Receipt.EIP712()
		id, output, seq := good.ID, good.Output, good.Receipt.Seq
		d := new(big.Int).SetUint64(delta)
		switch field % 10 {
		case 0:
			rc.Cost.Add(rc.Cost, d)
		case 1:
			rc.CumulativeCharged.Add(rc.CumulativeCharged, d)
		case 2:
			rc.JobID = wire.JobKey(s)
		case 3:
			rc.InputTokens += delta
		case 4:
			rc.OutputTokens -= delta
		case 5:
			rc.ChannelID = common.BigToHash(new(big.Int).Add(rc.ChannelID.Big(), d))
		case 6:
			output = s
		case 7:
			rc.Cost.Sub(rc.Cost, d)
			rc.CumulativeCharged.Sub(rc.CumulativeCharged, d)
			if rc.Cost.Sign() < 0 || rc.CumulativeCharged.Sign() < 0 {
				return
			}
		case 8:
			seq = delta % 6
		case 9:
			if len(s) > 0 {
				r.Receipt.Signature[int(delta)%len(r.Receipt.Signature)] ^= s[0]
			}
		}
		var m *wire.Result
		if resignIt && field%10 != 9 {
			m = resign(t, rc, id, output, seq)
		} else {
			m = &r
			nr := wire.NewReceipt(rc, seq, r.Receipt.Signature)
			m.Receipt, m.Output = nr, output
			m.Cost = wire.NewAmount(rc.Cost)
			m.Usage = wire.Usage{InputTokens: rc.InputTokens, OutputTokens: rc.OutputTokens}
		}
		if check(b, maxCost, m) != nil {
			return
		}
		// Taken: then it is the genuine receipt, or one the provider
		// signed whose figures add up.
		got := m.Receipt.EIP712()
		cum2 := new(big.Int).Sub(good.Receipt.CumulativeCharged.Big(), good.Receipt.Cost.Big())
		switch {
		case got.ChannelID != fuzzChannel:
			t.Fatal("receipt for another channel taken")
		case got.JobID != wire.JobKey(m.ID):
			t.Fatal("receipt for another job taken")
		case got.ResultHash != wire.ResultHash(m.Output):
			t.Fatal("receipt for another output taken")
		case got.Cost.Cmp(maxCost) > 0:
			t.Fatal("cost above the max cost taken")
		case got.Cost.Cmp(fuzzPrice.Cost(got.InputTokens, got.OutputTokens)) > 0:
			t.Fatal("cost above the price taken")
		case seq == 3 && new(big.Int).Sub(got.CumulativeCharged, got.Cost).Cmp(cum2) != 0:
			t.Fatal("cumulative that does not follow seq 2 taken")
		case seq < 3 && m.Receipt.Seq != seq:
			t.Fatal("seq rewritten")
		case !resignIt && (got.Cost.Cmp(rc.Cost) != 0 || !sameSigned(got, good.Receipt.EIP712())):
			t.Fatal("a receipt changed under the provider's signature taken")
		}
	})
}

func sameSigned(a, b *contracts.Receipt) bool {
	return a.ChannelID == b.ChannelID && a.JobID == b.JobID && a.Cost.Cmp(b.Cost) == 0 &&
		a.CumulativeCharged.Cmp(b.CumulativeCharged) == 0 && a.InputTokens == b.InputTokens &&
		a.OutputTokens == b.OutputTokens && a.ResultHash == b.ResultHash
}
