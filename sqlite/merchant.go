package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/tenderpay/tender"
)

// CreateMerchant inserts m; an existing id is EConflict.
func (db *DB) CreateMerchant(ctx context.Context, m *tender.Merchant) error {
	if m.CreatedAt = utc(m.CreatedAt); m.CreatedAt.IsZero() {
		m.CreatedAt = db.now()
	}
	branding, metadata, err := merchantJSON(m)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO merchants (id, name, country, default_locale, branding, metadata, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, m.ID, m.Name, m.Country, m.DefaultLocale, branding, metadata, micros(m.CreatedAt))
		if isUnique(err) {
			return tender.Errorf(tender.EConflict, "merchant %s already exists", m.ID)
		}
		return dbError(err)
	})
}

func merchantJSON(m *tender.Merchant) (branding, metadata any, err error) {
	b, err := json.Marshal(m.Branding)
	if err != nil {
		return nil, nil, tender.Wrap(tender.EInternal, err, "cannot encode merchant %s", m.ID)
	}
	md, err := jsonArg(m.Metadata)
	return string(b), md, err
}

const merchantColumns = `id, name, country, default_locale, branding, metadata, created_at`

func scanMerchant(s scanner) (*tender.Merchant, error) {
	var m tender.Merchant
	var branding, metadata sql.NullString
	var created int64
	if err := s.Scan(&m.ID, &m.Name, &m.Country, &m.DefaultLocale, &branding, &metadata, &created); err != nil {
		return nil, err
	}
	if branding.Valid {
		if err := json.Unmarshal([]byte(branding.String), &m.Branding); err != nil {
			return nil, err
		}
	}
	if metadata.Valid {
		if err := json.Unmarshal([]byte(metadata.String), &m.Metadata); err != nil {
			return nil, err
		}
	}
	m.CreatedAt = fromMicros(created)
	return &m, nil
}

// GetMerchant returns the merchant with id, or ENotFound.
func (db *DB) GetMerchant(ctx context.Context, id string) (*tender.Merchant, error) {
	m, err := scanMerchant(db.read.QueryRowContext(ctx, `SELECT `+merchantColumns+` FROM merchants WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("merchant", id)
	}
	return m, dbError(err)
}

// ListMerchants returns merchants in id order after f.StartingAfter.
func (db *DB) ListMerchants(ctx context.Context, f tender.MerchantFilter) ([]*tender.Merchant, bool, error) {
	limit := pageLimit(f.Limit)
	rows, err := db.read.QueryContext(ctx, `SELECT `+merchantColumns+` FROM merchants WHERE id > ? ORDER BY id LIMIT ?`,
		f.StartingAfter, limit+1)
	if err != nil {
		return nil, false, dbError(err)
	}
	defer rows.Close()
	var ms []*tender.Merchant
	for rows.Next() {
		m, err := scanMerchant(rows)
		if err != nil {
			return nil, false, dbError(err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, false, dbError(err)
	}
	more := len(ms) > limit
	if more {
		ms = ms[:limit]
	}
	return ms, more, nil
}

// UpdateMerchant stores m's fields but its id and CreatedAt.
func (db *DB) UpdateMerchant(ctx context.Context, m *tender.Merchant) error {
	branding, metadata, err := merchantJSON(m)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE merchants SET name = ?, country = ?, default_locale = ?, branding = ?, metadata = ?
			WHERE id = ?`, m.Name, m.Country, m.DefaultLocale, branding, metadata, m.ID)
		if err != nil {
			return dbError(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbError(err)
		} else if n == 0 {
			return notFound("merchant", m.ID)
		}
		return nil
	})
}

// CreateAPIKey inserts k; an existing id or hash is EConflict.
func (db *DB) CreateAPIKey(ctx context.Context, k *tender.APIKey) error {
	if k.CreatedAt = utc(k.CreatedAt); k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	k.Merchant = tender.MerchantOr(k.Merchant)
	if k.Scope == "" {
		k.Scope = tender.ScopePlatform
	}
	var terms any
	if k.Terminals != nil {
		b, err := json.Marshal(k.Terminals)
		if err != nil {
			return tender.Wrap(tender.EInternal, err, "cannot encode API key %s", k.ID)
		}
		terms = string(b)
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, name, hash, prefix, scope, merchant, terminals, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Name, k.Hash, k.Prefix, k.Scope, k.Merchant, terms, micros(k.CreatedAt))
		if isUnique(err) {
			return tender.Errorf(tender.EConflict, "API key %s already exists", k.ID)
		}
		return dbError(err)
	})
}

const apiKeyColumns = `id, name, hash, prefix, scope, merchant, terminals, created_at, last_used_at, revoked_at`

func scanAPIKey(s scanner) (*tender.APIKey, error) {
	var k tender.APIKey
	var terms sql.NullString
	var created int64
	var used, revoked sql.NullInt64
	if err := s.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &k.Scope, &k.Merchant, &terms, &created, &used, &revoked); err != nil {
		return nil, err
	}
	if terms.Valid {
		if err := json.Unmarshal([]byte(terms.String), &k.Terminals); err != nil {
			return nil, err
		}
	}
	k.CreatedAt = fromMicros(created)
	if used.Valid {
		k.LastUsedAt = fromMicros(used.Int64)
	}
	if revoked.Valid {
		k.RevokedAt = fromMicros(revoked.Int64)
	}
	return &k, nil
}

// APIKeyByHash returns the key with the hash, or ENotFound.
func (db *DB) APIKeyByHash(ctx context.Context, hash string) (*tender.APIKey, error) {
	k, err := scanAPIKey(db.read.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		// Never echo the hash: it is derived from a secret.
		return nil, tender.Errorf(tender.ENotFound, "no such API key")
	}
	return k, dbError(err)
}

// GetAPIKey returns the key with id, or ENotFound.
func (db *DB) GetAPIKey(ctx context.Context, id string) (*tender.APIKey, error) {
	k, err := scanAPIKey(db.read.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("API key", id)
	}
	return k, dbError(err)
}

// ListAPIKeys returns keys in id order after f.StartingAfter.
func (db *DB) ListAPIKeys(ctx context.Context, f tender.ListFilter) ([]*tender.APIKey, bool, error) {
	limit := pageLimit(f.Limit)
	rows, err := db.read.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE id > ? AND (? = '' OR merchant = ?) ORDER BY id LIMIT ?`, f.StartingAfter, f.Merchant, f.Merchant, limit+1)
	if err != nil {
		return nil, false, dbError(err)
	}
	defer rows.Close()
	var ks []*tender.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, false, dbError(err)
		}
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		return nil, false, dbError(err)
	}
	more := len(ks) > limit
	if more {
		ks = ks[:limit]
	}
	return ks, more, nil
}

// RevokeAPIKey sets the key's revoked_at, once.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	if at = utc(at); at.IsZero() {
		at = db.now()
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, micros(at), id)
		if err != nil {
			return dbError(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbError(err)
		} else if n == 0 {
			return notFound("API key", id)
		}
		return nil
	})
}

// TouchAPIKey records a use of the key, at most once per every.
func (db *DB) TouchAPIKey(ctx context.Context, id string, at time.Time, every time.Duration) error {
	at = utc(at)
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, micros(at), id, micros(at.Add(-every)))
		return dbError(err)
	})
}
