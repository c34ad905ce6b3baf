package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderpay/tender/epay/sim"
)

// Notes §5.6: Mellon's published test key and vector.
const (
	mellonKey = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpzk6G8Y2bV3n539vK/+y7n4wZjD5
fmhCXuTSxo+bg8t4NEqy8WHWzF9SmHC7HnarnJ8p3gukw8Noxmavs7hPSw==
-----END PUBLIC KEY-----`
	mellonClear = "D4F6A5F5C6123658F78369E5191ED5C9D73CB7AC;400013293980417;20240510164340;100;24;124;124;99000031"
	mellonSig   = "MEUCIFGcSZGGUTUXsHhq08mrdlWBRRUmAEpoT3u3ulHlGg7eAiEA/30uTF/DZj5qfz4DwoJf04Hajd+PkRmAu8ubXO7xs/E="
)

func TestEpayVerifySignature(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(file, []byte(mellonKey), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{mellonKey, file} {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"epay", "verify-signature", "--pubkey", key, "--input", mellonClear, "--signature", mellonSig}, nil, &out, &errb)
		if err != nil || strings.TrimSpace(out.String()) != "valid" {
			t.Fatalf("valid vector: %v %q", err, out.String())
		}
	}
	noMark := strings.Replace(mellonClear, "400013293980417", "", 1)
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"epay", "verify-signature", "--pubkey", mellonKey, "--input", noMark, "--signature", mellonSig}, nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "does not match") || out.Len() != 0 {
		t.Fatalf("MARK removed: %v %q", err, out.String())
	}
	err = run(context.Background(), []string{"epay", "verify-signature", "--pubkey", mellonKey, "--input", "a;b", "--signature", mellonSig}, nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "8") {
		t.Fatalf("malformed input: %v", err)
	}
}

func TestEpayAPIKey(t *testing.T) {
	s, err := sim.New(sim.Options{Users: map[string]string{"u": "p"}, Terminals: []sim.TerminalConfig{{TID: "12345678", ID: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	code, _ := s.ShowOTP("12345678")
	args := []string{"epay", "apikey", "--user", "u", "--password", "p", "--otp", code, "--test", "--url", srv.URL + "/webecr"}
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if key := strings.TrimSpace(out.String()); len(key) != 22 {
		t.Fatalf("api key %q", key)
	}
	// The code is good once.
	out.Reset()
	if err := run(context.Background(), args, nil, &out, &errb); err == nil || !strings.Contains(err.Error(), "already used") || out.Len() != 0 {
		t.Fatalf("second redeem: %v", err)
	}
	bad := []string{"epay", "apikey", "--user", "u", "--password", "wrong", "--otp", code, "--url", srv.URL + "/webecr"}
	if err := run(context.Background(), bad, nil, &out, &errb); err == nil || !strings.Contains(err.Error(), "user and password") {
		t.Fatalf("bad password: %v", err)
	}
	if err := run(context.Background(), []string{"epay", "apikey", "--user", "u", "--password", "p", "--otp", "1", "--test"}, nil, &out, &errb); err == nil {
		t.Fatal("--test without --url must fail")
	}
}
