package engine

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tenderpay/tender"
)

// Metrics are the engine's Prometheus metrics.
type Metrics struct {
	transitions   *prometheus.CounterVec
	providerCalls *prometheus.HistogramVec
	checks        *prometheus.CounterVec
	callbacks     *prometheus.CounterVec
	refusals      *prometheus.CounterVec
	webhooks      *prometheus.CounterVec
	discrepancies *prometheus.CounterVec
}

// NewMetrics makes the engine's metrics and registers them with reg (nil:
// not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tender_payment_transitions_total",
			Help: "Payments entering each status, by connector.",
		}, []string{"connector", "status"}),
		providerCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tender_provider_call_seconds",
			Help:    "Duration of calls to providers, by connector, operation and result (ok, refused, in_doubt).",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"connector", "operation", "result"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tender_reconcile_checks_total",
			Help: "Status checks of open or in-doubt payments, by connector and the status checked.",
		}, []string{"connector", "status"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tender_callbacks_total",
			Help: "Inbound provider callbacks, by connector and result (accepted, rejected).",
		}, []string{"connector", "result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tender_callback_refusals_total",
			Help: "Inbound provider callbacks refused, by connector and whether the refusal was recorded on the payment the callback named (recorded, unattributed).",
		}, []string{"connector", "outcome"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tender_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome: delivered (2xx), retry (failed, will be retried), failed (failed and given up), canceled (endpoint deleted).",
		}, []string{"outcome"}),
		discrepancies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tender_payment_discrepancies_total",
			Help: "Payments flagged for a person: a verified provider answer contradicts Tender's record, or Tender could not resolve a payment or operation in time.",
		}, []string{"connector"}),
	}
	if reg != nil {
		reg.MustRegister(m.transitions, m.providerCalls, m.checks, m.callbacks, m.refusals, m.webhooks, m.discrepancies)
	}
	return m
}

func (m *Metrics) transition(connector, status string) {
	m.transitions.WithLabelValues(connector, status).Inc()
}

func (m *Metrics) providerCall(connector, op string, err error, d time.Duration) {
	result := "ok"
	if err != nil {
		result = "refused"
		if inDoubt(err) {
			result = "in_doubt"
		}
	}
	m.providerCalls.WithLabelValues(connector, op, result).Observe(d.Seconds())
}

func (m *Metrics) check(connector string, s tender.Status) {
	m.checks.WithLabelValues(connector, string(s)).Inc()
}

func (m *Metrics) callback(connector string, err error) {
	result := "accepted"
	if err != nil {
		result = "rejected"
	}
	m.callbacks.WithLabelValues(connector, result).Inc()
}

func (m *Metrics) refusal(connector string, recorded bool) {
	outcome := "unattributed"
	if recorded {
		outcome = "recorded"
	}
	m.refusals.WithLabelValues(connector, outcome).Inc()
}

func (m *Metrics) webhook(outcome string) {
	m.webhooks.WithLabelValues(outcome).Inc()
}

func (m *Metrics) discrepancy(connector string) {
	m.discrepancies.WithLabelValues(connector).Inc()
}
