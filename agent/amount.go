package agent

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/contracts/bindings"
)

// Asset is what a channel or an offer is paid in: native ETH (the zero
// address) or an ERC-20, with the symbol and decimals people write amounts
// in. Amounts themselves are always *big.Int base units; an Asset only
// parses and prints them for people.
type Asset struct {
	Address  common.Address // zero: native ETH
	Symbol   string
	Decimals uint8
}

// ETH is native ether: 18 decimals, base unit wei.
var ETH = Asset{Symbol: "ETH", Decimals: 18}

// IsNative reports whether a is native ETH.
func (a Asset) IsNative() bool { return a.Address == (common.Address{}) }

// maxDecimals bounds an ERC-20's decimals: 10^77 is the largest power of
// ten below 2^256, and a token claiming more is not one to pay in.
const maxDecimals = 77

// erc20 is TestUSD's binding, used for any ERC-20: its functions (symbol,
// decimals, balanceOf, allowance, approve, nonces, DOMAIN_SEPARATOR,
// permit) have the standard selectors.
var erc20 = bindings.NewTestUSD()

// ReadAsset returns the asset at addr: ETH for the zero address, else the
// ERC-20's symbol and decimals read from the chain.
func ReadAsset(ctx context.Context, b bind.ContractBackend, addr common.Address) (Asset, error) {
	if addr == (common.Address{}) {
		return ETH, nil
	}
	c := erc20.Instance(b, addr)
	opts := &bind.CallOpts{Context: ctx}
	sym, err := bind.Call(c, opts, erc20.PackSymbol(), erc20.UnpackSymbol)
	if err != nil {
		return Asset{}, fmt.Errorf("read symbol of token %s: %w", addr, err)
	}
	dec, err := bind.Call(c, opts, erc20.PackDecimals(), erc20.UnpackDecimals)
	if err != nil {
		return Asset{}, fmt.Errorf("read decimals of token %s: %w", addr, err)
	}
	if dec > maxDecimals {
		return Asset{}, fmt.Errorf("token %s claims %d decimals", addr, dec)
	}
	return Asset{Address: addr, Symbol: sym, Decimals: dec}, nil
}

// Parse reads an amount people write: a plain integer of base units
// ("250000"), or a decimal followed by the asset's symbol ("2.5TUSD",
// "0.01 ETH"; the symbol's case does not matter). The arithmetic is exact:
// a fraction with more digits than the asset has decimals is refused, as
// are signs, exponents, a symbol of another asset, a decimal without a
// symbol (is "1.5" ETH or wei?) and anything above 2^256-1.
func (a Asset) Parse(s string) (*big.Int, error) {
	x, err := a.parse(strings.TrimSpace(s))
	if err != nil {
		return nil, &Error{Op: "parse amount", Code: CodeBadAmount, Message: fmt.Sprintf("%q: %v", s, err)}
	}
	return x, nil
}

func (a Asset) parse(s string) (*big.Int, error) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, sym := s[:i], strings.TrimSpace(s[i:])
	if num == "" {
		if s == "" {
			return nil, fmt.Errorf("empty")
		}
		return nil, fmt.Errorf("want digits first, such as 250000 (base units) or 2.5%s", a.Symbol)
	}
	whole, frac, hasDot := strings.Cut(num, ".")
	switch {
	case strings.Contains(frac, "."):
		return nil, fmt.Errorf("more than one decimal point")
	case whole == "":
		return nil, fmt.Errorf("want a digit before the decimal point")
	case hasDot && frac == "":
		return nil, fmt.Errorf("want a digit after the decimal point")
	}
	decimals := 0
	if sym == "" {
		if hasDot {
			return nil, fmt.Errorf("a decimal needs the asset's symbol (%s%s); a plain number is base units", num, a.Symbol)
		}
	} else {
		if a.Symbol == "" {
			return nil, fmt.Errorf("the asset has no symbol; give base units")
		}
		if !strings.EqualFold(sym, a.Symbol) {
			return nil, fmt.Errorf("%q is not this asset's symbol %s", sym, a.Symbol)
		}
		decimals = int(a.Decimals)
	}
	if len(frac) > decimals {
		return nil, fmt.Errorf("%d decimal places; %s has %d", len(frac), a.Symbol, decimals)
	}
	digits := whole + frac + strings.Repeat("0", decimals-len(frac))
	if len(strings.TrimLeft(digits, "0")) > 78 {
		return nil, fmt.Errorf("above 2^256-1")
	}
	x, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, fmt.Errorf("not a number")
	}
	if x.Cmp(uint256Max) > 0 {
		return nil, fmt.Errorf("above 2^256-1")
	}
	return x, nil
}

var uint256Max = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// Format prints base units x in the asset's units with its symbol, exactly
// and without trailing zeros: "1.25 TUSD", "0.0001 ETH", "0 ETH". An asset
// without a symbol prints base units.
func (a Asset) Format(x *big.Int) string {
	if x == nil {
		return "<nil>"
	}
	if a.Symbol == "" {
		return x.String()
	}
	neg := x.Sign() < 0
	digits := new(big.Int).Abs(x).String()
	d := int(a.Decimals)
	if len(digits) <= d {
		digits = strings.Repeat("0", d-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-d], strings.TrimRight(digits[len(digits)-d:], "0")
	s := whole
	if frac != "" {
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s + " " + a.Symbol
}
