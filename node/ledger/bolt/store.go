// Package bolt is the embedded ledger: node/ledger.Ledger on bbolt
// (go.etcd.io/bbolt), a single-file B+tree with ACID transactions and an
// fsync at every commit, the store under etcd.
//
// # Group commit
//
// bbolt runs one read-write transaction at a time, and each commit costs two
// fsyncs, so a transaction per operation would cap the node at a few hundred
// operations a second. Instead every write is queued to one writer
// goroutine, which takes all the operations queued so far, applies them in
// queue order in one transaction, commits once and then answers each
// caller. Under low load an operation is committed as soon as it arrives,
// with no added wait (unlike bbolt's DB.Batch, which waits up to
// MaxBatchDelay); under high load the operations that queue up during one
// commit share the next one, so throughput grows with concurrency while
// each caller still returns only once its write is on disk.
//
// Within a transaction each operation reads and validates everything it
// needs before its first write, so one that fails (a wrong job state, say)
// leaves nothing behind and fails alone; the others commit. Operations
// apply in the order they were queued, so the operations of one channel
// apply in the order they were submitted.
//
// Reads run in their own read-only transactions, concurrently with each
// other and with the writer; they see only committed, durable state.
//
// # Layout
//
// One file, path/ledger.db, with the buckets
//
//	channels  channelID → ChannelState, and
//	          channelID‖jobID → ∅ for each of its jobs still reserved
//	jobs      channelID‖jobID → job (its receipt by seq, not a copy)
//	receipts  channelID‖seq (8 bytes, big-endian) → receipt
//	batches   id (8 bytes, big-endian) → batch; ids from the bucket sequence
//	meta      key → value, for other subsystems
//	info      "schema" → the layout's version
//
// in the binary encoding described in codec.go. A reserved job's marker
// sits right after its channel's state, on the page that every reserve,
// charge and release writes anyway, so tracking the jobs in flight costs
// no extra page per commit.
package bolt

import (
	"context"
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
)

// Options tune a Store. The zero value is the production setting.
type Options struct {
	// NoSync skips the fsync at every commit. UNSAFE: a crash of the
	// machine (not only of the process) can lose acknowledged writes or
	// corrupt the file. For tests only.
	NoSync bool
	// Logger receives the store's log; slog.Default() when nil.
	Logger *slog.Logger
	// MaxBatch is the most operations committed in one transaction;
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
	// MaxCommitDelay is the longest a write answered before its commit
	// (ledger.ReserveOp.NoWait) waits for one, when no write that waits
	// comes to commit it sooner; 5ms when zero.
	MaxCommitDelay time.Duration
}

// Stats counts the writer's work since Open.
type Stats struct {
	Commits    uint64        // transactions committed
	Ops        uint64        // operations applied in them, failed ones included
	Writes     uint64        // page writes at commit (bbolt's count)
	ApplyTime  time.Duration // writer time spent applying operations
	CommitTime time.Duration // writer time spent committing: writing pages and fsync
}

