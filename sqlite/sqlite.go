// Package sqlite implements tender.Store on an embedded SQLite database: one
// file, WAL journal, schema migrations compiled into the binary.
//
// It uses modernc.org/sqlite, a pure-Go SQLite, so that `go install` builds
// one static binary without cgo.
//
// Concurrency: all writes go through one connection (a pool of size one), so
// goroutines of this process queue in Go instead of fighting over SQLite's
// write lock, and the writes that queue up while one commits are committed
// together, one fsync for all (group.go); every transaction starts with BEGIN IMMEDIATE and the
// connection has a busy_timeout, so another process on the same file (a
// `tender migrate` next to a running server) waits instead of failing with
// "database is locked". Reads use a separate pool of read-only connections,
// which WAL lets run alongside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/sqldb"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a connection waits for another process's write
// lock before giving up.
const busyTimeout = 10 * time.Second

// DB is a tender.Store backed by SQLite.
type DB struct {
	// Clock gives UpdatedAt and default CreatedAt times. Set it before use;
	// it defaults to the system clock.
	Clock tender.Clock

	// Queries are the queries shared with PostgreSQL (all but writing payments, claiming and reserving keys).
	*sqldb.Queries

	write *sql.DB // one connection; every write transaction is BEGIN IMMEDIATE
	read  *sql.DB // read-only connections; the same as write for ":memory:"

	writeStmts, readStmts *stmts // prepared statements of write and read

	writes        chan *write // to the writer goroutine (see "Group commit")
	quit, stopped chan struct{}
	stopOnce      sync.Once
	commits       atomic.Int64 // batches committed (for tests)
}

var _ tender.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path and applies any
// pending migrations. Path ":memory:" gives a private in-memory database,
// useful in tests; it has one connection for reads and writes.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	db := &DB{Clock: tender.SystemClock{}}
	if path == ":memory:" {
		// Each connection to ":memory:" is its own database: use exactly one.
		w, err := sql.Open("sqlite", dsn(":memory:", false))
		if err != nil {
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		w.SetMaxOpenConns(1)
		w.SetConnMaxIdleTime(0)
		w.SetConnMaxLifetime(0)
		db.write, db.read = w, w
	} else {
		if err := private(path); err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		w, err := sql.Open("sqlite", dsn(path, false))
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxIdleTime(0)
		w.SetConnMaxLifetime(0)
		db.write = w
		// Create the file and switch it to WAL before readers connect:
		// a read-only connection cannot change the journal mode.
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		r, err := sql.Open("sqlite", dsn(path, true))
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		db.read = r
	}
	db.writeStmts, db.readStmts = newStmts(db.write), newStmts(db.read)
	if db.read == db.write {
		db.readStmts = db.writeStmts
	}
	db.startWriter()
	db.Queries = sqldb.New(&dialect, conn{db.readStmts}, writeConn{conn{db.writeStmts}, db}, db.sharedTx, db.now)
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// private creates the database file readable by its owner only (0600)
// before SQLite opens it, and tightens an existing database and its -wal
// and -shm files to 0600: they hold every payment and the sealed
// credentials. SQLite creates -wal and -shm with the mode of the database
// file, so new ones follow.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// dsn builds a modernc.org/sqlite data source name. Pragmas are set on
// every new connection, so pooled connections all behave the same.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.Itoa(int(busyTimeout/time.Millisecond))+")")
	q.Add("_pragma", "foreign_keys(1)")
	// FULL: a commit acknowledged to a POS survives power loss, not only a
	// crash of the process (NORMAL in WAL mode may lose the last commits).
	q.Add("_pragma", "synchronous(FULL)")
	// Savepoints (one per write of a group commit) journal the pages they
	// change so they can be rolled back alone; that journal lives only
	// until the transaction ends and is no part of durability (the WAL
	// is), so it is kept in memory, not in a temporary file.
	q.Add("_pragma", "temp_store(MEMORY)")
	if path != ":memory:" {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Migrate applies the embedded migrations (migrations/NNN_name.sql) that are
// not yet recorded in schema_migrations, in order, in one transaction. It is
// safe to run from several processes at once: BEGIN IMMEDIATE serialises them.
func (db *DB) Migrate(ctx context.Context) error {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	sort.Strings(files)
	return db.rawTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		applied := map[int]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: migrate: %w", err)
			}
			applied[v] = true
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		for _, f := range files {
			name := strings.TrimPrefix(f, "migrations/")
			num, _, ok := strings.Cut(name, "_")
			v, err := strconv.Atoi(num)
			if !ok || err != nil {
				return fmt.Errorf("sqlite: migrate: file %s is not named NNN_name.sql", name)
			}
			if applied[v] {
				continue
			}
			body, err := migrations.ReadFile(f)
			if err != nil {
				return fmt.Errorf("sqlite: migrate: %w", err)
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("sqlite: migrate %s: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				v, micros(time.Now())); err != nil {
				return fmt.Errorf("sqlite: migrate %s: %w", name, err)
			}
		}
		return nil
	})
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return tender.Wrap(tender.EInternal, err, "database unavailable")
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	db.stopWriter()
	var err error
	for _, s := range []*stmts{db.readStmts, db.writeStmts} {
		if s != nil {
			s.close()
		}
	}
	if db.read != nil && db.read != db.write {
		err = db.read.Close()
	}
	if db.write != nil {
		err = errors.Join(err, db.write.Close())
	}
	return err
}

// rawTx is tx without the statement cache (migrations run once).
func (db *DB) rawTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return dbError(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError(err)
	}
	return nil
}

func (db *DB) now() time.Time {
	return utc(db.Clock.Now())
}

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

// SQLite extended result codes for constraint violations (sqlite3.h).
const (
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// isUnique reports whether err is a primary-key or unique violation.
func isUnique(err error) bool {
	var e interface{ Code() int }
	if errors.As(err, &e) {
		return e.Code() == sqliteConstraintPrimaryKey || e.Code() == sqliteConstraintUnique
	}
	return false
}

// The helpers every query of the store uses, shared with the other store.
var (
	utc      = sqldb.UTC      // UTC, to the microsecond, as the database keeps times
	dbError  = sqldb.DBError  // an unexpected database error as EInternal
	notFound = sqldb.NotFound // the ENotFound error of an object
)
