// Package bolt is the embedded ledger: node/ledger.Ledger on bbolt
// (go.etcd.io/bbolt), a single-file B+tree with ACID transactions, the
// store under etcd, with a journal in front of it.
//
// # Group commit and the journal
//
// bbolt runs one read-write transaction at a time, and each commit costs
// two fsyncs and a page write for every page touched, so a transaction
// per operation would cap the node at a few hundred operations a second.
// Instead every write is queued to one writer goroutine, which takes all
// the operations queued so far and applies them in queue order to its
// open transaction. Then, one group commit for them all: it appends
// their effects — the keys they put and deleted, with the values — to the
// journal (path/ledger.journal) as one record, syncs it once
// (fdatasync), and answers each caller. Under low load an operation is
// made durable as soon as it arrives, with no added wait (unlike bbolt's
// DB.Batch, which waits up to MaxBatchDelay); under high load the
// operations that queue up during one sync share the next one, so
// throughput grows with concurrency while each caller still returns only
// once its write is on disk.
//
// Under load the group commit runs beside the writer, one at a time:
// when operations wait to be applied as a record is handed over, or came
// during the last group commit, the writer goes on applying them while
// the record is written and synced, and they form the next record,
// written as soon as the one before is on disk. On an idle store the
// writer makes the group commit itself. So the writer's time is that of
// applying, not applying plus waiting for the disk. Records reach the
// journal in the order of their operations and the replay stops at the
// first torn one, so an operation that returned never depends on one
// that was lost.
//
// The transaction itself stays open across group commits. A checkpoint
// commits it to the database file — at most CheckpointInterval after it
// began, when it holds many operations, and on Close — and starts the
// journal anew: a checkpoint's large commit replaces a small one for
// every group.
//
// After a crash, Open applies the journal's records to the file, in
// order, in one transaction. Each record carries the generation of the
// checkpoint it follows and a CRC: the replay stops at the first record
// of another generation or torn by the crash, which was never answered.
// Effects are the values written, not the operations, so the replay is
// exact. Each Open and each checkpoint begins a new generation, recorded
// in the file in the same transaction, so a record is never applied on
// top of a state it did not follow.
//
// Within a transaction each operation reads and validates everything it
// needs before its first write, so one that fails (a wrong job state, say)
// leaves nothing behind and fails alone; the others commit. Operations
// apply in the order they were queued, so the operations of one channel
// apply in the order they were submitted.
//
// Reads run in their own read-only transactions, concurrently with each
// other and with the writer. A read sees every write made durable before
// it began: those since the last checkpoint are published, once synced,
// as an epoch of effects that reads lay over the file's committed state
// (see epoch).
//
// # Layout
//
// The file path/ledger.db holds the buckets
//
//	channels  channelID → ChannelState, and
//	          channelID‖jobID → ∅ for each of its jobs still reserved
//	jobs      channelID‖jobID → job (its receipt by seq, not a copy)
//	receipts  channelID‖seq (8 bytes, big-endian) → receipt
//	batches   id (8 bytes, big-endian) → batch; ids from the bucket sequence
//	meta      key → value, for other subsystems
//	info      "schema" → the layout's version; "journal generation"
//
// in the binary encoding described in codec.go; path/ledger.journal is
// described in journal.go. A reserved job's marker sits right after its
// channel's state, on the page that every reserve, charge and release
// writes anyway, so tracking the jobs in flight costs no extra page per
// checkpoint.
package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	bbolterrors "go.etcd.io/bbolt/errors"

	"github.com/paynode/paynode/node/ledger"
)

var _ ledger.Ledger = (*Store)(nil)

// FileName is the database file's name inside the store directory.
const FileName = "ledger.db"

const schemaVersion = 1

var (
	bucketChannels = []byte("channels")
	bucketJobs     = []byte("jobs")
	bucketReceipts = []byte("receipts")
	bucketBatches  = []byte("batches")
	bucketMeta     = []byte("meta")
	bucketInfo     = []byte("info")
	keySchema      = []byte("schema")
	keyJournalGen  = []byte("journal generation")
)

