package sqldb

import (
	"strconv"
	"testing"
)

func TestRebind(t *testing.T) {
	pg := &Dialect{Numbered: true}
	for range 2 { // made, then kept
		if got, want := pg.Rebind(`SELECT a FROM t WHERE b = ? AND c = 'é' AND d IN (?, ?)`), `SELECT a FROM t WHERE b = $1 AND c = 'é' AND d IN ($2, $3)`; got != want {
			t.Errorf("Rebind = %q, want %q", got, want)
		}
	}
	if got := (&Dialect{}).Rebind(`x = ?`); got != `x = ?` {
		t.Errorf("SQLite Rebind = %q, want it unchanged", got)
	}
	// Past maxRebound queries are still rebound, only not kept.
	for i := range maxRebound + 10 {
		q := `x = ? -- ` + strconv.Itoa(i)
		if got := pg.Rebind(q); got != `x = $1 -- `+strconv.Itoa(i) {
			t.Fatalf("Rebind(%q) = %q", q, got)
		}
	}
}
