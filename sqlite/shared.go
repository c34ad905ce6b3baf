package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tenderpay/tender/internal/sqldb"
)

// dialect is what SQLite does differently from PostgreSQL in the queries
// the two stores share (package sqldb).
var dialect = sqldb.Dialect{
	MicrosTime: true,
	IsUnique:   isUnique,
	IsNoRows:   func(err error) bool { return errors.Is(err, sql.ErrNoRows) },
}

// conn adapts a database/sql pool or transaction to sqldb.DB. Writes
// outside a transaction run as single statements on the one writer
// connection.
type conn struct {
	db interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
}

// sharedTx runs fn in a write transaction (BEGIN IMMEDIATE).
func (db *DB) sharedTx(ctx context.Context, fn func(sqldb.DB) error) error {
	return db.tx(ctx, func(tx txStmts) error { return fn(conn{tx}) })
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqldb.Row {
	return c.db.QueryRowContext(ctx, q, args...)
}

func (c conn) Query(ctx context.Context, q string, args ...any) (sqldb.Rows, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return closer{rows}, nil
}

type closer struct{ *sql.Rows }

func (r closer) Close() { r.Rows.Close() }
