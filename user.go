package tender

import (
	"context"
	"time"
)

// User is a person who signs in to the dashboard. A merchant user sees
// its merchant only; a platform user (Merchant "") may switch between
// merchants. Only a hash of the password is stored.
type User struct {
	ID           string
	Email        string // unique, lower case
	Merchant     string // "" for a platform user
	PasswordHash string // PHC string of an Argon2id hash
	// FailedLogins counts sign-in failures since the last success;
	// LockedUntil refuses sign-ins before it (zero when not locked).
	FailedLogins int
	LockedUntil  time.Time
	CreatedAt    time.Time
}

// Session is a signed-in dashboard user. The cookie holds a random token;
// only its hash is stored. CSRF is the synchronizer token every form of
// the session carries.
type Session struct {
	TokenHash string // hex SHA-256 of the cookie's token
	UserID    string
	Merchant  string // the merchant the session acts for
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// UserStore persists dashboard users and sessions. The SQLite and
// PostgreSQL stores implement it next to Store.
type UserStore interface {
	// CreateUser inserts u; an existing id or email is EConflict.
	CreateUser(ctx context.Context, u *User) error
	// UserByEmail returns the user with the (lower-case) email, or ENotFound.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// GetUser returns the user with id, or ENotFound.
	GetUser(ctx context.Context, id string) (*User, error)
	// SetUserPassword replaces the user's password hash and clears its
	// failures and lock. A missing user is ENotFound.
	SetUserPassword(ctx context.Context, id, hash string) error
	// RecordLoginFailure adds one failure to the user's count and, when
	// the count reaches max, locks the user until lockUntil and starts
	// the count afresh; it returns the user as stored.
	RecordLoginFailure(ctx context.Context, id string, max int, lockUntil time.Time) (*User, error)
	// RecordLoginSuccess clears the user's failures.
	RecordLoginSuccess(ctx context.Context, id string) error

	// CreateSession inserts s.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByHash returns the session whose token hash is hash, expired
	// or not, or ENotFound.
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	// SetSessionMerchant changes the merchant a session acts for.
	SetSessionMerchant(ctx context.Context, hash, merchant string) error
	// DeleteSession removes the session (signing out); a missing one is
	// no error.
	DeleteSession(ctx context.Context, hash string) error
	// PurgeSessions deletes sessions that expired before t.
	PurgeSessions(ctx context.Context, before time.Time) (int64, error)
}
