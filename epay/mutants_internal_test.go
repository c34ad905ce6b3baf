package epay

// Tests that pin behaviour mutation testing found unpinned (MUTANTS.md):
// the connector's defaults and the words a failed payment shows.

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// New fills what Options leaves zero with the documented defaults, and
// keeps what it sets.
func TestNewDefaults(t *testing.T) {
	o := New(Options{}).opts
	if o.HTTPClient != http.DefaultClient || o.Logger == nil || o.Clock == nil {
		t.Fatalf("defaults: client %v logger %v clock %v", o.HTTPClient, o.Logger, o.Clock)
	}
	for name, tc := range map[string]struct{ got, want time.Duration }{
		"RequestTimeout":      {o.RequestTimeout, 30 * time.Second},
		"PollInterval":        {o.PollInterval, 2 * time.Second},
		"WorkingPollInterval": {o.WorkingPollInterval, 500 * time.Millisecond},
		"LostAfter":           {o.LostAfter, 2 * time.Minute},
		"OperationWait":       {o.OperationWait, 30 * time.Second},
	} {
		if tc.got != tc.want {
			t.Errorf("default %s = %v, want %v", name, tc.got, tc.want)
		}
	}
	hc, lg, ck := &http.Client{}, slog.New(slog.NewTextHandler(io.Discard, nil)), tender.SystemClock{}
	set := New(Options{HTTPClient: hc, Logger: lg, Clock: ck, RequestTimeout: 1, PollInterval: 2, WorkingPollInterval: 3, LostAfter: 4, OperationWait: 5}).opts
	if set.HTTPClient != hc || set.Logger != lg || set.RequestTimeout != 1 || set.PollInterval != 2 || set.WorkingPollInterval != 3 || set.LostAfter != 4 || set.OperationWait != 5 {
		t.Fatalf("options set were replaced: %+v", set)
	}
}

// The failure a POS shows names the result, in words and by name, and the
// host's response code of a decline only.
func TestFailureWords(t *testing.T) {
	for _, tc := range []struct {
		result int
		host   string
		status tender.Status
		code   string
		msg    string
	}{
		{ResultDeclined, "05", tender.StatusFailed, tender.FailDeclined, "The payment was not completed: declined by the card issuer (DECLINED, host response 05)."},
		{ResultDeclined, "", tender.StatusFailed, tender.FailDeclined, "The payment was not completed: declined by the card issuer (DECLINED)."},
		{ResultFailed, "05", tender.StatusFailed, tender.FailProvider, "The payment was not completed: the terminal could not complete the transaction (FAILED)."},
		{ResultCancelled, "", tender.StatusCanceled, tender.FailCanceledAtTerminal, "The payment was not completed: cancelled on the terminal (CANCELLED)."},
		{ResultBusy, "", tender.StatusFailed, tender.FailTerminalBusy, "The payment was not completed: the terminal is busy or in maintenance (BUSY)."},
		{99, "", tender.StatusFailed, tender.FailProvider, "The payment was not completed: the terminal reported an unexpected result (RESULT_99)."},
	} {
		st, f := failure(tc.result, tc.host)
		if st != tc.status || f.Code != tc.code || f.Message != tc.msg || f.ProviderCode != strconv.Itoa(tc.result) {
			t.Errorf("failure(%d, %q) = %s %+v, want %s %s %q", tc.result, tc.host, st, f, tc.status, tc.code, tc.msg)
		}
	}
}
