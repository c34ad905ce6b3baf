package api_test

import (
	"net/http"
	"testing"
)

// TestOnlyTheBearerSchemeAuthenticates: RFC 7235 makes the scheme name
// case-insensitive, so "bearer" works as "Bearer" does; any other scheme,
// or a key sent bare, is refused even when the key itself is right.
func TestOnlyTheBearerSchemeAuthenticates(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"Bearer", "Bearer " + e.key, 200},
		{"lower case scheme", "bearer " + e.key, 200},
		{"upper case scheme", "BEARER " + e.key, 200},
		{"Basic", "Basic " + e.key, 401},
		{"Token", "Token " + e.key, 401},
		{"bare key", e.key, 401},
		{"scheme without key", "Bearer", 401},
		{"scheme and space", "Bearer ", 401},
		{"scheme glued to key", "Bearer" + e.key, 401},
		{"wrong key", "Bearer tender_sk_wrong", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL+"/v1/payments", nil)
			req.Header.Set("Authorization", tt.header)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("Authorization: %q answered %d, want %d", tt.header, res.StatusCode, tt.want)
			}
			if tt.want == 401 && res.Header.Get("WWW-Authenticate") == "" {
				t.Error("a 401 without WWW-Authenticate")
			}
		})
	}
}
