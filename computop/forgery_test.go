package computop_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
	"github.com/tenderpay/tender/computop/sim"
)

// send delivers Len/Data to a callback path, by POST (notify) or GET
// (browser), and returns the HTTP status.
func (h *harness) send(path string, vs url.Values, post bool) int {
	h.t.Helper()
	u := h.tender.URL + "/callbacks/computop/" + h.acct.ID + "/" + path
	var resp *http.Response
	var err error
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if post {
		resp, err = client.PostForm(u, vs)
	} else {
		resp, err = client.Get(u + "?" + vs.Encode())
	}
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// forge builds a result sealed with the test merchant's real keys.
func forge(t *testing.T, fields [][2]string) url.Values {
	t.Helper()
	c, _ := computop.NewCipher(computop.Blowfish, []byte(testBF))
	m := &computop.Merchant{ID: testMID, Cipher: c, HMACKey: []byte(testHMAC)}
	var ps computop.Params
	for _, f := range fields {
		ps.Add(f[0], f[1])
	}
	vs, err := m.Seal(ps)
	if err != nil {
		t.Fatal(err)
	}
	vs.Del("MerchantID")
	return vs
}

func result(payID, transID, status, code, userData string) [][2]string {
	mac := computop.ResultMAC([]byte(testHMAC), payID, transID, testMID, status, code)
	return [][2]string{{"mid", testMID}, {"PayID", payID}, {"XID", strings.Repeat("0", 32)}, {"TransID", transID},
		{"Status", status}, {"Description", "x"}, {"Code", code}, {"MAC", mac}, {"UserData", userData}}
}

func TestForgeriesRejected(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	// A declined payment gives the attacker real failure Data.
	failed := h.start(1051, tender.CaptureAutomatic)
	h.shopper(failed, "approve")
	failedData := h.sim.ResultData(h.ledger(failed.ID).PayID)

	// An approved payment gives real success Data.
	paid := h.start(1999, tender.CaptureAutomatic)
	h.shopper(paid, "approve")
	paidEntry := h.ledger(paid.ID)
	paidData := h.sim.ResultData(paidEntry.PayID)
	paidUserData := strings.Split(userDataOf(t, paidData), ".")

	// An open payment of another amount is the target.
	open := h.start(5000, tender.CaptureAutomatic)

	snapshot := func() map[string]string {
		out := map[string]string{}
		for _, id := range []string{failed.ID, paid.ID, open.ID} {
			p := h.get(id)
			out[id] = string(p.Status) + "|" + string(p.State)
		}
		return out
	}
	before := snapshot()
	ledgerBefore := len(h.sim.Ledger())

	tamper := func(vs url.Values) url.Values {
		d := []byte(vs.Get("Data"))
		if d[10] == 'A' {
			d[10] = 'B'
		} else {
			d[10] = 'A'
		}
		return url.Values{"Len": {vs.Get("Len")}, "Data": {string(d)}}
	}
	for _, tc := range []struct {
		name string
		path string
		vs   url.Values
		post bool
	}{
		{"failure Data copied to URLSuccess", "success", failedData, false},
		{"success Data copied to URLFailure", "failure", paidData, false},
		{"tampered Data to notify", "notify", tamper(paidData), true},
		{"bad MAC", "notify", forge(t, append(result(paidEntry.PayID, paid.ID, "OK", "00000000", userDataOf(t, paidData))[:7], [2]string{"MAC", strings.Repeat("A", 64)}, [2]string{"UserData", userDataOf(t, paidData)})), true},
		{"result for another amount (UserData of 1999 on the 5000 payment)", "notify",
			forge(t, result(paidEntry.PayID, open.ID, "OK", "00000000", userDataOf(t, paidData))), true},
		{"result with forged UserData", "notify",
			forge(t, result(strings.Repeat("1", 32), open.ID, "OK", "00000000", "5000.EUR."+paidUserData[2])), true},
		{"unknown TransID", "notify", forge(t, result(paidEntry.PayID, "pay00000000000000000000", "OK", "00000000", "x")), true},
		{"failure after success for the same PayID", "notify",
			forge(t, result(paidEntry.PayID, paid.ID, "FAILED", "22060200", userDataOf(t, paidData))), true},
		{"another PayID for the paid payment", "notify",
			forge(t, result(strings.Repeat("2", 32), paid.ID, "OK", "00000000", userDataOf(t, paidData))), true},
		{"unencrypted result", "success", url.Values{"mid": {testMID}, "PayID": {paidEntry.PayID}, "TransID": {paid.ID}, "Status": {"OK"}, "Code": {"00000000"}}, false},
		{"Len too large", "notify", url.Values{"Len": {strconv.Itoa(mustAtoi(paidData.Get("Len")) + 5)}, "Data": {paidData.Get("Data")}}, true},
		{"unknown path", "refund", paidData, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := h.send(tc.path, tc.vs, tc.post); code < 400 {
				t.Fatalf("accepted with HTTP %d", code)
			}
		})
	}
	after := snapshot()
	for id, s := range before {
		if after[id] != s {
			t.Errorf("payment %s changed: %s -> %s", id, s, after[id])
		}
	}
	if len(h.sim.Ledger()) != ledgerBefore {
		t.Error("ledger changed")
	}

	// Replays of genuine results change nothing and are acknowledged.
	if code := h.send("notify", paidData, true); code != 200 {
		t.Errorf("replayed notify: %d", code)
	}
	if code := h.send("success", paidData, false); code != http.StatusSeeOther {
		t.Errorf("replayed success landing: %d", code)
	}
	if !h.sim.Notify(paidEntry.PayID) {
		t.Error("duplicate notify not acknowledged")
	}
	if code := h.send("notify", failedData, false); code != 200 { // notify by GET too
		t.Errorf("replayed failure notify: %d", code)
	}
	if after := snapshot(); after[paid.ID] != before[paid.ID] || after[failed.ID] != before[failed.ID] {
		t.Error("a replay changed a payment")
	}
	if got := h.get(open.ID).Status; got != tender.StatusRequiresAction {
		t.Errorf("open payment is %s", got)
	}
}

