package sqldb

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// CreateAccount inserts a; an existing id, or a second default account of
// one merchant and connector, is EConflict. Of the credentials only
// a.Sealed is stored.
func (q *Queries) CreateAccount(ctx context.Context, a *tender.Account) error {
	if a.CreatedAt = utc(a.CreatedAt); a.CreatedAt.IsZero() {
		a.CreatedAt = utc(q.now())
	}
	a.Merchant = tender.MerchantOr(a.Merchant)
	settings, err := jsonMap(a.Settings)
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, `INSERT INTO accounts (id, merchant, connector, environment, is_default, settings, sealed, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Merchant, a.Connector, a.Environment, a.Default, settings, a.Sealed, q.d.Time(a.CreatedAt))
	if !q.d.IsUnique(err) {
		return dbError(err)
	}
	// Which rule: the id, or the one default? The row in the way is
	// committed, so a read sees it.
	var exists bool
	if err := q.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?)`, a.ID).Scan(&exists); err != nil {
		return dbError(err)
	}
	if exists {
		return tender.Errorf(tender.EConflict, "account %s already exists", a.ID)
	}
	return tender.Errorf(tender.EConflict, "connector %s already has a default account", a.Connector)
}

// UpdateAccount stores a's settings, sealed credentials and default flag;
// making it the default clears the previous default of its merchant and
// connector in the same transaction, which also tells of the change
// (OnChange).
func (q *Queries) UpdateAccount(ctx context.Context, a *tender.Account, ifSealed []byte) error {
	settings, err := jsonMap(a.Settings)
	if err != nil {
		return err
	}
	return q.tx(ctx, func(tx DB) error {
		var connector, merchant string
		var sealed []byte
		err := tx.QueryRow(ctx, q.d.Rebind(`SELECT connector, merchant, sealed FROM accounts WHERE id = ?`+q.d.ForUpdate), a.ID).Scan(&connector, &merchant, &sealed)
		if q.d.IsNoRows(err) {
			return notFound("account", a.ID)
		}
		if err != nil {
			return dbError(err)
		}
		if ifSealed != nil && !bytes.Equal(sealed, ifSealed) {
			return tender.ErrStale
		}
		if a.Default {
			if _, err := tx.Exec(ctx, q.d.Rebind(`UPDATE accounts SET is_default = ? WHERE merchant = ? AND connector = ? AND id <> ?`),
				false, merchant, connector, a.ID); err != nil {
				return dbError(err)
			}
		}
		_, err = tx.Exec(ctx, q.d.Rebind(`UPDATE accounts SET settings = ?, sealed = ?, is_default = ? WHERE id = ?`), settings, a.Sealed, a.Default, a.ID)
		if q.d.IsUnique(err) {
			return tender.Errorf(tender.EConflict, "connector %s already has a default account", connector)
		}
		if err != nil {
			return dbError(err)
		}
		return q.tell(ctx, tx, "account", a.ID)
	})
}

func (q *Queries) accountColumns() string {
	return `id, merchant, connector, environment, is_default, settings` + q.d.JSONText + `, sealed, created_at`
}

func scanAccount(s Row) (*tender.Account, error) {
	var a tender.Account
	var settings *string
	if err := s.Scan(&a.ID, &a.Merchant, &a.Connector, &a.Environment, &a.Default, &settings, &a.Sealed, TimeDest(&a.CreatedAt)); err != nil {
		return nil, err
	}
	if settings != nil {
		if err := json.Unmarshal([]byte(*settings), &a.Settings); err != nil {
			return nil, err
		}
	}
	return &a, nil
}

// GetAccount returns the account with id, or ENotFound.
func (q *Queries) GetAccount(ctx context.Context, id string) (*tender.Account, error) {
	a, err := scanAccount(q.queryRow(ctx, `SELECT `+q.accountColumns()+` FROM accounts WHERE id = ?`, id))
	if q.d.IsNoRows(err) {
		return nil, notFound("account", id)
	}
	return a, dbError(err)
}

// DefaultAccount returns the merchant's default account of the connector,
// or ENotFound.
func (q *Queries) DefaultAccount(ctx context.Context, merchant, connector string) (*tender.Account, error) {
	a, err := scanAccount(q.queryRow(ctx, `SELECT `+q.accountColumns()+` FROM accounts
		WHERE merchant = ? AND connector = ? AND is_default`, tender.MerchantOr(merchant), connector))
	if q.d.IsNoRows(err) {
		return nil, tender.Errorf(tender.ENotFound, "connector %s has no default account", connector)
	}
	return a, dbError(err)
}

// ListAccounts returns accounts in id order after f.StartingAfter, and
// whether more follow.
func (q *Queries) ListAccounts(ctx context.Context, f tender.ListFilter) ([]*tender.Account, bool, error) {
	where, args := listWhere(f)
	return list(ctx, q, PageLimit(f.Limit), scanAccount, `SELECT `+q.accountColumns()+` FROM accounts`+where+` ORDER BY id LIMIT ?`, args...)
}

