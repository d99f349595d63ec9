package agent

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/node/wire"
)

// The bound of a resync (docs/protocol.md, "Resync") on the book alone.

// account is the node's account of fuzzChannel: charged by receipt seq,
// with reserved in flight.
func account(seq uint64, charged, reserved *big.Int) *wire.Channel {
	return &wire.Channel{ChannelID: fuzzChannel, Deposit: wire.AmountOf(1 << 60), Charged: wire.NewAmount(charged),
		Reserved: wire.NewAmount(reserved), Claimed: wire.AmountOf(0), Voucher: wire.AmountOf(0), ReceiptSeq: seq}
}

// restarted is the book of a client that read back the first held of rs
// from its store, with signed the highest voucher it recorded, and
// shared its SharedChargeCap (nil for none).
func restarted(t testing.TB, rs []*wire.Result, held int, signed, shared *big.Int) *book {
	t.Helper()
	provider := crypto.PubkeyToAddress(fuzzProvider.PublicKey)
	b := newBook(fuzzChannel, 0, nil, shared, func(r *wire.Receipt) error { return r.Verify(fuzzDomain, provider) })
	for _, r := range rs[:held] {
		if _, err := b.load(&r.Receipt, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	b.loaded()
	if signed != nil {
		b.signedUpTo(signed)
	}
	return b
}

// The node's charged + reserved, less the agent's own jobs in flight, is
// adopted up to the larger of the highest voucher signed and the receipts'
// costs + the gap credit, to the base unit, and refused one above.
func TestResyncBound(t *testing.T) {
	rs := chainOf(8)
	one := big.NewInt(1)
	for name, tc := range map[string]struct {
		signed, shared   *big.Int
		inFlight         int // own jobs in flight, each of batchMaxCost
		charged, reserve *big.Int
		ok               bool
	}{
		"at the highest voucher":         {signed: total(rs[:6]), charged: total(rs[:6]), reserve: new(big.Int), ok: true},
		"one above it":                   {signed: total(rs[:6]), charged: sum(total(rs[:6]), one), reserve: new(big.Int)},
		"reserved, one above it":         {signed: total(rs[:6]), charged: total(rs[:5]), reserve: sum(rs[5].Receipt.Cost.Big(), one)},
		"own jobs in flight, at it":      {signed: total(rs[:6]), inFlight: 2, charged: total(rs[:6]), reserve: times(2, batchMaxCost), ok: true},
		"own jobs in flight, one above":  {signed: total(rs[:6]), inFlight: 2, charged: total(rs[:6]), reserve: sum(times(2, batchMaxCost), one)},
		"at the receipts and the credit": {signed: one, shared: sumCosts(rs[3:6]...), charged: total(rs[:6]), reserve: new(big.Int), ok: true},
		"one above them":                 {signed: one, shared: sumCosts(rs[3:6]...), charged: sum(total(rs[:6]), one), reserve: new(big.Int)},
	} {
		t.Run(name, func(t *testing.T) {
			b := restarted(t, rs, 3, tc.signed, tc.shared)
			for i := range tc.inFlight {
				if _, err := b.reserve(rs[6+i].ID, batchMaxCost); err != nil {
					t.Fatal(err)
				}
			}
			now, err := b.resync(account(6, tc.charged, tc.reserve))
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if v, want := nextVoucher(t, b), sum(tc.charged, times(tc.inFlight+1, batchMaxCost)); v.Cmp(want) != 0 {
					t.Fatalf("next voucher %s, want the charged adopted + in flight = %s", v, want)
				}
				return
			}
			var ce *ChargeError
			if !now || !errors.As(err, &ce) || b.badErr() == nil {
				t.Fatalf("refused with %v (now %v)", err, now)
			}
			if _, err := b.reserve("next", batchMaxCost); err == nil {
				t.Fatal("a voucher signed after the refusal")
			}
		})
	}
}

// Receipts of the agent's own jobs, charged before the node's account
// was read and coming after, explain the charge adopted: the credit it
// added is taken back, and the receipts after follow the account. A jump
// is then refused as it would have been without the resync.
func TestResyncReceiptsExplainIt(t *testing.T) {
	rs := chainOf(8)
	b := restarted(t, rs, 3, sum(total(rs[:3]), times(3, batchMaxCost)), nil)
	send(t, b, rs[3], rs[4], rs[5]) // charged as seqs 4 and 5 when the node is asked; 6 runs
	if _, err := b.resync(account(5, total(rs[:5]), batchMaxCost)); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs[3:6] {
		if err := check(b, batchMaxCost, r); err != nil {
			t.Fatal(err)
		}
	}
	if a := b.account(); a.Committed.Cmp(total(rs[:6])) != 0 || b.credit.Sign() != 0 {
		t.Fatalf("%+v, credit %s; want committed %s, no credit", a, b.credit, total(rs[:6]))
	}
	send(t, b, rs[7])
	if err := check(b, batchMaxCost, jump(rs[7], big.NewInt(1))); err == nil || !strings.Contains(err.Error(), "receipts not held") {
		t.Fatalf("a jump after the resync: %v", err)
	}
}

// A receipt that does not follow the charged the node stated proves the
// account wrong.
func TestResyncReceiptAgainstAccount(t *testing.T) {
	rs := chainOf(6)
	for name, r := range map[string]*wire.Result{
		"right above, charged one more before it": jump(rs[5], big.NewInt(1)),
		"right above, charged one less before it": jump(rs[5], big.NewInt(-1)),
	} {
		t.Run(name, func(t *testing.T) {
			b := restarted(t, rs, 3, total(rs), nil)
			if _, err := b.resync(account(5, total(rs[:5]), new(big.Int))); err != nil {
				t.Fatal(err)
			}
			send(t, b, r)
			err := check(b, batchMaxCost, r)
			var re *receiptError
			if !errors.As(err, &re) || re.jobID != r.ID || !strings.Contains(err.Error(), "the node's account of the channel said") {
				t.Fatalf("%v", err)
			}
		})
	}
}

// The gap credit is a cap over the channel's life, as for gaps: what a
// resync adopts out of it is spent, so a second resync finds only what is
// left, whatever vouchers the first had it sign.
func TestResyncSpendsTheCredit(t *testing.T) {
	rs := chainOf(8)
	theirs := sumCosts(rs[3], rs[4], rs[6]) // another client's jobs: seqs 4, 5 and 7
	for name, tc := range map[string]struct {
		shared *big.Int
		ok     bool
	}{
		"a credit for all three":      {theirs, true},
		"a credit one short of three": {new(big.Int).Sub(theirs, big.NewInt(1)), false},
	} {
		t.Run(name, func(t *testing.T) {
			b := restarted(t, rs, 3, nil, tc.shared)
			if _, err := b.resync(account(5, total(rs[:5]), new(big.Int))); err != nil {
				t.Fatal(err)
			}
			v, err := b.reserve(rs[5].ID, batchMaxCost) // seq 6, the client's own
			if err != nil {
				t.Fatal(err)
			}
			b.signedUpTo(v)
			if err := check(b, batchMaxCost, rs[5]); err != nil {
				t.Fatal(err)
			}
			_, err = b.resync(account(7, total(rs[:7]), new(big.Int)))
			var ce *ChargeError
			if tc.ok != (err == nil) || err != nil && !errors.As(err, &ce) {
				t.Fatalf("the other's third charge: %v", err)
			}
		})
	}
}

// FuzzResync restarts a client after it lost the receipts of its last
// jobs, with a record of the highest voucher it signed (the last job's
// tight voucher, or a lower one if the record is stale) and a gap
// credit, and has the node state the charged with some inflation. The
// resync holds the bound exactly: it adopts the charged when charged +
// reserved ≤ max(signed, costs + credit), and the next voucher is then
// that charged + the job's max cost; it refuses it otherwise, and signs
// nothing more.
func FuzzResync(f *testing.F) {
	f.Add(uint8(3), uint8(5), uint64(0), uint64(0), uint64(0), uint64(0))
	f.Add(uint8(0), uint8(8), uint64(1), uint64(0), uint64(0), uint64(0))
	f.Add(uint8(3), uint8(5), uint64(0), uint64(1), uint64(0), uint64(0))
	f.Add(uint8(2), uint8(9), uint64(0), uint64(0), uint64(5000), uint64(700))
	f.Add(uint8(4), uint8(4), uint64(3000), uint64(0), uint64(0), uint64(1<<40))
	f.Fuzz(func(t *testing.T, held, paid uint8, inflate, reserved, stale, shared uint64) {
		n := 1 + int(paid)%16
		h := int(held) % (n + 1)
		rs := chainOf(n)
		signed := sum(sumCosts(rs[:n-1]...), batchMaxCost) // the last job's voucher
		signed.Sub(signed, new(big.Int).SetUint64(stale))
		if signed.Sign() < 0 {
			signed.SetInt64(0)
		}
		credit := new(big.Int).SetUint64(shared)
		b := restarted(t, rs, h, signed, credit)
		charged := sum(total(rs), new(big.Int).SetUint64(inflate))
		res := new(big.Int).SetUint64(reserved)
		_, err := b.resync(account(uint64(n), charged, res))
		bound := sum(sumCosts(rs[:h]...), credit)
		if signed.Cmp(bound) > 0 {
			bound = signed
		}
		if fits := sum(charged, res).Cmp(bound) <= 0; fits != (err == nil) {
			t.Fatalf("charged %s + reserved %s against the bound %s: %v", charged, res, bound, err)
		}
		if err != nil {
			if _, err := b.reserve("next", batchMaxCost); err == nil {
				t.Fatal("a voucher signed after a refusal")
			}
			return
		}
		if v, want := nextVoucher(t, b), sum(charged, batchMaxCost); v.Cmp(want) != 0 {
			t.Fatalf("next voucher %s, want %s", v, want)
		}
	})
}
