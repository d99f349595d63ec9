package agent_test

import (
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/paynode/paynode/agent"
)

var testUSD = agent.Asset{Address: common.HexToAddress("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"), Symbol: "TUSD", Decimals: 6}

func TestParseAmount(t *testing.T) {
	num := func(s string) *big.Int { x, _ := new(big.Int).SetString(s, 10); return x }
	for _, tc := range []struct {
		in    string
		asset agent.Asset
		want  *big.Int // nil: refused
	}{
		{"0.01ETH", agent.ETH, num("10000000000000000")},
		{"0.01 ETH", agent.ETH, num("10000000000000000")},
		{"1eth", agent.ETH, num("1000000000000000000")},
		{"0.000000000000000001ETH", agent.ETH, num("1")},
		{"0.0000000000000000001ETH", agent.ETH, nil}, // 19 decimals
		{"2.5TUSD", testUSD, num("2500000")},
		{" 2.5 tusd ", testUSD, num("2500000")},
		{"1.000001TUSD", testUSD, num("1000001")},
		{"1.0000001TUSD", testUSD, nil},
		{"2500000", testUSD, num("2500000")}, // base units
		{"0", agent.ETH, num("0")},
		{"0TUSD", testUSD, num("0")},
		{"007", agent.ETH, num("7")},
		{"1.5", agent.ETH, nil}, // ETH or wei?
		{"2.5ETH", testUSD, nil},
		{"2.5TUSD", agent.ETH, nil},
		{"-1", agent.ETH, nil},
		{"+1", agent.ETH, nil},
		{"1e18", agent.ETH, nil},
		{"", agent.ETH, nil},
		{"ETH", agent.ETH, nil},
		{".5ETH", agent.ETH, nil},
		{"5.ETH", agent.ETH, nil},
		{"1.2.3ETH", agent.ETH, nil},
		{"1,5ETH", agent.ETH, nil},
		{"115792089237316195423570985008687907853269984665640564039457584007913129639935", agent.ETH, num("115792089237316195423570985008687907853269984665640564039457584007913129639935")},
		{"115792089237316195423570985008687907853269984665640564039457584007913129639936", agent.ETH, nil},
		{"115792089237316195423570985008687907853269984665640564039458ETH", agent.ETH, nil},
	} {
		got, err := tc.asset.Parse(tc.in)
		if tc.want == nil {
			if err == nil || agent.CodeOf(err) != agent.CodeBadAmount {
				t.Errorf("Parse(%q) = %s, %v; want refused", tc.in, got, err)
			}
			continue
		}
		if err != nil || got.Cmp(tc.want) != 0 {
			t.Errorf("Parse(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct {
		x     int64
		asset agent.Asset
		want  string
	}{
		{1_250_000, testUSD, "1.25 TUSD"},
		{1, testUSD, "0.000001 TUSD"},
		{0, agent.ETH, "0 ETH"},
		{100_000_000_000_000, agent.ETH, "0.0001 ETH"},
		{3_000_000, testUSD, "3 TUSD"},
		{42, agent.Asset{}, "42"},
	} {
		if got := tc.asset.Format(big.NewInt(tc.x)); got != tc.want {
			t.Errorf("Format(%d) = %q, want %q", tc.x, got, tc.want)
		}
	}
}

// FuzzAmount: whatever parses prints back to the same amount, and what
// is printed parses back exactly.
func FuzzAmount(f *testing.F) {
	for _, s := range []string{"0.01ETH", "2.5TUSD", "1000", "0.0000001TUSD", "1.5", "-1", "1e5", " 3 tusd", "00.100TUSD"} {
		f.Add(s, uint8(6))
	}
	f.Fuzz(func(t *testing.T, s string, decimals uint8) {
		a := agent.Asset{Symbol: "TUSD", Decimals: decimals % 78}
		x, err := a.Parse(s)
		if err != nil {
			return
		}
		if x.Sign() < 0 || x.BitLen() > 256 {
			t.Fatalf("Parse(%q) = %s", s, x)
		}
		printed := a.Format(x)
		y, err := a.Parse(printed)
		if err != nil || y.Cmp(x) != 0 {
			t.Fatalf("Parse(%q) = %s, printed %q, parsed back %s, %v", s, x, printed, y, err)
		}
		if frac, ok := strings.CutSuffix(printed, " TUSD"); !ok || strings.HasSuffix(frac, ".") {
			t.Fatalf("printed %q", printed)
		}
	})
}
