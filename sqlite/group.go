package sqlite

import (
	"context"
	"errors"

	"github.com/tenderpay/tender"
)

// Group commit. Every write goes through the one writer connection, and
// with synchronous=FULL each commit waits for an fsync of the WAL: the disk's
// flush, not the CPU, bounds how many transactions per second one
// connection commits. So the writer runs the write transactions that queue
// up while it commits one batch as the next batch: one BEGIN IMMEDIATE, each
// write in a savepoint of its own (a write that fails is rolled back to its
// savepoint, and the others go on), one COMMIT, one fsync. Every caller
// learns its result only after that COMMIT returned, so nothing is
// acknowledged before it is durable; if the COMMIT fails, every write of the
// batch fails with it. A write runs exactly as it would alone, after the
// writes queued before it (it sees what they wrote), so the batch is the
// same as running them one after another. Nothing waits to fill a batch: a
// write that finds the writer idle runs at once.

// maxBatch bounds how many writes one commit carries (and so how long the
// last of them waits).
const maxBatch = 64

// write is one write transaction waiting for the writer.
type write struct {
	ctx  context.Context
	fn   func(txStmts) error
	done chan error
}

// startWriter starts the goroutine that runs the write transactions.
func (db *DB) startWriter() {
	db.writes = make(chan *write)
	db.quit = make(chan struct{})
	db.stopped = make(chan struct{})
	go func() {
		defer close(db.stopped)
		for {
			var batch []*write
			select {
			case w := <-db.writes:
				batch = append(batch, w)
			case <-db.quit:
				return
			}
		drain:
			for len(batch) < maxBatch {
				select {
				case w := <-db.writes:
					batch = append(batch, w)
				default:
					break drain
				}
			}
			db.commitBatch(batch)
		}
	}()
}

func (db *DB) stopWriter() {
	if db.quit != nil {
		db.stopOnce.Do(func() { close(db.quit) })
		<-db.stopped
	}
}

var errClosed = tender.Errorf(tender.EInternal, "the database is closed")

// tx runs fn in a write transaction (BEGIN IMMEDIATE on the single writer
// connection, possibly together with other writes: see "Group commit")
// with the writer's cached statements, and returns once its result is
// durable: nil after the commit, or fn's error after it was rolled back.
// fn's statements run to completion even if ctx is canceled meanwhile (a
// statement interrupted inside a transaction would roll back the whole
// batch); a ctx canceled before fn began leaves fn unrun.
func (db *DB) tx(ctx context.Context, fn func(txStmts) error) error {
	w := &write{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.writes <- w:
	case <-ctx.Done():
		return dbError(ctx.Err())
	case <-db.quit:
		return errClosed
	}
	// Once the writer has it, it may commit: wait for the truth.
	return <-w.done
}

// commitBatch runs the writes of batch in one transaction and tells each
// its result once it is durable.
func (db *DB) commitBatch(batch []*write) {
	ctx := context.Background()
	results := make([]error, len(batch))
	finish := func() {
		for i, w := range batch {
			w.done <- results[i]
		}
		db.writeStmts.preparePending(ctx)
	}
	failAll := func(err error) {
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		failAll(dbError(err))
		finish()
		return
	}
	ts := txStmts{tx, db.writeStmts}
	single := len(batch) == 1
	ran := 0
	for i, w := range batch {
		if err := w.ctx.Err(); err != nil {
			results[i] = dbError(err) // not begun: nothing to undo
			continue
		}
		if single {
			results[i] = w.fn(ts)
			if results[i] == nil {
				ran++
			}
			break
		}
		if _, err := ts.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			tx.Rollback()
			failAll(dbError(err))
			finish()
			return
		}
		if results[i] = w.fn(ts); results[i] != nil {
			// Undo this write alone. If SQLite already rolled the
			// whole transaction back (an I/O error does), the savepoint
			// is gone and nothing of the batch may be committed.
			if _, err := ts.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
				tx.Rollback()
				failAll(dbError(errors.Join(err, results[i])))
				finish()
				return
			}
		} else {
			ran++
		}
		if _, err := ts.ExecContext(ctx, "RELEASE w"); err != nil {
			tx.Rollback()
			failAll(dbError(err))
			finish()
			return
		}
	}
	if ran == 0 {
		tx.Rollback()
		finish()
		return
	}
	if err := tx.Commit(); err != nil {
		failAll(dbError(err))
	}
	db.commits.Add(1)
	finish()
}

// writeConn runs the shared queries' single-statement writes as write
// transactions of their own, so that they are group-committed too (reads
// on it run on the writer, as before).
type writeConn struct {
	conn
	db *DB
}

func (c writeConn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := c.db.tx(ctx, func(tx txStmts) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
