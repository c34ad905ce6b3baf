package postgres

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tenderpay/tender/internal/sqldb"
)

// noticeChannel carries "kind:id" for every change of an object that
// instances keep in memory (API keys, accounts, merchants). NOTIFY is sent in the changing
// transaction, so PostgreSQL delivers it when, and only if, it commits.
const noticeChannel = "tender_changes"

// notices is the listening side: one connection of its own per store,
// started by the first WatchNotices.
type notices struct {
	mu      sync.Mutex
	live    []func(bool)
	changed []func(kind, id string)
	up      bool
	stop    context.CancelFunc
	done    chan struct{}
}

// WatchNotices calls changed(kind, id) for each change committed by any
// instance on this database, live(false) when the listening connection
// drops (notices may be lost until it is back) and live(true) once it
// listens again, until the store is closed. live(false) comes first.
func (db *DB) WatchNotices(live func(bool), changed func(kind, id string)) {
	n := &db.notices
	n.mu.Lock()
	defer n.mu.Unlock()
	n.live = append(n.live, live)
	n.changed = append(n.changed, changed)
	live(false)
	if n.up {
		live(true)
	}
	if n.stop == nil {
		ctx, stop := context.WithCancel(context.Background())
		n.stop, n.done = stop, make(chan struct{})
		go db.listen(ctx)
	}
}

// listen holds the listening connection, connecting again a second after
// it drops, until ctx ends.
func (db *DB) listen(ctx context.Context) {
	n := &db.notices
	defer close(n.done)
	cfg := db.pool.Config().ConnConfig
	// Named, with its schema, so that an operator (or a test) can find it.
	cfg.RuntimeParams["application_name"] = strings.TrimSpace("tender notices " + cfg.RuntimeParams["search_path"])
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			if _, err = conn.Exec(ctx, `LISTEN `+noticeChannel); err == nil {
				n.setUp(true)
				for {
					note, err := conn.WaitForNotification(ctx)
					if err != nil {
						break
					}
					kind, id, _ := strings.Cut(note.Payload, ":")
					n.mu.Lock()
					for _, f := range n.changed {
						f(kind, id)
					}
					n.mu.Unlock()
				}
				n.setUp(false)
			}
			conn.Close(context.Background())
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (n *notices) setUp(up bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.up = up
	for _, f := range n.live {
		f(up)
	}
}

// close stops listening.
func (n *notices) close() {
	n.mu.Lock()
	stop, done := n.stop, n.done
	n.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// RevokeAPIKey sets the key's revoked_at, once, and tells every instance
// (WatchNotices) in the same statement: the notice is delivered when the
// revocation commits.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	if at = utc(at); at.IsZero() {
		at = db.now()
	}
	var n int
	err := db.pool.QueryRow(ctx, `WITH r AS (
			UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING id
		)
		SELECT count(*) FROM (SELECT pg_notify($3, 'api_key:' || id) FROM r) AS told`,
		dialect.Time(at), id, noticeChannel).Scan(&n)
	if err != nil {
		return dbError(err)
	}
	if n == 0 {
		return notFound("API key", id)
	}
	return nil
}

// tellChange is the stores' OnChange: a notice of the change, sent in its
// transaction, so that PostgreSQL delivers it when, and only if, the
// change commits.
func tellChange(ctx context.Context, tx sqldb.DB, kind, id string) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, noticeChannel, kind+":"+id)
	return err
}
