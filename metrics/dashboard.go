package metrics

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed dashboards/paynode.json
var dashboardJSON []byte

// DashboardJSON returns the Grafana dashboard over these metrics
// (dashboards/paynode.json), as it imports into Grafana: its data source
// is the variable DS_PROMETHEUS, chosen on the dashboard.
func DashboardJSON() []byte {
	return bytes.Clone(dashboardJSON)
}

// dashboardVariables are the values DashboardQueries puts in place of the
// dashboard's Grafana variables, so that its queries run on Prometheus
// directly: every node, and a one-minute rate window (four scrapes at
// Prometheus's default interval, sixty at a test's one second).
var dashboardVariables = map[string]string{
	"$__rate_interval": "1m",
	"$instance":        ".+",
}

// DashboardPanel is one panel of the dashboard with its queries.
type DashboardPanel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
		Hide  bool   `json:"hide"`
	} `json:"targets"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	// Panels holds a collapsed row's panels.
	Panels []DashboardPanel `json:"panels"`
}

// DashboardPanels returns the dashboard's panels, rows included, with the
// panels of collapsed rows after their row.
func DashboardPanels() ([]DashboardPanel, error) {
	var d struct {
		Panels []DashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(dashboardJSON, &d); err != nil {
		return nil, fmt.Errorf("metrics: dashboard: %w", err)
	}
	var all []DashboardPanel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	return all, nil
}

// DashboardQueries returns every PromQL expression of the dashboard's
// panels, in panel order, with the Grafana variables filled in so that
// each runs on Prometheus as it is: $instance is ".+" (every node) and
// $__rate_interval is "1m". An integration test asks a Prometheus
// scraping a node for each and fails on any that returns no series.
func DashboardQueries() ([]string, error) {
	panels, err := DashboardPanels()
	if err != nil {
		return nil, err
	}
	pairs := make([]string, 0, 2*len(dashboardVariables))
	for name, value := range dashboardVariables {
		pairs = append(pairs, name, value)
	}
	expand := strings.NewReplacer(pairs...)
	var queries []string
	for _, p := range panels {
		for _, t := range p.Targets {
			if t.Hide || t.Expr == "" {
				continue
			}
			q := expand.Replace(t.Expr)
			if strings.Contains(q, "$") {
				return nil, fmt.Errorf("metrics: dashboard panel %q: query %q uses a variable DashboardQueries does not fill in", p.Title, t.Expr)
			}
			queries = append(queries, q)
		}
	}
	return queries, nil
}
