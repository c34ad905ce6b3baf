package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenderpay/tender/internal/sqldb"
)

// dialect is what PostgreSQL does differently from SQLite in the queries
// the two stores share (package sqldb).
var dialect = sqldb.Dialect{
	Numbered: true,
	JSONText: "::text",
	IsUnique: func(err error) bool { return uniqueViolation(err) != "" },
	IsNoRows: func(err error) bool { return errors.Is(err, pgx.ErrNoRows) },
}

// conn adapts the pool to sqldb.DB.
type conn struct{ pool *pgxpool.Pool }

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
