package bolt

import (
	"bytes"
	"testing"
)

// FuzzJournal feeds the journal reader arbitrary files: it never panics,
// takes only whole records of the generation asked for, and the effects
// it decodes encode again into a record that reads back the same, and
// not at all once cut short or altered.
func FuzzJournal(f *testing.F) {
	rec := make([]byte, journalHeaderLen)
	rec = appendPut(rec, bChannels, []byte("channel"), []byte("state"))
	rec = appendDelete(rec, bJobs, []byte("job"))
	rec = appendSequence(rec, bBatches, 7)
	rec = appendPut(rec, bMeta, []byte("k"), nil)
	sealRecord(rec, 3)
	f.Add(rec, uint64(3))
	f.Add(append(bytes.Clone(rec), rec...), uint64(3))
	f.Add(rec, uint64(4))
	f.Add(rec[:len(rec)-1], uint64(3))
	f.Add([]byte{}, uint64(0))
	f.Add(make([]byte, 64), uint64(0))

	f.Fuzz(func(t *testing.T, data []byte, gen uint64) {
		for _, payload := range journalRecords(data, gen) {
			var effects []effect
			if err := decodeEffects(payload, func(e effect) error {
				if e.bucket == 0 || e.bucket >= numBuckets {
					t.Fatalf("bucket %d accepted", e.bucket)
				}
				effects = append(effects, e)
				return nil
			}); err != nil {
				continue // a record whose CRC holds but whose effects do not: Open fails on it
			}
			again := make([]byte, journalHeaderLen)
			for _, e := range effects {
				switch e.kind {
				case effectPut:
					again = appendPut(again, e.bucket, e.key, e.value)
				case effectDelete:
					again = appendDelete(again, e.bucket, e.key)
				case effectSequence:
					again = appendSequence(again, e.bucket, e.seq)
				default:
					t.Fatalf("effect kind %d accepted", e.kind)
				}
			}
			sealRecord(again, gen)
			got := journalRecords(again, gen)
			if len(got) != 1 || !bytes.Equal(got[0], again[journalHeaderLen:]) {
				t.Fatalf("re-encoded record read back as %d records", len(got))
			}
			var n int
			if err := decodeEffects(got[0], func(e effect) error {
				w := effects[n]
				if e.kind != w.kind || e.bucket != w.bucket || !bytes.Equal(e.key, w.key) || !bytes.Equal(e.value, w.value) || e.seq != w.seq {
					t.Fatalf("effect %d: %+v, want %+v", n, e, w)
				}
				n++
				return nil
			}); err != nil || n != len(effects) {
				t.Fatalf("re-encoded effects: %d of %d, %v", n, len(effects), err)
			}
			if got := journalRecords(again[:len(again)-1], gen); len(got) != 0 {
				t.Fatal("a record cut short was read")
			}
			if got := journalRecords(again, gen+1); len(got) != 0 {
				t.Fatal("a record of another generation was read")
			}
			again[len(again)/2] ^= 0x40
			if got := journalRecords(again, gen); len(got) != 0 {
				t.Fatal("an altered record was read")
			}
		}
	})
}