// Options tune a Store. The zero value is the production setting.
type Options struct {
	// NoSync skips the fsync at every commit. UNSAFE: a crash of the
	// machine (not only of the process) can lose acknowledged writes or
	// corrupt the file. For tests only.
	NoSync bool
	// Logger receives the store's log; slog.Default() when nil.
	Logger *slog.Logger
	// MaxBatch is the most operations made durable in one group commit;
	// 2048 when zero.
	MaxBatch int
	// LockTimeout is how long Open waits for another process to release
	// the file; 2s when zero. Only one process may open the store.
	LockTimeout time.Duration
	// InitialMmapSize is the size of the first memory map of the file,
	// 256 MiB when zero. A commit that outgrows the map remaps it, which
	// waits for every read in flight, so a generous map keeps reads and
	// commits out of each other's way (it is address space, not memory).
	InitialMmapSize int
	// Now is the clock that stamps jobs; time.Now when nil.
	Now func() time.Time
	// MaxCommitDelay is the longest a write answered before it is
	// durable (ledger.ReserveOp.NoWait) waits for a group commit, when no
	// write that waits comes to make it durable sooner; 5ms when zero.
	MaxCommitDelay time.Duration
	// CheckpointInterval is the longest the database file lags the
	// journal: how often the writer's transaction is committed to the
	// file, which then starts the journal anew; 1s when zero. Shorter
	// keeps the journal and the replay after a crash short; longer
	// commits fewer, larger transactions to the file.
	CheckpointInterval time.Duration
	// JournalPrealloc is how many bytes of the journal file are written
	// ahead (zeros) at Open, so that group commits overwrite the file
	// rather than extend it, which syncs faster; 4 MiB when zero, none
	// when negative.
	JournalPrealloc int64
}

// Stats counts the writer's work since Open.
type Stats struct {
	Replayed       uint64        // group commits read back from the journal at Open
	Commits        uint64        // group commits: groups of operations made durable at once
	Ops            uint64        // operations made durable in them, failed ones included
	Checkpoints    uint64        // transactions committed to the database file
	Writes         uint64        // page writes at checkpoints (bbolt's count)
	ApplyTime      time.Duration // writer time spent applying operations
	CommitTime     time.Duration // writer time spent writing and syncing the journal
	CheckpointTime time.Duration // writer time spent committing to the database file
}

// Store is the bbolt ledger. Open one with Open; all methods are safe for
// concurrent use.
type Store struct {
	db       *bbolt.DB
	path     string
	log      *slog.Logger
	now      func() time.Time
	maxBatch int

	maxCommitDelay     time.Duration
	checkpointInterval time.Duration
	maxTxOps           int   // the most ops a transaction holds before a checkpoint
	maxJournal         int64 // the most journal bytes before a checkpoint

	replayed uint64                // journal records applied at Open
	journal  *journal              // the writer's; group commits write at the offset it gives them
	epoch    atomic.Pointer[epoch] // the durable effects not yet in the file

	// The buffers of the last group commit, for the writer's next.
	spareRec     []byte
	spareEffects []pending
	// overlapped: writes came while the last group commit was made (they
	// were applied beside it, or queued behind it), so the next one goes
	// beside the writer too. The writer's.
	overlapped bool
	// syncHook, when set (tests), runs in each group commit before it
	// writes.
	syncHook atomic.Pointer[func()]

	mu      sync.Mutex
	cond    *sync.Cond // signalled when queue grows or closed is set
	queue   []*op      // guarded by mu: operations waiting for the writer
	closed  bool       // guarded by mu: no more operations accepted
	failed  error      // guarded by mu: the commit error that stopped writes
	crashed bool       // guarded by mu: the writer stops as at a crash (tests)

	done chan struct{} // closed when the writer has drained the queue and stopped

	commits        atomic.Uint64
	ops            atomic.Uint64
	checkpoints    atomic.Uint64
	writes         atomic.Uint64
	applyTime      atomic.Int64
	commitTime     atomic.Int64
	checkpointTime atomic.Int64
}

