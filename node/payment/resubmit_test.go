package payment

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/paynode/paynode/node/chainwatch"
	"github.com/paynode/paynode/node/ledger"
)

// probeLedger is a ledger that counts the payment check's reads and can be
// told to fail: Reserve with reserveErr (changing nothing), Job with
// readErr. Set the faults before the calls they are for.
type probeLedger struct {
	ledger.Ledger
	reads      atomic.Int64 // Job and Channel calls
	reserveErr error
	readErr    error
}

func (l *probeLedger) Job(ctx context.Context, ch common.Hash, id string) (*ledger.Job, error) {
	l.reads.Add(1)
	if l.readErr != nil {
		return nil, l.readErr
	}
	return l.Ledger.Job(ctx, ch, id)
}

func (l *probeLedger) Channel(ctx context.Context, id common.Hash) (ledger.ChannelState, error) {
	l.reads.Add(1)
	return l.Ledger.Channel(ctx, id)
}

func (l *probeLedger) Reserve(ctx context.Context, op ledger.ReserveOp) (*ledger.Job, error) {
	if l.reserveErr != nil {
		return nil, l.reserveErr
	}
	return l.Ledger.Reserve(ctx, op)
}

// probe puts a probeLedger between f's payment check and its ledger.
func (f *fixture) probe() *probeLedger {
	pl := &probeLedger{Ledger: f.l}
	f.p = New(f.d, f.provider, pl, f.chans, nil)
	return pl
}

// change replaces channel id as the watcher shows it.
func (f *fixture) change(id common.Hash, edit func(*chainwatch.Channel)) {
	f.chans.mu.Lock()
	defer f.chans.mu.Unlock()
	c := f.chans.chs[id]
	edit(&c)
	f.chans.chs[id] = c
}

// TestNewJobMakesNoRead: a new job, authorized and charged, costs the
// ledger no read, and neither does the replay of a completed job on a
// channel that still takes jobs (Reserve finds it); a refusal does look
// the job id up.
func TestNewJobMakesNoRead(t *testing.T) {
	f := newFixture(t)
	pl := f.probe()
	ctx := t.Context()
	id := common.HexToHash("0xe1")
	signer := f.open(id, 1_000_000)
	v := signVoucher(t, f.p.Domain(), signer, id, big.NewInt(100*maxCost))
	var first *ledger.Receipt
	for i := range 5 {
		a, err := f.p.Authorize(ctx, f.request(id, fmt.Sprint("new-", i), v))
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.p.Charge(ctx, a, Usage{InputTokens: 10, OutputTokens: 10}, common.Hash{})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = r
		}
	}
	if n := pl.reads.Load(); n != 0 {
		t.Fatalf("5 new jobs made %d ledger reads, want 0", n)
	}
	a, err := f.p.Authorize(ctx, f.request(id, "new-0", v))
	if err != nil || a.Replay == nil || a.Replay.Receipt.Seq != first.Seq {
		t.Fatalf("replay: %+v, %v", a, err)
	}
	if n := pl.reads.Load(); n != 0 {
		t.Fatalf("a replay made %d ledger reads, want 0", n)
	}
	f.change(id, func(c *chainwatch.Channel) { c.WithdrawableAt = 1 })
	if _, err := f.p.Authorize(ctx, f.request(id, "new-5", v)); CodeOf(err) != CodeChannelClosing {
		t.Fatalf("new job on a closing channel: %v", err)
	}
	if n := pl.reads.Load(); n != 1 {
		t.Fatalf("a refusal made %d ledger reads, want 1 (the job id)", n)
	}
}

// resubmission is what a case of TestResubmissionAnswersFirst changes: the
// request, or the fixture's world, knowing the voucher the earlier job was
// paid with and the channel's signer.
type resubmission struct {
	f      *fixture
	req    *Request
	paid   Voucher
	signer *ecdsa.PrivateKey
}

