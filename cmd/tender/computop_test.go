package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runComputop(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"computop"}, args...), func(string) string { return "" }, &out, &errb)
	return out.String(), errb.String(), err
}

// Vectors of notes §11.1 C and §11.2 F2, F7.
func TestComputopCLI(t *testing.T) {
	out, _, err := runComputop(t, "mac", "--key", "ComputopSecretHmacKey!", "", "transId", "merchantId", "2330", "CHF")
	if err != nil || out != "4C4B41B2F0F5DE8C1A30006BFBADB0C1EBD2A320301FEB1EED785DE5BF6D506B\n" {
		t.Errorf("mac: %q %v", out, err)
	}
	out, errOut, err := runComputop(t, "encrypt", "--key", "16CharKeyLength!", "Unencrypted plain text!")
	if err != nil || out != "4105AAFDC6445BF2EB8242371136F488A4812B38A821E753\n" || errOut != "--len 23\n" {
		t.Errorf("encrypt: %q %q %v", out, errOut, err)
	}
	for _, args := range [][]string{
		{"decrypt", "--key", "16CharKeyLength!", "--len", "23", "4105AAFDC6445BF2EB8242371136F4886413347EEB8731B9"},
		{"decrypt", "--key", "16CharKeyLength!", "4105aafdc6445bf2eb8242371136f488a4812b38a821e753"},
		{"decrypt", "--key", "16CharKeyLength!", "4105aafdc6445bf2eb8242371136f4882d9c8c8193853e80"},
	} {
		out, _, err := runComputop(t, args...)
		if err != nil || out != "Unencrypted plain text!\n" {
			t.Errorf("%v: %q %v", args, out, err)
		}
	}
	const f7 = "FDBD140F18F97E9AEF1CA3D1699F77BD0B22775A74C4506D2FF115097586B3AF791B3AFE520194C12720990D5F9FA7772B2429D621AB0DA4521D6002138404D6"
	out, _, err = runComputop(t, "decrypt", "--key", "S1mulat0r-Bf-Key", "--len", "61", f7)
	if err != nil || out != "MerchantID=WeroTestShop&TransID=ORDER-10003&bdLastName=Müller\n" {
		t.Errorf("F7: %q %v", out, err)
	}
	// AES round trip.
	out, errOut, err = runComputop(t, "encrypt", "--aes", "--key", "S1mulat0r-AesKey", "a=b&c=d")
	if err != nil || !strings.Contains(out, "-") || errOut != "--len 7\n" {
		t.Fatalf("aes encrypt: %q %v", out, err)
	}
	if got, _, err := runComputop(t, "decrypt", "--aes", "--key", "S1mulat0r-AesKey", "--len", "7", strings.TrimSpace(out)); err != nil || got != "a=b&c=d\n" {
		t.Errorf("aes decrypt: %q %v", got, err)
	}
	for _, bad := range [][]string{
		{}, {"sign"}, {"mac", "--key", "k", "a"}, {"mac", "a", "b", "c", "d", "e"},
		{"encrypt", "text"}, {"decrypt", "--key", "k", "--len", "99", "00"},
		{"decrypt", "--key", "16CharKeyLength!", "--len", "30", "4105AAFDC6445BF2EB8242371136F4886413347EEB8731B9"},
	} {
		if _, _, err := runComputop(t, bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
