package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

func testAPIKeys(t *testing.T, s tender.Store) {
	ctx := context.Background()
	k := &tender.APIKey{ID: "key_1", Name: "till 1", Hash: "ab12", Prefix: "sk_test_ab", CreatedAt: base}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	got, err := s.APIKeyByHash(ctx, "ab12")
	if err != nil {
		t.Fatalf("APIKeyByHash: %v", err)
	}
	diff(t, "API key", &tender.APIKey{ID: "key_1", Name: "till 1", Hash: "ab12", Prefix: "sk_test_ab",
		Scope: tender.ScopePlatform, Merchant: tender.DefaultMerchant, CreatedAt: at(0)}, got)
	_, err = s.APIKeyByHash(ctx, "ffff")
	wantCode(t, "APIKeyByHash(unknown)", err, tender.ENotFound)
	if e := tender.AsError(err); e != nil && strings.Contains(e.Message, "ffff") {
		t.Errorf("not-found message %q echoes the hash", e.Message)
	}
	wantCode(t, "CreateAPIKey(same id)", s.CreateAPIKey(ctx, &tender.APIKey{ID: "key_1", Hash: "cd34"}), tender.EConflict)
	wantCode(t, "CreateAPIKey(same hash)", s.CreateAPIKey(ctx, &tender.APIKey{ID: "key_2", Hash: "ab12"}), tender.EConflict)
}