// Open opens the ledger in directory dir, creating the directory (mode
// 0700) and the database file dir/ledger.db (mode 0600) when missing.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("ledger: open: empty path")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ledger: open: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 2048
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 2 * time.Second
	}
	if opts.InitialMmapSize <= 0 {
		opts.InitialMmapSize = 256 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxCommitDelay <= 0 {
		opts.MaxCommitDelay = 5 * time.Millisecond
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = time.Second
	}
	if opts.JournalPrealloc == 0 {
		opts.JournalPrealloc = 4 << 20
	}
	path := filepath.Join(dir, FileName)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:         opts.LockTimeout,
		NoSync:          opts.NoSync,
		InitialMmapSize: opts.InitialMmapSize,
		// The hashmap freelist allocates in constant time; not syncing it
		// saves pages per commit, at the price of a freelist scan at Open.
		FreelistType:   bbolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	if err := db.Update(initSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	log := opts.Logger.With("subsystem", "ledger", "path", path)
	j, replayed, base, err := recoverJournal(db, filepath.Join(dir, journalFileName), opts.NoSync, opts.JournalPrealloc)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	if replayed > 0 {
		log.Info("ledger recovered writes from its journal", "group_commits", replayed)
	}
	s := &Store{
		db:       db,
		path:     path,
		log:      log,
		now:      opts.Now,
		maxBatch: opts.MaxBatch,
		done:     make(chan struct{}),
		journal:  j,
		replayed: uint64(replayed),

		maxCommitDelay:     opts.MaxCommitDelay,
		checkpointInterval: opts.CheckpointInterval,
		maxTxOps:           8 << 10,
		maxJournal:         64 << 20,
	}
	s.epoch.Store(newEpoch(base))
	if opts.NoSync {
		s.log.Warn("ledger opened without fsync: acknowledged writes can be lost in a crash")
	}
	s.cond = sync.NewCond(&s.mu)
	go s.run()
	return s, nil
}

// recoverJournal opens the journal, applies the records of the current
// generation to the database file, and starts the next generation, which
// the file records in the same transaction: a record written before this
// Open can never be read back after it. It returns the journal, how many
// records it applied, and the id of the file's committed transaction.
func recoverJournal(db *bbolt.DB, path string, noSync bool, prealloc int64) (*journal, int, uint64, error) {
	j, data, err := openJournal(path, noSync, prealloc)
	if err != nil {
		return nil, 0, 0, err
	}
	var replayed int
	var gen, base uint64
	err = db.Update(func(tx *bbolt.Tx) error {
		info := tx.Bucket(bucketInfo)
		if v := info.Get(keyJournalGen); v != nil {
			if len(v) != 8 {
				return fmt.Errorf("%w: journal generation of %d bytes", errCorrupt, len(v))
			}
			gen = binary.BigEndian.Uint64(v)
		}
		for _, rec := range journalRecords(data, gen) {
			if err := replayEffects(tx, rec); err != nil {
				return fmt.Errorf("journal record %d: %w", replayed+1, err)
			}
			replayed++
		}
		gen++
		base = uint64(tx.ID())
		return info.Put(keyJournalGen, binary.BigEndian.AppendUint64(nil, gen))
	})
	if err != nil {
		j.close()
		return nil, 0, 0, err
	}
	j.restart(gen)
	return j, replayed, base, nil
}

func initSchema(tx *bbolt.Tx) error {
	info, err := tx.CreateBucketIfNotExists(bucketInfo)
	if err != nil {
		return err
	}
	if v := info.Get(keySchema); v != nil {
		if len(v) != 1 || v[0] != schemaVersion {
			return fmt.Errorf("schema version %v, this build reads %d", v, schemaVersion)
		}
	} else if err := info.Put(keySchema, []byte{schemaVersion}); err != nil {
		return err
	}
	for _, name := range bucketNames[bChannels:] {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Stats reports how many operations and commits the writer made; their
// ratio is the average group-commit size.
func (s *Store) Stats() Stats {
	return Stats{
		Replayed:       s.replayed,
		Commits:        s.commits.Load(),
		Ops:            s.ops.Load(),
		Checkpoints:    s.checkpoints.Load(),
		Writes:         s.writes.Load(),
		ApplyTime:      time.Duration(s.applyTime.Load()),
		CommitTime:     time.Duration(s.commitTime.Load()),
		CheckpointTime: time.Duration(s.checkpointTime.Load()),
	}
}

// Close stops taking writes, commits the ones already queued and closes
// the file. If ctx ends first, Close returns its error and the store
// finishes closing in the background.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return &ledger.Error{Op: "close", Err: ledger.ErrClosed}
	}
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()

	closeDB := func() error {
		err := errors.Join(s.db.Close(), s.journal.close())
		if err != nil {
			return &ledger.Error{Op: "close", Err: err}
		}
		return nil
	}
	select {
	case <-s.done:
		return closeDB()
	case <-ctx.Done():
		go func() {
			<-s.done
			if err := closeDB(); err != nil {
				s.log.Error("closing ledger", "err", err)
			}
		}()
		return &ledger.Error{Op: "close", Err: context.Cause(ctx)}
	}
}

// ------------------------------------------------------------------ writer

// op is one queued write. apply runs on the writer inside the shared
// transaction; it must return before its first write any error that is
// the caller's (validation, state), so that a failed op writes nothing.
// Only a failing write itself may leave partial writes: such errors are
// wrapped in writeError, and the writer drops the transaction and builds
// it again without the op (see Store.rebuild). An apply function may thus
// run more than once, on the same state, and must give the same result.
type op struct {
	name   string
	apply  func(w *wtx) (any, error)
	noWait bool // answer once applied, before it is durable (ReserveOp.NoWait)

	// Set by the writer. answered: done is closed, res and err are the
	// caller's and are not written again.
	res      any
	err      error
	answered bool
	done     chan struct{}
}

// wtx is the writer's transaction, its buckets looked up once, and the
// effects applied to it since they were last made durable.
type wtx struct {
	tx      *bbolt.Tx
	buckets [numBuckets]*bbolt.Bucket

	rec     []byte    // the next journal record: room for its header, then the effects
	effects []pending // the same effects, to publish to reads once durable
}

func newWtx(tx *bbolt.Tx) *wtx {
	w := &wtx{tx: tx, rec: make([]byte, journalHeaderLen, 64<<10)}
	for b := bChannels; b < numBuckets; b++ {
		w.buckets[b] = tx.Bucket(bucketNames[b])
	}
	return w
}

// put, del and nextSequence write through to the transaction and record
// the effect for the journal. A failed write is a writeError (see op).
// Keys and values must not be modified afterwards: the transaction, the
// journal record and reads share them.
func (w *wtx) put(b bucketID, k, v []byte) error {
	if err := w.buckets[b].Put(k, v); err != nil {
		return &writeError{err}
	}
	w.rec = appendPut(w.rec, b, k, v)
	w.effects = append(w.effects, pending{bucket: b, key: k, value: v})
	return nil
}

func (w *wtx) del(b bucketID, k []byte) error {
	if err := w.buckets[b].Delete(k); err != nil {
		return &writeError{err}
	}
	w.rec = appendDelete(w.rec, b, k)
	w.effects = append(w.effects, pending{bucket: b, key: k, del: true})
	return nil
}

func (w *wtx) nextSequence(b bucketID) (uint64, error) {
	seq, err := w.buckets[b].NextSequence()
	if err != nil {
		return 0, &writeError{err}
	}
	w.rec = appendSequence(w.rec, b, seq)
	return seq, nil
}

// unflushed reports whether effects wait to be made durable.
func (w *wtx) unflushed() bool { return len(w.rec) > journalHeaderLen }

// flushed forgets the effects recorded so far: they are durable.
func (w *wtx) flushed() {
	w.rec = w.rec[:journalHeaderLen]
	clear(w.effects) // let the published keys and values go with the epoch
	w.effects = w.effects[:0]
}

type writeError struct{ err error }

func (e *writeError) Error() string { return "write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// submit queues o and waits for its outcome.
func (s *Store) submit(ctx context.Context, o *op) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, &ledger.Error{Op: o.name, Err: context.Cause(ctx)} // not queued
	}
	o.done = make(chan struct{})
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, &ledger.Error{Op: o.name, Err: ledger.ErrClosed}
	case s.failed != nil:
		err := s.failed
		s.mu.Unlock()
		return nil, &ledger.Error{Op: o.name, Err: fmt.Errorf("%w: %w", ledger.ErrFailed, err)}
	}
	s.queue = append(s.queue, o)
	s.cond.Signal()
	s.mu.Unlock()

	select {
	case <-o.done:
	case <-ctx.Done():
		select {
		case <-o.done: // finished as ctx ended: the outcome is known
		default:
			return nil, &ledger.Error{Op: o.name, Err: fmt.Errorf("%w: %w", ledger.ErrOutcomeUnknown, context.Cause(ctx))}
		}
	}
	if o.err != nil {
		var le *ledger.Error
		if errors.As(o.err, &le) {
			return o.res, o.err
		}
		return o.res, &ledger.Error{Op: o.name, Err: o.err}
	}
	return o.res, nil
}

