package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
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
	_, err = db.pool.Exec(ctx, `INSERT INTO accounts (id, merchant, connector, environment, is_default, settings, sealed, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.ID, a.Merchant, a.Connector, a.Environment, a.Default, settings, a.Sealed, a.CreatedAt)
	switch uniqueViolation(err) {
	case "":
		return dbError(err)
	case "accounts_one_default":
		return tender.Errorf(tender.EConflict, "connector %s already has a default account", a.Connector)
	default:
		return tender.Errorf(tender.EConflict, "account %s already exists", a.ID)
	}
}

// UpdateAccount stores a's settings, sealed credentials and default flag.
func (db *DB) UpdateAccount(ctx context.Context, a *tender.Account) error {
	settings, err := jsonArg(a.Settings)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		var connector, merchant string
		err := tx.QueryRow(ctx, `SELECT connector, merchant FROM accounts WHERE id = $1 FOR UPDATE`, a.ID).Scan(&connector, &merchant)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("account", a.ID)
		}
		if err != nil {
			return dbError(err)
		}
		if a.Default {
			if _, err := tx.Exec(ctx, `UPDATE accounts SET is_default = false WHERE merchant = $1 AND connector = $2 AND id <> $3`, merchant, connector, a.ID); err != nil {
				return dbError(err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE accounts SET settings = $1, sealed = $2, is_default = $3 WHERE id = $4`, settings, a.Sealed, a.Default, a.ID)
		if uniqueViolation(err) != "" {
			return tender.Errorf(tender.EConflict, "connector %s already has a default account", connector)
		}
		return dbError(err)
	})
}

const accountColumns = `id, merchant, connector, environment, is_default, settings, sealed, created_at`

func scanAccount(row pgx.Row) (*tender.Account, error) {
	var a tender.Account
	var settings *string
	if err := row.Scan(&a.ID, &a.Merchant, &a.Connector, &a.Environment, &a.Default, &settings, &a.Sealed, &a.CreatedAt); err != nil {
		return nil, err
	}
	if settings != nil {
		if err := json.Unmarshal([]byte(*settings), &a.Settings); err != nil {
			return nil, err
		}
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}

// GetAccount returns the account with id, or ENotFound.
func (db *DB) GetAccount(ctx context.Context, id string) (*tender.Account, error) {
	a, err := scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("account", id)
	}
	return a, dbError(err)
}

// DefaultAccount returns the merchant's default account of the connector,
// or ENotFound.
func (db *DB) DefaultAccount(ctx context.Context, merchant, connector string) (*tender.Account, error) {
	a, err := scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE merchant = $1 AND connector = $2 AND is_default`, tender.MerchantOr(merchant), connector))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tender.Errorf(tender.ENotFound, "connector %s has no default account", connector)
	}
	return a, dbError(err)
}

// ListAccounts returns accounts in id order after f.StartingAfter, and
// whether more follow.
func (db *DB) ListAccounts(ctx context.Context, f tender.ListFilter) ([]*tender.Account, bool, error) {
	q, args, limit := listQuery(`SELECT `+accountColumns+` FROM accounts`, f)
	rows, err := db.pool.Query(ctx, q, args...)
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
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.StartingAfter != "" {
		where = append(where, `id > `+arg(f.StartingAfter))
	}
	if f.Connector != "" {
		where = append(where, `connector = `+arg(f.Connector))
	}
	if f.Merchant != "" {
		where = append(where, `merchant = `+arg(f.Merchant))
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id LIMIT ` + arg(limit+1)
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
	_, err = db.pool.Exec(ctx, `INSERT INTO terminals (id, merchant, connector, account, provider_id, label, settings, sealed, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.ID, t.Merchant, t.Connector, t.Account, t.ProviderID, t.Label, settings, t.Sealed, t.CreatedAt)
	if uniqueViolation(err) != "" {
		return tender.Errorf(tender.EConflict, "terminal %s already exists", t.ID)
	}
	return dbError(err)
}

// UpdateTerminal stores t's label, settings and sealed credentials.
func (db *DB) UpdateTerminal(ctx context.Context, t *tender.Terminal) error {
	settings, err := jsonArg(t.Settings)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE terminals SET label = $1, settings = $2, sealed = $3 WHERE id = $4`, t.Label, settings, t.Sealed, t.ID)
	if err != nil {
		return dbError(err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("terminal", t.ID)
	}
	return nil
}

const terminalColumns = `id, merchant, connector, account, provider_id, label, settings, sealed, created_at`

func scanTerminal(row pgx.Row) (*tender.Terminal, error) {
	var t tender.Terminal
	var settings *string
	if err := row.Scan(&t.ID, &t.Merchant, &t.Connector, &t.Account, &t.ProviderID, &t.Label, &settings, &t.Sealed, &t.CreatedAt); err != nil {
		return nil, err
	}
	if settings != nil {
		if err := json.Unmarshal([]byte(*settings), &t.Settings); err != nil {
			return nil, err
		}
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, nil
}

// GetTerminal returns the terminal with id, or ENotFound.
func (db *DB) GetTerminal(ctx context.Context, id string) (*tender.Terminal, error) {
	t, err := scanTerminal(db.pool.QueryRow(ctx, `SELECT `+terminalColumns+` FROM terminals WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("terminal", id)
	}
	return t, dbError(err)
}

// ListTerminals returns terminals in id order after f.StartingAfter, and
// whether more follow.
func (db *DB) ListTerminals(ctx context.Context, f tender.ListFilter) ([]*tender.Terminal, bool, error) {
	q, args, limit := listQuery(`SELECT `+terminalColumns+` FROM terminals`, f)
	rows, err := db.pool.Query(ctx, q, args...)
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
