package dashboard

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
	"github.com/tenderpay/tender/seal"
	"github.com/tenderpay/tender/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fake is a connector that accepts every account and terminal and does
// nothing else.
type fake struct{}

func (fake) Name() string                                                             { return "fake" }
func (fake) ValidateAccount(*tender.Account) error                                    { return nil }
func (fake) ValidateTerminal(*tender.Terminal, *tender.Account) error                 { return nil }
func (fake) ValidatePayment(*tender.Payment, *tender.Account, *tender.Terminal) error { return nil }
func (fake) Start(context.Context, *tender.Op) (tender.Update, error)                 { return tender.Update{}, nil }
func (fake) Status(context.Context, *tender.Op) (tender.Update, error)                { return tender.Update{}, nil }
func (fake) Cancel(context.Context, *tender.Op) (tender.Update, error)                { return tender.Update{}, nil }
func (fake) Capture(context.Context, *tender.Op) (tender.Update, error)               { return tender.Update{}, nil }

// Refund refuses 9.99, as a provider without refunds does.
func (fake) Refund(_ context.Context, op *tender.Op) (tender.Update, error) {
	if op.Amount == 999 {
		return tender.Update{}, tender.Errorf(tender.ENotSupported, "fake has no refunds of 9.99")
	}
	return tender.Update{}, nil
}
func (fake) Callback(context.Context, *tender.Callback) (*tender.CallbackResult, error) {
	return nil, tender.Errorf(tender.EInvalid, "no callbacks")
}

type env struct {
	eng   *engine.Engine
	t     *testing.T
	srv   *httptest.Server
	store *sqlite.DB
	clock *clock
}

const testPassword = "correct horse battery"

func newEnv(t *testing.T, secure bool) *env {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tender.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	eng, err := engine.New(engine.Options{Store: store, Sealer: sealer, Connectors: []tender.Connector{fake{}}})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	e := &env{t: t, store: store, clock: c, eng: eng}
	e.srv = httptest.NewServer(New(eng, Options{Users: store, Clock: c, Secure: secure}))
	t.Cleanup(e.srv.Close)
	u, err := NewUser("Ann@Example.com", "", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return e
}

// client is a browser: it keeps cookies and does not follow redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) get(c *http.Client, path string) (*http.Response, string) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func (e *env) post(c *http.Client, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	resp, err := c.PostForm(e.srv.URL+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var fieldRE = regexp.MustCompile(`name="(token|csrf)" value="([^"]+)"`)

func field(t *testing.T, html, name string) string {
	t.Helper()
	for _, m := range fieldRE.FindAllStringSubmatch(html, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("no %s field in %s", name, html)
	return ""
}

// signIn signs in with password and returns the response.
func (e *env) signIn(c *http.Client, email, password string) *http.Response {
	e.t.Helper()
	_, page := e.get(c, "/dashboard/signin")
	resp, _ := e.post(c, "/dashboard/signin", url.Values{"token": {field(e.t, page, "token")}, "email": {email}, "password": {password}})
	return resp
}

func TestSignInCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t, secure)
		c := e.client()
		resp := e.signIn(c, "ann@example.com", testPassword)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/payments" {
			t.Fatalf("sign in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		var sess *http.Cookie
		for _, ck := range resp.Cookies() {
			if strings.HasSuffix(ck.Name, sessionCookie) && ck.Value != "" {
				sess = ck
			}
		}
		if sess == nil {
			t.Fatalf("no session cookie in %v", resp.Header["Set-Cookie"])
		}
		if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure != secure || sess.Path != "/" {
			t.Errorf("secure=%v: cookie %+v, want HttpOnly, SameSite=Strict, Secure=%v", secure, sess, secure)
		}
		if secure && sess.Name != "__Host-"+sessionCookie {
			t.Errorf("secure cookie named %s, want the __Host- prefix", sess.Name)
		}
		// Only the token's hash is stored.
		if _, err := e.store.SessionByHash(context.Background(), sess.Value); err == nil {
			t.Error("the cookie's token itself is stored")
		}
		if _, err := e.store.SessionByHash(context.Background(), tokenHash(sess.Value)); err != nil {
			t.Errorf("the token's hash is not stored: %v", err)
		}
	}
}