// openTx is the writer's transaction while it is open: every op applied
// since the last checkpoint, in order. ops[:flushed] are in group
// commits: durable in the journal, or being made so by sync; the rest
// are not yet.
type openTx struct {
	tx           *bbolt.Tx
	w            *wtx
	ops          []*op
	flushed      int
	sync         *groupCommit // the group commit in flight, if any
	waiting      bool         // some op after flushed waits to be durable
	flushBy      time.Time    // when the ops after flushed must be made durable
	checkpointBy time.Time    // when the transaction must be committed
}

// wakeAt is when the writer must act on the transaction with no new op.
// A group commit in flight wakes the writer when it ends, and the next
// one cannot start before, so the flush deadline counts only without one.
func (t *openTx) wakeAt() time.Time {
	if t.sync == nil && len(t.ops) > t.flushed && t.flushBy.Before(t.checkpointBy) {
		return t.flushBy
	}
	return t.checkpointBy
}

// synced reports whether the group commit in flight has ended.
func (t *openTx) synced() bool {
	if t == nil || t.sync == nil {
		return false
	}
	select {
	case <-t.sync.done:
		return true
	default:
		return false
	}
}

// groupCommit is one record on its way to the journal: the effects of
// ops, which it answers once they are durable.
type groupCommit struct {
	rec     []byte    // the sealed record; only the header when ops wrote nothing
	effects []pending // published to reads once durable
	ops     []*op
	gen     uint64
	off     int64

	done       chan struct{} // closed when it ended; err is set then
	err        error
	handedOver bool // made beside the writer, not by it
}

