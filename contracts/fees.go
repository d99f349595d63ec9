package contracts

import (
	"fmt"
	"math/big"
)

// FeeCaps returns the EIP-1559 tip and fee cap a transaction offers when
// the chain's base fee is baseFee (nil: none) and the suggested tip is
// tip: a fee cap of twice the base fee plus the tip, which survives the
// base fee doubling before inclusion. minTip and minFeeCap, when set,
// are floors (a replacement must raise both fees of the transaction it
// replaces); limit, when set, is the most wei per gas ever offered, and
// the tip is cut to fit under it. It fails when the base fee alone
// reaches the limit: no transaction could then be included.
func FeeCaps(baseFee, tip, minTip, minFeeCap, limit *big.Int) (*big.Int, *big.Int, error) {
	if baseFee == nil {
		baseFee = new(big.Int)
	}
	tip = new(big.Int).Set(tip)
	feeCap := new(big.Int).Add(new(big.Int).Mul(baseFee, big.NewInt(2)), tip)
	if minTip != nil && minTip.Cmp(tip) > 0 {
		tip.Set(minTip)
	}
	if minFeeCap != nil && minFeeCap.Cmp(feeCap) > 0 {
		feeCap.Set(minFeeCap)
	}
	if limit != nil && feeCap.Cmp(limit) > 0 {
		if baseFee.Cmp(limit) >= 0 {
			return nil, nil, fmt.Errorf("base fee %s wei is above the cap of %s wei per gas", baseFee, limit)
		}
		feeCap.Set(limit)
	}
	if tip.Cmp(feeCap) > 0 {
		tip.Set(feeCap)
	}
	return tip, feeCap, nil
}
