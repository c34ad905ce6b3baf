package sqldb

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tenderpay/tender"
)

// CreateMerchant inserts m; an existing id is EConflict.
func (q *Queries) CreateMerchant(ctx context.Context, m *tender.Merchant) error {
	if m.CreatedAt = utc(m.CreatedAt); m.CreatedAt.IsZero() {
		m.CreatedAt = utc(q.now())
	}
	branding, metadata, err := merchantJSON(m)
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, `INSERT INTO merchants (id, name, country, default_locale, time_zone, branding, metadata, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, m.Name, m.Country, m.DefaultLocale, m.TimeZone, branding, metadata, q.d.Time(m.CreatedAt))
	if q.d.IsUnique(err) {
		return tender.Errorf(tender.EConflict, "merchant %s already exists", m.ID)
	}
	return dbError(err)
}

func merchantJSON(m *tender.Merchant) (branding, metadata any, err error) {
	b, err := json.Marshal(m.Branding)
	if err != nil {
		return nil, nil, tender.Wrap(tender.EInternal, err, "cannot encode merchant %s", m.ID)
	}
	if m.Metadata == nil {
		return string(b), nil, nil
	}
	md, err := json.Marshal(m.Metadata)
	if err != nil {
		return nil, nil, tender.Wrap(tender.EInternal, err, "cannot encode merchant %s", m.ID)
	}
	return string(b), string(md), nil
}

func (q *Queries) merchantColumns() string {
	return `id, name, country, default_locale, time_zone, branding` + q.d.JSONText + `, metadata` + q.d.JSONText + `, created_at`
}

func scanMerchant(s Row) (*tender.Merchant, error) {
	var m tender.Merchant
	var branding, metadata *string
	if err := s.Scan(&m.ID, &m.Name, &m.Country, &m.DefaultLocale, &m.TimeZone, &branding, &metadata, TimeDest(&m.CreatedAt)); err != nil {
		return nil, err
	}
	if branding != nil {
		if err := json.Unmarshal([]byte(*branding), &m.Branding); err != nil {
			return nil, err
		}
	}
	if metadata != nil {
		if err := json.Unmarshal([]byte(*metadata), &m.Metadata); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// GetMerchant returns the merchant with id, or ENotFound.
func (q *Queries) GetMerchant(ctx context.Context, id string) (*tender.Merchant, error) {
	m, err := scanMerchant(q.queryRow(ctx, `SELECT `+q.merchantColumns()+` FROM merchants WHERE id = ?`, id))
	if q.d.IsNoRows(err) {
		return nil, notFound("merchant", id)
	}
	return m, dbError(err)
}

// ListMerchants returns merchants in id order after f.StartingAfter.
func (q *Queries) ListMerchants(ctx context.Context, f tender.MerchantFilter) ([]*tender.Merchant, bool, error) {
	return list(ctx, q, PageLimit(f.Limit), scanMerchant,
		`SELECT `+q.merchantColumns()+` FROM merchants WHERE id > ? ORDER BY id LIMIT ?`, f.StartingAfter)
}

// UpdateMerchant stores m's fields but its id and CreatedAt, and tells
// of the change in the same transaction (OnChange).
func (q *Queries) UpdateMerchant(ctx context.Context, m *tender.Merchant) error {
	branding, metadata, err := merchantJSON(m)
	if err != nil {
		return err
	}
	update := func(db DB) error {
		n, err := db.Exec(ctx, q.d.Rebind(`UPDATE merchants SET name = ?, country = ?, default_locale = ?, time_zone = ?, branding = ?, metadata = ?
			WHERE id = ?`), m.Name, m.Country, m.DefaultLocale, m.TimeZone, branding, metadata, m.ID)
		if err != nil {
			return dbError(err)
		}
		if n == 0 {
			return notFound("merchant", m.ID)
		}
		return q.tell(ctx, db, "merchant", m.ID)
	}
	if q.changed == nil {
		return update(q.write) // one statement: no transaction
	}
	return q.tx(ctx, update)
}

// CreateAPIKey inserts k; an existing id or hash is EConflict.
func (q *Queries) CreateAPIKey(ctx context.Context, k *tender.APIKey) error {
	if k.CreatedAt = utc(k.CreatedAt); k.CreatedAt.IsZero() {
		k.CreatedAt = utc(q.now())
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
	_, err := q.exec(ctx, `INSERT INTO api_keys (id, name, hash, prefix, scope, merchant, terminals, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Name, k.Hash, k.Prefix, k.Scope, k.Merchant, terms, q.d.Time(k.CreatedAt))
	if q.d.IsUnique(err) {
		return tender.Errorf(tender.EConflict, "API key %s already exists", k.ID)
	}
	return dbError(err)
}

