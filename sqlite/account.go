package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/tenderpay/tender"
)

// CreateAccount inserts a; an existing id, or a second default account of
// one connector, is EConflict. Of the credentials only a.Sealed is stored.
func (db *DB) CreateAccount(ctx context.Context, a *tender.Account) error {
	a.CreatedAt = utc(a.CreatedAt)
	if a.CreatedAt.IsZero() {
		a.CreatedAt = db.now()
	}
	a.Merchant = tender.MerchantOr(a.Merchant)
	settings, err := jsonArg(a.Settings)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		var exists bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?)`, a.ID).Scan(&exists)
		if err != nil {
			return dbError(err)
		}
		if exists {
			return tender.Errorf(tender.EConflict, "account %s already exists", a.ID)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO accounts (id, merchant, connector, environment, is_default, settings, sealed, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Merchant, a.Connector, a.Environment, a.Default, settings, a.Sealed, micros(a.CreatedAt))
		if isUnique(err) {
			return tender.Errorf(tender.EConflict, "connector %s already has a default account", a.Connector)
		}
		return dbError(err)
	})
}

// UpdateAccount stores a's settings, sealed credentials and default flag.
func (db *DB) UpdateAccount(ctx context.Context, a *tender.Account) error {
	settings, err := jsonArg(a.Settings)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		var connector, merchant string
		err := tx.QueryRowContext(ctx, `SELECT connector, merchant FROM accounts WHERE id = ?`, a.ID).Scan(&connector, &merchant)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("account", a.ID)
		}
		if err != nil {
			return dbError(err)
		}
		if a.Default {
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET is_default = 0 WHERE merchant = ? AND connector = ? AND id <> ?`, merchant, connector, a.ID); err != nil {
				return dbError(err)
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET settings = ?, sealed = ?, is_default = ? WHERE id = ?`, settings, a.Sealed, a.Default, a.ID)
		return dbError(err)
	})
}

const accountColumns = `id, merchant, connector, environment, is_default, settings, sealed, created_at`

func scanAccount(s scanner) (*tender.Account, error) {
	var a tender.Account
	var settings sql.NullString
	var created int64
	if err := s.Scan(&a.ID, &a.Merchant, &a.Connector, &a.Environment, &a.Default, &settings, &a.Sealed, &created); err != nil {
		return nil, err
	}
	if settings.Valid {
		if err := json.Unmarshal([]byte(settings.String), &a.Settings); err != nil {
			return nil, err
		}
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// GetAccount returns the account with id, or ENotFound.
func (db *DB) GetAccount(ctx context.Context, id string) (*tender.Account, error) {
	a, err := scanAccount(db.read.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("account", id)
	}
	return a, dbError(err)
}

// DefaultAccount returns the merchant's default account of the connector,
// or ENotFound.
func (db *DB) DefaultAccount(ctx context.Context, merchant, connector string) (*tender.Account, error) {
	a, err := scanAccount(db.read.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE merchant = ? AND connector = ? AND is_default = 1`, tender.MerchantOr(merchant), connector))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tender.Errorf(tender.ENotFound, "connector %s has no default account", connector)
	}
	return a, dbError(err)
}

// ListAccounts returns accounts in id order after f.StartingAfter, and
// whether more follow.
func (db *DB) ListAccounts(ctx context.Context, f tender.ListFilter) ([]*tender.Account, bool, error) {
	q, args, limit := listQuery(`SELECT `+accountColumns+` FROM accounts`, f)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, dbError(err)
	}
	defer rows.Close()
	var as []*tender.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, false, dbError(err)
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, false, dbError(err)
	}
	more := len(as) > limit
	if more {
		as = as[:limit]
	}
	return as, more, nil
}

// listQuery adds ListFilter's conditions, id order and limit+1 to q.
func listQuery(q string, f tender.ListFilter) (string, []any, int) {
	limit := pageLimit(f.Limit)
	var where []string
	var args []any
	if f.StartingAfter != "" {
		where = append(where, `id > ?`)
		args = append(args, f.StartingAfter)
	}
	if f.Connector != "" {
		where = append(where, `connector = ?`)
		args = append(args, f.Connector)
	}
	if f.Merchant != "" {
		where = append(where, `merchant = ?`)
		args = append(args, f.Merchant)
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit+1)
	return q, args, limit
}

// CreateTerminal inserts t; an existing id is EConflict. Of the
// credentials only t.Sealed is stored.
func (db *DB) CreateTerminal(ctx context.Context, t *tender.Terminal) error {
	t.CreatedAt = utc(t.CreatedAt)
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.now()
	}
	t.Merchant = tender.MerchantOr(t.Merchant)
	settings, err := jsonArg(t.Settings)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO terminals (id, merchant, connector, account, provider_id, label, settings, sealed, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Merchant, t.Connector, t.Account, t.ProviderID, t.Label, settings, t.Sealed, micros(t.CreatedAt))
		if isUnique(err) {
			return tender.Errorf(tender.EConflict, "terminal %s already exists", t.ID)
		}
		return dbError(err)
	})
}

// UpdateTerminal stores t's label, settings and sealed credentials.
func (db *DB) UpdateTerminal(ctx context.Context, t *tender.Terminal) error {
	settings, err := jsonArg(t.Settings)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE terminals SET label = ?, settings = ?, sealed = ? WHERE id = ?`, t.Label, settings, t.Sealed, t.ID)
		if err != nil {
			return dbError(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbError(err)
		} else if n == 0 {
			return notFound("terminal", t.ID)
		}
		return nil
	})
}

const terminalColumns = `id, merchant, connector, account, provider_id, label, settings, sealed, created_at`

func scanTerminal(s scanner) (*tender.Terminal, error) {
	var t tender.Terminal
	var settings sql.NullString
	var created int64
	if err := s.Scan(&t.ID, &t.Merchant, &t.Connector, &t.Account, &t.ProviderID, &t.Label, &settings, &t.Sealed, &created); err != nil {
		return nil, err
	}
	if settings.Valid {
		if err := json.Unmarshal([]byte(settings.String), &t.Settings); err != nil {
			return nil, err
		}
	}
	t.CreatedAt = fromMicros(created)
	return &t, nil
}

// GetTerminal returns the terminal with id, or ENotFound.
func (db *DB) GetTerminal(ctx context.Context, id string) (*tender.Terminal, error) {
	t, err := scanTerminal(db.read.QueryRowContext(ctx, `SELECT `+terminalColumns+` FROM terminals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("terminal", id)
	}
	return t, dbError(err)
}

// ListTerminals returns terminals in id order after f.StartingAfter, and
// whether more follow.
func (db *DB) ListTerminals(ctx context.Context, f tender.ListFilter) ([]*tender.Terminal, bool, error) {
	q, args, limit := listQuery(`SELECT `+terminalColumns+` FROM terminals`, f)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, dbError(err)
	}
	defer rows.Close()
	var ts []*tender.Terminal
	for rows.Next() {
		t, err := scanTerminal(rows)
		if err != nil {
			return nil, false, dbError(err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, false, dbError(err)
	}
	more := len(ts) > limit
	if more {
		ts = ts[:limit]
	}
	return ts, more, nil
}

// jsonArg encodes a map as JSON text, nil as NULL.
func jsonArg(m map[string]string) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, tender.Wrap(tender.EInternal, err, "cannot encode settings")
	}
	return string(b), nil
}
