package contracts

import (
	"math/big"
	"testing"
)

func TestFeeCaps(t *testing.T) {
	b := func(x int64) *big.Int { return big.NewInt(x) }
	for _, tc := range []struct {
		name                           string
		base, tip, minTip, minCap, lim *big.Int
		wantTip, wantCap               int64
		wantErr                        bool
	}{
		{name: "twice the base fee plus the tip", base: b(100), tip: b(2), wantTip: 2, wantCap: 202},
		{name: "no base fee", tip: b(3), wantTip: 3, wantCap: 3},
		{name: "replacement floors", base: b(100), tip: b(2), minTip: b(5), minCap: b(300), wantTip: 5, wantCap: 300},
		{name: "floors below the fresh fees", base: b(100), tip: b(2), minTip: b(1), minCap: b(150), wantTip: 2, wantCap: 202},
		{name: "capped", base: b(100), tip: b(2), lim: b(150), wantTip: 2, wantCap: 150},
		{name: "tip cut to the cap", base: b(10), tip: b(500), lim: b(100), wantTip: 100, wantCap: 100},
		{name: "floors capped", base: b(100), tip: b(2), minTip: b(5), minCap: b(400), lim: b(250), wantTip: 5, wantCap: 250},
		{name: "base fee at the cap", base: b(150), tip: b(2), lim: b(150), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tip, feeCap, err := FeeCaps(tc.base, tc.tip, tc.minTip, tc.minCap, tc.lim)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %s, %s; want an error", tip, feeCap)
				}
				return
			}
			if err != nil || tip.Int64() != tc.wantTip || feeCap.Int64() != tc.wantCap {
				t.Fatalf("got %v, %v, %v; want %d, %d", tip, feeCap, err, tc.wantTip, tc.wantCap)
			}
		})
	}
	// The inputs are not modified.
	tip, minTip := b(2), b(5)
	FeeCaps(b(100), tip, minTip, nil, b(1000))
	if tip.Int64() != 2 || minTip.Int64() != 5 {
		t.Error("FeeCaps changed its arguments")
	}
}
