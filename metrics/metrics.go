// Package metrics holds paynode's Prometheus collectors, the Grafana
// dashboard over them (dashboards/paynode.json) and the alert rules
// (alerts.yml, unit-tested by alerts_test.yml with promtool). Nothing here
// registers on the global registry: New takes the Registerer to use, and
// the node serves the registry with Handler on its metrics listener.
//
// Every method is safe for concurrent use and safe on a nil *Metrics, so
// packages that record events need no check before each call and tests may
// pass nil.
//
// Events (a job finished, a submit refused, a connection opened) are
// pushed through methods. State that already lives elsewhere (queue
// depths, money per asset, the chain head, channels by state, settlement
// totals) is pulled at scrape time from the Sources the node sets, so it
// is never stale and never double-kept.
//
// # Names and labels
//
// Every name is paynode_<subsystem>_<what>_<unit>: counters end in _total,
// durations are in seconds, timestamps are unix seconds. Labels have a
// bounded set of values: models, offers and assets are the few the node
// offers, codes and outcomes are the protocol's closed set, and no label
// ever carries a job id, a channel id or an address of a payer. As a guard
// against a caller passing an unbounded value, each pushed label takes at
// most MaxLabelValues distinct values; later ones are counted as "other".
//
// # Money
//
// Amounts are exported as floats in whole units of their asset (1.5 for
// 1500000 base units of a 6-decimal token), for dashboards and alerts only.
// The conversion is exact up to float64's one rounding; the exact integers
// are in the node's status API, never here.
package metrics

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace is the prefix of every metric name.
const Namespace = "paynode"

// MaxLabelValues bounds the distinct values one pushed label (model, offer,
// outcome, code, reason) takes; values past it are recorded as
// OtherLabelValue.
const (
	MaxLabelValues  = 64
	OtherLabelValue = "other"
)

// OutcomeOK is the outcome of a job that ended well; any other outcome is
// the error code it ended with.
const OutcomeOK = "ok"

// Buckets of the job histograms, in seconds: from a builtin model's
// milliseconds to a long generation's minutes.
var (
	jobDurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	ttftBuckets        = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	// claimBuckets: a claim confirms in a few blocks on an L2, in minutes
	// on a slow chain, in hours when settlement is stuck.
	claimBuckets = []float64{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400}
)

// voucherRejections are the refusal codes that say the voucher or its
// channel was refused (the payment check's codes that reject the payment
// itself, as node/wire and docs/protocol.md name them). A refusal with one
// of them counts in paynode_payment_vouchers_rejected_total as well.
var voucherRejections = []string{
	"bad_signature", "wrong_signer", "wrong_domain", "voucher_too_low",
	"voucher_above_deposit", "unknown_channel", "wrong_provider",
	"channel_closing", "wrong_asset", "deposit_unconfirmed",
}

// VoucherRejectionCodes returns the refusal codes JobRefused also counts as
// rejected vouchers. The node holds them equal to its payment codes in a
// test.
func VoucherRejectionCodes() []string {
	return append([]string(nil), voucherRejections...)
}

// Metrics is the node's collectors. Build it with New; a nil *Metrics
// records nothing.
type Metrics struct {
	jobsAccepted *prometheus.CounterVec   // model
	jobsFinished *prometheus.CounterVec   // offer, model, outcome
	jobsInFlight prometheus.Gauge         //
	jobDuration  *prometheus.HistogramVec // model
	jobTTFT      *prometheus.HistogramVec // model
	jobsRefused  *prometheus.CounterVec   // code

	vouchersAccepted prometheus.Counter
	vouchersRejected *prometheus.CounterVec // reason

	agentConnections  prometheus.Gauge
	workerConnections prometheus.Gauge
	workersLost       prometheus.Counter

	models, offers, outcomes, codes *labelValues

	pulled *pulled
}

// BuildInfo names the running binary for paynode_build_info.
type BuildInfo struct {
	Version   string
	GoVersion string
	Commit    string
}