// Store is the bbolt ledger. Open one with Open; all methods are safe for
// concurrent use.
type Store struct {
	db       *bbolt.DB
	path     string
	log      *slog.Logger
	now      func() time.Time
	maxBatch int

	maxCommitDelay time.Duration

	mu     sync.Mutex
	cond   *sync.Cond // signalled when queue grows or closed is set
	queue  []*op      // guarded by mu: operations waiting for the writer
	closed bool       // guarded by mu: no more operations accepted
	failed error      // guarded by mu: the commit error that stopped writes

	done chan struct{} // closed when the writer has drained the queue and stopped

	commits    atomic.Uint64
	ops        atomic.Uint64
	writes     atomic.Uint64
	applyTime  atomic.Int64
	commitTime atomic.Int64
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
	s := &Store{
		db:       db,
		path:     path,
		log:      opts.Logger.With("subsystem", "ledger", "path", path),
		now:      opts.Now,
		maxBatch: opts.MaxBatch,
		done:     make(chan struct{}),

		maxCommitDelay: opts.MaxCommitDelay,
	}
	if opts.NoSync {
		s.log.Warn("ledger opened without fsync: acknowledged writes can be lost in a crash")
	}
	s.cond = sync.NewCond(&s.mu)
	go s.run()
	return s, nil
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
	for _, name := range [][]byte{bucketChannels, bucketJobs, bucketReceipts, bucketBatches, bucketMeta} {
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
		Commits:    s.commits.Load(),
		Ops:        s.ops.Load(),
		Writes:     s.writes.Load(),
		ApplyTime:  time.Duration(s.applyTime.Load()),
		CommitTime: time.Duration(s.commitTime.Load()),
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
		if err := s.db.Close(); err != nil {
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
// wrapped in writeError and make the writer redo the transaction's ops
// one at a time.
type op struct {
	name   string
	apply  func(w *wtx) (any, error)
	noWait bool // answer once applied, before the commit (ReserveOp.NoWait)

	// Set by the writer. answered: done is closed, res and err are the
	// caller's and are not written again.
	res      any
	err      error
	answered bool
	done     chan struct{}
}

// wtx is the writer's transaction, its buckets looked up once.
type wtx struct {
	tx                                      *bbolt.Tx
	channels, jobs, receipts, batches, meta *bbolt.Bucket
}

func newWtx(tx *bbolt.Tx) *wtx {
	return &wtx{
		tx:       tx,
		channels: tx.Bucket(bucketChannels),
		jobs:     tx.Bucket(bucketJobs),
		receipts: tx.Bucket(bucketReceipts),
		batches:  tx.Bucket(bucketBatches),
		meta:     tx.Bucket(bucketMeta),
	}
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

// openTx is the writer's transaction while it is open: the ops applied to
// it, in order. It stays open past one batch only while every op in it
// was answered before the commit (NoWait), until an op that waits comes,
// the store closes, it holds maxBatch ops, or its deadline passes.
type openTx struct {
	tx       *bbolt.Tx
	w        *wtx
	ops      []*op
	waiting  bool      // some op in it waits for the commit
	deadline time.Time // when its NoWait ops must be committed
}

// run is the writer: it drains the queue in batches until closed.
func (s *Store) run() {
	defer close(s.done)
	var open *openTx
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed && (open == nil || time.Now().Before(open.deadline)) {
			if open == nil {
				s.cond.Wait()
				continue
			}
			t := time.AfterFunc(time.Until(open.deadline), s.wake)
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
		closed, failed := s.closed, s.failed
		s.mu.Unlock()

		if len(batch) == 0 && open == nil {
			return // closed, and every write is committed
		}
		if failed != nil { // open is nil once the store has failed
			finish(batch, fmt.Errorf("%w: %w", ledger.ErrFailed, failed))
			continue
		}
		open = s.apply(open, batch)
		if open != nil && (open.waiting || closed || len(open.ops) >= s.maxBatch || !time.Now().Before(open.deadline)) {
			s.commit(open)
			open = nil
		}
	}
}

// wake rouses the writer to commit an open transaction at its deadline.
func (s *Store) wake() {
	s.mu.Lock()
	s.cond.Broadcast()
	s.mu.Unlock()
}

// apply applies batch to the open transaction, beginning one when open is
// nil, and answers the ops that do not wait for the commit. It returns
// the transaction still open, or nil when it had to give it up: then
// every op in it has been redone in a transaction of its own.
func (s *Store) apply(open *openTx, batch []*op) *openTx {
	if len(batch) == 0 {
		return open
	}
	start := time.Now()
	defer func() { s.applyTime.Add(int64(time.Since(start))) }()
	if open == nil {
		tx, err := s.db.Begin(true)
		if err != nil {
			s.fail(err)
			finish(batch, fmt.Errorf("%w: %w", ledger.ErrFailed, err))
			return nil
		}
		open = &openTx{tx: tx, w: newWtx(tx), deadline: start.Add(s.maxCommitDelay)}
	}
	for i, o := range batch {
		res, err := safeApply(o, open.w)
		var we *writeError
		if errors.As(err, &we) {
			// A write failed midway: the transaction may hold part of
			// o. Drop it all and redo each of its ops in its own
			// transaction, so that only o fails.
			_ = open.tx.Rollback()
			redo := append(append([]*op(nil), open.ops...), batch[i:]...)
			if len(redo) == 1 {
				s.log.Error("ledger write failed", "op", o.name, "err", err)
				if !o.answered {
					o.res, o.err = res, err
				}
				finish(redo, nil)
				return nil
			}
			s.log.Warn("ledger write failed; redoing its transaction one op at a time", "op", o.name, "ops", len(redo), "err", err)
			for _, o := range redo {
				if single := s.apply(nil, []*op{o}); single != nil {
					s.commit(single)
				}
			}
			return nil
		}
		switch {
		case o.answered:
			// Redone after a failed write: the caller has its outcome.
			if err != nil {
				s.log.Error("a write answered before its commit failed when redone", "op", o.name, "err", err)
			}
		case o.noWait:
			o.res, o.err = res, err
			o.answered = true
			close(o.done)
		default:
			o.res, o.err = res, err
			open.waiting = true
		}
		open.ops = append(open.ops, o)
	}
	return open
}

// commit commits the open transaction and answers its ops.
func (s *Store) commit(open *openTx) {
	start := time.Now()
	err := open.tx.Commit()
	s.commitTime.Add(int64(time.Since(start)))
	if err != nil {
		// What reached the disk is unknown, and bbolt's view of the file
		// may differ from it: take no more writes until reopened.
		s.fail(err)
		lost := 0
		for _, o := range open.ops {
			if o.answered && o.err == nil {
				lost++
			}
		}
		if lost > 0 {
			s.log.Error("writes answered before their commit are lost with it", "writes", lost)
		}
		finish(open.ops, fmt.Errorf("%w: %w", ledger.ErrFailed, err))
		return
	}
	s.commits.Add(1)
	s.ops.Add(uint64(len(open.ops)))
	txStats := open.tx.Stats()
	s.writes.Add(uint64(txStats.GetWrite()))
	finish(open.ops, nil)
}

// safeApply runs o.apply, turning a panic into an error that also
// discards the transaction, since the op may have written part of itself.
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

func (s *Store) fail(err error) {
	s.log.Error("ledger commit failed; refusing writes until reopened", "err", err)
	s.mu.Lock()
	if s.failed == nil {
		s.failed = err
	}
	s.mu.Unlock()
}

// ------------------------------------------------------------------- reads

// view runs fn in a read-only transaction.
func (s *Store) view(opName string, fn func(tx *bbolt.Tx) error) error {
	err := s.db.View(fn)
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
