package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/node/ledger"
)

// Records are stored in a compact binary encoding: a version byte, then the
// fields in a fixed order. Integers are uvarints; amounts are a uvarint
// length (at most 32) and the big-endian magnitude without leading zeros;
// byte strings are a uvarint length and the bytes; hashes are 32 raw bytes.
// Fields that the key already holds (a channel's id, a receipt's channel
// and seq, a batch's id) are not repeated in the value.
//
// A new field goes at the end under a new version byte; decoders keep
// reading every older version.
//
// The decoders take untrusted bytes: they never panic, never allocate more
// than the input's length, and reject trailing bytes and non-canonical
// amounts, so that a decoded record encodes back to the same bytes.
const codecV1 = 1

var errCorrupt = errors.New("corrupt record")

// encoder appends to a buffer.
type encoder struct{ b []byte }

func (e *encoder) byte(x byte)        { e.b = append(e.b, x) }
func (e *encoder) uint(x uint64)      { e.b = binary.AppendUvarint(e.b, x) }
func (e *encoder) hash(h common.Hash) { e.b = append(e.b, h[:]...) }
func (e *encoder) bytes(p []byte)     { e.uint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) string(s string)    { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) amount(x *big.Int) {
	if x == nil || x.Sign() == 0 {
		e.byte(0)
		return
	}
	n := (x.BitLen() + 7) / 8
	e.byte(byte(n)) // n ≤ 32 < 128: a one-byte uvarint
	x.FillBytes(growBy(&e.b, n))
}

// growBy extends *b by n bytes and returns the new tail.
func growBy(b *[]byte, n int) []byte {
	l := len(*b)
	if cap(*b)-l < n {
		nb := make([]byte, l, 2*cap(*b)+n)
		copy(nb, *b)
		*b = nb
	}
	*b = (*b)[:l+n]
	return (*b)[l:]
}

func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.byte(0)
		return
	}
	e.byte(1)
	e.b = binary.AppendVarint(e.b, t.Unix())
	e.uint(uint64(t.Nanosecond()))
}

// Times are kept within years 1 to 9999, where Unix seconds round-trip.
const (
	minUnix = -62135596800 // 0001-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

func checkTime(t time.Time) error {
	if !t.IsZero() && (t.Unix() < minUnix || t.Unix() > maxUnix) {
		return fmt.Errorf("%w: time %v outside years 1..9999", ledger.ErrInvalid, t)
	}
	return nil
}

// checkAmounts rejects what the encoding cannot hold. Callers validate
// their input before it reaches the encoder; this is the last guard.
func checkAmounts(xs ...*big.Int) error {
	for _, x := range xs {
		if x != nil && !ledger.CheckAmount(x) {
			return fmt.Errorf("%w: amount %s outside uint256", ledger.ErrInvalid, x)
		}
	}
	return nil
}

// decoder reads from a buffer; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", errCorrupt, what)
	}
}

func (d *decoder) byte(what string) byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail(what)
		return 0
	}
	x := d.b[0]
	d.b = d.b[1:]
	return x
}

func (d *decoder) uint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 || n != uvarintLen(x) {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return x
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func (d *decoder) hash(what string) (h common.Hash) {
	if d.err != nil || len(d.b) < 32 {
		d.fail(what)
		return h
	}
	copy(h[:], d.b[:32])
	d.b = d.b[32:]
	return h
}

// raw returns the next length-prefixed bytes, aliasing the input.
func (d *decoder) raw(what string, max int) []byte {
	n := d.uint(what)
	if d.err != nil || n > uint64(len(d.b)) || n > uint64(max) {
		d.fail(what)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// bytes returns a copy of the next length-prefixed bytes; nil when empty.
func (d *decoder) bytes(what string) []byte {
	p := d.raw(what, len(d.b))
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (d *decoder) string(what string, max int) string { return string(d.raw(what, max)) }

func (d *decoder) amount(what string) *big.Int {
	p := d.raw(what, 32)
	if len(p) > 0 && p[0] == 0 {
		d.fail(what) // leading zero: not canonical
	}
	return new(big.Int).SetBytes(p)
}

func (d *decoder) time(what string) time.Time {
	switch d.byte(what) {
	case 0:
		return time.Time{}
	case 1:
	default:
		d.fail(what)
		return time.Time{}
	}
	if d.err != nil {
		return time.Time{}
	}
	sec, n := binary.Varint(d.b)
	if n <= 0 || n != len(binary.AppendVarint(nil, sec)) || sec < minUnix || sec > maxUnix {
		d.fail(what)
		return time.Time{}
	}
	d.b = d.b[n:]
	nsec := d.uint(what)
	if nsec >= 1e9 {
		d.fail(what)
	}
	if d.err != nil {
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).UTC()
	if t.IsZero() {
		d.fail(what) // the zero time has its own tag
	}
	return t
}

func (d *decoder) version() {
	if v := d.byte("version"); d.err == nil && v != codecV1 {
		d.err = fmt.Errorf("%w: unknown version %d", errCorrupt, v)
	}
}

func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.b))
	}
	return d.err
}

