package api

import "time"

// SetSweepEvery shortens the check for hung-up long-poll clients in tests.
func SetSweepEvery(d time.Duration) (restore func()) {
	old := sweepEvery
	sweepEvery = d
	return func() { sweepEvery = old }
}