// New creates the collectors and registers them on reg; it panics if reg
// already holds collectors of the same names, as a second New on one
// registry would be a wiring mistake. A nil reg keeps the collectors
// unregistered (they still count, which tests may read).
func New(reg prometheus.Registerer, build BuildInfo) *Metrics {
	m := &Metrics{
		jobsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "jobs", Name: "accepted_total",
			Help: "Jobs whose payment was accepted and that were dispatched, by model.",
		}, []string{"model"}),
		jobsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "jobs", Name: "finished_total",
			Help: `Accepted jobs that ended, by offer, model and outcome ("ok" or the error code the job ended with).`,
		}, []string{"offer", "model", "outcome"}),
		jobsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "jobs", Name: "in_flight",
			Help: "Jobs accepted and not yet finished.",
		}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "jobs", Name: "duration_seconds",
			Help:    "Time from acceptance to the result of jobs that ended ok, by model.",
			Buckets: jobDurationBuckets,
		}, []string{"model"}),
		jobTTFT: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "jobs", Name: "time_to_first_token_seconds",
			Help:    "Time from acceptance to the first output chunk of jobs that ended ok, by model.",
			Buckets: ttftBuckets,
		}, []string{"model"}),
		jobsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "jobs", Name: "refused_total",
			Help: "Submits refused before they ran, by the error code sent.",
		}, []string{"code"}),
		vouchersAccepted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "payment", Name: "vouchers_accepted_total",
			Help: "Vouchers that passed the payment check.",
		}),
		vouchersRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "payment", Name: "vouchers_rejected_total",
			Help: "Vouchers the payment check refused, by the error code sent.",
		}, []string{"reason"}),
		agentConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "api", Name: "agent_connections",
			Help: "Agent websocket connections open.",
		}),
		workerConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "hub", Name: "worker_connections",
			Help: "Worker websocket connections open.",
		}),
		workersLost: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "hub", Name: "workers_lost_total",
			Help: "Workers that went away with jobs assigned.",
		}),
		models:   newLabelValues(),
		offers:   newLabelValues(),
		outcomes: newLabelValues(),
		codes:    newLabelValues(),
		pulled:   newPulled(time.Now),
	}
	// The payment refusals start at zero, so that increase() and rate()
	// see the first one and dashboards show a line before any refusal.
	for _, code := range voucherRejections {
		m.codes.get(code)
		m.jobsRefused.WithLabelValues(code)
		m.vouchersRejected.WithLabelValues(code)
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(
		m.jobsAccepted, m.jobsFinished, m.jobsInFlight, m.jobDuration, m.jobTTFT, m.jobsRefused,
		m.vouchersAccepted, m.vouchersRejected,
		m.agentConnections, m.workerConnections, m.workersLost,
		m.pulled, newBuildInfo(build),
	)
	return m
}

// ---- the agent API (node/api) ----

// AgentConnected counts an agent connection opened (+1) or closed (−1).
func (m *Metrics) AgentConnected(delta int) {
	if m == nil {
		return
	}
	m.agentConnections.Add(float64(delta))
}

// JobAccepted records a job whose payment was accepted and that will run.
// Every JobAccepted is paired with one JobFinished; together they keep
// paynode_jobs_in_flight.
func (m *Metrics) JobAccepted(model string) {
	if m == nil {
		return
	}
	m.jobsAccepted.WithLabelValues(m.models.get(model)).Inc()
	m.jobsInFlight.Inc()
}

// JobFinished records a job that ended after it was accepted: outcome is
// "ok" (OutcomeOK) or the error code it ended with (job_timeout,
// worker_failed, …). latency is from acceptance to the result; ttft is the
// time to its first output chunk, 0 when there was none. The durations of
// jobs that ended ok go into the latency histograms: a timed-out job's
// duration is the time limit, and would only blur the quantiles that the
// error rate already reports.
func (m *Metrics) JobFinished(offer, model, outcome string, latency, ttft time.Duration) {
	if m == nil {
		return
	}
	model = m.models.get(model)
	outcome = m.outcomes.get(outcome)
	m.jobsFinished.WithLabelValues(m.offers.get(offer), model, outcome).Inc()
	m.jobsInFlight.Dec()
	if outcome != OutcomeOK {
		return
	}
	m.jobDuration.WithLabelValues(model).Observe(latency.Seconds())
	if ttft > 0 {
		m.jobTTFT.WithLabelValues(model).Observe(ttft.Seconds())
	}
}

// JobRefused records a submit refused before it ran: code is the error
// code sent (voucher_too_low, overloaded, unknown_model, …). The codes of
// VoucherRejectionCodes count as rejected vouchers too. model is not a
// label: a refused submit's model is whatever the agent wrote, and would
// let any agent add series.
func (m *Metrics) JobRefused(model, code string) {
	if m == nil {
		return
	}
	code = m.codes.get(code)
	m.jobsRefused.WithLabelValues(code).Inc()
	if slices.Contains(voucherRejections, code) {
		m.vouchersRejected.WithLabelValues(code).Inc()
	}
}

// VoucherAccepted records a voucher that passed the payment check.
func (m *Metrics) VoucherAccepted() {
	if m == nil {
		return
	}
	m.vouchersAccepted.Inc()
}

// ---- the worker hub (node/hub) ----

// WorkerConnected counts a worker connection opened (+1) or closed (−1).
func (m *Metrics) WorkerConnected(delta int) {
	if m == nil {
		return
	}
	m.workerConnections.Add(float64(delta))
}

// WorkerLost records a worker that went away with jobs assigned.
func (m *Metrics) WorkerLost() {
	if m == nil {
		return
	}
	m.workersLost.Inc()
}

// ---- pulled state ----

// SetSources sets the functions the pulled metrics read, replacing any set
// before. It may be called before or after the registry is first scraped.
func (m *Metrics) SetSources(s Sources) {
	if m == nil {
		return
	}
	m.pulled.setSources(s)
}

// labelValues admits at most MaxLabelValues distinct values of one label.
type labelValues struct {
	seen sync.Map   // string → struct{}: admitted values, read without a lock
	mu   sync.Mutex // guards n and the admission of new values
	n    int
}

func newLabelValues() *labelValues { return &labelValues{} }

// get returns v if it is admitted (or can still be), OtherLabelValue past
// the bound, and "unknown" for an empty value, which Prometheus would read
// as no label at all.
func (l *labelValues) get(v string) string {
	if v == "" {
		v = "unknown"
	}
	if _, ok := l.seen.Load(v); ok {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen.Load(v); ok {
		return v
	}
	if l.n >= MaxLabelValues {
		return OtherLabelValue
	}
	l.n++
	l.seen.Store(v, struct{}{})
	return v
}
