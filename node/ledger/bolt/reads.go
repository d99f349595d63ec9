package bolt

import (
	"context"
	"encoding/binary"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/node/ledger"
)

// Reads run in read-only transactions, concurrent with each other and with
// the writer, with the effects made durable since the last checkpoint laid
// over them (see epoch). bbolt's values live in the memory map only while
// the transaction is open: the decoders copy what they keep.

// getter reads one key: the writer's transaction or a read's.
type getter interface {
	get(b bucketID, k []byte) []byte
}

func (w *wtx) get(b bucketID, k []byte) []byte { return w.buckets[b].Get(k) }

func zeroChannel(id common.Hash) ledger.ChannelState {
	return ledger.ChannelState{
		ID:       id,
		Charged:  new(big.Int),
		Reserved: new(big.Int),
		Voucher:  ledger.Voucher{Amount: new(big.Int)},
		Claimed:  new(big.Int),
	}
}

func getChannel(g getter, id common.Hash) (ledger.ChannelState, error) {
	raw := g.get(bChannels, id[:])
	if raw == nil {
		return zeroChannel(id), nil
	}
	return decodeChannel(id, raw)
}

// loadJob decodes a job and attaches its receipt.
func loadJob(g getter, channelID common.Hash, jobID string, raw []byte) (*ledger.Job, error) {
	rec, err := decodeJob(channelID, jobID, raw)
	if err != nil {
		return nil, err
	}
	j := rec.Job
	if rec.receiptSeq != 0 {
		r, err := getReceipt(g, channelID, rec.receiptSeq)
		if err != nil {
			return nil, err
		}
		j.Receipt = r
	}
	return &j, nil
}

func getReceipt(g getter, channelID common.Hash, seq uint64) (*ledger.Receipt, error) {
	raw := g.get(bReceipts, receiptKey(channelID, seq))
	if raw == nil {
		return nil, ledger.Errorf("receipt", errCorrupt, "channel %s receipt %d missing", channelID, seq)
	}
	r, err := decodeReceipt(channelID, seq, raw)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func (s *Store) Channel(ctx context.Context, id common.Hash) (ledger.ChannelState, error) {
	var ch ledger.ChannelState
	err := s.view("channel", func(r *rtx) (err error) {
		ch, err = getChannel(r, id)
		return err
	})
	return ch, err
}

func (s *Store) Channels(ctx context.Context) ([]ledger.ChannelState, error) {
	var out []ledger.ChannelState
	err := s.view("channels", func(r *rtx) error {
		return r.scan(bChannels, nil, nil, func(k, v []byte) error {
			if len(k) != common.HashLength {
				return nil // a reserved job's marker
			}
			ch, err := decodeChannel(common.BytesToHash(k), v)
			if err != nil {
				return err
			}
			out = append(out, ch)
			return ctx.Err()
		})
	})
	return out, err
}

func (s *Store) Job(ctx context.Context, channelID common.Hash, jobID string) (*ledger.Job, error) {
	var j *ledger.Job
	err := s.view("job", func(r *rtx) error {
		raw := r.get(bJobs, jobKey(channelID, jobID))
		if raw == nil {
			return ledger.Errorf("job", ledger.ErrNotFound, "channel %s job %q", channelID, jobID)
		}
		var err error
		j, err = loadJob(r, channelID, jobID, raw)
		return err
	})
	return j, err
}

func (s *Store) Jobs(ctx context.Context, channelID common.Hash) ([]ledger.Job, error) {
	var out []ledger.Job
	err := s.view("jobs", func(r *rtx) error {
		return r.scan(bJobs, channelID[:], nil, func(k, v []byte) error {
			j, err := loadJob(r, channelID, string(k[common.HashLength:]), v)
			if err != nil {
				return err
			}
			out = append(out, *j)
			return ctx.Err()
		})
	})
	return out, err
}

func (s *Store) ReservedJobs(ctx context.Context) ([]ledger.Job, error) {
	var out []ledger.Job
	err := s.view("reserved jobs", func(r *rtx) error {
		return r.scan(bChannels, nil, nil, func(k, _ []byte) error {
			if len(k) == common.HashLength {
				return nil // a channel's state
			}
			channelID, jobID := common.BytesToHash(k[:common.HashLength]), string(k[common.HashLength:])
			raw := r.get(bJobs, k)
			if raw == nil {
				return ledger.Errorf("reserved jobs", errCorrupt, "channel %s job %q indexed but missing", channelID, jobID)
			}
			j, err := loadJob(r, channelID, jobID, raw)
			if err != nil {
				return err
			}
			out = append(out, *j)
			return ctx.Err()
		})
	})
	return out, err
}

func (s *Store) Receipts(ctx context.Context, channelID common.Hash, fromSeq, toSeq uint64) ([]ledger.Receipt, error) {
	if fromSeq > toSeq {
		return nil, nil
	}
	var out []ledger.Receipt
	err := s.view("receipts", func(r *rtx) error {
		return r.scan(bReceipts, channelID[:], receiptKey(channelID, fromSeq), func(k, v []byte) error {
			if len(k) != common.HashLength+8 {
				return ledger.Errorf("receipts", errCorrupt, "key of %d bytes", len(k))
			}
			seq := binary.BigEndian.Uint64(k[common.HashLength:])
			if seq > toSeq {
				return errStopScan
			}
			rc, err := decodeReceipt(channelID, seq, v)
			if err != nil {
				return err
			}
			out = append(out, rc)
			return ctx.Err()
		})
	})
	return out, err
}

func (s *Store) Receipt(ctx context.Context, channelID common.Hash, jobID string) (*ledger.Receipt, error) {
	j, err := s.Job(ctx, channelID, jobID)
	if err != nil {
		return nil, err
	}
	if j.Receipt == nil {
		return nil, ledger.Errorf("receipt", ledger.ErrNotFound, "channel %s job %q is %s", channelID, jobID, j.State)
	}
	return j.Receipt, nil
}

func (s *Store) Batches(ctx context.Context, states ...ledger.BatchState) ([]ledger.Batch, error) {
	var out []ledger.Batch
	err := s.view("batches", func(r *rtx) error {
		return r.scan(bBatches, nil, nil, func(k, v []byte) error {
			if len(k) != 8 {
				return ledger.Errorf("batches", errCorrupt, "key of %d bytes", len(k))
			}
			b, err := decodeBatch(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return err
			}
			if len(states) == 0 || slices.Contains(states, b.State) {
				out = append(out, b)
			}
			return ctx.Err()
		})
	})
	return out, err
}

func (s *Store) GetMeta(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := s.view("get meta", func(r *rtx) error {
		v := r.get(bMeta, []byte(key))
		if v == nil {
			return ledger.Errorf("get meta", ledger.ErrNotFound, "key %q", key)
		}
		out = append(make([]byte, 0, len(v)), v...)
		return nil
	})
	return out, err
}
