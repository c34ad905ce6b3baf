package api

import (
	"net/http"
	"time"
)

// SetSweepEvery shortens the check for hung-up long-poll clients in tests.
func SetSweepEvery(d time.Duration) (restore func()) {
	old := sweepEvery
	sweepEvery = d
	return func() { sweepEvery = old }
}

// Observe wraps h in the server's request logging, metrics and panic
// recovery, for tests of that middleware alone.
func (s *Server) Observe(h http.Handler) http.Handler { return s.observe(h) }