func testAccounts(t *testing.T, s tender.Store) {
	ctx := context.Background()
	a := &tender.Account{
		ID: "computop-live", Connector: "computop", Environment: tender.EnvLive, Default: true,
		Settings:    map[string]string{"merchant_id": "M1", "base_url": "https://www.computop-paygate.com"},
		Credentials: map[string]string{"hmac_key": "SECRET-HMAC", "blowfish_key": "SECRET-BF"},
		Sealed:      []byte{0x00, 0x01, 0xfe, 0xff, 'x'},
		CreatedAt:   base,
	}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	want := &tender.Account{ID: "computop-live", Merchant: tender.DefaultMerchant, Connector: "computop", Environment: tender.EnvLive, Default: true,
		Settings:  map[string]string{"merchant_id": "M1", "base_url": "https://www.computop-paygate.com"},
		Sealed:    []byte{0x00, 0x01, 0xfe, 0xff, 'x'},
		CreatedAt: at(0)}
	got, err := s.GetAccount(ctx, a.ID)
	if err != nil {
		t.Fatalf("GetAccount: %v", err)
	}
	// Only the sealed form is stored: Credentials come back nil.
	diff(t, "GetAccount", want, got)
	got, err = s.DefaultAccount(ctx, "", "computop")
	if err != nil {
		t.Fatalf("DefaultAccount: %v", err)
	}
	diff(t, "DefaultAccount", want, got)

	_, err = s.GetAccount(ctx, "missing")
	wantCode(t, "GetAccount(missing)", err, tender.ENotFound)
	_, err = s.DefaultAccount(ctx, "", "sepay")
	wantCode(t, "DefaultAccount(no accounts)", err, tender.ENotFound)

	// A non-default account is never the default.
	if err := s.CreateAccount(ctx, &tender.Account{ID: "sepay-1", Connector: "sepay", Environment: tender.EnvSandbox}); err != nil {
		t.Fatal(err)
	}
	_, err = s.DefaultAccount(ctx, "", "sepay")
	wantCode(t, "DefaultAccount(only non-default)", err, tender.ENotFound)
	got, err = s.GetAccount(ctx, "sepay-1")
	if err != nil || got.Settings != nil || got.Sealed != nil || got.Credentials != nil {
		t.Errorf("minimal account = %+v, %v; want nil settings and sealed", got, err)
	}

	dup := *a
	dup.Default = false
	dup.Environment = tender.EnvSandbox
	wantCode(t, "CreateAccount(same id)", s.CreateAccount(ctx, &dup), tender.EConflict)
	if got, _ := s.GetAccount(ctx, a.ID); got == nil || got.Environment != tender.EnvLive {
		t.Errorf("duplicate create changed the account: %+v", got)
	}
	// One default per connector, so DefaultAccount is never ambiguous.
	second := &tender.Account{ID: "computop-2", Connector: "computop", Default: true}
	wantCode(t, "CreateAccount(second default)", s.CreateAccount(ctx, second), tender.EConflict)

	// Updating settings and credentials keeps the id, connector,
	// environment and creation time.
	second.Default = false
	if err := s.CreateAccount(ctx, second); err != nil {
		t.Fatal(err)
	}
	upd := &tender.Account{ID: a.ID, Connector: "ignored", Environment: tender.EnvSandbox, Default: true,
		Settings: map[string]string{"merchant_id": "M2"}, Sealed: []byte("resealed"), CreatedAt: base.Add(time.Hour)}
	if err := s.UpdateAccount(ctx, upd, nil); err != nil {
		t.Fatalf("UpdateAccount: %v", err)
	}
	got, _ = s.GetAccount(ctx, a.ID)
	diff(t, "updated account", &tender.Account{ID: "computop-live", Merchant: tender.DefaultMerchant, Connector: "computop", Environment: tender.EnvLive, Default: true,
		Settings: map[string]string{"merchant_id": "M2"}, Sealed: []byte("resealed"), CreatedAt: at(0)}, got)
	// Making another account the default moves the flag in one step.
	upd2, _ := s.GetAccount(ctx, "computop-2")
	upd2.Default = true
	if err := s.UpdateAccount(ctx, upd2, nil); err != nil {
		t.Fatalf("UpdateAccount(new default): %v", err)
	}
	if d, err := s.DefaultAccount(ctx, "", "computop"); err != nil || d.ID != "computop-2" {
		t.Errorf("default after the switch = %+v, %v; want computop-2", d, err)
	}
	if old, _ := s.GetAccount(ctx, a.ID); old == nil || old.Default {
		t.Errorf("the previous default kept its flag: %+v", old)
	}
	wantCode(t, "UpdateAccount(missing)", s.UpdateAccount(ctx, &tender.Account{ID: "missing"}, nil), tender.ENotFound)
	// An update made from a copy read before another writer's is refused.
	stale := &tender.Account{ID: a.ID, Settings: map[string]string{"lost": "yes"}, Sealed: []byte("late")}
	if err := s.UpdateAccount(ctx, stale, []byte("not what is stored")); err != tender.ErrStale {
		t.Fatalf("UpdateAccount over a stale copy: %v, want ErrStale", err)
	}
	if got, _ := s.GetAccount(ctx, a.ID); got.Settings["lost"] != "" {
		t.Fatalf("a stale update was stored: %v", got.Settings)
	}
	cur, _ := s.GetAccount(ctx, a.ID)
	if err := s.UpdateAccount(ctx, &tender.Account{ID: a.ID, Default: cur.Default, Settings: cur.Settings, Sealed: []byte("next")}, cur.Sealed); err != nil {
		t.Fatalf("UpdateAccount over the current copy: %v", err)
	}
}