// run is the writer: it drains the queue in batches until closed.
func (s *Store) run() {
	defer close(s.done)
	var open *openTx
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed && !open.synced() {
			if open == nil {
				s.cond.Wait()
				continue
			}
			wake := open.wakeAt()
			if !time.Now().Before(wake) {
				break
			}
			t := time.AfterFunc(time.Until(wake), s.wake)
			s.cond.Wait()
			t.Stop()
		}
		n := min(len(s.queue), s.maxBatch)
		batch := s.queue[:n:n]
		if n == len(s.queue) {
			s.queue = nil
		} else {
			s.queue = s.queue[n:]
		}
		closed, failed, crashed := s.closed, s.failed, s.crashed
		s.mu.Unlock()

		if crashed {
			if open != nil {
				if open.sync != nil {
					<-open.sync.done // no write to the files after the crash
				}
				_ = open.tx.Rollback()
			}
			return
		}
		if open.synced() {
			if open = s.synced(open); open == nil {
				finish(batch, fmt.Errorf("%w: %w", ledger.ErrFailed, s.failure()))
				continue
			}
		}
		if len(batch) == 0 && open == nil {
			return // closed, and every write is committed
		}
		if failed != nil { // open is nil once the store has failed
			finish(batch, fmt.Errorf("%w: %w", ledger.ErrFailed, failed))
			continue
		}
		open = s.apply(open, batch)
		if open == nil {
			continue
		}
		now := time.Now()
		switch {
		case closed || len(open.ops) >= s.maxTxOps || !now.Before(open.checkpointBy) ||
			s.journal.off+int64(len(open.w.rec)) > s.maxJournal:
			if open = s.drain(open); open != nil {
				s.checkpoint(open)
				open = nil
			}
		case open.sync != nil:
			// One group commit at a time: the ops applied meanwhile go
			// in the next, when this one ends and wakes the writer.
		case open.waiting || (len(open.ops) > open.flushed && !now.Before(open.flushBy)):
			open = s.flush(open)
		}
	}
}

// wake rouses the writer to act on an open transaction at its deadline.
func (s *Store) wake() {
	s.mu.Lock()
	s.cond.Broadcast()
	s.mu.Unlock()
}

// begin opens the writer's transaction.
func (s *Store) begin(now time.Time) (*openTx, error) {
	tx, err := s.db.Begin(true)
	if err != nil {
		return nil, err
	}
	return &openTx{tx: tx, w: newWtx(tx), checkpointBy: now.Add(s.checkpointInterval)}, nil
}