// ---------------------------------------------------------------- channel

func encodeChannel(c *ledger.ChannelState) ([]byte, error) {
	if err := checkAmounts(c.Charged, c.Reserved, c.Voucher.Amount, c.Claimed); err != nil {
		return nil, err
	}
	e := encoder{b: make([]byte, 0, 64+len(c.Voucher.Signature))}
	e.byte(codecV1)
	e.amount(c.Charged)
	e.amount(c.Reserved)
	e.amount(c.Voucher.Amount)
	e.bytes(c.Voucher.Signature)
	e.uint(c.ReceiptSeq)
	e.amount(c.Claimed)
	e.uint(c.SettledSeq)
	return e.b, nil
}

func decodeChannel(id common.Hash, b []byte) (ledger.ChannelState, error) {
	d := decoder{b: b}
	d.version()
	c := ledger.ChannelState{ID: id}
	c.Charged = d.amount("charged")
	c.Reserved = d.amount("reserved")
	c.Voucher.Amount = d.amount("voucher amount")
	c.Voucher.Signature = d.bytes("voucher signature")
	c.ReceiptSeq = d.uint("receipt seq")
	c.Claimed = d.amount("claimed")
	c.SettledSeq = d.uint("settled seq")
	if err := d.finish(); err != nil {
		return ledger.ChannelState{}, fmt.Errorf("channel %s: %w", id, err)
	}
	return c, nil
}

// -------------------------------------------------------------------- job

// jobRecord is a job as stored: its receipt is kept once, in the receipts
// bucket, under receiptSeq.
type jobRecord struct {
	ledger.Job
	receiptSeq uint64 // 0 when not charged
}

func encodeJob(j *jobRecord) ([]byte, error) {
	if err := checkAmounts(j.MaxCost, j.Cost); err != nil {
		return nil, err
	}
	if err := checkTime(j.Created); err != nil {
		return nil, err
	}
	e := encoder{b: make([]byte, 0, 64+len(j.FailCode))}
	e.byte(codecV1)
	e.hash(j.BodyHash)
	e.amount(j.MaxCost)
	e.byte(byte(j.State))
	e.amount(j.Cost)
	e.uint(j.receiptSeq)
	e.string(j.FailCode)
	e.time(j.Created)
	return e.b, nil
}

// decodeJob decodes the job at key channelID‖jobID; the receipt is left
// for the caller to load.
func decodeJob(channelID common.Hash, jobID string, b []byte) (jobRecord, error) {
	d := decoder{b: b}
	d.version()
	var j jobRecord
	j.ChannelID, j.ID = channelID, jobID
	j.BodyHash = d.hash("body hash")
	j.MaxCost = d.amount("max cost")
	j.State = ledger.JobState(d.byte("state"))
	if d.err == nil && (j.State < ledger.JobReserved || j.State > ledger.JobReleased) {
		d.fail("state")
	}
	j.Cost = d.amount("cost")
	j.receiptSeq = d.uint("receipt seq")
	j.FailCode = d.string("fail code", len(d.b))
	j.Created = d.time("created")
	if err := d.finish(); err != nil {
		return jobRecord{}, fmt.Errorf("job %s/%q: %w", channelID, jobID, err)
	}
	return j, nil
}

// ---------------------------------------------------------------- receipt

