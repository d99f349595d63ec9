// Package promtest runs a real Prometheus server for tests: a process of
// the prometheus binary (Debian's prometheus package; .ci/run installs
// it) with a generated configuration that scrapes the given targets every
// second, in a temporary folder, on a free loopback port. Tests then ask
// it PromQL through its HTTP API, as Grafana would.
//
// Without the binary a test fails when CI=true (CI installs it, so its
// absence is a broken setup) and is skipped otherwise.
package promtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options say what the server scrapes and loads.
type Options struct {
	// Targets are the URLs of the metrics endpoints to scrape
	// ("http://127.0.0.1:9464/metrics"); they share one scheme and path.
	Targets []string
	// Job is the scrape job's name, the job label of every series;
	// default "paynode".
	Job string
	// ScrapeInterval is the scrape and rule evaluation interval; default
	// one second.
	ScrapeInterval time.Duration
	// RuleFiles are rule files to load (paths relative to the test's
	// folder are made absolute). A file Prometheus cannot load fails
	// Start.
	RuleFiles []string
}

// Server is a running Prometheus.
type Server struct {
	URL string // its HTTP API, "http://127.0.0.1:PORT"
	Dir string // its folder: configuration, data and log

	targets int
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	err     error         // the process's exit error, set before exited closes
}

// Binary returns the prometheus binary to run: $PROMETHEUS, or
// prometheus on PATH. Without one it fails t when CI is "true" and skips
// t otherwise.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PROMETHEUS"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("promtest: PROMETHEUS=%s: %v", p, err)
		}
		return p
	}
	p, err := exec.LookPath("prometheus")
	if err == nil {
		return p
	}
	const msg = "promtest: no prometheus binary on PATH and PROMETHEUS unset; install Debian's prometheus package (scripts/install-prometheus.sh)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ": CI installs it, so its absence fails the test")
	}
	t.Skip(msg)
	return ""
}

// Start starts Prometheus scraping opts.Targets and waits until it is
// ready; the server is stopped when t ends, and its log is printed if t
// failed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Binary(t)
	if len(opts.Targets) == 0 {
		t.Fatal("promtest: no target to scrape")
	}
	if opts.Job == "" {
		opts.Job = "paynode"
	}
	if opts.ScrapeInterval <= 0 {
		opts.ScrapeInterval = time.Second
	}
	dir := t.TempDir()
	config, err := configFile(opts)
	if err != nil {
		t.Fatalf("promtest: %v", err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	// A free port may be taken between its lookup and Prometheus's listen:
	// try again on another.
	var lastErr error
	for range 3 {
		s, err := start(t, bin, dir, cfgPath, len(opts.Targets))
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("promtest: %v", lastErr)
	return nil
}

// configFile returns the configuration scraping opts.Targets.
func configFile(opts Options) (string, error) {
	var scheme, path string
	var hosts []string
	for _, target := range opts.Targets {
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("target %q is not a URL", target)
		}
		p := u.Path
		if p == "" {
			p = "/metrics"
		}
		if scheme != "" && (u.Scheme != scheme || p != path) {
			return "", fmt.Errorf("targets %q: not one scheme and path", opts.Targets)
		}
		scheme, path = u.Scheme, p
		hosts = append(hosts, strconv.Quote(u.Host))
	}
	var rules []string
	for _, f := range opts.RuleFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			return "", err
		}
		rules = append(rules, strconv.Quote(abs))
	}
	interval := opts.ScrapeInterval.String()
	return fmt.Sprintf(`global:
  scrape_interval: %s
  scrape_timeout: %s
  evaluation_interval: %s
rule_files: [%s]
scrape_configs:
  - job_name: %s
    scheme: %s
    metrics_path: %s
    static_configs:
      - targets: [%s]
`, interval, interval, interval, strings.Join(rules, ", "), strconv.Quote(opts.Job),
		scheme, strconv.Quote(path), strings.Join(hosts, ", ")), nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func start(t testing.TB, bin, dir, cfgPath string, targets int) (*Server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--storage.tsdb.retention.time=1h",
		"--web.listen-address="+addr,
	)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{URL: "http://" + addr, Dir: dir, targets: targets, cmd: cmd, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	var once sync.Once
	stop := func() { once.Do(s.stop) }
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("prometheus log (%s):\n%s", logPath, tail(b, 4000))
			}
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		stop()
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("prometheus on %s not ready: %v\n%s", addr, err, tail(b, 4000))
	}
	return s, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// stop ends the process: SIGTERM, then SIGKILL after ten seconds.
