package bolt

import (
	"context"
	"sync"
	"time"
)

// Apply runs fn on the writer, inside a transaction shared with the
// operations queued beside it, as a write's apply runs: for tests that
// hold the writer still or make a write panic.
func Apply(ctx context.Context, s *Store, fn func() error) error {
	_, err := s.submit(ctx, &op{name: "test", apply: func(*wtx) (any, error) { return nil, fn() }})
	return err
}

// Crash stops s as a crash of the process would: the writer drops its
// open transaction, nothing more is written to the database file or the
// journal, and the files are closed. Writes not yet answered are never
// answered.
func Crash(s *Store) {
	s.mu.Lock()
	s.crashed, s.closed = true, true
	s.cond.Broadcast()
	s.mu.Unlock()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		panic("writer did not stop")
	}
	_ = s.journal.close()
	_ = s.db.Close()
}

// JournalFile is the journal's file name in the store's directory.
const JournalFile = journalFileName

// HoldSyncs makes group commits wait before they write until release is
// called, as a slow disk would.
func HoldSyncs(s *Store) (release func()) {
	ch := make(chan struct{})
	hook := func() { <-ch }
	s.syncHook.Store(&hook)
	return sync.OnceFunc(func() {
		s.syncHook.Store(nil)
		close(ch)
	})
}

// BreakJournal closes the journal's file under the writer, so that the
// next group commit fails to write.
func BreakJournal(s *Store) { _ = s.journal.f.Close() }

// Queued is how many writes wait for the writer to take them.
func Queued(s *Store) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// SlowSyncs makes every group commit wait d before it writes, as a slow
// disk's sync would.
func SlowSyncs(s *Store, d time.Duration) {
	hook := func() { time.Sleep(d) }
	s.syncHook.Store(&hook)
}
