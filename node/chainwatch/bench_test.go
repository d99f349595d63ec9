package chainwatch

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// BenchmarkChannel is the payment check's read: many goroutines looking up
// channels while nothing writes.
func BenchmarkChannel(b *testing.B) {
	w := New(newFakeChain(fakeContract), nil, ourProvider, NewMemStore())
	ids := make([]common.Hash, 10_000)
	for i := range ids {
		ids[i] = chanID(fmt.Sprint(i))
		w.channels[ids[i]] = &entry{ch: Channel{ID: ids[i], Deposit: big.NewInt(1e18), Claimed: big.NewInt(12345)}}
	}
	b.ReportAllocs()
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
