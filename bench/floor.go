package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite"
)

// ServeFloor runs the floor: an HTTP server that parses the same JSON as
// POST /v1/payments and makes one durable insert per request on the same
// driver and settings as Tender's store (SQLite: WAL, synchronous=FULL, one
// writer connection; PostgreSQL: pgx pool, synchronous_commit on). Nothing
// a payment API could do per request is cheaper than this.
func ServeFloor(ctx context.Context, db, addr string) error {
	insert, closeDB, err := openFloor(ctx, db)
	if err != nil {
		return err
	}
	defer closeDB()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /v1/payments", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Amount    int64             `json:"amount"`
			Currency  string            `json:"currency"`
			Connector string            `json:"connector"`
			ReturnURL string            `json:"return_url"`
			Reference string            `json:"reference"`
			Metadata  map[string]string `json:"metadata"`
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = json.Unmarshal(body, &in)
		}
		if err != nil || in.Amount <= 0 {
			http.Error(w, "bad request", 400)
			return
		}
		var b [12]byte
		rand.Read(b[:])
		id := "pay_" + hex.EncodeToString(b[:])
		if err := insert(r.Context(), id, r.Header.Get("Idempotency-Key"), string(body)); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"id": id, "amount": in.Amount, "currency": in.Currency, "status": "pending"})
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func openFloor(ctx context.Context, db string) (func(ctx context.Context, id, key, body string) error, func(), error) {
	const ddl = `CREATE TABLE IF NOT EXISTS floor (id TEXT PRIMARY KEY, idem TEXT NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL)`
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		pool, err := pgxpool.New(ctx, db)
		if err != nil {
			return nil, nil, err
		}
		if _, err := pool.Exec(ctx, ddl); err != nil {
			pool.Close()
			return nil, nil, err
		}
		return func(ctx context.Context, id, key, body string) error {
			_, err := pool.Exec(ctx, `INSERT INTO floor (id, idem, body, created_at) VALUES ($1, $2, $3, $4)`, id, key, body, time.Now().UnixMicro())
			return err
		}, pool.Close, nil
	}
	path := strings.TrimPrefix(db, "sqlite:")
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, nil, err
	}
	w.SetMaxOpenConns(1)
	if _, err := w.ExecContext(ctx, ddl); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("floor: %w", err)
	}
	stmt, err := w.PrepareContext(ctx, `INSERT INTO floor (id, idem, body, created_at) VALUES (?, ?, ?, ?)`)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return func(ctx context.Context, id, key, body string) error {
		_, err := stmt.ExecContext(ctx, id, key, body, time.Now().UnixMicro())
		return err
	}, func() { w.Close() }, nil
}