func (q *Queries) apiKeyColumns() string {
	return `id, name, hash, prefix, scope, merchant, terminals` + q.d.JSONText + `, created_at, last_used_at, revoked_at`
}

func scanAPIKey(s Row) (*tender.APIKey, error) {
	var k tender.APIKey
	var terms *string
	if err := s.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &k.Scope, &k.Merchant, &terms,
		TimeDest(&k.CreatedAt), TimeDest(&k.LastUsedAt), TimeDest(&k.RevokedAt)); err != nil {
		return nil, err
	}
	if terms != nil {
		if err := json.Unmarshal([]byte(*terms), &k.Terminals); err != nil {
			return nil, err
		}
	}
	return &k, nil
}

// APIKeyByHash returns the key with the hash, or ENotFound.
func (q *Queries) APIKeyByHash(ctx context.Context, hash string) (*tender.APIKey, error) {
	k, err := scanAPIKey(q.queryRow(ctx, `SELECT `+q.apiKeyColumns()+` FROM api_keys WHERE hash = ?`, hash))
	if q.d.IsNoRows(err) {
		// Never echo the hash: it is derived from a secret.
		return nil, tender.Errorf(tender.ENotFound, "no such API key")
	}
	return k, dbError(err)
}

// GetAPIKey returns the key with id, or ENotFound.
func (q *Queries) GetAPIKey(ctx context.Context, id string) (*tender.APIKey, error) {
	k, err := scanAPIKey(q.queryRow(ctx, `SELECT `+q.apiKeyColumns()+` FROM api_keys WHERE id = ?`, id))
	if q.d.IsNoRows(err) {
		return nil, notFound("API key", id)
	}
	return k, dbError(err)
}

// ListAPIKeys returns keys in id order after f.StartingAfter, of one
// merchant or (f.Merchant "") of all.
func (q *Queries) ListAPIKeys(ctx context.Context, f tender.ListFilter) ([]*tender.APIKey, bool, error) {
	where, args := `id > ?`, []any{f.StartingAfter}
	if f.Merchant != "" {
		where, args = where+` AND merchant = ?`, append(args, f.Merchant)
	}
	return list(ctx, q, PageLimit(f.Limit), scanAPIKey,
		`SELECT `+q.apiKeyColumns()+` FROM api_keys WHERE `+where+` ORDER BY id LIMIT ?`, args...)
}

// RevokeAPIKey sets the key's revoked_at, once.
func (q *Queries) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	if at = utc(at); at.IsZero() {
		at = utc(q.now())
	}
	n, err := q.exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, q.d.Time(at), id)
	if err != nil {
		return dbError(err)
	}
	if n == 0 {
		return notFound("API key", id)
	}
	return nil
}

// TouchAPIKey records a use of the key, at most once per every.
func (q *Queries) TouchAPIKey(ctx context.Context, id string, at time.Time, every time.Duration) error {
	at = utc(at)
	_, err := q.exec(ctx, `UPDATE api_keys SET last_used_at = ?
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, q.d.Time(at), id, q.d.Time(at.Add(-every)))
	return dbError(err)
}
