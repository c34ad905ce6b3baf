package sepay

import (
	"net/http"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// New fills in what was not given, and keeps what was: an HTTP client given
// (the engine's, whose transport enforces the egress rules) is the one used.
func TestNewDefaults(t *testing.T) {
	c := New(Options{})
	o := c.opts
	if o.HTTPClient != http.DefaultClient || o.Logger == nil || o.Clock == nil ||
		o.RequestTimeout != 30*time.Second || o.PollInterval != 2*time.Second || o.ResendWindow != ResendWindow {
		t.Errorf("defaults: %+v", o)
	}
	mine := &http.Client{}
	clock := tender.SystemClock{}
	o = New(Options{HTTPClient: mine, Clock: clock, RequestTimeout: time.Second, PollInterval: time.Minute, ResendWindow: time.Hour}).opts
	if o.HTTPClient != mine || o.RequestTimeout != time.Second || o.PollInterval != time.Minute || o.ResendWindow != time.Hour {
		t.Errorf("given options not kept: %+v", o)
	}
	if cl := c.client(&config{}); cl.HTTP != http.DefaultClient || cl.Timeout != 30*time.Second {
		t.Errorf("client: %+v", cl)
	}
}