// TestResubmissionAnswersFirst pins the order of the answers to a job id
// the ledger holds: the earlier job's answer (its receipt again,
// job_conflict, job_in_progress, job_failed) wins over every refusal of
// the channel, the voucher and the reservation, as when the job id was
// read before them; only a malformed request or another domain is refused
// first. Authorize reads the job id only after such a refusal, so the
// cases with one fail if that late read is dropped.
func TestResubmissionAnswersFirst(t *testing.T) {
	type earlier int
	const (
		charged earlier = iota
		running
		released
	)
	stranger, _ := crypto.GenerateKey()
	const deposit = 100_000
	var (
		insufficient = ledger.Errorf("reserve", ledger.ErrInsufficient, "checked before the job id")
		storeFailed  = ledger.Errorf("reserve", ledger.ErrFailed, "disk gone")
		unknown      = fmt.Errorf("%w: %w", ledger.ErrOutcomeUnknown, context.Canceled)
	)
	closing := func(c *chainwatch.Channel) { c.WithdrawableAt = 1 }
	cases := []struct {
		name      string
		earlier   earlier
		edit      func(r resubmission) // changes the request or the world since the earlier job
		fault     func(pl *probeLedger)
		want      Code // "" for the replay of the earlier receipt
		retryable bool
	}{
		{name: "charged, same voucher", earlier: charged},
		{name: "charged, channel now being withdrawn", earlier: charged,
			edit: func(r resubmission) { r.f.change(r.req.ChannelID, closing) }},
		{name: "charged, channel now closed", earlier: charged,
			edit: func(r resubmission) {
				r.f.change(r.req.ChannelID, func(c *chainwatch.Channel) { c.Closed = true })
			}},
		{name: "charged, channel now unknown to the watcher", earlier: charged,
			edit: func(r resubmission) {
				r.f.chans.mu.Lock()
				delete(r.f.chans.chs, r.req.ChannelID)
				r.f.chans.mu.Unlock()
			}},
		{name: "charged, channel now unconfirmed", earlier: charged,
			edit: func(r resubmission) {
				r.f.chans.errs[r.req.ChannelID] = chainwatch.ErrNotConfirmed
			}},
		{name: "charged, channel now of another provider", earlier: charged,
			edit: func(r resubmission) {
				r.f.chans.errs[r.req.ChannelID] = fmt.Errorf("%w (%w)", chainwatch.ErrUnknownChannel, chainwatch.ErrWrongProvider)
			}},
		{name: "charged, watcher unavailable", earlier: charged,
			edit: func(r resubmission) {
				r.f.chans.errs[r.req.ChannelID] = errors.New("rpc down")
			}},
		{name: "charged, offer now in another asset", earlier: charged,
			edit: func(r resubmission) { r.req.Asset = common.Address{} }},
		{name: "charged, voucher signed by a stranger", earlier: charged,
			edit: func(r resubmission) {
				r.req.Voucher = signVoucher(t, r.f.p.Domain(), stranger, r.req.ChannelID, r.paid.Amount)
			}},
		{name: "charged, voucher signature truncated", earlier: charged,
			edit: func(r resubmission) {
				r.req.Voucher = Voucher{Amount: r.paid.Amount, Signature: r.paid.Signature[:64]}
			}},
		{name: "charged, voucher for another amount", earlier: charged,
			edit: func(r resubmission) {
				r.req.Voucher = Voucher{Amount: new(big.Int).Add(r.paid.Amount, big.NewInt(1)), Signature: r.paid.Signature}
			}},
		{name: "charged, voucher above the deposit", earlier: charged,
			edit: func(r resubmission) {
				r.req.Voucher = signVoucher(t, r.f.p.Domain(), r.signer, r.req.ChannelID, big.NewInt(deposit+1))
			}},
		// The earlier voucher covered the earlier job alone; it is now
		// too low for the job again. node/ledger/bolt finds the job id
		// before it checks the cap; the ledger contract does not say, so
		// a ledger that checks its cap first is answered the same.
		{name: "charged, voucher now too low", earlier: charged},
		{name: "charged, voucher too low, ledger checks its cap first", earlier: charged,
			fault: func(pl *probeLedger) { pl.reserveErr = insufficient }},
		{name: "charged, ledger cannot write", earlier: charged,
			fault: func(pl *probeLedger) { pl.reserveErr = storeFailed }},
		{name: "charged, reservation outcome unknown", earlier: charged,
			fault: func(pl *probeLedger) { pl.reserveErr = unknown }},
		{name: "charged, another body", earlier: charged,
			edit: func(r resubmission) { r.req.BodyHash = common.HexToHash("0xbad") },
			want: CodeJobConflict},
		{name: "charged, another body, channel being withdrawn", earlier: charged,
			edit: func(r resubmission) {
				r.req.BodyHash = common.HexToHash("0xbad")
				r.f.change(r.req.ChannelID, closing)
			},
			want: CodeJobConflict},
		{name: "charged, another body, voucher signed by a stranger", earlier: charged,
			edit: func(r resubmission) {
				r.req.BodyHash = common.HexToHash("0xbad")
				r.req.Voucher = signVoucher(t, r.f.p.Domain(), stranger, r.req.ChannelID, r.paid.Amount)
			},
			want: CodeJobConflict},
		{name: "running", earlier: running, want: CodeJobInProgress, retryable: true},
		{name: "running, channel being withdrawn", earlier: running,
			edit: func(r resubmission) { r.f.change(r.req.ChannelID, closing) },
			want: CodeJobInProgress, retryable: true},
		{name: "running, voucher too low, ledger checks its cap first", earlier: running,
			fault: func(pl *probeLedger) { pl.reserveErr = insufficient },
			want:  CodeJobInProgress, retryable: true},
		// The one answer that differs from a read before Reserve, which
		// said job_in_progress here: Reserve gave up waiting while its
		// write went on, and a running job of the same body found after
		// it may be this very request's, so the answer is the refusal,
		// unavailable — retryable as job_in_progress is, and the retry
		// gets job_in_progress. (In the node only shutdown ends the
		// context Authorize runs under.)
		{name: "running, reservation outcome unknown", earlier: running,
			fault: func(pl *probeLedger) { pl.reserveErr = unknown },
			want:  CodeUnavailable, retryable: true},
		{name: "released", earlier: released, want: CodeJobFailed},
		{name: "released, channel being withdrawn", earlier: released,
			edit: func(r resubmission) { r.f.change(r.req.ChannelID, closing) },
			want: CodeJobFailed},
		{name: "released, channel now unknown to the watcher", earlier: released,
			edit: func(r resubmission) {
				r.f.chans.errs[r.req.ChannelID] = chainwatch.ErrUnknownChannel
			},
			want: CodeJobFailed},
		// The request's own faults are refused before the job id is
		// looked at, as they always were.
		{name: "charged, voucher declares another chain", earlier: charged,
			edit: func(r resubmission) {
				r.req.Voucher = Voucher{Amount: r.paid.Amount, Signature: r.paid.Signature, ChainID: big.NewInt(1)}
			},
			want: CodeWrongDomain},
		{name: "charged, negative voucher", earlier: charged,
			edit: func(r resubmission) {
				r.req.Voucher = Voucher{Amount: big.NewInt(-1), Signature: r.paid.Signature}
			},
			want: CodeBadRequest},
		// A ledger that cannot be read answers unavailable, whatever else
		// is wrong, as when the job id was read first.
		{name: "charged, channel being withdrawn, ledger unreadable", earlier: charged,
			edit:  func(r resubmission) { r.f.change(r.req.ChannelID, closing) },
			fault: func(pl *probeLedger) { pl.readErr = ledger.Errorf("job", ledger.ErrClosed, "") },
			want:  CodeUnavailable, retryable: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			pl := f.probe()
			ctx := t.Context()
			id := common.HexToHash("0xf1")
			signer := f.open(id, deposit)
			v := signVoucher(t, f.p.Domain(), signer, id, big.NewInt(maxCost))
			req := f.request(id, "again", v)

			a, err := f.p.Authorize(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			var receipt *ledger.Receipt
			switch c.earlier {
			case charged:
				if receipt, err = f.p.Charge(ctx, a, Usage{InputTokens: 10, OutputTokens: 7}, common.Hash{}); err != nil {
					t.Fatal(err)
				}
			case released:
				if err := f.p.Release(ctx, a, "worker_failed"); err != nil {
					t.Fatal(err)
				}
			case running:
				f.commit(t) // the reservation is on disk, where reads see it
			}
			before, _ := f.l.Channel(ctx, id)

			if c.edit != nil {
				c.edit(resubmission{f: f, req: &req, paid: v, signer: signer})
			}
			if c.fault != nil {
				c.fault(pl)
			}
			got, err := f.p.Authorize(ctx, req)
			pl.reserveErr, pl.readErr = nil, nil

			if c.want == "" {
				if err != nil || got.Replay == nil || got.Replay.Receipt == nil {
					t.Fatalf("got %+v, %v; want the replay of the earlier receipt", got, err)
				}
				r := got.Replay.Receipt
				if r.Seq != receipt.Seq || !bytes.Equal(r.Signature, receipt.Signature) || r.CumulativeCharged.Cmp(receipt.CumulativeCharged) != 0 {
					t.Fatalf("replayed receipt %+v, earlier %+v", r, receipt)
				}
			} else {
				var pe *Error
				if !errors.As(err, &pe) || pe.Code != c.want || pe.Retryable != c.retryable {
					t.Fatalf("got %+v, %v; want code %s retryable %v", got, err, c.want, c.retryable)
				}
			}
			f.commit(t)
			after, _ := f.l.Channel(ctx, id)
			if after.Charged.Cmp(before.Charged) != 0 || after.Reserved.Cmp(before.Reserved) != 0 || after.ReceiptSeq != before.ReceiptSeq {
				t.Fatalf("the resubmission changed the channel: %+v, before %+v", after, before)
			}
		})
	}
}
