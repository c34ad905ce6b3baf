package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tenderpay/tender"
)

// testUsers: dashboard users and sessions (tender.UserStore) round-trip,
// emails are unique, failures lock a user at the limit and start the count
// afresh, and sessions are found by hash, switched, deleted and purged.
func testUsers(t *testing.T, s tender.Store) {
	us, ok := s.(tender.UserStore)
	if !ok {
		t.Skip("the store keeps no dashboard users")
	}
	ctx := context.Background()
	u := &tender.User{ID: "usr_1", Email: "ann@example.com", PasswordHash: "$argon2id$x", CreatedAt: base}
	if err := us.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := us.CreateUser(ctx, &tender.User{ID: "usr_2", Email: "ann@example.com", PasswordHash: "h", CreatedAt: base}); tender.ErrorCodeOf(err) != tender.EConflict {
		t.Errorf("a second user with the email: %v, want EConflict", err)
	}
	got, err := us.UserByEmail(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := &tender.User{ID: "usr_1", Email: "ann@example.com", PasswordHash: "$argon2id$x", CreatedAt: at(0)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	if _, err := us.GetUser(ctx, "usr_nope"); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Errorf("missing user: %v", err)
	}
	for i := 1; i <= 3; i++ {
		got, err = us.RecordLoginFailure(ctx, "usr_1", 3, at(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if i < 3 && (got.FailedLogins != i || !got.LockedUntil.IsZero()) {
			t.Errorf("failure %d: count %d, locked until %v", i, got.FailedLogins, got.LockedUntil)
		}
	}
	if got.FailedLogins != 0 || !got.LockedUntil.Equal(at(time.Hour)) {
		t.Errorf("at the limit: count %d, locked until %v; want 0 and %v", got.FailedLogins, got.LockedUntil, at(time.Hour))
	}
	if err := us.SetUserPassword(ctx, "usr_1", "new"); err != nil {
		t.Fatal(err)
	}
	if got, _ = us.GetUser(ctx, "usr_1"); got.PasswordHash != "new" || !got.LockedUntil.IsZero() {
		t.Errorf("after a new password: %+v", got)
	}

	sess := &tender.Session{TokenHash: "h1", UserID: "usr_1", Merchant: tender.DefaultMerchant, CSRF: "c", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := us.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	old := &tender.Session{TokenHash: "h0", UserID: "usr_1", Merchant: tender.DefaultMerchant, CSRF: "c", CreatedAt: base.Add(-2 * time.Hour), ExpiresAt: base.Add(-time.Hour)}
	if err := us.CreateSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := us.SetSessionMerchant(ctx, "h1", "mer_b"); err != nil {
		t.Fatal(err)
	}
	gs, err := us.SessionByHash(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&tender.Session{TokenHash: "h1", UserID: "usr_1", Merchant: "mer_b", CSRF: "c", CreatedAt: at(0), ExpiresAt: at(time.Hour)}, gs); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	if n, err := us.PurgeSessions(ctx, base); err != nil || n != 1 {
		t.Errorf("purge: %d %v, want 1", n, err)
	}
	if err := us.DeleteSession(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"h0", "h1"} {
		if _, err := us.SessionByHash(ctx, h); tender.ErrorCodeOf(err) != tender.ENotFound {
			t.Errorf("session %s after purge or delete: %v", h, err)
		}
	}
}
