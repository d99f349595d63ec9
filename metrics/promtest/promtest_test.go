package promtest

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestConfigFile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    Options
		want    []string // lines the configuration holds
		wantErr string
	}{
		{
			name: "one target",
			opts: Options{Targets: []string{"http://127.0.0.1:9464/metrics"}, Job: "paynode", ScrapeInterval: time.Second},
			want: []string{`scrape_interval: 1s`, `job_name: "paynode"`, `scheme: http`, `metrics_path: "/metrics"`, `targets: ["127.0.0.1:9464"]`},
		},
		{
			name: "default path, two targets",
			opts: Options{Targets: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, Job: "j", ScrapeInterval: 2 * time.Second},
			want: []string{`evaluation_interval: 2s`, `metrics_path: "/metrics"`, `targets: ["127.0.0.1:1", "127.0.0.1:2"]`},
		},
		{
			name: "rule files made absolute",
			opts: Options{Targets: []string{"http://h:1/m"}, RuleFiles: []string{"alerts.yml"}},
			want: []string{`rule_files: ["/`, `alerts.yml"]`},
		},
		{
			name:    "two paths",
			opts:    Options{Targets: []string{"http://h:1/a", "http://h:2/b"}},
			wantErr: "not one scheme and path",
		},
		{
			name:    "not a URL",
			opts:    Options{Targets: []string{"127.0.0.1:9464"}},
			wantErr: "is not a URL",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := configFile(tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("configuration lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestParseValue(t *testing.T) {
	for in, want := range map[string]float64{"1.5": 1.5, "1e+12": 1e12, "+Inf": posInf} {
		got, err := parseValue([2]any{1.0, in})
		if err != nil || got != want {
			t.Errorf("parseValue(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := parseValue([2]any{1.0, 2.0}); err == nil {
		t.Error("a number value parsed; the API sends strings")
	}
}

var posInf = math.Inf(1)
