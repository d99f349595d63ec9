package contracts

import (
	"math/big"
	"testing"
)

func TestPriceCost(t *testing.T) {
	p, err := ParsePrice("1000", "2000000", "8000000")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		in, out uint64
		want    string
	}{
		{"no tokens", 0, 0, "1000"},
		{"exact", 1, 1, "1010"},         // 1000 + (2e6+8e6)/1e6
		{"rounds up", 0, 0 + 1, "1008"}, // 8e6/1e6 = 8 exactly
		{"large", 1_000_000, 1_000_000, "10001000"},
		{"max uint64", ^uint64(0), 0, new(big.Int).Add(big.NewInt(1000), new(big.Int).Mul(new(big.Int).SetUint64(^uint64(0)), big.NewInt(2))).String()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := p.Cost(c.in, c.out); got.String() != c.want {
				t.Fatalf("Cost(%d, %d) = %s, want %s", c.in, c.out, got, c.want)
			}
		})
	}
	// Ceil: a third of a unit per token is charged as a whole unit.
	q := Price{Base: big.NewInt(0), InPerM: big.NewInt(333_333), OutPerM: big.NewInt(0)}
	if got := q.Cost(1, 0); got.Cmp(big.NewInt(1)) != 0 {
		t.Fatalf("ceil: got %s, want 1", got)
	}
	if got := q.Cost(3, 0); got.Cmp(big.NewInt(1)) != 0 { // 999,999 / 1e6 → 1
		t.Fatalf("ceil: got %s, want 1", got)
	}
	if got := q.Cost(4, 0); got.Cmp(big.NewInt(2)) != 0 { // 1,333,332 / 1e6 → 2
		t.Fatalf("ceil: got %s, want 2", got)
	}
}

func TestParsePriceRejects(t *testing.T) {
	for name, args := range map[string][3]string{
		"empty base":    {"", "1", "1"},
		"negative":      {"1", "-1", "1"},
		"float":         {"1.5", "1", "1"},
		"not a number":  {"1", "1", "ten"},
		"above uint256": {"1", "1", new(big.Int).Lsh(big.NewInt(1), 256).String()},
	} {
		if _, err := ParsePrice(args[0], args[1], args[2]); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzPriceCost checks Cost against the formula computed another way:
// cost·1e6 ≥ base·1e6 + tokens > (cost−1)·1e6.
func FuzzPriceCost(f *testing.F) {
	f.Add(uint64(1000), uint64(2_000_000), uint64(8_000_000), uint64(17), uint64(42))
	f.Fuzz(func(t *testing.T, base, inPerM, outPerM, in, out uint64) {
		p := Price{Base: new(big.Int).SetUint64(base), InPerM: new(big.Int).SetUint64(inPerM), OutPerM: new(big.Int).SetUint64(outPerM)}
		c := p.Cost(in, out)
		tokens := new(big.Int).Add(
			new(big.Int).Mul(new(big.Int).SetUint64(in), p.InPerM),
			new(big.Int).Mul(new(big.Int).SetUint64(out), p.OutPerM))
		varPart := new(big.Int).Sub(c, p.Base)
		hi := new(big.Int).Mul(varPart, million)
		lo := new(big.Int).Mul(new(big.Int).Sub(varPart, big.NewInt(1)), million)
		if hi.Cmp(tokens) < 0 || (varPart.Sign() > 0 && lo.Cmp(tokens) >= 0) {
			t.Fatalf("Cost = %s for tokens·price %s", c, tokens)
		}
	})
}