func testAccountsList(t *testing.T, s tender.Store) {
	ctx := context.Background()
	var wantAll, wantSepay []string
	for i := range 7 {
		conn := "sepay"
		if i%2 == 1 {
			conn = "epay"
		}
		id := fmt.Sprintf("acct-%02d", 7-i) // created out of id order
		if err := s.CreateAccount(ctx, &tender.Account{ID: id, Connector: conn, CreatedAt: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if conn == "sepay" {
			wantSepay = append([]string{id}, wantSepay...)
		}
		wantAll = append([]string{id}, wantAll...)
	}
	for _, tc := range []struct {
		connector string
		want      []string
	}{{"", wantAll}, {"sepay", wantSepay}, {"nobody", nil}} {
		var got []string
		var mores []bool
		f := tender.ListFilter{Limit: 3, Connector: tc.connector}
		for range 10 {
			as, more, err := s.ListAccounts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				got = append(got, a.ID)
			}
			mores = append(mores, more)
			if !more {
				break
			}
			f.StartingAfter = as[len(as)-1].ID
		}
		diff(t, "accounts of "+tc.connector+" in id order", tc.want, got)
		if tc.connector == "" {
			diff(t, "has more", []bool{true, true, false}, mores)
		}
	}
}

func testTerminals(t *testing.T, s tender.Store) {
	ctx := context.Background()
	term := &tender.Terminal{
		ID: "till-1", Connector: "epay", Account: "epay-live", ProviderID: "TID123", Label: "Front desk",
		Settings:    map[string]string{"model": "A920"},
		Credentials: map[string]string{"api_key": "SECRET"},
		Sealed:      []byte("sealed-bytes"),
		CreatedAt:   base,
	}
	if err := s.CreateTerminal(ctx, term); err != nil {
		t.Fatalf("CreateTerminal: %v", err)
	}
	got, err := s.GetTerminal(ctx, "till-1")
	if err != nil {
		t.Fatalf("GetTerminal: %v", err)
	}
	diff(t, "GetTerminal (no Credentials)", &tender.Terminal{
		ID: "till-1", Merchant: tender.DefaultMerchant, Connector: "epay", Account: "epay-live", ProviderID: "TID123", Label: "Front desk",
		Settings: map[string]string{"model": "A920"}, Sealed: []byte("sealed-bytes"), CreatedAt: at(0),
	}, got)
	_, err = s.GetTerminal(ctx, "missing")
	wantCode(t, "GetTerminal(missing)", err, tender.ENotFound)
	upd := &tender.Terminal{ID: "till-1", Connector: "ignored", Account: "ignored", ProviderID: "ignored", Label: "Back office",
		Settings: map[string]string{"model": "A77"}, Sealed: []byte("resealed")}
	if err := s.UpdateTerminal(ctx, upd, nil); err != nil {
		t.Fatalf("UpdateTerminal: %v", err)
	}
	got, _ = s.GetTerminal(ctx, "till-1")
	diff(t, "updated terminal", &tender.Terminal{
		ID: "till-1", Merchant: tender.DefaultMerchant, Connector: "epay", Account: "epay-live", ProviderID: "TID123", Label: "Back office",
		Settings: map[string]string{"model": "A77"}, Sealed: []byte("resealed"), CreatedAt: at(0),
	}, got)
	wantCode(t, "UpdateTerminal(missing)", s.UpdateTerminal(ctx, &tender.Terminal{ID: "missing"}, nil), tender.ENotFound)
	if err := s.UpdateTerminal(ctx, &tender.Terminal{ID: upd.ID, Label: "late", Sealed: []byte("late")}, []byte("not what is stored")); err != tender.ErrStale {
		t.Fatalf("UpdateTerminal over a stale copy: %v, want ErrStale", err)
	}
	wantCode(t, "CreateTerminal(same id)", s.CreateTerminal(ctx, &tender.Terminal{ID: "till-1", Connector: "sepay"}), tender.EConflict)

	for _, id := range []string{"till-4", "till-2", "till-3", "till-5"} {
		conn := "sepay"
		if id == "till-3" {
			conn = "epay"
		}
		if err := s.CreateTerminal(ctx, &tender.Terminal{ID: id, Connector: conn, Account: conn + "-1"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		connector string
		want      []string
	}{
		{"", []string{"till-1", "till-2", "till-3", "till-4", "till-5"}},
		{"epay", []string{"till-1", "till-3"}},
	} {
		var got []string
		f := tender.ListFilter{Limit: 2, Connector: tc.connector}
		for range 10 {
			ts, more, err := s.ListTerminals(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range ts {
				got = append(got, x.ID)
			}
			if !more {
				break
			}
			f.StartingAfter = ts[len(ts)-1].ID
		}
		diff(t, "terminals of "+tc.connector, tc.want, got)
	}
}
