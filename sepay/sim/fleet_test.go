package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/sepay"
)

func TestBulkTerminalsTakePayments(t *testing.T) {
	s, srv := setup(t, Options{})
	// An unregistered SID is refused (07) until the bulk call links it.
	c := client(srv, intKey)
	res, err := c.StartTransaction(context.Background(), "20000500", "ref-before", "", 1050, "")
	if err != nil || res.Status() != sepay.StatusNotEnabled {
		t.Fatalf("unregistered SID: %v %v", res, err)
	}
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"login": "shop", "first": 20000001, "count": 1000}`, 204},
		{`{"login": "shop", "sids": ["A-1", "A-2"]}`, 204},
		{`{"login": "nobody", "first": 30000001, "count": 2}`, 400},
		{`{"login": "shop", "first": 99999999, "count": 2}`, 400},
		{`{"login": "shop", "count": 0}`, 400},
		{`{"login": "shop", "sids": ["B-1"], "count": 3, "first": 20000001}`, 400},
		{`{"first": 20000001, "count": 2}`, 400},
	} {
		resp, err := http.Post(srv.URL+"/_sim/terminals", "application/json", bytes.NewReader([]byte(tc.body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.body, resp.StatusCode, tc.want)
		}
	}
	for _, sid := range []string{"20000001", "20000500", "20001000", "A-2"} {
		res, err := c.StartTransaction(context.Background(), sid, "ref-"+sid, "", 1050, "")
		if err != nil || res.Status() != sepay.StatusOK {
			t.Fatalf("StartTransaction on %s: %v %v", sid, res, err)
		}
	}
	if res, err := c.StartTransaction(context.Background(), "20001001", "ref-past", "", 1050, ""); err != nil || res.Status() != sepay.StatusNotEnabled {
		t.Fatalf("SID past the bulk range: %v %v", res, err)
	}
	// Every request's signature was checked and every answer signed.
	st := s.Stats()
	if st.Requests["StartTransaction"] != 6 || st.Checked != 6 || st.Signed != 6 {
		t.Fatalf("stats %+v, want 6 requests checked and signed", st)
	}
	resp, err := http.Get(srv.URL + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got Stats
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || got.Signed != 6 {
		t.Fatalf("GET /_sim/stats: %+v %v", got, err)
	}
}

func TestSandboxFleet(t *testing.T) {
	dir := t.TempDir()
	sb, err := Sandbox(tender.SandboxOptions{BaseURL: "http://sim.invalid", DataDir: dir, Terminals: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if len(sb.Terminals) != 300 {
		t.Fatalf("%d terminals, want 300", len(sb.Terminals))
	}
	first, last := sb.Terminals[0], sb.Terminals[299]
	if first.ID != "sepay-term-1" || first.ProviderID != SandboxSID1 || sb.Terminals[1].ProviderID != SandboxSID2 ||
		last.ID != "sepay-term-300" || last.ProviderID != "10000300" {
		t.Fatalf("terminals %+v … %+v", first, last)
	}
	if _, err := Sandbox(tender.SandboxOptions{BaseURL: "http://sim.invalid", Terminals: MaxTerminals + 1}); err == nil {
		t.Fatal("a sandbox of more than MaxTerminals terminals was made")
	}
	def, err := Sandbox(tender.SandboxOptions{BaseURL: "http://sim.invalid", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	if len(def.Terminals) != 2 {
		t.Fatalf("default sandbox has %d terminals, want 2", len(def.Terminals))
	}
}
