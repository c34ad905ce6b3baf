package api

import (
	"testing"
	"time"
)

// ?wait= is plain seconds or a Go duration.
func TestParseWait(t *testing.T) {
	for v, want := range map[string]time.Duration{"30": 30 * time.Second, "1": time.Second, "0": 0, "1500ms": 1500 * time.Millisecond, "2m": 2 * time.Minute} {
		if got, err := parseWait(v); err != nil || got != want {
			t.Errorf("parseWait(%q) = %v, %v; want %v", v, got, err, want)
		}
	}
	if _, err := parseWait("soon"); err == nil {
		t.Error(`parseWait("soon") accepted`)
	}
}
