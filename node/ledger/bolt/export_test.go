package bolt

import "context"

// Apply runs fn on the writer, inside a transaction shared with the
// operations queued beside it, as a write's apply runs: for tests that
// hold the writer still or make a write panic.
func Apply(ctx context.Context, s *Store, fn func() error) error {
	_, err := s.submit(ctx, &op{name: "test", apply: func(*wtx) (any, error) { return nil, fn() }})
	return err
}
