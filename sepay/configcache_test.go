package sepay

import (
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// A cached configuration is the account's as it is now: a rotated key or
// a changed setting is parsed anew, never served from the cache.
func TestConfigCacheFollowsTheAccount(t *testing.T) {
	k1, _ := GenerateKey()
	k2, _ := GenerateKey()
	c1, _ := NewCertificate(k1, "one", time.Now())
	a := &tender.Account{Environment: tender.EnvSandbox, Settings: map[string]string{
		SettingBaseURL: "http://sepay.test/v2", SettingLogin: "shop", SettingCertificate: string(c1)},
		Credentials: map[string]string{CredentialPrivateKey: string(MarshalPrivateKey(k1))}}
	var cc configCache
	first, err := cc.get(a)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := cc.get(a); again != first {
		t.Fatal("the same account was parsed again")
	}
	rotated := *a
	rotated.Settings = map[string]string{SettingBaseURL: "http://sepay.test/v2", SettingLogin: "shop"}
	rotated.Credentials = map[string]string{CredentialPrivateKey: string(MarshalPrivateKey(k2))}
	got, err := cc.get(&rotated)
	if err != nil || !got.key.PublicKey.Equal(&k2.PublicKey) {
		t.Fatalf("after rotating the key: %v, key of the old one: %v", err, got != nil && got.key.PublicKey.Equal(&k1.PublicKey))
	}
	moved := rotated
	moved.Settings = map[string]string{SettingBaseURL: "http://elsewhere.test/v2", SettingLogin: "shop"}
	if got, _ := cc.get(&moved); got == nil || got.url == first.url {
		t.Fatalf("a changed base_url served the cached URL %v", got)
	}
	// An invalid account is refused, not cached.
	bad := moved
	bad.Credentials = map[string]string{}
	if _, err := cc.get(&bad); err == nil {
		t.Fatal("an account without a key was accepted")
	}
}
