package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tenderpay/tender/computop/sim"
)

// lifecycle is one Computop Wero payment from create to captured: create,
// the shopper approves in the simulated bank app (Paygate notifies Tender),
// and a long-poll sees it captured.
func lifecycle(ctx context.Context, c, browser *http.Client, p *proc) error {
	m, err := post(ctx, c, p.URL, p.Key, createBody)
	if err != nil {
		return err
	}
	id, _ := m["id"].(string)
	na, _ := m["next_action"].(map[string]any)
	page, _ := na["url"].(string)
	if page == "" {
		return fmt.Errorf("payment %s has no next_action", id)
	}
	if err := sim.Shop(ctx, browser, page, sim.ActionApprove); err != nil {
		return err
	}
	for range 5 {
		req, _ := http.NewRequestWithContext(ctx, "GET", p.URL+"/v1/payments/"+id+"?wait=10s", nil)
		req.Header.Set("Authorization", "Bearer "+p.Key)
		m, err := do(c, req, 200)
		if err != nil {
			return err
		}
		if m["status"] == "captured" {
			return nil
		}
	}
	return fmt.Errorf("payment %s not captured", id)
}

// loopbackBrowser follows redirects on 127.0.0.1 only (not on to the shop).
func loopbackBrowser() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256},
		CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if r.URL.Hostname() != "127.0.0.1" {
				return http.ErrUseLastResponse
			}
			return nil
		}}
}

// longPollResult is what n waiters cost and how fast a change reached them.
type longPollResult struct {
	Waiters  int
	RSS      int64
	IdleCPU  float64 // cores, while all wait and nothing changes
	P50, P99 time.Duration
	Returned int
}

// longPoll opens n long-polls spread over open payments, measures the
// server's memory and idle CPU, then approves some payments and measures
// how long their waiters take to return after the approval began.
func longPoll(ctx context.Context, p *proc, n int, idle time.Duration) (longPollResult, error) {
	c := newClient(n + 100)
	perPayment := 50
	payments := (n + perPayment - 1) / perPayment
	ids := make([]string, payments)
	pages := make([]string, payments)
	for i := range ids {
		m, err := post(ctx, c, p.URL, p.Key, createBody)
		if err != nil {
			return longPollResult{}, err
		}
		ids[i] = m["id"].(string)
		pages[i] = m["next_action"].(map[string]any)["url"].(string)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		returned = map[int][]time.Time{}
		wg       sync.WaitGroup
		opened   sync.WaitGroup
	)
	for w := range n {
		i := w % payments
		opened.Add(1)
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(wctx, "GET", p.URL+"/v1/payments/"+ids[i]+"?wait=60s", nil)
			req.Header.Set("Authorization", "Bearer "+p.Key)
			opened.Done()
			res, err := c.Do(req)
			if err != nil {
				return
			}
			res.Body.Close()
			if res.StatusCode == 200 {
				mu.Lock()
				returned[i] = append(returned[i], time.Now())
				mu.Unlock()
			}
		})
	}
	opened.Wait()
	time.Sleep(3 * time.Second) // let every request reach the server
	// On a busy machine 10,000 requests take a while to arrive: nothing
	// "changes" until the server holds a connection for each (open file
	// descriptors) and is quiet (under a tenth of a core).
	settle := time.Now().Add(2 * time.Minute)
	for fds := p.FDs(); fds >= 0 && fds < n && time.Now().Before(settle); fds = p.FDs() {
		time.Sleep(200 * time.Millisecond)
	}
	// Three quiet seconds in a row: on a starved machine one second
	// without CPU may only mean that Tender got none.
	for quiet := 0; quiet < 3 && time.Now().Before(settle); {
		c0, t0 := p.CPU(), time.Now()
		time.Sleep(time.Second)
		if float64(p.CPU()-c0)/float64(time.Since(t0)) < 0.1 {
			quiet++
		} else {
			quiet = 0
		}
	}
	r := longPollResult{Waiters: n}
	cpu0, t0 := p.CPU(), time.Now()
	time.Sleep(idle)
	r.IdleCPU = float64(p.CPU()-cpu0) / float64(time.Since(t0))
	r.RSS = p.RSS()
	// Change a few payments: approve in the bank app.
	changed := min(10, payments)
	began := make([]time.Time, changed)
	browser := loopbackBrowser()
	for i := range changed {
		began[i] = time.Now()
		if err := sim.Shop(ctx, browser, pages[i], sim.ActionApprove); err != nil {
			return r, err
		}
	}
	time.Sleep(3 * time.Second)
	mu.Lock()
	var lat []time.Duration
	for i := range changed {
		for _, t := range returned[i] {
			lat = append(lat, t.Sub(began[i]))
		}
	}
	mu.Unlock()
	r.Returned = len(lat)
	r.P50, r.P99 = percentile(lat, 50), percentile(lat, 99)
	cancel()
	wg.Wait()
	return r, nil
}

