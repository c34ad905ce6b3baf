// Package postgres implements tender.Store on PostgreSQL through pgx, so
// that several `tender serve` processes can share one database.
//
// Concurrency: UpdatePayment is an optimistic compare-and-set on version
// (row locks make the loser see the winner's version); ClaimDue locks due
// rows with FOR UPDATE SKIP LOCKED so instances never claim one payment
// twice (ClaimWebhookDeliveries does the same for webhook deliveries); ReserveIdempotency is one INSERT ... ON CONFLICT statement, so of
// many concurrent reservers exactly one wins. Migrations run under a
// transaction-scoped advisory lock, so instances starting together are safe.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a tender.Store backed by PostgreSQL.
type DB struct {
	// Clock gives UpdatedAt and default CreatedAt times. Set it before use;
	// it defaults to the system clock.
	Clock tender.Clock

	// Queries are the queries shared with SQLite (all but writing payments, claiming and reserving keys).
	*sqldb.Queries

	pool    *pgxpool.Pool
	notices notices // WatchNotices
}

var _ tender.Store = (*DB)(nil)

// defaultMaxConns is the pool size when the DSN sets no pool_max_conns.
const defaultMaxConns = 16

// Open connects to the database at dsn (a postgres:// URL or key=value
// string), checks that it answers, and applies pending migrations.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The DSN may hold a password: do not echo it.
		return nil, errors.New("postgres: invalid connection string")
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// pgx's default (4 on 2 cores) queues concurrent requests behind
		// a create's round trips; more connections let PostgreSQL flush
		// several commits with one WAL write.
		cfg.MaxConns = defaultMaxConns
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig is Open with a parsed pool configuration, for callers that set
// pool sizes or runtime parameters (tests set search_path to a schema of
// their own).
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*DB, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	db := &DB{Clock: tender.SystemClock{}, pool: pool}
	db.Queries = sqldb.New(&dialect, conn{pool}, conn{pool}, db.sharedTx, db.now)
	db.Queries.OnChange(tellChange)
	if err := db.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Migrate applies the embedded migrations (migrations/NNN_name.sql) that
// are not yet recorded in schema_migrations, in order, in one transaction
// that holds an advisory lock for the current schema: instances starting at
// once wait for each other, and see the migrations as applied.
func (db *DB) Migrate(ctx context.Context) error {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	sort.Strings(files)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('tender.migrate.' || coalesce(current_schema(), '')))`); err != nil {
			return fmt.Errorf("postgres: migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		applied := map[int]bool{}
		for _, v := range versions {
			applied[int(v)] = true
		}
		for _, f := range files {
			name := strings.TrimPrefix(f, "migrations/")
			num, _, ok := strings.Cut(name, "_")
			v, err := strconv.Atoi(num)
			if !ok || err != nil {
				return fmt.Errorf("postgres: migrate: file %s is not named NNN_name.sql", name)
			}
			if applied[v] {
				continue
			}
			body, err := migrations.ReadFile(f)
			if err != nil {
				return fmt.Errorf("postgres: migrate: %w", err)
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("postgres: migrate %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
				return fmt.Errorf("postgres: migrate %s: %w", name, err)
			}
		}
		return nil
	})
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return tender.Wrap(tender.EInternal, err, "database unavailable")
	}
	return nil
}

// Close stops listening for notices and closes the pool.
func (db *DB) Close() error {
	db.notices.close()
	db.pool.Close()
	return nil
}

// tx runs fn in a transaction and commits if fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return dbError(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback(ctx)
		return err
	}
	return dbError(tx.Commit(ctx))
}

func (db *DB) now() time.Time {
	return utc(db.Clock.Now())
}

// uniqueViolation returns the constraint of a unique violation, or "".
func uniqueViolation(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName
	}
	return ""
}

// The helpers every query of the store uses, shared with the other store.
var (
	utc      = sqldb.UTC      // UTC, to the microsecond, as the database keeps times
	dbError  = sqldb.DBError  // an unexpected database error as EInternal
	notFound = sqldb.NotFound // the ENotFound error of an object
)
