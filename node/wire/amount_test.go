package wire

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

const maxUint256 = "115792089237316195423570985008687907853269984665640564039457584007913129639935"

func TestAmountAccepts(t *testing.T) {
	for _, s := range []string{"0", "1", "10", "1000000000000000000", "18446744073709551616", maxUint256} {
		var a Amount
		if err := json.Unmarshal([]byte(`"`+s+`"`), &a); err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if a.String() != s {
			t.Errorf("%s read as %s", s, a.String())
		}
		out, err := json.Marshal(&a)
		if err != nil || string(out) != `"`+s+`"` {
			t.Errorf("%s wrote %s, %v", s, out, err)
		}
		p, err := ParseAmount(s)
		if err != nil || p.Cmp(&a) != 0 {
			t.Errorf("ParseAmount(%s) = %v, %v", s, p, err)
		}
	}
	// JSON escapes are JSON: "\u0031" is the string "1".
	var a Amount
	if err := json.Unmarshal([]byte(`"\u0031\u0030"`), &a); err != nil || a.String() != "10" {
		t.Errorf(`"\u0031\u0030": %v, %v`, a.String(), err)
	}
}

func TestAmountRejects(t *testing.T) {
	for name, c := range map[string]struct{ json, reason string }{
		"number":         {`1000`, "JSON number"},
		"float number":   {`1.5`, "JSON number"},
		"negative num":   {`-1`, "JSON number"},
		"fraction":       {`"1.5"`, "fraction"},
		"trailing dot":   {`"1."`, "fraction"},
		"exponent":       {`"1e18"`, "exponent"},
		"big exponent":   {`"1E18"`, "exponent"},
		"negative":       {`"-1"`, "negative"},
		"negative zero":  {`"-0"`, "negative"},
		"plus":           {`"+1"`, "'+'"},
		"empty":          {`""`, "empty"},
		"leading zero":   {`"007"`, "leading zero"},
		"double zero":    {`"00"`, "leading zero"},
		"2^256":          {`"115792089237316195423570985008687907853269984665640564039457584007913129639936"`, "2^256"},
		"79 digits":      {`"` + strings.Repeat("9", 79) + `"`, "2^256"},
		"a megabyte":     {`"` + strings.Repeat("9", 1<<20) + `"`, "2^256"},
		"hex":            {`"0x10"`, "not a decimal"},
		"space":          {`" 1"`, "not a decimal"},
		"trailing space": {`"1 "`, "not a decimal"},
		"underscore":     {`"1_000"`, "not a decimal"},
		"comma":          {`"1,000"`, "not a decimal"},
		"unicode digit":  {`"١"`, "not a decimal"},
		"bool":           {`true`, "boolean"},
		"object":         {`{}`, "object"},
		"array":          {`["1"]`, "array"},
		"unterminated":   {`"1`, "malformed"},
	} {
		t.Run(name, func(t *testing.T) {
			var a Amount
			err := a.UnmarshalJSON([]byte(c.json))
			if err == nil {
				t.Fatalf("accepted %s as %s", c.json, a.String())
			}
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) || !strings.Contains(te.Value, c.reason) {
				t.Fatalf("error %v does not say %q", err, c.reason)
			}
			if s, ok := strings.CutPrefix(c.json, `"`); ok && strings.HasSuffix(s, `"`) {
				if _, err := ParseAmount(strings.TrimSuffix(s, `"`)); !errors.Is(err, ErrAmount) {
					t.Fatalf("ParseAmount: %v", err)
				}
			}
		})
	}
}

func TestAmountNull(t *testing.T) {
	var v struct{ A *Amount }
	if err := json.Unmarshal([]byte(`{"A":null}`), &v); err != nil || v.A != nil {
		t.Fatalf("null: %v, %v", v.A, err)
	}
	a := AmountOf(5)
	if err := a.UnmarshalJSON([]byte("null")); err != nil || a.String() != "5" {
		t.Fatalf("null changed the amount to %s, %v", a, err)
	}
}

