package sim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// JWTs like djangorestframework-simplejwt's (notes §7.2): HS256 with
// token_type, exp, iat, jti, user_id.

type claims struct {
	TokenType string `json:"token_type"`
	Exp       int64  `json:"exp"`
	Iat       int64  `json:"iat"`
	JTI       string `json:"jti"`
	UserID    int    `json:"user_id"`
	User      string `json:"username"`
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))

func (s *Sim) mint(kind, user string, ttl time.Duration) string {
	now := s.clock.Now()
	j := make([]byte, 16)
	_, _ = rand.Read(j)
	body, _ := json.Marshal(claims{TokenType: kind, Exp: now.Add(ttl).Unix(), Iat: now.Unix(), JTI: hex.EncodeToString(j), UserID: 849, User: user})
	msg := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	return msg + "." + s.mac(msg)
}

func (s *Sim) mac(msg string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// parseToken checks signature, kind and expiry on the simulator's clock.
func (s *Sim) parseToken(tok, kind string) (claims, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] != jwtHeader {
		return claims{}, false
	}
	if !hmac.Equal([]byte(s.mac(parts[0]+"."+parts[1])), []byte(parts[2])) {
		return claims{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return claims{}, false
	}
	var c claims
	if json.Unmarshal(b, &c) != nil || c.TokenType != kind || s.clock.Now().Unix() >= c.Exp {
		return claims{}, false
	}
	return c, true
}

func tokenInvalid(w http.ResponseWriter) {
	writeJSON(w, http.StatusUnauthorized, map[string]string{
		"detail": "Given token not valid for any token type", "code": "token_not_valid"})
}

// POST /token/
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	var req struct{ Username, Password string }
	if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<14)).Decode(&req) != nil || req.Username == "" || req.Password == "" {
		writeJSON(w, http.StatusBadRequest, map[string][]string{"username": {"This field is required."}, "password": {"This field is required."}})
		return
	}
	pw, ok := s.opts.Users[req.Username]
	if !ok || !hmac.Equal([]byte(pw), []byte(req.Password)) {
		detail(w, http.StatusUnauthorized, "No active account found with the given credentials")
		return
	}
	s.mu.Lock()
	s.logins++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{
		"access":  s.mint("access", req.Username, s.opts.AccessTTL),
		"refresh": s.mint("refresh", req.Username, s.opts.RefreshTTL)})
}

// POST /token/refresh/
func (s *Sim) tokenRefresh(w http.ResponseWriter, r *http.Request) {
	var req struct{ Refresh string }
	if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<14)).Decode(&req) != nil || req.Refresh == "" {
		writeJSON(w, http.StatusBadRequest, map[string][]string{"refresh": {"This field is required."}})
		return
	}
	c, ok := s.parseToken(req.Refresh, "refresh")
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Token is invalid or expired", "code": "token_not_valid"})
		return
	}
	s.mu.Lock()
	s.refreshes++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"access": s.mint("access", c.User, s.opts.AccessTTL)})
}

// bearer authenticates the JWT; it writes the 401 itself.
func (s *Sim) bearer(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		detail(w, http.StatusUnauthorized, "Authentication credentials were not provided.")
		return false
	}
	if _, ok := s.parseToken(tok, "access"); !ok {
		tokenInvalid(w)
		return false
	}
	return true
}

// keyed authenticates JWT and X-Api-Key and returns the key's terminal.
// Call with s.mu held.
func (s *Sim) keyed(w http.ResponseWriter, r *http.Request) (*terminal, bool) {
	if !s.bearer(w, r) {
		return nil, false
	}
	k := s.apiKeys[r.Header.Get("X-Api-Key")]
	if k == nil || k.revoked {
		detail(w, http.StatusForbidden, "Invalid API key")
		return nil, false
	}
	t := s.terminalByTID(k.tid)
	if t == nil {
		detail(w, http.StatusForbidden, "Invalid API key")
		return nil, false
	}
	return t, true
}

// POST /authorization/redeem/ (Bearer only): one-time code → API key.
func (s *Sim) redeem(w http.ResponseWriter, r *http.Request) {
	if !s.bearer(w, r) {
		return
	}
	var req struct{ Type, Code string }
	if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<14)).Decode(&req) != nil || req.Code == "" {
		fieldError(w, "Code", "This field is required.")
		return
	}
	if req.Type != "webecr" {
		fieldError(w, "Type", `"`+req.Type+`" is not a valid choice.`)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.otps[req.Code]
	if o == nil || o.used || !s.clock.Now().Before(o.expires) {
		fieldError(w, "Code", "Invalid or expired code.")
		return
	}
	o.used = true
	key := randomKey()
	s.apiKeys[key] = &apiKey{tid: o.tid}
	writeJSON(w, http.StatusOK, map[string]string{"Id": key, "Type": "webecr"})
}
