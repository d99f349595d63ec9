package bolt

import (
	"bytes"
	"slices"
	"strings"
	"sync"

	bbolt "go.etcd.io/bbolt"
)

// epoch holds the effects made durable in the journal since the last
// checkpoint: the writer's open transaction holds them (and the effects
// not yet durable after them) but the database file does not, and reads
// must see them. A read lays them over the file's committed state.
//
// base is the bbolt transaction id of the committed state they apply to.
// A checkpoint commits them and starts a new epoch; a read transaction
// whose id is above the base of the epoch it loaded began after that
// commit, so the file holds them all and the read ignores them. An epoch
// is loaded before the read transaction begins, so every effect published
// before the read began is in one or the other. Reads hold the epoch's
// lock only to look a key up or to copy the entries a scan needs.
type epoch struct {
	base uint64

	mu      sync.RWMutex
	buckets [numBuckets]map[string]ovv // guarded by mu: the latest effect on each key
}

func newEpoch(base uint64) *epoch {
	ep := &epoch{base: base}
	for b := bChannels; b < numBuckets; b++ {
		ep.buckets[b] = map[string]ovv{}
	}
	return ep
}

// ovv is one key's latest value; deleted when del is set. The value is
// shared with the writer's transaction and never modified.
type ovv struct {
	v   []byte
	del bool
}

// publish adds effects that have just become durable, in order.
func (ep *epoch) publish(effects []pending) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for i := range effects {
		e := &effects[i]
		ep.buckets[e.bucket][string(e.key)] = ovv{v: e.value, del: e.del}
	}
}

// lookup returns the latest effect on k, if any.
func (ep *epoch) lookup(b bucketID, k []byte) (ovv, bool) {
	ep.mu.RLock()
	defer ep.mu.RUnlock()
	e, ok := ep.buckets[b][string(k)]
	return e, ok
}

// pending is an effect applied to the writer's transaction, kept until it
// is durable and published.
type pending struct {
	bucket bucketID
	key    []byte
	value  []byte
	del    bool
}

// rtx is one read: a read-only bbolt transaction and, when it is newer
// than the file, the epoch of durable effects laid over it.
type rtx struct {
	tx *bbolt.Tx
	ep *epoch // nil when tx already holds every effect
}

func (r *rtx) bucket(b bucketID) *bbolt.Bucket { return r.tx.Bucket(bucketNames[b]) }

// get returns the value under k, or nil.
func (r *rtx) get(b bucketID, k []byte) []byte {
	if r.ep != nil {
		if e, ok := r.ep.lookup(b, k); ok {
			if e.del {
				return nil
			}
			return e.v
		}
	}
	return r.bucket(b).Get(k)
}

// errStopScan ends a scan without an error.
var errStopScan = stopScan{}

type stopScan struct{}

func (stopScan) Error() string { return "scan stopped" }

// scan calls fn for each key of bucket b that has prefix and is ≥ from,
// in key order, with the overlay laid over the committed state. fn may
// return errStopScan to end the scan early.
func (r *rtx) scan(b bucketID, prefix, from []byte, fn func(k, v []byte) error) error {
	if bytes.Compare(from, prefix) < 0 {
		from = prefix
	}
	var over []scanEntry
	if r.ep != nil {
		r.ep.mu.RLock()
		for k, e := range r.ep.buckets[b] {
			if strings.HasPrefix(k, string(prefix)) && k >= string(from) {
				over = append(over, scanEntry{k: []byte(k), ovv: e})
			}
		}
		r.ep.mu.RUnlock()
		slices.SortFunc(over, func(x, y scanEntry) int { return bytes.Compare(x.k, y.k) })
	}
	c := r.bucket(b).Cursor()
	k, v := c.Seek(from)
	for {
		if k != nil && !bytes.HasPrefix(k, prefix) {
			k = nil
		}
		if k == nil && len(over) == 0 {
			return nil
		}
		var err error
		switch {
		case len(over) > 0 && (k == nil || bytes.Compare(over[0].k, k) <= 0):
			if k != nil && bytes.Equal(over[0].k, k) {
				k, v = c.Next() // the overlay's value replaces the file's
			}
			if !over[0].del {
				err = fn(over[0].k, over[0].v)
			}
			over = over[1:]
		default:
			err = fn(k, v)
			k, v = c.Next()
		}
		if err == errStopScan {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

type scanEntry struct {
	k []byte
	ovv
}
