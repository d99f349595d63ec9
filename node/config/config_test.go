package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `
[[offers]]
model = "m"
asset = "ETH"
base = "1"
in_per_m = "2"
out_per_m = "3"
max_tokens = 10
`

func TestExampleConfigIsValidAndComplete(t *testing.T) {
	c, err := Load("../../docs/node.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	// The example shows every default: parsing it changes nothing but the
	// offers.
	want := Default()
	want.Offers = c.Offers
	want.dir = c.dir
	if c.Chain != want.Chain || c.API != want.API || c.Metrics != want.Metrics || c.Store != want.Store ||
		c.Workers != want.Workers || c.Settlement != want.Settlement {
		t.Fatalf("the example's values differ from the defaults:\n%+v\n%+v", *c, want)
	}
	if len(c.Offers) != 1 || c.Offers[0].Price().Base.Int64() != 1000 || c.Offers[0].MaxTokens != 1024 {
		t.Fatalf("offers %+v", c.Offers)
	}
	if got := c.Path("deployment.json"); got != filepath.Join("../../docs", "deployment.json") {
		t.Fatalf("relative paths resolve to %s", got)
	}
}

func TestDefaultsFillMissingKeys(t *testing.T) {
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.API.Listen != "127.0.0.1:7070" || c.Settlement.Interval.Duration != time.Minute || c.Chain.Confirmations != 1 {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if c.Settlement.ThresholdAmount() != nil || c.Settlement.GasFeeCap() != nil {
		t.Fatal("unset threshold and fee cap must be nil")
	}
}

// TestRejects: each bad value is refused with an error that names its key.
func TestRejects(t *testing.T) {
	cases := []struct {
		name, text, key string
	}{
		{"unknown key", "[api]\nlisten_addr = \"x\"\n" + minimal, "api.listen_addr"},
		{"syntax", "[api\n" + minimal, "line "},
		{"float price", strings.Replace(minimal, `base = "1"`, `base = "1.5"`, 1), "offers[0].base"},
		{"number not string", strings.Replace(minimal, `base = "1"`, `base = 1`, 1), "base"},
		{"negative", strings.Replace(minimal, `in_per_m = "2"`, `in_per_m = "-2"`, 1), "offers[0].in_per_m"},
		{"above uint256", strings.Replace(minimal, `out_per_m = "3"`, `out_per_m = "`+strings.Repeat("9", 80)+`"`, 1), "offers[0].out_per_m"},
		{"zero max tokens", strings.Replace(minimal, "max_tokens = 10", "max_tokens = 0", 1), "offers[0].max_tokens"},
		{"bad asset", strings.Replace(minimal, `asset = "ETH"`, `asset = "DOGE"`, 1), "offers[0].asset"},
		{"no model", strings.Replace(minimal, `model = "m"`, `model = ""`, 1), "offers[0].model"},
		{"duplicate offer", minimal + minimal, "offers[1]"},
		{"no offers", "[api]\nlisten = \"127.0.0.1:1\"\n", "offers"},
		{"bad rpc", "[chain]\nrpc = \"localhost:8545\"\n" + minimal, "chain.rpc"},
		{"zero confirmations", "[chain]\nconfirmations = 0\n" + minimal, "chain.confirmations"},
		{"bad listen", "[api]\nlisten = \"7070\"\n" + minimal, "api.listen"},
		{"bad duration", "[api]\nidle_timeout = \"5 minutes\"\n" + minimal, "idle_timeout"},
		{"negative duration", "[api]\njob_timeout = \"-1s\"\n" + minimal, "api.job_timeout"},
		{"zero frame", "[api]\nmax_frame_bytes = 0\n" + minimal, "api.max_frame_bytes"},
		{"huge batch", "[settlement]\nmax_batch = 5000\n" + minimal, "settlement.max_batch"},
		{"bad threshold", "[settlement]\nthreshold = \"1e18\"\n" + minimal, "settlement.threshold"},
		{"remote workers without token", "[workers]\nbuiltin = false\ntoken_file = \"\"\n" + minimal, "workers.token_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.text))
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Fatalf("got %v, want an error naming %s", err, c.key)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// FuzzParse: no input makes the parser panic, and anything accepted
// passes Validate.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	if b, err := os.ReadFile("../../docs/node.example.toml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("[[offers]]\nbase = \"\"\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		c, err := Parse(text)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted a config that does not validate: %v", err)
		}
		for _, o := range c.Offers {
			if err := o.Price().Validate(); err != nil {
				t.Fatalf("accepted offer with bad price: %v", err)
			}
		}
	})
}
