package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPIKeyCommands creates, lists and revokes keys on the command line.
func TestAPIKeyCommands(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "t.db")
	env := func(string) string { return "" }
	cmd := func(args ...string) (string, string, error) {
		var out, errs bytes.Buffer
		err := run(context.Background(), append([]string{"apikey"}, args...), env, &out, &errs)
		return out.String(), errs.String(), err
	}
	// The database exists (apikey refuses to create an empty one).
	if err := run(context.Background(), []string{"migrate", "--db", db}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	platform, _, err := cmd("create", "--db", db, "--name", "ops")
	if err != nil {
		t.Fatal(err)
	}
	shop, msg, err := cmd("create", "--db", db, "--name", "shop", "--scope", "merchant", "--merchant", "mer_default")
	if err != nil || !strings.Contains(msg, "created merchant key") {
		t.Fatalf("create merchant key: %v %s", err, msg)
	}
	if _, _, err := cmd("create", "--db", db, "--scope", "terminal", "--merchant", "mer_default"); err == nil || !strings.Contains(err.Error(), "terminals") {
		t.Errorf("terminal key without terminals: %v", err)
	}
	if _, _, err := cmd("create", "--db", db, "--scope", "merchant", "--merchant", "mer_nobody"); err == nil || !strings.Contains(err.Error(), "mer_nobody") {
		t.Errorf("merchant key of an unknown merchant: %v", err)
	}
	list, _, err := cmd("list", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "LAST USED") {
		t.Fatalf("apikey list:\n%s", list)
	}
	for _, secret := range []string{platform, shop} {
		if strings.Contains(list, strings.TrimSpace(secret)) {
			t.Fatal("apikey list shows a secret")
		}
	}
	var shopID string
	for _, l := range lines[1:] {
		if strings.Contains(l, " shop ") {
			shopID = strings.Fields(l)[0]
			if !strings.Contains(l, "merchant") || !strings.Contains(l, "mer_default") {
				t.Errorf("merchant key listed as %q", l)
			}
		} else if !strings.Contains(l, "platform") || !strings.Contains(l, "(all)") {
			t.Errorf("platform key listed as %q", l)
		}
	}
	out, _, err := cmd("revoke", "--db", db, shopID)
	if err != nil || !strings.Contains(out, "revoked API key "+shopID) {
		t.Fatalf("revoke: %v %s", err, out)
	}
	list, _, _ = cmd("list", "--db", db, "--merchant", "mer_default")
	for _, l := range strings.Split(list, "\n") {
		if strings.HasPrefix(l, shopID) && strings.HasSuffix(strings.TrimSpace(l), "-") {
			t.Errorf("revoked key listed without its revocation: %q", l)
		}
	}
	if _, _, err := cmd("revoke", "--db", db, "key_missing"); err == nil {
		t.Error("revoking a missing key succeeded")
	}
}
