package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tenderpay/tender/internal/sqldb"
)

// dialect is what PostgreSQL does differently from SQLite in the queries
// the two stores share (package sqldb).
var dialect = sqldb.Dialect{
	Numbered:  true,
	ForUpdate: " FOR UPDATE",
	JSONText:  "::text",
	IsUnique:  func(err error) bool { return uniqueViolation(err) != "" },
	IsNoRows:  func(err error) bool { return errors.Is(err, pgx.ErrNoRows) },
}

// conn adapts the pool or a transaction to sqldb.DB.
type conn struct {
	pool interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	}
}

// sharedTx runs fn in a transaction.
func (db *DB) sharedTx(ctx context.Context, fn func(sqldb.DB) error) error {
	return db.tx(ctx, func(tx pgx.Tx) error { return fn(conn{tx}) })
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.pool.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqldb.Row {
	return c.pool.QueryRow(ctx, q, args...)
}

func (c conn) Query(ctx context.Context, q string, args ...any) (sqldb.Rows, error) {
	return c.pool.Query(ctx, q, args...)
}
