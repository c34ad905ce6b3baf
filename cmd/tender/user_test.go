package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/dashboard"
	"github.com/tenderpay/tender/sqlite"
)

// TestUserCreate: `tender user create` reads the password from stdin and
// stores only an Argon2id hash of it; a duplicate email and a short
// password are refused, as is an unknown merchant.
func TestUserCreate(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "tender.db")
	ctx := context.Background()
	create := func(password string, args ...string) (string, error) {
		var out, errs bytes.Buffer
		old := stdin
		stdin = strings.NewReader(password + "\n")
		defer func() { stdin = old }()
		err := run(ctx, append([]string{"user", "create", "--db", db}, args...), func(string) string { return "" }, &out, &errs)
		return out.String() + errs.String(), err
	}
	const pw = "a long enough password"
	if out, err := create(pw, "--email", "Ops@Example.com"); err != nil || !strings.Contains(out, "platform user ops@example.com") {
		t.Fatalf("create: %v %s", err, out)
	}
	if _, err := create(pw, "--email", "ops@example.com"); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Errorf("a second user with the email: %v, want a conflict", err)
	}
	if _, err := create("short", "--email", "x@example.com"); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Errorf("a short password: %v, want invalid", err)
	}
	if _, err := create(pw, "--email", "y@example.com", "--merchant", "mer_nope"); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Errorf("an unknown merchant: %v, want not found", err)
	}
	if out, err := create(pw, "--email", "shop@example.com", "--merchant", tender.DefaultMerchant); err != nil || !strings.Contains(out, "user of merchant "+tender.DefaultMerchant) {
		t.Fatalf("create a merchant user: %v %s", err, out)
	}
	s, err := sqlite.Open(ctx, strings.TrimPrefix(db, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.UserByEmail(ctx, "ops@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(u.PasswordHash, pw) || !strings.HasPrefix(u.PasswordHash, "$argon2id$") || !dashboard.CheckPassword(u.PasswordHash, pw) {
		t.Errorf("stored hash %q", u.PasswordHash)
	}
}
