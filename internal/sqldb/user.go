package sqldb

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
)

var _ tender.UserStore = (*Queries)(nil)

const userColumns = `id, email, merchant, password_hash, failed_logins, locked_until, created_at`

func scanUser(s Row) (*tender.User, error) {
	var u tender.User
	if err := s.Scan(&u.ID, &u.Email, &u.Merchant, &u.PasswordHash, &u.FailedLogins, TimeDest(&u.LockedUntil), TimeDest(&u.CreatedAt)); err != nil {
		return nil, err
	}
	return &u, nil
}

// CreateUser inserts u; an existing id or email is EConflict.
func (q *Queries) CreateUser(ctx context.Context, u *tender.User) error {
	if u.CreatedAt = utc(u.CreatedAt); u.CreatedAt.IsZero() {
		u.CreatedAt = utc(q.now())
	}
	_, err := q.exec(ctx, `INSERT INTO dashboard_users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Merchant, u.PasswordHash, u.FailedLogins, q.d.Time(u.LockedUntil), q.d.Time(u.CreatedAt))
	if q.d.IsUnique(err) {
		return tender.Errorf(tender.EConflict, "a user with id %s or email %s already exists", u.ID, u.Email)
	}
	return dbError(err)
}

// UserByEmail returns the user with email, or ENotFound.
func (q *Queries) UserByEmail(ctx context.Context, email string) (*tender.User, error) {
	u, err := scanUser(q.queryRow(ctx, `SELECT `+userColumns+` FROM dashboard_users WHERE email = ?`, email))
	if q.d.IsNoRows(err) {
		return nil, notFound("user", email)
	}
	return u, dbError(err)
}

// GetUser returns the user with id, or ENotFound.
func (q *Queries) GetUser(ctx context.Context, id string) (*tender.User, error) {
	u, err := scanUser(q.queryRow(ctx, `SELECT `+userColumns+` FROM dashboard_users WHERE id = ?`, id))
	if q.d.IsNoRows(err) {
		return nil, notFound("user", id)
	}
	return u, dbError(err)
}

// SetUserPassword replaces the hash and clears failures and lock.
func (q *Queries) SetUserPassword(ctx context.Context, id, hash string) error {
	n, err := q.exec(ctx, `UPDATE dashboard_users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE id = ?`, hash, id)
	if err != nil {
		return dbError(err)
	}
	if n == 0 {
		return notFound("user", id)
	}
	return nil
}

// RecordLoginFailure counts a failure in one statement, so that
// concurrent guesses cannot each see a count below max.
func (q *Queries) RecordLoginFailure(ctx context.Context, id string, max int, lockUntil time.Time) (*tender.User, error) {
	if _, err := q.exec(ctx, `UPDATE dashboard_users SET
		locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END,
		failed_logins = CASE WHEN failed_logins + 1 >= ? THEN 0 ELSE failed_logins + 1 END
		WHERE id = ?`, max, q.d.Time(lockUntil), max, id); err != nil {
		return nil, dbError(err)
	}
	return q.GetUser(ctx, id)
}

// RecordLoginSuccess clears the user's failures.
func (q *Queries) RecordLoginSuccess(ctx context.Context, id string) error {
	_, err := q.exec(ctx, `UPDATE dashboard_users SET failed_logins = 0 WHERE id = ? AND failed_logins <> 0`, id)
	return dbError(err)
}

// CreateSession inserts s.
func (q *Queries) CreateSession(ctx context.Context, s *tender.Session) error {
	if s.CreatedAt = utc(s.CreatedAt); s.CreatedAt.IsZero() {
		s.CreatedAt = utc(q.now())
	}
	s.ExpiresAt = utc(s.ExpiresAt)
	_, err := q.exec(ctx, `INSERT INTO dashboard_sessions (token_hash, user_id, merchant, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		s.TokenHash, s.UserID, s.Merchant, s.CSRF, q.d.Time(s.CreatedAt), q.d.Time(s.ExpiresAt))
	return dbError(err)
}

// SessionByHash returns the session with the token hash, or ENotFound.
func (q *Queries) SessionByHash(ctx context.Context, hash string) (*tender.Session, error) {
	var s tender.Session
	err := q.queryRow(ctx, `SELECT token_hash, user_id, merchant, csrf, created_at, expires_at FROM dashboard_sessions WHERE token_hash = ?`, hash).
		Scan(&s.TokenHash, &s.UserID, &s.Merchant, &s.CSRF, TimeDest(&s.CreatedAt), TimeDest(&s.ExpiresAt))
	if q.d.IsNoRows(err) {
		return nil, tender.Errorf(tender.ENotFound, "no such session")
	}
	if err != nil {
		return nil, dbError(err)
	}
	return &s, nil
}

// SetSessionMerchant changes the merchant a session acts for.
func (q *Queries) SetSessionMerchant(ctx context.Context, hash, merchant string) error {
	_, err := q.exec(ctx, `UPDATE dashboard_sessions SET merchant = ? WHERE token_hash = ?`, merchant, hash)
	return dbError(err)
}

// DeleteSession removes the session.
func (q *Queries) DeleteSession(ctx context.Context, hash string) error {
	_, err := q.exec(ctx, `DELETE FROM dashboard_sessions WHERE token_hash = ?`, hash)
	return dbError(err)
}

// PurgeSessions deletes sessions that expired before t.
func (q *Queries) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	n, err := q.exec(ctx, `DELETE FROM dashboard_sessions WHERE expires_at < ?`, q.d.Time(before))
	return n, dbError(err)
}
