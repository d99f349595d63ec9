package chainwatch

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts"
)

// benchWatcher is an open watcher that knows n channels, published
// through the writers' path (commit), as Run would.
func benchWatcher(b *testing.B, n int) (*Watcher, []common.Hash) {
	b.Helper()
	w := New(newFakeChain(fakeContract), &contracts.Deployment{ChainID: 1, PaymentChannels: fakeContract}, ourProvider, NewMemStore())
	if err := w.Open(b.Context()); err != nil {
		b.Fatal(err)
	}
	ids := make([]common.Hash, n)
	changed := make(map[common.Hash]*entry, n)
	for i := range ids {
		ids[i] = chanID(fmt.Sprint(i))
		changed[ids[i]] = &entry{ch: Channel{ID: ids[i], Provider: ourProvider, Deposit: big.NewInt(1e18), Claimed: big.NewInt(12345)}}
	}
	w.writeMu.Lock()
	err := w.commit(b.Context(), changed, cursor{}, nil)
	w.writeMu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	return w, ids
}

// BenchmarkChannel is the payment check's read: many goroutines looking up
// channels while nothing writes.
func BenchmarkChannel(b *testing.B) {
	w, ids := benchWatcher(b, 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := w.Channel(ids[i%len(ids)]); !ok {
				b.Fatal("missing")
			}
			i++
		}
	})
}

// BenchmarkLookup is Lookup of a known channel, which every paid job makes
// before its voucher is checked: goroutines on every core looking up one
// busy channel, or spread over 10,000.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1, 10_000} {
		b.Run(fmt.Sprintf("channels=%d", n), func(b *testing.B) {
			w, ids := benchWatcher(b, n)
			ctx := b.Context()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := w.Lookup(ctx, ids[i%len(ids)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}
