package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statement cache: the store's queries are a
// fixed set (a few dozen texts), so a query past the bound is one built
// at run time, run without caching.
const maxCachedStmts = 512

// stmts caches the prepared statements of one pool. database/sql with
// modernc.org/sqlite prepares nothing by itself: without a cache every
// statement is parsed and planned again on every call (the parser was a
// quarter of a create's CPU). A *sql.Stmt re-prepares itself on each
// connection of the pool that runs it.
type stmts struct {
	db      *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool // run in a transaction before they were prepared
}

func newStmts(db *sql.DB) *stmts {
	return &stmts{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// cached returns the prepared statement of q or nil, preparing nothing: a
// transaction holds the writer's one connection, so preparing on the pool
// from inside it would wait for itself. The miss is prepared after the
// transaction (preparePending).
func (s *stmts) cached(q string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[q]
	if st == nil && len(s.m)+len(s.pending) < maxCachedStmts {
		s.pending[q] = true
	}
	return st
}

// preparePending prepares the statements transactions missed.
func (s *stmts) preparePending(ctx context.Context) {
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return
	}
	qs := make([]string, 0, len(s.pending))
	for q := range s.pending {
		qs = append(qs, q)
	}
	s.pending = map[string]bool{}
	s.mu.Unlock()
	for _, q := range qs {
		s.get(ctx, q)
	}
}

// get returns the prepared statement of q, or nil to run q unprepared.
func (s *stmts) get(ctx context.Context, q string) *sql.Stmt {
	s.mu.Lock()
	st := s.m[q]
	full := len(s.m) >= maxCachedStmts
	s.mu.Unlock()
	if st != nil || full {
		return st
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // the unprepared call reports the error
	}
	s.mu.Lock()
	if old := s.m[q]; old != nil {
		st.Close()
		st = old
	} else {
		s.m[q] = st
	}
	s.mu.Unlock()
	return st
}

func (s *stmts) close() {
	s.mu.Lock()
	for _, st := range s.m {
		st.Close()
	}
	s.m = map[string]*sql.Stmt{}
	s.mu.Unlock()
}

func (s *stmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := s.get(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, q, args...)
}

func (s *stmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := s.get(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, q, args...)
}

func (s *stmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := s.get(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, q, args...)
}

// txStmts is a write transaction that runs the writer's cached statements
// (Tx.StmtContext reuses a statement already prepared on the transaction's
// connection, and the writer has one). Its statements ignore the caller's
// cancellation: SQLite rolls back the whole transaction when a write
// statement in it is interrupted, and a transaction carries a batch of
// writes (see "Group commit").
type txStmts struct {
	tx *sql.Tx
	s  *stmts
}

func (t txStmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	if st := t.s.cached(q); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t txStmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if st := t.s.cached(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

func (t txStmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	if st := t.s.cached(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}