// seedPayments copies the payments in db until there are n, directly in
// SQL (the API would take hours): same merchant, new ids, one in eight
// captured.
func seedPayments(ctx context.Context, db string, n int) error {
	exec, query, closeDB, err := rawDB(ctx, db)
	if err != nil {
		return err
	}
	defer closeDB()
	cols, err := query(ctx, columnsQuery(db))
	if err != nil {
		return err
	}
	for round := 0; ; round++ {
		have, err := query(ctx, `SELECT count(*) FROM payments`)
		if err != nil {
			return err
		}
		var count int
		fmt.Sscan(have[0], &count)
		if count >= n || count == 0 {
			break
		}
		sel := make([]string, len(cols))
		for i, c := range cols {
			switch c {
			case "id":
				sel[i] = fmt.Sprintf("id || 'r%d'", round)
			case "operation_id":
				sel[i] = "''"
			case "status":
				sel[i] = "CASE WHEN substr(id, 6, 1) IN ('a', 'b') THEN 'captured' ELSE status END"
			case "next_check_at":
				sel[i] = "NULL"
			default:
				sel[i] = c
			}
		}
		q := fmt.Sprintf("INSERT INTO payments (%s) SELECT %s FROM payments ORDER BY id LIMIT %d",
			strings.Join(cols, ", "), strings.Join(sel, ", "), min(count, n-count))
		if err := exec(ctx, q); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	return exec(ctx, analyzeQuery(db))
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

func columnsQuery(db string) string {
	if isPostgres(db) {
		return `SELECT column_name FROM information_schema.columns WHERE table_name = 'payments' AND table_schema = current_schema() ORDER BY ordinal_position`
	}
	return `SELECT name FROM pragma_table_info('payments')`
}

func analyzeQuery(db string) string {
	if isPostgres(db) {
		return `ANALYZE payments`
	}
	return `ANALYZE`
}

// rawDB opens db for the benchmark's own SQL; query returns the first
// column of every row as text.
func rawDB(ctx context.Context, db string) (exec func(context.Context, string) error, query func(context.Context, string) ([]string, error), closeDB func(), err error) {
	if isPostgres(db) {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return nil, nil, nil, err
		}
		return func(ctx context.Context, q string) error { _, err := conn.Exec(ctx, q); return err },
			func(ctx context.Context, q string) ([]string, error) {
				rows, err := conn.Query(ctx, q)
				if err != nil {
					return nil, err
				}
				var out []string
				for rows.Next() {
					v, err := rows.Values()
					if err != nil {
						return nil, err
					}
					out = append(out, fmt.Sprint(v[0]))
				}
				return out, rows.Err()
			}, func() { conn.Close(ctx) }, nil
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	sdb, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(db, "sqlite:")+"?"+q.Encode())
	if err != nil {
		return nil, nil, nil, err
	}
	sdb.SetMaxOpenConns(1)
	return func(ctx context.Context, q string) error { _, err := sdb.ExecContext(ctx, q); return err },
		func(ctx context.Context, q string) ([]string, error) {
			rows, err := sdb.QueryContext(ctx, q)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var v any
				if err := rows.Scan(&v); err != nil {
					return nil, err
				}
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				out = append(out, fmt.Sprint(v))
			}
			return out, rows.Err()
		}, func() { sdb.Close() }, nil
}

// listLatency times GET /v1/payments pages: the first page by status, and
// deep pages (starting_after a payment 100,000 down) with and without it.
func listLatency(ctx context.Context, p *proc, db string, n int) (map[string]time.Duration, error) {
	_, query, closeDB, err := rawDB(ctx, db)
	if err != nil {
		return nil, err
	}
	deep, err := query(ctx, fmt.Sprintf(`SELECT id FROM payments ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET %d`, n/2))
	if err != nil {
		closeDB()
		return nil, err
	}
	deepCaptured, err := query(ctx, fmt.Sprintf(`SELECT id FROM payments WHERE status = 'captured' ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET %d`, n/20))
	closeDB()
	if err != nil {
		return nil, err
	}
	if len(deep) == 0 || len(deepCaptured) == 0 {
		return nil, fmt.Errorf("list: too few payments seeded")
	}
	c := newClient(4)
	out := map[string]time.Duration{}
	for name, q := range map[string]string{
		"status":      "?status=captured&limit=10",
		"deep":        "?limit=10&starting_after=" + deep[0],
		"status+deep": "?status=captured&limit=10&starting_after=" + deepCaptured[0],
	} {
		var lat []time.Duration
		for range 30 {
			req, _ := http.NewRequestWithContext(ctx, "GET", p.URL+"/v1/payments"+q, nil)
			req.Header.Set("Authorization", "Bearer "+p.Key)
			t := time.Now()
			if _, err := do(c, req, 200); err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(t))
		}
		out[name] = percentile(lat, 50)
	}
	return out, nil
}
