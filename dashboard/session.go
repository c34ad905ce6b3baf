package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/mail"
	"strings"

	"github.com/tenderpay/tender"
)

// Cookie names. With Secure, the session cookie takes the __Host- prefix,
// which browsers accept only from https, for Path=/ and without Domain.
const (
	sessionCookie   = "tender_session"
	preSessionField = "tender_signin"
)

func (s *Server) sessionCookieName() string {
	if s.o.Secure {
		return "__Host-" + sessionCookie
	}
	return sessionCookie
}

func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: s.o.Secure, HttpOnly: true, SameSite: http.SameSiteStrictMode}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// signedIn lets h run for a user with a valid session, acting for the
// session's merchant; a POST must also carry the session's CSRF token.
// Others go to the sign-in page (a GET) or are refused (anything else).
func (s *Server) signedIn(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.session(r)
		if a == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/dashboard/signin", http.StatusSeeOther)
				return
			}
			http.Error(w, "Sign in first.", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !sameToken(r.PostFormValue("csrf"), a.sess.CSRF) {
				http.Error(w, "This form has expired or did not come from the dashboard. Go back, reload the page and try again.", http.StatusForbidden)
				return
			}
		}
		ctx := context.WithValue(r.Context(), authKey{}, a)
		h(w, r.WithContext(tender.WithMerchant(ctx, a.sess.Merchant)))
	})
}

func (s *Server) session(r *http.Request) *auth {
	c, err := r.Cookie(s.sessionCookieName())
	if err != nil || c.Value == "" {
		return nil
	}
	sess, err := s.users.SessionByHash(r.Context(), tokenHash(c.Value))
	if err != nil || !s.clock.Now().Before(sess.ExpiresAt) {
		return nil
	}
	u, err := s.users.GetUser(r.Context(), sess.UserID)
	if err != nil {
		return nil
	}
	return &auth{user: u, sess: sess}
}

type signInData struct {
	Email, Token string
}

// signInPage shows the form. Before a session exists the form is
// protected by a double-submit token: a cookie and a field that must
// match (SameSite=Strict keeps other sites from sending the cookie).
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	if s.session(r) != nil {
		http.Redirect(w, r, "/dashboard/payments", http.StatusSeeOther)
		return
	}
	s.signInForm(w, r, http.StatusOK, "", "")
}

func (s *Server) signInForm(w http.ResponseWriter, r *http.Request, status int, email, msg string) {
	tok := randomToken()
	http.SetCookie(w, s.cookie(preSessionField, tok, 3600))
	s.render(w, r, status, "signin.html", page{Title: "Sign in", Error: msg, Data: signInData{Email: email, Token: tok}})
}

const badSignIn = "The email or password is not right, or the account is locked for a while after too many attempts."

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	pre, err := r.Cookie(preSessionField)
	if err != nil || !sameToken(r.PostFormValue("token"), pre.Value) {
		http.Error(w, "This form has expired or did not come from the dashboard. Reload the sign-in page and try again.", http.StatusForbidden)
		return
	}
	email := NormalizeEmail(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	ctx := r.Context()
	now := s.clock.Now()
	u, err := s.users.UserByEmail(ctx, email)
	if err != nil {
		CheckPassword(dummyHash(), password) // as slow as a real check
		if tender.ErrorCodeOf(err) != tender.ENotFound {
			s.log.Error("dashboard: sign in", "err", err)
		}
		s.signInForm(w, r, http.StatusUnauthorized, email, badSignIn)
		return
	}
	if now.Before(u.LockedUntil) {
		s.signInForm(w, r, http.StatusUnauthorized, email, badSignIn)
		return
	}
	if !CheckPassword(u.PasswordHash, password) {
		if u, err := s.users.RecordLoginFailure(ctx, u.ID, s.o.MaxFailures, now.Add(s.o.Lockout)); err != nil {
			s.log.Error("dashboard: record a failed sign-in", "err", err)
		} else if now.Before(u.LockedUntil) {
			s.log.Warn("dashboard: user locked after failed sign-ins", "user", u.ID, "until", u.LockedUntil)
		}
		s.signInForm(w, r, http.StatusUnauthorized, email, badSignIn)
		return
	}
	if err := s.users.RecordLoginSuccess(ctx, u.ID); err != nil {
		s.log.Error("dashboard: sign in", "err", err)
	}
	token := randomToken()
	sess := &tender.Session{TokenHash: tokenHash(token), UserID: u.ID, Merchant: tender.MerchantOr(u.Merchant),
		CSRF: randomToken(), CreatedAt: now, ExpiresAt: now.Add(s.o.SessionTTL)}
	if err := s.users.CreateSession(ctx, sess); err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.users.PurgeSessions(ctx, now); err != nil {
		s.log.Warn("dashboard: purge sessions", "err", err)
	}
	http.SetCookie(w, s.cookie(preSessionField, "", -1))
	http.SetCookie(w, s.cookie(s.sessionCookieName(), token, int(s.o.SessionTTL.Seconds())))
	s.log.Info("dashboard: signed in", "user", u.ID)
	http.Redirect(w, r, "/dashboard/payments", http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	a := authOf(r.Context())
	if err := s.users.DeleteSession(r.Context(), a.sess.TokenHash); err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, s.cookie(s.sessionCookieName(), "", -1))
	http.Redirect(w, r, "/dashboard/signin", http.StatusSeeOther)
}

// switchMerchant lets a platform user act for another merchant.
func (s *Server) switchMerchant(w http.ResponseWriter, r *http.Request) {
	a := authOf(r.Context())
	if a.user.Merchant != "" {
		http.Error(w, "Only platform users switch merchants.", http.StatusForbidden)
		return
	}
	m, err := s.eng.GetMerchant(r.Context(), r.PostFormValue("merchant"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.users.SetSessionMerchant(r.Context(), a.sess.TokenHash, m.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/dashboard/payments", http.StatusSeeOther)
}

// NormalizeEmail is how emails are compared: trimmed, lower case.
func NormalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// NewUser returns a user with a fresh id and a hash of password, after
// checking the email and the password's length.
func NewUser(email, merchant, password string) (*tender.User, error) {
	email = NormalizeEmail(email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return nil, tender.Invalid("email", "%q is not an email address", email)
	}
	if len(password) < 12 {
		return nil, tender.Invalid("password", "a password has at least 12 characters")
	}
	if len(password) > 1024 {
		return nil, tender.Invalid("password", "a password has at most 1024 characters")
	}
	return &tender.User{ID: "usr_" + randomToken()[:24], Email: email, Merchant: merchant, PasswordHash: HashPassword(password)}, nil
}