// apply applies batch to the open transaction, beginning one when open is
// nil, and answers the ops that do not wait to be durable. It returns the
// transaction still open, or nil when the store failed.
func (s *Store) apply(open *openTx, batch []*op) *openTx {
	if len(batch) == 0 {
		return open
	}
	start := time.Now()
	defer func() { s.applyTime.Add(int64(time.Since(start))) }()
	if open == nil {
		var err error
		if open, err = s.begin(start); err != nil {
			s.fail(err)
			finish(batch, fmt.Errorf("%w: %w", ledger.ErrFailed, err))
			return nil
		}
	}
	for i, o := range batch {
		res, err := safeApply(o, open.w)
		var we *writeError
		if errors.As(err, &we) {
			// A write failed midway: the transaction may hold part of o.
			s.log.Error("ledger write failed; dropping it from its transaction", "op", o.name, "err", err)
			o.res, o.err = res, err
			finish([]*op{o}, nil)
			if open = s.drain(open); open != nil {
				open = s.rebuild(open)
			}
			if open == nil {
				finish(batch[i+1:], fmt.Errorf("%w: %w", ledger.ErrFailed, err))
				return nil
			}
			continue
		}
		if len(open.ops) == open.flushed {
			open.flushBy = start.Add(s.maxCommitDelay)
		}
		o.res, o.err = res, err
		if o.noWait {
			o.answered = true
			close(o.done)
		} else {
			open.waiting = true
		}
		open.ops = append(open.ops, o)
	}
	return open
}

// rebuild drops the open transaction, which holds part of an op whose
// write failed, and applies every op before that one again, in order, in
// a new transaction; no group commit may be in flight. They applied before on the same state, so they give
// the same results again; the effects already durable are not recorded
// twice. It returns nil, the store failed, if that does not hold.
func (s *Store) rebuild(open *openTx) *openTx {
	_ = open.tx.Rollback()
	fresh, err := s.begin(time.Now())
	if err == nil {
		fresh.flushed, fresh.waiting, fresh.flushBy, fresh.checkpointBy = open.flushed, open.waiting, open.flushBy, open.checkpointBy
		for i, o := range open.ops {
			if _, err = safeApply(o, fresh.w); err != nil && errors.As(err, new(*writeError)) {
				_ = fresh.tx.Rollback()
				break
			}
			err = nil
			if i+1 == open.flushed {
				fresh.w.flushed()
			}
		}
	}
	if err != nil {
		s.fail(err)
		finish(open.ops, fmt.Errorf("%w: %w", ledger.ErrFailed, err))
		return nil
	}
	fresh.ops = open.ops
	return fresh
}

// flush hands the ops applied since the last flush to a group commit,
// which writes their effects to the journal, syncs it, publishes the
// effects to reads and answers the ops, beside the writer. No other
// group commit may be in flight: records are written one after another.
// When no op waits to be applied and none came during the last group
// commit, the writer makes the group commit itself: there is nothing to
// overlap it with, and a lone write then costs no hand-off between
// goroutines. It returns the transaction still open, or nil when the
// store failed.
func (s *Store) flush(open *openTx) *openTx {
	g := &groupCommit{
		ops:  open.ops[open.flushed:len(open.ops):len(open.ops)],
		gen:  s.journal.gen,
		off:  s.journal.off,
		done: make(chan struct{}),
	}
	if open.w.unflushed() {
		g.rec, g.effects = open.w.rec, open.w.effects
		open.w.rec, open.w.effects = s.spareRec, s.spareEffects
		s.spareRec, s.spareEffects = nil, nil
		if open.w.rec == nil {
			open.w.rec = make([]byte, journalHeaderLen, cap(g.rec))
		}
		s.journal.off += int64(len(g.rec))
	}
	open.flushed, open.waiting = len(open.ops), false
	if g.rec == nil {
		// Nothing to write (the ops failed, or wrote nothing), and no
		// group commit in flight: what they saw is durable already.
		s.commits.Add(1)
		s.ops.Add(uint64(len(g.ops)))
		finish(g.ops, nil)
		return open
	}
	open.sync = g
	s.mu.Lock()
	queued := len(s.queue) > 0
	s.mu.Unlock()
	if queued || s.overlapped {
		g.handedOver = true
		go s.sync(g)
		return open
	}
	s.sync(g)
	s.mu.Lock()
	s.overlapped = len(s.queue) > 0
	s.mu.Unlock()
	return s.synced(open)
}

// sync is a group commit's own goroutine: it makes the record durable,
// publishes its effects and answers its ops. On an error it answers
// nothing: the writer fails the store and answers every op.
func (s *Store) sync(g *groupCommit) {
	if hook := s.syncHook.Load(); hook != nil {
		(*hook)()
	}
	start := time.Now()
	g.err = s.journal.write(g.rec, g.gen, g.off)
	s.commitTime.Add(int64(time.Since(start)))
	if g.err == nil {
		s.epoch.Load().publish(g.effects)
		// Ops that failed wrote nothing, but they are answered only
		// now: what they saw is durable now.
		s.commits.Add(1)
		s.ops.Add(uint64(len(g.ops)))
		finish(g.ops, nil)
	}
	close(g.done)
	s.mu.Lock()
	s.cond.Broadcast()
	s.mu.Unlock()
}