// listWhere is the WHERE clause of a ListFilter.
func listWhere(f tender.ListFilter) (string, []any) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"id > ?", f.StartingAfter}, {"connector = ?", f.Connector}, {"merchant = ?", f.Merchant}} {
		if c.v != "" {
			where, args = append(where, c.col), append(args, c.v)
		}
	}
	if len(where) == 0 {
		return "", nil
	}
	return ` WHERE ` + strings.Join(where, " AND "), args
}

// CreateTerminal inserts t; an existing id is EConflict. Of the
// credentials only t.Sealed is stored.
func (q *Queries) CreateTerminal(ctx context.Context, t *tender.Terminal) error {
	if t.CreatedAt = utc(t.CreatedAt); t.CreatedAt.IsZero() {
		t.CreatedAt = utc(q.now())
	}
	t.Merchant = tender.MerchantOr(t.Merchant)
	settings, err := jsonMap(t.Settings)
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, `INSERT INTO terminals (id, merchant, connector, account, provider_id, label, settings, sealed, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Merchant, t.Connector, t.Account, t.ProviderID, t.Label, settings, t.Sealed, q.d.Time(t.CreatedAt))
	if q.d.IsUnique(err) {
		return tender.Errorf(tender.EConflict, "terminal %s already exists", t.ID)
	}
	return dbError(err)
}

// UpdateTerminal stores t's label, settings and sealed credentials.
func (q *Queries) UpdateTerminal(ctx context.Context, t *tender.Terminal, ifSealed []byte) error {
	settings, err := jsonMap(t.Settings)
	if err != nil {
		return err
	}
	return q.tx(ctx, func(tx DB) error {
		var sealed []byte
		err := tx.QueryRow(ctx, q.d.Rebind(`SELECT sealed FROM terminals WHERE id = ?`+q.d.ForUpdate), t.ID).Scan(&sealed)
		if q.d.IsNoRows(err) {
			return notFound("terminal", t.ID)
		}
		if err != nil {
			return dbError(err)
		}
		if ifSealed != nil && !bytes.Equal(sealed, ifSealed) {
			return tender.ErrStale
		}
		_, err = tx.Exec(ctx, q.d.Rebind(`UPDATE terminals SET label = ?, settings = ?, sealed = ? WHERE id = ?`), t.Label, settings, t.Sealed, t.ID)
		return dbError(err)
	})
}

func (q *Queries) terminalColumns() string {
	return `id, merchant, connector, account, provider_id, label, settings` + q.d.JSONText + `, sealed, created_at, last_seen_at`
}

func scanTerminal(s Row) (*tender.Terminal, error) {
	var t tender.Terminal
	var settings *string
	if err := s.Scan(&t.ID, &t.Merchant, &t.Connector, &t.Account, &t.ProviderID, &t.Label, &settings, &t.Sealed, TimeDest(&t.CreatedAt), TimeDest(&t.LastSeenAt)); err != nil {
		return nil, err
	}
	if settings != nil {
		if err := json.Unmarshal([]byte(*settings), &t.Settings); err != nil {
			return nil, err
		}
	}
	return &t, nil
}

// TouchTerminal sets the terminal's LastSeenAt to at if it is older than
// at-every.
func (q *Queries) TouchTerminal(ctx context.Context, id string, at time.Time, every time.Duration) error {
	at = utc(at)
	_, err := q.exec(ctx, `UPDATE terminals SET last_seen_at = ?
		WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)`, q.d.Time(at), id, q.d.Time(at.Add(-every)))
	return dbError(err)
}

// GetTerminal returns the terminal with id, or ENotFound.
func (q *Queries) GetTerminal(ctx context.Context, id string) (*tender.Terminal, error) {
	t, err := scanTerminal(q.queryRow(ctx, `SELECT `+q.terminalColumns()+` FROM terminals WHERE id = ?`, id))
	if q.d.IsNoRows(err) {
		return nil, notFound("terminal", id)
	}
	return t, dbError(err)
}

// ListTerminals returns terminals in id order after f.StartingAfter, and
// whether more follow.
func (q *Queries) ListTerminals(ctx context.Context, f tender.ListFilter) ([]*tender.Terminal, bool, error) {
	where, args := listWhere(f)
	return list(ctx, q, PageLimit(f.Limit), scanTerminal, `SELECT `+q.terminalColumns()+` FROM terminals`+where+` ORDER BY id LIMIT ?`, args...)
}

// jsonMap encodes a map as JSON text, nil as NULL.
func jsonMap(m map[string]string) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, tender.Wrap(tender.EInternal, err, "cannot encode settings")
	}
	return string(b), nil
}
