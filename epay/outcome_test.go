package epay_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
	"github.com/tenderpay/tender/epay/sim"
)

// decide's outcomes beyond the table of TestCompletedIntentDecidedByHostRecord
// (mutation survivors): what the notes and receipts say, an UNKNOWN result
// putting the payment in doubt, and the host record's amount.
func TestOutcomeDetails(t *testing.T) {

	t.Run("UNKNOWN without a record puts the payment in doubt", func(t *testing.T) {
		e := newEnv(t)
		p := e.started(1000)
		if err := e.sim.Complete(p.ID, intRef(epay.ResultUnknown), sim.NoRecord); err != nil {
			t.Fatal(err)
		}
		u := e.status(p)
		if u.Status != tender.StatusUnknown || !strings.Contains(u.Note, "UNKNOWN") || u.CheckIn <= 0 {
			t.Fatalf("%+v", u)
		}
		e.apply(p, u)
		if u := e.status(p); u.Status != "" || u.CheckIn <= 0 {
			t.Fatalf("asked again while unknown: %+v", u)
		}
	})

	t.Run("the note names an unlisted result or none", func(t *testing.T) {
		for result, want := range map[int]string{-1: "no result", 9: "RESULT_9"} {
			e := newEnv(t)
			p := e.started(1000)
			r := intRef(result)
			if result < 0 {
				r = nil
			}
			if err := e.sim.Complete(p.ID, r, sim.ApprovedRecord); err != nil {
				t.Fatal(err)
			}
			if u := e.status(p); u.Status != tender.StatusCaptured || !strings.Contains(u.Note, want) || (result == 9) != strings.HasPrefix(u.Discrepancy, "the terminal reported RESULT_9") {
				t.Fatalf("result %v: %+v, want a note naming %q", result, u, want)
			}
		}
	})

	t.Run("two discrepancies are both told", func(t *testing.T) {
		e := newEnv(t)
		p := e.started(1000)
		if err := e.sim.HostAmount(p.ID, 900); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.Complete(p.ID, intRef(epay.ResultFailed), sim.ApprovedRecord); err != nil {
			t.Fatal(err)
		}
		u := e.status(p)
		if u.Status != tender.StatusCaptured || u.Captured != 900 || !strings.HasPrefix(u.Discrepancy, "the terminal approved EUR 9.00") ||
			!strings.Contains(u.Discrepancy, "; the terminal reported FAILED but ePay's host record shows the sale approved") {
			t.Fatalf("%+v", u)
		}
	})

	t.Run("a receipt for what the cardholder saw", func(t *testing.T) {
		for result, receipt := range map[int]bool{epay.ResultDeclined: true, epay.ResultCancelled: true, epay.ResultBusy: false, epay.ResultFailed: false} {
			e := newEnv(t)
			p := e.started(1000)
			if err := e.sim.Complete(p.ID, intRef(result), sim.NoRecord); err != nil {
				t.Fatal(err)
			}
			if u := e.status(p); (u.Receipt != nil) != receipt {
				t.Fatalf("result %d: receipt %v, want %v", result, u.Receipt != nil, receipt)
			}
		}
	})

	t.Run("the host record's amount is what was taken", func(t *testing.T) {
		e := newEnv(t)
		p := e.started(1000)
		if err := e.sim.HostAmount(p.ID, 900); err != nil {
			t.Fatal(err)
		}
		e.sim.Press(testTID)
		e.settle(p)
		if p.Status != tender.StatusCaptured || p.Details[epay.DetailMyDATAAmount] != "9.00" {
			t.Fatalf("%s %v", p.Status, p.Details)
		}
		var u tender.Update
		p.Status = tender.StatusProcessing
		u = e.status(p)
		if u.Captured != 900 || !strings.Contains(u.Discrepancy, "EUR 9.00") {
			t.Fatalf("a host record of 9.00 for 10.00: captured %d, discrepancy %q", u.Captured, u.Discrepancy)
		}
	})

	t.Run("a host record without its amount", func(t *testing.T) {
		e := newEnv(t)
		p := e.started(1000)
		if err := e.sim.HostAmount(p.ID, 0); err != nil {
			t.Fatal(err)
		}
		e.sim.Press(testTID)
		e.settle(p)
		p.Status = tender.StatusProcessing
		if u := e.status(p); u.Status != tender.StatusCaptured || u.Captured != 0 || u.Discrepancy != "" || u.Details[epay.DetailMyDATAAmount] != "10.00" {
			t.Fatalf("a record of no amount read as 0 taken: %+v", u)
		}
	})

	t.Run("a pre-authorization of another amount", func(t *testing.T) {
		e := newEnv(t)
		p := e.payment(3000)
		p.CaptureMode = tender.CaptureManual
		if err := e.start(p); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.TakeAmount(p.ID, 2900, 0); err != nil {
			t.Fatal(err)
		}
		e.sim.Press(testTID)
		u := e.status(p)
		for i := 0; u.Status == "" || u.Status == tender.StatusProcessing; i++ {
			if i > 20 {
				t.Fatalf("never decided: %+v", u)
			}
			e.clock.Advance(10 * time.Second)
			u = e.status(p)
		}
		if u.Status != tender.StatusAuthorized || !strings.Contains(u.Discrepancy, "pre-authorized EUR 29.00") {
			t.Fatalf("%+v", u)
		}
	})

	t.Run("a tipped sale whose state holds no signed payable", func(t *testing.T) {
		e := newEnv(t)
		p := e.tipped(1000, 150)
		if err := e.start(p); err != nil {
			t.Fatal(err)
		}
		e.dropState(p, "payable")
		e.sim.Press(testTID)
		e.settle(p)
		if p.Status != tender.StatusCaptured || p.Details[epay.DetailMyDATAAmount] != "10.00" || p.Details[epay.DetailMyDATATip] != "1.50" {
			t.Fatalf("%s %v", p.Status, p.Details)
		}
		p.Status = tender.StatusProcessing
		if u := e.status(p); u.Discrepancy != "" || u.Captured != 0 {
			t.Fatalf("the payment's own amount read as another: %+v", u)
		}
	})
}

// A tip other than the one the POS asked for is told with both.
func TestOtherTipThanAsked(t *testing.T) {
	e := newEnv(t)
	p := e.tipped(1000, 150)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.TakeAmount(p.ID, 0, 300); err != nil {
		t.Fatal(err)
	}
	e.sim.Press(testTID)
	e.settle(p)
	p.Status = tender.StatusProcessing
	u, err := e.conn.Status(context.Background(), e.op(p))
	if err != nil || u.Captured != 1300 || !strings.Contains(u.Discrepancy, "plus a tip of EUR 3.00 (asked: EUR 1.50)") {
		t.Fatalf("%+v %v", u, err)
	}
}
