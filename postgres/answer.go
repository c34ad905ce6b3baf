package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/sqldb"
)

// CreatePaymentReserving inserts rec in flight and p with its events in
// one transaction, unless a record of rec's Scope and Key exists that has
// not expired at rec.CreatedAt: then it returns that record and stores
// nothing. The key's INSERT ... ON CONFLICT comes first, so a concurrent
// reserver of the same key waits for this transaction and then finds the
// key taken (or free again, if this one rolled back). chk's reads are
// made in the same statement (one-trip) or transaction as the insert.
func (db *DB) CreatePaymentReserving(ctx context.Context, rec *tender.IdempotencyRecord, chk tender.CreateChecks, p *tender.Payment, events ...tender.Event) (*tender.IdempotencyRecord, error) {
	db.normalizeRecord(rec)
	q, insert, args, err := sqldb.NewPaymentRow(&dialect, p, db.now())
	if err != nil {
		return nil, err
	}
	if q.Terminal == "" {
		return db.createReservingOneTrip(ctx, rec, chk, p, &q, args, events)
	}
	var existing *tender.IdempotencyRecord
	err = db.tx(ctx, func(tx pgx.Tx) error {
		for range 10 {
			var prior, fresh bool
			priorQ, freshQ, cargs := checksQuery(chk, &q, 1)
			if err := tx.QueryRow(ctx, `SELECT `+priorQ+`, `+freshQ, cargs...).Scan(&prior, &fresh); err != nil {
				return dbError(err)
			}
			won := false
			if !prior && fresh {
				var err error
				if won, err = reserveKey(ctx, tx, rec); err != nil {
					return dbError(err)
				}
			}
			if won {
				return insertPayment(ctx, tx, &q, insert, args, events)
			}
			old, err := liveRecord(ctx, tx, rec)
			switch {
			case err != nil:
				return err
			case old != nil:
				existing = old
				return nil
			case !fresh:
				return tender.ErrStale
			case prior:
				return tender.ErrOperationExists
			}
			// released or purged meanwhile: try again
		}
		return tender.Errorf(tender.EInternal, "idempotency key %q keeps changing; try again", rec.Key)
	})
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return existing, nil
	}
	rec.Done, rec.Status, rec.Body = false, 0, nil
	*p = q
	return nil, nil
}

// checksQuery is chk for payment q as two boolean expressions with their
// parameters, numbered from n: whether a payment of q's operation exists
// (prior), and whether q's account is as the caller read it (fresh).
func checksQuery(chk tender.CreateChecks, q *tender.Payment, n int) (prior, fresh string, args []any) {
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(n+len(args)-1)
	}
	prior, fresh = "false", "true"
	if chk.Operation && q.OperationID != "" {
		prior = `EXISTS (SELECT 1 FROM payments WHERE operation_id = ` + arg(q.OperationID) + ` AND operation_id <> '' AND merchant = ` + arg(q.Merchant) + `)`
	}
	if chk.AccountSealed != nil {
		fresh = `EXISTS (SELECT 1 FROM accounts WHERE id = ` + arg(q.Account) + ` AND sealed = ` + arg(chk.AccountSealed)
		if chk.AccountDefault {
			fresh += ` AND is_default`
		}
		fresh += `)`
	}
	return prior, fresh, args
}

// liveRecord returns the record of rec's key if it has not expired at
// rec.CreatedAt, else nil.
// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}

// reserveKey inserts rec's key as in flight, or takes over an expired
// record of it; false (no error) when a live record holds the key.
func reserveKey(ctx context.Context, c rowQuerier, rec *tender.IdempotencyRecord) (bool, error) {
	var won bool
	err := c.QueryRow(ctx, `INSERT INTO idempotency_keys AS k
			(scope, key, request_hash, done, status, body, created_at, expires_at, locked_until)
		VALUES ($1, $2, $3, false, 0, NULL, $4, $5, $6)
		ON CONFLICT (scope, key) DO UPDATE SET
			request_hash = EXCLUDED.request_hash, done = false, status = 0, body = NULL,
			created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
			locked_until = EXCLUDED.locked_until
		WHERE k.expires_at <= EXCLUDED.created_at
		RETURNING true`,
		rec.Scope, rec.Key, rec.RequestHash, rec.CreatedAt, rec.ExpiresAt, dialect.LockTime(rec.LockedUntil)).Scan(&won)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return won, err
}

func liveRecord(ctx context.Context, c rowQuerier, rec *tender.IdempotencyRecord) (*tender.IdempotencyRecord, error) {
	old, err := sqldb.ScanIdempotency(c.QueryRow(ctx, `SELECT `+sqldb.IdempotencyColumns+`
		FROM idempotency_keys WHERE scope = $1 AND key = $2`, rec.Scope, rec.Key))
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !old.ExpiresAt.After(rec.CreatedAt) {
		return nil, nil
	}
	if err != nil {
		return nil, dbError(err)
	}
	return old, nil
}

