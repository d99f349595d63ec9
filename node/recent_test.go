package node

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRecent: reads within ttl share one load, a later read loads again,
// and a failed load is not remembered.
func TestRecent(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	loads := 0
	fail := false
	r := &recent[int]{ttl: time.Second, now: func() time.Time { return now }, load: func(context.Context) (int, error) {
		loads++
		if fail {
			return 0, errors.New("ledger closed")
		}
		return loads, nil
	}}
	get := func() int {
		t.Helper()
		v, err := r.get(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if a, b := get(), get(); a != 1 || b != 1 || loads != 1 {
		t.Fatalf("two reads at once: %d, %d after %d loads; want one load", a, b, loads)
	}
	now = now.Add(999 * time.Millisecond)
	if v := get(); v != 1 || loads != 1 {
		t.Fatalf("within ttl: %d after %d loads", v, loads)
	}
	now = now.Add(time.Millisecond)
	if v := get(); v != 2 || loads != 2 {
		t.Fatalf("at ttl: %d after %d loads; want a new load", v, loads)
	}
	fail = true
	now = now.Add(time.Second)
	if _, err := r.get(t.Context()); err == nil {
		t.Fatal("a failed load gave no error")
	}
	fail = false
	if v := get(); v != 4 || loads != 4 {
		t.Fatalf("after a failed load: %d after %d loads; want a new load", v, loads)
	}
}
