// Package api serves Tender's REST API v1, the inbound provider callbacks
// and the pages shoppers see.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tenderpay/tender/engine"
)

// Options configure the server.
type Options struct {
	Logger *slog.Logger
	// Gatherer serves /metrics; nil serves the default registry.
	Gatherer prometheus.Gatherer
	// MetricsElsewhere leaves /metrics out of this server: the operator
	// serves it on a listener of its own (MetricsHandler), off the public
	// interface.
	MetricsElsewhere bool
	// Registerer receives the HTTP metrics; nil registers none.
	Registerer prometheus.Registerer
	// MaxWait caps ?wait= on GET /v1/payments/{id}.
	MaxWait time.Duration
	// MaxPollsPerKey caps the long-polls one API key holds open at once
	// on this server; 0 means DefaultMaxPollsPerKey.
	MaxPollsPerKey int
	// Ready reports whether the server can take traffic (for /readyz);
	// nil checks the store only.
	Ready func(ctx context.Context) error
}

// Server is the HTTP front door.
type Server struct {
	eng     *engine.Engine
	log     *slog.Logger
	maxWait time.Duration
	ready   func(ctx context.Context) error
	metrics *httpMetrics
	polls   *pollLimiter
	parking parking // long-polls handed over by their handlers (longpoll.go)
	gather  prometheus.Gatherer
	mux     *http.ServeMux
	prov    providers
	spec    []byte // the API description of this server's connectors

	metricsElsewhere bool
}

// NewServer returns the handler for the whole HTTP surface (see routes.go).
func NewServer(eng *engine.Engine, o Options) *Server {
	s := &Server{
		eng:     eng,
		log:     o.Logger,
		maxWait: o.MaxWait,
		ready:   o.Ready,
		gather:  o.Gatherer,
		mux:     http.NewServeMux(),
		polls:   newPollLimiter(o.MaxPollsPerKey),
		parking: parking{every: sweepEvery},

		metricsElsewhere: o.MetricsElsewhere,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxWait <= 0 {
		s.maxWait = 60 * time.Second
	}
	if s.gather == nil {
		s.gather = prometheus.DefaultGatherer
	}
	descs := eng.Descriptions()
	s.prov = newProviders(descs)
	spec, err := Spec(descs)
	if err != nil {
		// A connector's description is code, not input: fail loudly.
		panic(err)
	}
	s.spec = spec
	s.metrics = newHTTPMetrics(o.Registerer)
	s.routes()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// No response of Tender's is to be read as another type than it says.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) metricsHandler() http.Handler {
	if s.metricsElsewhere {
		return http.NotFoundHandler()
	}
	return MetricsHandler(s.gather)
}

// MetricsHandler serves g's metrics in the Prometheus format, for a
// listener of its own (Options.MetricsElsewhere).
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}
