package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
)

func TestBulkTerminalsTakePayments(t *testing.T) {
	s, srv, c, wc := setup(t)
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"first": 99001000, "count": 0}`, 400},
		{`{"first": 99999999, "count": 2}`, 400},
		{`{"first": 11111111, "count": 1}`, 400}, // exists
		{`{"count": 2}`, 400},
		{`not json`, 400},
	} {
		resp, err := http.Post(srv.URL+"/webecr/_sim/terminals", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.body, resp.StatusCode, tc.want)
		}
	}
	resp, err := http.Post(srv.URL+"/webecr/_sim/terminals", "application/json", strings.NewReader(`{"first": 99001000, "count": 500}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ Terminals []FleetTerminal }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 || len(got.Terminals) != 500 {
		t.Fatalf("HTTP %d, %d terminals, %v", resp.StatusCode, len(got.Terminals), err)
	}
	ctx := context.Background()
	for _, ft := range []FleetTerminal{got.Terminals[0], got.Terminals[499]} {
		// The key finds its own terminal, and pays on it.
		id, err := wc.ResolveTerminal(ctx, ft.APIKey, ft.TID)
		if err != nil || id != itoa(ft.ID) {
			t.Fatalf("resolve %s: %q %v", ft.TID, id, err)
		}
		req := signed(t, s, c.Now(), ft.TID, 1240)
		req.CustomerReference = "fleet-" + ft.TID
		in, err := wc.TxnInit(ctx, ft.APIKey, id, req)
		if err != nil || in.Status != epay.StatusPending {
			t.Fatalf("txninit on %s: %+v %v", ft.TID, in, err)
		}
	}
	if got.Terminals[499].TID != "99001499" || got.Terminals[0].APIKey == got.Terminals[1].APIKey {
		t.Fatalf("terminals %+v … %+v", got.Terminals[0], got.Terminals[499])
	}
	// Another terminal's key does not reach it.
	if _, err := wc.TxnInit(ctx, got.Terminals[1].APIKey, itoa(got.Terminals[0].ID), signed(t, s, c.Now(), got.Terminals[0].TID, 1240)); err == nil {
		t.Fatal("a key paid on another terminal")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestSandboxFleetKeepsKeys(t *testing.T) {
	dir := t.TempDir()
	small, err := Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:1/sim/epay", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	small.Close()
	big, err := Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:1/sim/epay", DataDir: dir, Terminals: 250})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	if len(big.Terminals) != 250 || big.Terminals[249].ID != "epay-term-250" || big.Terminals[249].ProviderID != "99000250" {
		t.Fatalf("%d terminals, last %+v", len(big.Terminals), big.Terminals[len(big.Terminals)-1])
	}
	// The first two keep the keys the small sandbox stored; the rest are new and distinct.
	seen := map[string]bool{}
	for i, term := range big.Terminals {
		k := term.Credentials["api_key"]
		if k == "" || seen[k] {
			t.Fatalf("terminal %d: key %q empty or repeated", i+1, k)
		}
		seen[k] = true
	}
	for i := range 2 {
		if big.Terminals[i].Credentials["api_key"] != small.Terminals[i].Credentials["api_key"] {
			t.Fatalf("terminal %d's key changed when the sandbox grew", i+1)
		}
	}
	again, err := Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:1/sim/epay", DataDir: dir, Terminals: 250})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Terminals[249].Credentials["api_key"] != big.Terminals[249].Credentials["api_key"] {
		t.Fatal("a restart changed a fleet terminal's key")
	}
	// The simulator knows every key it handed out.
	srv := httptest.NewServer(again.Handler)
	defer srv.Close()
	wc := &epay.WebECRClient{BaseURL: srv.URL + "/webecr", User: SandboxUser, Password: SandboxPassword, HTTP: srv.Client()}
	if id, err := wc.ResolveTerminal(context.Background(), again.Terminals[249].Credentials["api_key"], "99000250"); err != nil || id != "358250" {
		t.Fatalf("resolve the 250th terminal: %q %v", id, err)
	}
}