func encodeReceipt(r *ledger.Receipt) ([]byte, error) {
	if err := checkAmounts(r.Cost, r.CumulativeCharged); err != nil {
		return nil, err
	}
	e := encoder{b: make([]byte, 0, 160+len(r.Signature))}
	e.byte(codecV1)
	e.hash(r.JobID)
	e.amount(r.Cost)
	e.amount(r.CumulativeCharged)
	e.uint(r.InputTokens)
	e.uint(r.OutputTokens)
	e.hash(r.ResultHash)
	e.bytes(r.Signature)
	return e.b, nil
}

func decodeReceipt(channelID common.Hash, seq uint64, b []byte) (ledger.Receipt, error) {
	d := decoder{b: b}
	d.version()
	var r ledger.Receipt
	r.ChannelID, r.Seq = channelID, seq
	r.JobID = d.hash("job id")
	r.Cost = d.amount("cost")
	r.CumulativeCharged = d.amount("cumulative charged")
	r.InputTokens = d.uint("input tokens")
	r.OutputTokens = d.uint("output tokens")
	r.ResultHash = d.hash("result hash")
	r.Signature = d.bytes("signature")
	if err := d.finish(); err != nil {
		return ledger.Receipt{}, fmt.Errorf("receipt %s/%d: %w", channelID, seq, err)
	}
	return r, nil
}

// ------------------------------------------------------------------ batch

func encodeBatch(b *ledger.Batch) ([]byte, error) {
	for i := range b.Claims {
		if err := checkAmounts(b.Claims[i].Amount, b.Claims[i].VoucherAmount); err != nil {
			return nil, err
		}
	}
	e := encoder{b: make([]byte, 0, 16+32*len(b.TxHashes)+200*len(b.Claims))}
	e.byte(codecV1)
	e.uint(b.Nonce)
	e.byte(byte(b.State))
	e.uint(b.Block)
	e.uint(b.GasUsed)
	e.uint(uint64(len(b.TxHashes)))
	for _, h := range b.TxHashes {
		e.hash(h)
	}
	e.uint(uint64(len(b.Claims)))
	for i := range b.Claims {
		c := &b.Claims[i]
		e.hash(c.ChannelID)
		e.amount(c.Amount)
		e.amount(c.VoucherAmount)
		e.bytes(c.VoucherSig)
		e.hash(c.ReceiptsRoot)
		e.uint(c.FromSeq)
		e.uint(c.ToSeq)
	}
	return e.b, nil
}

// minClaimLen is the fewest bytes an encoded claim takes: three hashes'
// worth less one, and five one-byte fields.
const minClaimLen = 32 + 1 + 1 + 1 + 32 + 1 + 1

func decodeBatch(id uint64, b []byte) (ledger.Batch, error) {
	d := decoder{b: b}
	d.version()
	bt := ledger.Batch{ID: id}
	bt.Nonce = d.uint("nonce")
	bt.State = ledger.BatchState(d.byte("state"))
	if d.err == nil && (bt.State < ledger.BatchPending || bt.State > ledger.BatchFailed) {
		d.fail("state")
	}
	bt.Block = d.uint("block")
	bt.GasUsed = d.uint("gas used")
	if n := d.uint("tx count"); d.err == nil {
		if n > uint64(len(d.b)/32) {
			d.fail("tx count")
		} else if n > 0 {
			bt.TxHashes = make([]common.Hash, n)
			for i := range bt.TxHashes {
				bt.TxHashes[i] = d.hash("tx hash")
			}
		}
	}
	if n := d.uint("claim count"); d.err == nil {
		if n > uint64(len(d.b)/minClaimLen) {
			d.fail("claim count")
		} else if n > 0 {
			bt.Claims = make([]ledger.Claim, n)
			for i := range bt.Claims {
				c := &bt.Claims[i]
				c.ChannelID = d.hash("claim channel")
				c.Amount = d.amount("claim amount")
				c.VoucherAmount = d.amount("claim voucher amount")
				c.VoucherSig = d.bytes("claim voucher signature")
				c.ReceiptsRoot = d.hash("claim receipts root")
				c.FromSeq = d.uint("claim from seq")
				c.ToSeq = d.uint("claim to seq")
			}
		}
	}
	if err := d.finish(); err != nil {
		return ledger.Batch{}, fmt.Errorf("batch %d: %w", id, err)
	}
	return bt, nil
}