func (s *Server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func (s *Server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("prometheus exited: %v", s.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
}

// Sample is one series of a query's answer and its value.
type Sample struct {
	Metric map[string]string
	Value  float64
}

func (s Sample) String() string {
	return fmt.Sprintf("%v %v", s.Metric, s.Value)
}

// Query runs a PromQL instant query at the current time and returns the
// series it answers (one, without labels, for a scalar).
func (s *Server) Query(ctx context.Context, expr string) ([]Sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := s.api(ctx, "/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	switch data.ResultType {
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(data.Result, &vec); err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		samples := make([]Sample, 0, len(vec))
		for _, v := range vec {
			f, err := parseValue(v.Value)
			if err != nil {
				return nil, fmt.Errorf("query %q: %w", expr, err)
			}
			samples = append(samples, Sample{Metric: v.Metric, Value: f})
		}
		return samples, nil
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(data.Result, &v); err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		f, err := parseValue(v)
		if err != nil {
			return nil, fmt.Errorf("query %q: %w", expr, err)
		}
		return []Sample{{Metric: map[string]string{}, Value: f}}, nil
	}
	return nil, fmt.Errorf("query %q: result type %q, want vector or scalar", expr, data.ResultType)
}

// parseValue reads an API sample, [unix time, "value"].
func parseValue(v [2]any) (float64, error) {
	str, ok := v[1].(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string", v[1])
	}
	return strconv.ParseFloat(str, 64)
}

// api GETs path from the HTTP API and decodes the data of a success.
func (s *Server) api(ctx context.Context, path string, data any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s", body.ErrorType, body.Error)
	}
	return json.Unmarshal(body.Data, data)
}

// AlertRules returns the names of the alerting rules Prometheus loaded.
func (s *Server) AlertRules(ctx context.Context) ([]string, error) {
	var data struct {
		Groups []struct {
			Rules []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := s.api(ctx, "/api/v1/rules?type=alert", &data); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var names []string
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			if r.Type == "alerting" {
				names = append(names, r.Name)
			}
		}
	}
	return names, nil
}

// errNoSeries is WaitFor's error while a query answers nothing.
var errNoSeries = errors.New("no series")

// WaitFor runs expr until it returns at least one series, and returns
// them; it fails t after timeout, with the last answer or error.
func (s *Server) WaitFor(t testing.TB, expr string, timeout time.Duration) []Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var err error
	for {
		var samples []Sample
		samples, err = s.Query(ctx, expr)
		if err == nil && len(samples) > 0 {
			return samples
		}
		if err == nil {
			err = errNoSeries
		}
		select {
		case <-ctx.Done():
			t.Fatalf("promtest: %s after %v: %v", expr, timeout, err)
			return nil
		case <-s.exited:
			t.Fatalf("promtest: prometheus exited: %v", s.err)
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// WaitTargetsUp waits until every target has been scraped successfully at
// least scrapes times (rates need two), and fails t after timeout.
func (s *Server) WaitTargetsUp(t testing.TB, scrapes int, timeout time.Duration) {
	t.Helper()
	s.WaitFor(t, fmt.Sprintf("count(sum_over_time(up[10m]) >= %d) == %d", scrapes, s.targets), timeout)
}