// synced takes back the group commit that ended, keeping its buffers for
// the next. It returns the transaction still open, or nil when the
// commit failed, and with it the store.
func (s *Store) synced(open *openTx) *openTx {
	g := open.sync
	open.sync = nil
	if g.err != nil {
		// What reached the disk is unknown: take no more writes until
		// reopened, when the journal is read back.
		s.fail(g.err)
		_ = open.tx.Rollback()
		finish(open.ops, fmt.Errorf("%w: %w", ledger.ErrFailed, g.err))
		return nil
	}
	clear(g.effects) // let the published keys and values go with the epoch
	s.spareRec, s.spareEffects = g.rec[:journalHeaderLen], g.effects[:0]
	if g.handedOver {
		s.overlapped = len(open.ops) > open.flushed
	}
	return open
}

// drain waits for the group commit in flight, if any, and takes it
// back (see synced).
func (s *Store) drain(open *openTx) *openTx {
	if open.sync == nil {
		return open
	}
	<-open.sync.done
	return s.synced(open)
}

// checkpoint commits the open transaction to the database file, starts
// the next generation of the journal, and answers the ops not yet
// answered.
func (s *Store) checkpoint(open *openTx) {
	start := time.Now()
	gen := s.journal.gen + 1
	id := uint64(open.tx.ID()) // the committed state's id, once committed
	err := open.tx.Bucket(bucketInfo).Put(keyJournalGen, binary.BigEndian.AppendUint64(nil, gen))
	if err == nil {
		err = open.tx.Commit()
	} else {
		_ = open.tx.Rollback()
	}
	s.checkpointTime.Add(int64(time.Since(start)))
	if err != nil {
		// What reached the file is unknown, and bbolt's view of it may
		// differ: take no more writes until reopened. The writes made
		// durable in the journal are read back then.
		s.fail(err)
		lost := 0
		for _, o := range open.ops[open.flushed:] {
			if o.answered && o.err == nil {
				lost++
			}
		}
		if lost > 0 {
			s.log.Error("writes answered before they were durable are lost", "writes", lost)
		}
		finish(open.ops, fmt.Errorf("%w: %w", ledger.ErrFailed, err))
		return
	}
	s.epoch.Store(newEpoch(id))
	s.journal.restart(gen)
	s.checkpoints.Add(1)
	txStats := open.tx.Stats()
	s.writes.Add(uint64(txStats.GetWrite()))
	if n := len(open.ops) - open.flushed; n > 0 {
		s.commits.Add(1)
		s.ops.Add(uint64(n))
	}
	finish(open.ops, nil)
}

// safeApply runs o.apply, turning a panic into a writeError, since the op
// may have written part of itself.
func safeApply(o *op, w *wtx) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, &writeError{fmt.Errorf("panic: %v", r)}
		}
	}()
	return o.apply(w)
}

// finish answers every op of batch not yet answered; a non-nil err
// replaces each outcome.
func finish(batch []*op, err error) {
	for _, o := range batch {
		if o.answered {
			continue
		}
		if err != nil {
			o.res, o.err = nil, err
		}
		o.answered = true
		close(o.done)
	}
}

// failure is the error that failed the store, if any.
func (s *Store) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

func (s *Store) fail(err error) {
	s.log.Error("ledger write failed; refusing writes until reopened", "err", err)
	s.mu.Lock()
	if s.failed == nil {
		s.failed = err
	}
	s.mu.Unlock()
}

// ------------------------------------------------------------------- reads

// view runs fn in a read-only transaction, with the effects made durable
// since the last checkpoint laid over it (see epoch).
func (s *Store) view(opName string, fn func(r *rtx) error) error {
	ep := s.epoch.Load()
	err := s.db.View(func(tx *bbolt.Tx) error {
		r := &rtx{tx: tx}
		if uint64(tx.ID()) == ep.base {
			r.ep = ep
		}
		return fn(r)
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, bbolterrors.ErrDatabaseNotOpen) {
		err = ledger.ErrClosed
	}
	var le *ledger.Error
	if errors.As(err, &le) {
		return err
	}
	return &ledger.Error{Op: opName, Err: err}
}
