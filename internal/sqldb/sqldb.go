// Package sqldb holds the queries that the SQLite and PostgreSQL stores
// share, written once, with what differs between the two databases named
// in a Dialect. A store hands it its connections (as DB) and embeds
// Queries, whose methods then are the store's.
//
// It serves merchants, API keys, accounts, terminals, webhook endpoints,
// deliveries and attempts, and the reads of payments and events; the
// payment row's columns, scan and arguments are shared too. Each store
// keeps what really differs: the migrations, its transactions and locks,
// creating and updating a payment with its events and outbox rows (one
// writer and json_each; an advisory lock, a batch and jsonb ?), claiming
// due work (the writer lock; FOR UPDATE SKIP LOCKED), and reserving an
// idempotency key (one transaction; ON CONFLICT and a conditional UPDATE).
package sqldb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenderpay/tender"
)

// Dialect is what differs between the two databases for these queries.
type Dialect struct {
	// Numbered placeholders ($1, $2: PostgreSQL) instead of ? (SQLite).
	// Queries are written with ?; Rebind numbers them.
	Numbered bool
	// MicrosTime keeps times as INTEGER microseconds since the Unix epoch
	// (SQLite) instead of timestamptz (PostgreSQL).
	MicrosTime bool
	// JSONText is appended to a JSON column that is read as text
	// (PostgreSQL's jsonb needs "::text"; SQLite keeps text).
	JSONText string
	// IsUnique reports whether err is a unique or primary key violation.
	IsUnique func(error) bool
	// IsNoRows reports whether err says a QueryRow found nothing.
	IsNoRows func(error) bool
	// ForUpdate locks the rows a SELECT in a transaction reads
	// (PostgreSQL); SQLite's one writer needs no lock.
	ForUpdate string

	// rebound keeps what Rebind made of each query (a few dozen texts,
	// asked for on every query), up to maxRebound of them.
	rebound  sync.Map // query → rebound query
	nRebound atomic.Int64
}

// maxRebound bounds the queries Rebind keeps: queries are the code's own
// texts, so this is only a guard against one built from data.
const maxRebound = 1024

// Rebind turns the ? placeholders of q into the dialect's. A shared query
// therefore never uses PostgreSQL's jsonb ? operator.
func (d *Dialect) Rebind(q string) string {
	if !d.Numbered {
		return q
	}
	if r, ok := d.rebound.Load(q); ok {
		return r.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	r := b.String()
	if d.nRebound.Add(1) <= maxRebound {
		d.rebound.Store(q, r)
	}
	return r
}

// Time is how t is written to a time column; the zero time is NULL.
func (d *Dialect) Time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	if d.MicrosTime {
		return t.UnixMicro()
	}
	return t
}

// TimeDest is a scan destination for a time column of either kind: a NULL
// leaves the zero time.
func TimeDest(t *time.Time) any { return timeDest{t} }

type timeDest struct{ t *time.Time }

func (d timeDest) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	case time.Time:
		*d.t = v.UTC()
	default:
		return fmt.Errorf("sqldb: cannot scan %T into a time", v)
	}
	return nil
}

var _ interface{ Scan(any) error } = timeDest{}

// Row is one result row (*sql.Row, pgx.Row).
type Row interface{ Scan(dest ...any) error }

// Rows are the rows of a query.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// DB runs single statements; each store adapts its connections to it.
type DB interface {
	Exec(ctx context.Context, q string, args ...any) (rowsAffected int64, err error)
	QueryRow(ctx context.Context, q string, args ...any) Row
	Query(ctx context.Context, q string, args ...any) (Rows, error)
}

// Queries are the shared queries of a store.
type Queries struct {
	d     *Dialect
	read  DB // reads (SQLite's read-only pool)
	write DB // single-statement writes
	tx    func(ctx context.Context, fn func(DB) error) error
	now   func() time.Time
	// changed runs in the transaction of a change of an object that
	// instances keep in memory (see OnChange); nil: nobody to tell.
	changed func(ctx context.Context, tx DB, kind, id string) error
}

// OnChange sets what runs in the transaction that changes an account
// ("account") or a merchant ("merchant"), with the object's kind and id:
// PostgreSQL tells the other instances with NOTIFY, which it delivers
// when, and only if, that transaction commits.
func (q *Queries) OnChange(f func(ctx context.Context, tx DB, kind, id string) error) { q.changed = f }

// tell runs q.changed, if set, in tx.
func (q *Queries) tell(ctx context.Context, tx DB, kind, id string) error {
	if q.changed == nil {
		return nil
	}
	return dbError(q.changed(ctx, tx, kind, id))
}

// New returns the shared queries over read and write; tx runs a function
// in a write transaction; now gives the time of a row made without one.
func New(d *Dialect, read, write DB, tx func(ctx context.Context, fn func(DB) error) error, now func() time.Time) *Queries {
	return &Queries{d: d, read: read, write: write, tx: tx, now: now}
}

func (q *Queries) exec(ctx context.Context, s string, args ...any) (int64, error) {
	return q.write.Exec(ctx, q.d.Rebind(s), args...)
}

func (q *Queries) queryRow(ctx context.Context, s string, args ...any) Row {
	return q.read.QueryRow(ctx, q.d.Rebind(s), args...)
}

// list runs a page query (its last argument is the limit+1) and scans
// each row with scan, returning at most limit items and whether more
// follow.
func list[T any](ctx context.Context, q *Queries, limit int, scan func(Row) (T, error), s string, args ...any) ([]T, bool, error) {
	rows, err := q.read.Query(ctx, q.d.Rebind(s), append(args, limit+1)...)
	if err != nil {
		return nil, false, dbError(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, false, dbError(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, false, dbError(err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// utc normalises t to what the databases keep: UTC, microseconds.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// PageLimit clamps a list limit to 1..100, 10 when unset.
func PageLimit(n int) int {
	switch {
	case n <= 0:
		return 10
	case n > 100:
		return 100
	}
	return n
}

// dbError wraps an unexpected database error as EInternal, keeping the
// cause (and context cancellation) in the chain for logs and errors.Is.
func dbError(err error) error {
	if err == nil {
		return nil
	}
	if tender.AsError(err) != nil {
		return err
	}
	return tender.Wrap(tender.EInternal, err, "database error")
}

func notFound(what, id string) error {
	return tender.Errorf(tender.ENotFound, "no %s %q", what, id)
}
