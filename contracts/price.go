package contracts

import (
	"errors"
	"fmt"
	"math/big"
)

// Price is an offer's price in its asset's base units: Base per job plus
// InPerM per million input tokens and OutPerM per million output tokens.
// It mirrors OfferRegistry's offer fields.
type Price struct {
	Base    *big.Int
	InPerM  *big.Int
	OutPerM *big.Int
}

var million = big.NewInt(1_000_000)

// Validate checks that every part is set, non-negative and fits uint256.
func (p Price) Validate() error {
	for _, f := range []struct {
		name string
		v    *big.Int
	}{{"base", p.Base}, {"inPerM", p.InPerM}, {"outPerM", p.OutPerM}} {
		if err := checkUint256(f.v); err != nil {
			return fmt.Errorf("price %s: %w", f.name, err)
		}
	}
	return nil
}

// Cost is what a job with in input and out output tokens costs:
// base + ceil((in·inPerM + out·outPerM) / 1e6). Rounding up means a
// provider is never paid less than its per-token price; the rounding is at
// most one base unit per job.
func (p Price) Cost(in, out uint64) *big.Int {
	tokens := new(big.Int).Mul(new(big.Int).SetUint64(in), p.InPerM)
	tokens.Add(tokens, new(big.Int).Mul(new(big.Int).SetUint64(out), p.OutPerM))
	q, r := new(big.Int).QuoRem(tokens, million, new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Add(q, p.Base)
}

// ErrPriceMissing is returned by ParsePrice for an empty part.
var ErrPriceMissing = errors.New("missing")

// ParsePrice reads the three parts of a price from decimal strings, as
// config files and the wire carry them.
func ParsePrice(base, inPerM, outPerM string) (Price, error) {
	var p Price
	for _, f := range []struct {
		name string
		s    string
		dst  **big.Int
	}{{"base", base, &p.Base}, {"in_per_m", inPerM, &p.InPerM}, {"out_per_m", outPerM, &p.OutPerM}} {
		if f.s == "" {
			return Price{}, fmt.Errorf("%s: %w", f.name, ErrPriceMissing)
		}
		v, ok := new(big.Int).SetString(f.s, 10)
		if !ok {
			return Price{}, fmt.Errorf("%s: %q is not a decimal integer", f.name, f.s)
		}
		*f.dst = v
	}
	return p, p.Validate()
}
