package wire

import (
	"encoding/json"
	"errors"
	"math/big"
	"math/bits"
	"reflect"
)

// Amount is an amount of an asset's base units, or any other uint256 (an
// offer id), on the wire: a JSON string of decimal digits, "0" to
// "115792089237316195423570985008687907853269984665640564039457584007913129639935"
// (2²⁵⁶−1), with no sign, no leading zeros, no fraction, no exponent and no
// spaces. Exactly one string spells each value, so an amount re-encodes to
// the bytes it came from, and no float ever touches money.
//
// Use *Amount in structs: nil is "absent", which a message's validation
// reports as missing. An Amount must not be copied by value.
type Amount big.Int

// maxAmountDigits is the length of 2²⁵⁶−1 in decimal.
const maxAmountDigits = 78

var (
	uint256Max = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	amountType = reflect.TypeFor[Amount]()
)

// ErrAmount is wrapped by every error of ParseAmount.
var ErrAmount = errors.New("bad amount")

// NewAmount returns x as an amount, copying it; nil for nil. It does not
// check the range: Encode does.
func NewAmount(x *big.Int) *Amount {
	if x == nil {
		return nil
	}
	if x.Sign() >= 0 && x.IsUint64() {
		return AmountOf(x.Uint64())
	}
	return (*Amount)(new(big.Int).Set(x))
}

// AmountOf returns u as an amount.
func AmountOf(u uint64) *Amount {
	if bits.UintSize < 64 {
		return (*Amount)(new(big.Int).SetUint64(u))
	}
	// One allocation instead of two: the big.Int and its one word.
	a := new(struct {
		x big.Int
		w [1]big.Word
	})
	a.w[0] = big.Word(u)
	a.x.SetBits(a.w[:])
	return (*Amount)(&a.x)
}

// ParseAmount reads an amount from its decimal digits (without the JSON
// quotes), by the rules of Amount.
func ParseAmount(s string) (*Amount, error) {
	x, reason := parseDigits(s)
	if reason != "" {
		return nil, errors.Join(ErrAmount, errors.New(reason))
	}
	return (*Amount)(x), nil
}

// Big returns the amount as a new *big.Int; nil for a nil amount.
func (a *Amount) Big() *big.Int {
	if a == nil {
		return nil
	}
	return new(big.Int).Set((*big.Int)(a))
}

// Cmp compares two amounts as big.Int.Cmp does. Neither may be nil.
func (a *Amount) Cmp(b *Amount) int { return (*big.Int)(a).Cmp((*big.Int)(b)) }

// String returns the decimal digits, "<nil>" for nil.
func (a *Amount) String() string { return (*big.Int)(a).String() }

// valid reports whether a fits the wire: 0 ≤ a ≤ 2²⁵⁶−1.
func (a *Amount) valid() bool {
	x := (*big.Int)(a)
	return x.Sign() >= 0 && x.Cmp(uint256Max) <= 0
}

// MarshalJSON writes the amount as a decimal string.
func (a *Amount) MarshalJSON() ([]byte, error) {
	if !a.valid() {
		return nil, errors.Join(ErrAmount, errors.New("outside 0..2^256-1"))
	}
	b := make([]byte, 0, 24)
	b = append(b, '"')
	b = (*big.Int)(a).Append(b, 10)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a decimal string. A JSON null leaves a unchanged, as
// encoding/json's convention asks; in a struct, a null *Amount is nil, and
// validation reports it missing. Errors are *json.UnmarshalTypeError, so
// that encoding/json adds the field's path and Decode reports bad_field
// with it.
func (a *Amount) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return amountError("empty input")
	}
	if string(b) == "null" {
		return nil
	}
	switch b[0] {
	case '"':
	case 'n':
		return amountError("malformed JSON")
	case 't', 'f':
		return amountError("a JSON boolean; amounts are decimal strings such as \"1000\"")
	case '{':
		return amountError("a JSON object; amounts are decimal strings such as \"1000\"")
	case '[':
		return amountError("a JSON array; amounts are decimal strings such as \"1000\"")
	default:
		return amountError("a JSON number; amounts are decimal strings such as \"1000\", never numbers")
	}
	var s string
	if len(b) >= 2 && b[len(b)-1] == '"' && !hasEscape(b[1:len(b)-1]) {
		s = string(b[1 : len(b)-1])
	} else if err := json.Unmarshal(b, &s); err != nil {
		return amountError("a malformed JSON string")
	}
	x, reason := parseDigits(s)
	if reason != "" {
		return amountError(reason)
	}
	*a = Amount(*x)
	return nil
}

func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c < 0x20 {
			return true
		}
	}
	return false
}

func amountError(reason string) error {
	return &json.UnmarshalTypeError{Value: reason, Type: amountType}
}

// parseDigits parses a canonical decimal uint256; the reason says why not.
func parseDigits(s string) (*big.Int, string) {
	switch {
	case s == "":
		return nil, "an empty string; amounts are decimal strings such as \"1000\""
	case s[0] == '-':
		return nil, "negative; amounts are never below 0"
	case s[0] == '+':
		return nil, "a leading '+'; write the digits alone"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			continue
		}
		switch c {
		case '.':
			return nil, "a fraction; amounts are integers in the asset's base unit"
		case 'e', 'E':
			return nil, "an exponent; write every digit"
		}
		return nil, "not a decimal integer"
	}
	if len(s) > 1 && s[0] == '0' {
		return nil, "a leading zero; write the shortest form"
	}
	if len(s) > maxAmountDigits {
		return nil, "above 2^256-1"
	}
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, "not a decimal integer"
	}
	if x.Cmp(uint256Max) > 0 {
		return nil, "above 2^256-1"
	}
	return x, ""
}
