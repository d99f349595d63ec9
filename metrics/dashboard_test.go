package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDashboardImportsAsItIs(t *testing.T) {
	var d struct {
		UID           string `json:"uid"`
		Title         string `json:"title"`
		SchemaVersion int    `json:"schemaVersion"`
		Templating    struct {
			List []struct {
				Name, Type string
				Query      any
			}
		}
	}
	if err := json.Unmarshal(DashboardJSON(), &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q, title %q: both needed", d.UID, d.Title)
	}
	if d.SchemaVersion < 39 {
		t.Errorf("schemaVersion %d: older than Grafana 11's", d.SchemaVersion)
	}
	hasDS := false
	for _, v := range d.Templating.List {
		hasDS = hasDS || v.Name == "DS_PROMETHEUS" && v.Type == "datasource" && v.Query == "prometheus"
	}
	if !hasDS {
		t.Error("no DS_PROMETHEUS data source variable: the dashboard would not import as it is")
	}
}

func TestDashboardPanels(t *testing.T) {
	panels, err := DashboardPanels()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]bool{}
	var rows []string
	for _, p := range panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X < 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			rows = append(rows, p.Title)
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no target", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: data source %+v, want the ${DS_PROMETHEUS} variable", p.Title, p.Datasource)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q: target %s has no expression", p.Title, tg.RefID)
			}
			if refs[tg.RefID] {
				t.Errorf("panel %q: refId %s used twice", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
		}
	}
	for _, want := range []string{"Jobs", "Latency", "Revenue", "Settlement", "Chain", "Connections", "Queues", "Ledger"} {
		if !slices.Contains(rows, want) {
			t.Errorf("no %q row; rows: %q", want, rows)
		}
	}
}

func TestDashboardQueries(t *testing.T) {
	queries, err := DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) < 20 {
		t.Errorf("%d queries; the dashboard has more", len(queries))
	}
	for _, q := range queries {
		if strings.Contains(q, "$") {
			t.Errorf("query %q keeps a Grafana variable", q)
		}
	}
}

var metricName = regexp.MustCompile(`\bpaynode_[a-z_]+`)

// referencedMetrics returns the metric names a text uses, histogram series
// folded into their family.
func referencedMetrics(text string) map[string]bool {
	names := map[string]bool{}
	for _, n := range metricName.FindAllString(text, -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(n, suffix); ok && strings.HasSuffix(base, "_seconds") {
				n = base
			}
		}
		names[n] = true
	}
	return names
}

// TestDashboardAndAlertsUseRealMetrics holds the dashboard, the alert
// rules and the README to the metrics this package exports, every exported
// metric to a use on the dashboard or in an alert, and the README to
// listing them all.
func TestDashboardAndAlertsUseRealMetrics(t *testing.T) {
	reg := NewRegistry()
	m := New(reg, BuildInfo{})
	tenJobsTwoFail(m)
	m.SetSources(knownSources(time.Second))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), Namespace+"_") {
			exported[mf.GetName()] = true
		}
	}
	alerts, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for n := range exported {
		if !strings.Contains(string(readme), "`"+n+"`") {
			t.Errorf("README.md does not list %s", n)
		}
	}
	for n := range referencedMetrics(string(readme)) {
		if !exported[n] {
			t.Errorf("README.md lists %s, which the node does not export", n)
		}
	}
	used := map[string]bool{}
	for file, text := range map[string]string{"dashboards/paynode.json": string(dashboardJSON), "alerts.yml": string(alerts)} {
		for n := range referencedMetrics(text) {
			used[n] = true
			if !exported[n] {
				t.Errorf("%s uses %s, which the node does not export", file, n)
			}
		}
	}
	for n := range exported {
		if !used[n] {
			t.Errorf("%s is on neither the dashboard nor in an alert", n)
		}
	}
}