// UpdatePaymentAnswering is UpdatePayment that also stores a's response
// for its in-flight record, sent with the events in one round trip of the
// same transaction.
func (db *DB) UpdatePaymentAnswering(ctx context.Context, p *tender.Payment, a tender.IdempotencyAnswer, events ...tender.Event) (bool, error) {
	q, stmt, vals, err := sqldb.UpdatedPaymentRow(&dialect, p, db.now())
	if err != nil {
		return false, err
	}
	status, body, keep := a.Respond(&q)
	answered := false
	if oneTrip {
		return db.answerOneTrip(ctx, p, &q, stmt, vals, a, status, body, keep, events)
	}
	err = db.tx(ctx, func(tx pgx.Tx) error {
		answered = false
		var more func(*pgx.Batch)
		if keep {
			more = func(b *pgx.Batch) {
				s, args := dialect.AnswerIdempotency(a.Scope, a.Key, status, body)
				b.Queue(s, args...).Exec(func(ct pgconn.CommandTag) error {
					answered = ct.RowsAffected() == 1
					return nil
				})
			}
		}
		return updatePayment(ctx, tx, &q, stmt, vals, events, more)
	})
	if err != nil {
		return false, err
	}
	p.Version = q.Version
	p.UpdatedAt = q.UpdatedAt
	p.CreatedAt, p.NextCheckAt = q.CreatedAt, q.NextCheckAt
	return answered, nil
}

// oneTrip sends a create's two transactions, and every update of a
// payment, as one batch each (one round trip, an implicit transaction)
// instead of BEGIN, statements, COMMIT.
const oneTrip = true

// createReservingOneTrip is CreatePaymentReserving in one round trip: one
// statement reads what chk asks, reserves the key (unless a check fails)
// and inserts the payment if the key was won; its events follow in the
// same round trip (they find no payment to attach to if it was not
// inserted).
func (db *DB) createReservingOneTrip(ctx context.Context, rec *tender.IdempotencyRecord, chk tender.CreateChecks, p, q *tender.Payment, args []any, events []tender.Event) (*tender.IdempotencyRecord, error) {
	n := len(sqldb.PaymentColumns)
	marks := make([]string, n)
	for i := range marks {
		marks[i] = "$" + strconv.Itoa(i+1)
	}
	k := func(i int) string { return "$" + strconv.Itoa(n+i) }
	priorQ, freshQ, cargs := checksQuery(chk, q, n+7)
	stmt := `WITH chk AS (SELECT ` + priorQ + ` AS prior, ` + freshQ + ` AS fresh),
		won AS (
			INSERT INTO idempotency_keys AS k
				(scope, key, request_hash, done, status, body, created_at, expires_at, locked_until)
			SELECT ` + k(1) + `, ` + k(2) + `, ` + k(3) + `, false, 0, NULL, ` + k(4) + `::timestamptz, ` + k(5) + `::timestamptz, ` + k(6) + `::timestamptz
			FROM chk WHERE NOT chk.prior AND chk.fresh
			ON CONFLICT (scope, key) DO UPDATE SET
				request_hash = EXCLUDED.request_hash, done = false, status = 0, body = NULL,
				created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
				locked_until = EXCLUDED.locked_until
			WHERE k.expires_at <= EXCLUDED.created_at
			RETURNING 1
		),
		ins AS (
			INSERT INTO payments (` + strings.Join(sqldb.PaymentColumns, ", ") + `)
			SELECT ` + strings.Join(marks, ", ") + ` WHERE EXISTS (SELECT 1 FROM won)
			RETURNING 1
		)
		SELECT EXISTS (SELECT 1 FROM ins), chk.prior, chk.fresh FROM chk`
	all := append(append([]any{}, args...), rec.Scope, rec.Key, rec.RequestHash, rec.CreatedAt, rec.ExpiresAt, dialect.LockTime(rec.LockedUntil))
	all = append(all, cargs...)
	for range 10 {
		var b pgx.Batch
		var won, prior, fresh bool
		b.Queue(stmt, all...).QueryRow(func(row pgx.Row) error { return row.Scan(&won, &prior, &fresh) })
		queueEvents(&b, q.ID, q.UpdatedAt, events, false)
		err := db.pool.SendBatch(ctx, &b).Close()
		if c := uniqueViolation(err); c != "" {
			return nil, tender.Errorf(tender.EConflict, "payment %s already exists", q.ID)
		}
		if err != nil {
			return nil, dbError(err)
		}
		if won {
			rec.Done, rec.Status, rec.Body = false, 0, nil
			*p = *q
			return nil, nil
		}
		old, err := liveRecord(ctx, db.pool, rec)
		switch {
		case err != nil || old != nil:
			return old, err
		case !fresh:
			return nil, tender.ErrStale
		case prior:
			return nil, tender.ErrOperationExists
		}
		// released or purged meanwhile: try again
	}
	return nil, tender.Errorf(tender.EInternal, "idempotency key %q keeps changing; try again", rec.Key)
}

// answerOneTrip is UpdatePaymentAnswering in one round trip: the
// update's (updateOneTrip) with the key's response, also written only if
// that update wrote the payment's row.
func (db *DB) answerOneTrip(ctx context.Context, p, q *tender.Payment, stmt string, vals []any, a tender.IdempotencyAnswer, status int, body []byte, keep bool, events []tender.Event) (bool, error) {
	answered := false
	var more func(*pgx.Batch)
	if keep {
		if body == nil {
			body = []byte{}
		}
		more = func(b *pgx.Batch) {
			b.Queue(`UPDATE idempotency_keys SET done = true, status = $1, body = $2
				WHERE scope = $3 AND key = $4 AND NOT done
					AND EXISTS (SELECT 1 FROM payments p WHERE p.id = $5 AND `+updatedHere+`)`,
				status, body, a.Scope, a.Key, q.ID).Exec(func(ct pgconn.CommandTag) error {
				answered = ct.RowsAffected() == 1
				return nil
			})
		}
	}
	if err := db.updateOneTrip(ctx, q, stmt, vals, events, more); err != nil {
		return false, err
	}
	p.Version = q.Version
	p.UpdatedAt = q.UpdatedAt
	p.CreatedAt, p.NextCheckAt = q.CreatedAt, q.NextCheckAt
	return answered, nil
}