func TestAmountMarshalRange(t *testing.T) {
	for _, x := range []*big.Int{big.NewInt(-1), new(big.Int).Lsh(big.NewInt(1), 256)} {
		if out, err := json.Marshal(NewAmount(x)); err == nil {
			t.Errorf("marshalled %s as %s", x, out)
		}
	}
	if NewAmount(nil) != nil || (*Amount)(nil).Big() != nil {
		t.Error("nil amounts")
	}
	x := big.NewInt(7)
	a := NewAmount(x)
	x.SetInt64(8)
	if a.String() != "7" {
		t.Error("NewAmount shares its argument")
	}
	a.Big().SetInt64(9)
	if a.String() != "7" {
		t.Error("Big shares the amount")
	}
}

var canonical = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// FuzzAmount: an amount is accepted exactly when it is a canonical decimal
// string within uint256, and it re-encodes to the same bytes.
func FuzzAmount(f *testing.F) {
	for _, s := range []string{
		`"0"`, `"1"`, `"1000"`, `"` + maxUint256 + `"`,
		`"115792089237316195423570985008687907853269984665640564039457584007913129639936"`,
		`1000`, `1.5`, `"1.5"`, `"1e18"`, `"-1"`, `"+1"`, `""`, `"007"`, `null`, `"\u0031"`, `" 1"`, `"0x1"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var a Amount
		err := a.UnmarshalJSON(in)
		// The reference: a JSON string whose content is canonical digits
		// of a value below 2^256.
		var s string
		isString := json.Unmarshal(in, &s) == nil && len(in) > 0 && in[0] == '"'
		x, ok := new(big.Int).SetString(s, 10)
		want := isString && canonical.MatchString(s) && ok && x.Cmp(uint256Max) <= 0
		if string(in) == "null" {
			if err != nil {
				t.Fatalf("null: %v", err)
			}
			return
		}
		if (err == nil) != want {
			t.Fatalf("UnmarshalJSON(%q) = %v; the reference says valid = %v", in, err, want)
		}
		if err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) || te.Type != amountType {
				t.Fatalf("error %T %v is not a type error of Amount", err, err)
			}
			return
		}
		if a.String() != s {
			t.Fatalf("%q read as %s", in, a.String())
		}
		out, err := a.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != `"`+s+`"` {
			t.Fatalf("%q re-encoded as %s", in, out)
		}
		p, err := ParseAmount(s)
		if err != nil || p.Cmp(&a) != 0 {
			t.Fatalf("ParseAmount(%q) = %v, %v", s, p, err)
		}
	})
}

func TestAmountOfAndNewAmount(t *testing.T) {
	for _, u := range []uint64{0, 1, 1000, 1<<63 + 5, math.MaxUint64} {
		want := new(big.Int).SetUint64(u)
		a := AmountOf(u)
		if a.Cmp((*Amount)(want)) != 0 || a.String() != want.String() {
			t.Fatalf("AmountOf(%d) = %s", u, a)
		}
		// An amount is a big.Int of its own: arithmetic on it (which
		// may grow its one word) leaves the value it came from alone.
		x := (*big.Int)(a)
		x.Add(x, x)
		if want.Cmp(new(big.Int).SetUint64(u)) != 0 || x.Cmp(new(big.Int).Lsh(want, 1)) != 0 {
			t.Fatalf("%d doubled is %s", u, x)
		}
		n := NewAmount(want)
		want.SetInt64(-1)
		if n.String() != new(big.Int).SetUint64(u).String() {
			t.Fatalf("NewAmount kept its argument: %s", n)
		}
	}
	big256 := new(big.Int).Lsh(big.NewInt(1), 200)
	if n := NewAmount(big256); n.Cmp((*Amount)(big256)) != 0 || (*big.Int)(n) == big256 {
		t.Fatal("NewAmount of a large value")
	}
	if NewAmount(big.NewInt(-3)).String() != "-3" || NewAmount(nil) != nil {
		t.Fatal("NewAmount of a negative value or nil")
	}
}
