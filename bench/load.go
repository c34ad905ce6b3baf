package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func newClient(conns int) *http.Client {
	return &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 2 * time.Minute,
	}}
}

func randomKey() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// createBody is the request both Tender and the floor parse.
const createBody = `{"amount": 1050, "currency": "EUR", "connector": "computop", "return_url": "https://shop.example/done", "reference": "bench", "metadata": {"till": "1"},
	"computop": {"billing": {"first_name": "Eva", "last_name": "de Vries", "street": "Damrak 1", "city": "Amsterdam", "zip": "1012LG", "country_code": "NL"}}}`

// loadResult is what a closed-loop load of one request kind measured.
type loadResult struct {
	Rate     float64 // requests per second
	P50, P99 time.Duration
	Errors   int64
}

// post sends one create and returns the decoded answer.
func post(ctx context.Context, c *http.Client, url, key, body string) (map[string]any, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/payments", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", randomKey())
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return do(c, req, 201)
}

func do(c *http.Client, req *http.Request, want int) (map[string]any, error) {
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// closedLoop runs fn from clients goroutines for d (after a short warm-up)
// and measures its rate and latency.
func closedLoop(ctx context.Context, clients int, d time.Duration, fn func(ctx context.Context) error) loadResult {
	var (
		mu      sync.Mutex
		lat     []time.Duration
		errs    atomic.Int64
		measure atomic.Bool
		wg      sync.WaitGroup
	)
	warm := min(d/4, time.Second)
	stop := time.Now().Add(warm + d)
	var began time.Time
	go func() { time.Sleep(warm); began = time.Now(); measure.Store(true) }()
	var firstErr atomic.Value
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(stop) && ctx.Err() == nil {
				t := time.Now()
				err := fn(ctx)
				if !measure.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	if e := firstErr.Load(); e != nil {
		fmt.Printf("    (first error: %.200s)\n", e)
	}
	slices.Sort(lat)
	r := loadResult{Rate: float64(len(lat)) / elapsed.Seconds(), Errors: errs.Load()}
	if len(lat) > 0 {
		r.P50, r.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return r
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*p/100)]
}