func userDataOf(t *testing.T, vs url.Values) string {
	c, _ := computop.NewCipher(computop.Blowfish, []byte(testBF))
	m := &computop.Merchant{ID: testMID, Cipher: c, HMACKey: []byte(testHMAC)}
	ps, err := m.Open(vs)
	if err != nil {
		t.Fatal(err)
	}
	return ps.Get("UserData")
}

func mustAtoi(s string) int { n, _ := strconv.Atoi(s); return n }

// The browser arriving before the notify: the landing applies the verified
// result; the later notify only marks it notified.
func TestLandingBeforeNotify(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(4200, tender.CaptureManual)
	// The shop's notify endpoint is down at first: Paygate retries later.
	var down atomic.Bool
	down.Store(true)
	orig := h.tender.Config.Handler
	h.tender.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() && strings.HasSuffix(r.URL.Path, "/notify") {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		orig.ServeHTTP(w, r)
	})
	h.shopper(p, "approve")
	got := h.get(p.ID)
	if got.Status != tender.StatusAuthorized || state(t, got)["notified"] == true {
		t.Fatalf("after landing: %s %v", got.Status, state(t, got))
	}
	if _, err := h.conn.Capture(context.Background(), h.op(got, "early", 100)); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Fatalf("capture before notify: %v", err)
	}
	down.Store(false)
	if !h.sim.Notify(h.ledger(p.ID).PayID) {
		t.Fatal("notify not acknowledged")
	}
	got = h.get(p.ID)
	if got.Status != tender.StatusAuthorized || state(t, got)["notified"] != true {
		t.Fatalf("after notify: %s %v", got.Status, state(t, got))
	}
	if _, err := h.conn.Capture(context.Background(), h.op(got, "now", 100)); err != nil {
		t.Fatalf("capture after notify: %v", err)
	}
}