func TestSignInWrongPassword(t *testing.T) {
	e := newEnv(t, false)
	c := e.client()
	if resp := e.signIn(c, "ann@example.com", "wrong password!"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", resp.StatusCode)
	}
	if resp := e.signIn(c, "nobody@example.com", testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d, want 401", resp.StatusCode)
	}
	if resp, _ := e.get(c, "/dashboard/payments"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/signin" {
		t.Fatalf("payments without a session: %d %s, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLockout(t *testing.T) {
	e := newEnv(t, false)
	c := e.client()
	for i := range 5 {
		if resp := e.signIn(c, "ann@example.com", "guess"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
	}
	if resp := e.signIn(c, "ann@example.com", testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("right password while locked: %d, want 401", resp.StatusCode)
	}
	e.clock.add(14 * time.Minute)
	if resp := e.signIn(c, "ann@example.com", testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("right password after 14 min: %d, want 401", resp.StatusCode)
	}
	e.clock.add(2 * time.Minute)
	if resp := e.signIn(c, "ann@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("right password after the lockout: %d, want 303", resp.StatusCode)
	}
}

func TestSignOut(t *testing.T) {
	e := newEnv(t, false)
	c := e.client()
	e.signIn(c, "ann@example.com", testPassword)
	resp, page := e.get(c, "/dashboard/payments")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("payments: %d", resp.StatusCode)
	}
	u, _ := url.Parse(e.srv.URL)
	old := c.Jar.Cookies(u)
	resp, _ = e.post(c, "/dashboard/signout", url.Values{"csrf": {field(t, page, "csrf")}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	if resp, _ := e.get(c, "/dashboard/payments"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("payments after signing out: %d, want a redirect", resp.StatusCode)
	}
	// The old cookie, replayed, is dead too: the session is gone.
	c2 := e.client()
	c2.Jar.SetCookies(u, old)
	if resp, _ := e.get(c2, "/dashboard/payments"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("payments with the signed-out cookie: %d, want a redirect", resp.StatusCode)
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t, false)
	c := e.client()
	e.signIn(c, "ann@example.com", testPassword)
	e.clock.add(13 * time.Hour)
	if resp, _ := e.get(c, "/dashboard/payments"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("payments after 13 h: %d, want a redirect to sign in", resp.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, false)
	c := e.client()
	// The sign-in form itself: without or with a wrong token.
	for _, tok := range []string{"", "wrong"} {
		e.get(c, "/dashboard/signin")
		resp, _ := e.post(c, "/dashboard/signin", url.Values{"token": {tok}, "email": {"ann@example.com"}, "password": {testPassword}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign in with token %q: %d, want 403", tok, resp.StatusCode)
		}
	}
	e.signIn(c, "ann@example.com", testPassword)
	_, page := e.get(c, "/dashboard/payments")
	csrf := field(t, page, "csrf")
	for _, tok := range []string{"", "wrong", strings.Repeat("0", len(csrf))} {
		for _, path := range []string{"/dashboard/signout", "/dashboard/payments/pay_x/refund", "/dashboard/payments/pay_x/resolve", "/dashboard/merchant"} {
			resp, _ := e.post(c, path, url.Values{"csrf": {tok}, "key": {"0123456789abcdef0"}, "confirm": {"yes"}, "merchant": {tender.DefaultMerchant}})
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q: %d, want 403", path, tok, resp.StatusCode)
			}
		}
	}
	// Still signed in: the refused sign-out did nothing.
	if resp, _ := e.get(c, "/dashboard/payments"); resp.StatusCode != http.StatusOK {
		t.Fatalf("payments: %d", resp.StatusCode)
	}
	resp, _ := e.post(c, "/dashboard/signout", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out with the right token: %d", resp.StatusCode)
	}
}

func TestHeaders(t *testing.T) {
	e := newEnv(t, false)
	resp, _ := e.get(e.client(), "/dashboard/signin")
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q allows inline code", csp)
	}
}

func TestPassword(t *testing.T) {
	h := HashPassword("secret password")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash %s", h)
	}
	if !CheckPassword(h, "secret password") || CheckPassword(h, "secret passwore") || CheckPassword("garbage", "") {
		t.Error("CheckPassword is wrong")
	}
	if h == HashPassword("secret password") {
		t.Error("two hashes of one password are equal: no salt")
	}
}
