package api_test

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tenderpay/tender/api"
)

// requestCounts reads tender_http_request_seconds: requests by route,
// method and code.
func requestCounts(t *testing.T, reg *prometheus.Registry) map[string]uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "tender_http_request_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["method"]+" "+labels["route"]+" "+labels["code"]] += histCount(m)
		}
	}
	return out
}

func histCount(m *dto.Metric) uint64 { return m.GetHistogram().GetSampleCount() }

// Every request is counted and logged under the status it was answered
// with: the first WriteHeader, and a long-poll handed over to the
// engine's waiters (answered 200 later).
func TestRequestsCountedByTheirStatus(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	var logs syncBuf
	e.srv.Config.Handler = api.NewServer(e.eng, api.Options{Registerer: reg, Gatherer: reg,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","terminal":"till-1"}`, 201)
	id := p["id"].(string)
	e.mustDo("GET", "/v1/payments/pay_nosuchpayment", "", 404)
	// A parked long-poll, answered when the payment changes.
	conn := e.rawLongPoll(id)
	defer conn.Close()
	time.Sleep(200 * time.Millisecond)
	if cb := e.do("POST", "/callbacks/testpay/tp1/notify", `{"ref":"T-`+id+`","status":"captured"}`, "X-Sig", "s3cret"); cb.status != 200 {
		t.Fatalf("callback: %d", cb.status)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()

	got := requestCounts(t, reg)
	for _, want := range []string{
		"POST POST /v1/payments 201",
		"GET GET /v1/payments/{id} 404",
		"GET GET /v1/payments/{id} 200",
	} {
		if got[want] != 1 {
			t.Errorf("requests %q: %d, want 1 (all: %v)", want, got[want], got)
		}
	}
	for k := range got {
		if strings.HasSuffix(k, " 0") {
			t.Errorf("a request counted without a status: %q", k)
		}
	}
	if !strings.Contains(logs.String(), `"status":201`) || strings.Contains(logs.String(), `"status":0`) ||
		strings.Contains(logs.String(), `"msg":"request failed"`) { // a 404 is the client's, not logged as a failure
		t.Errorf("request log lines:\n%s", logs.String())
	}
}

// A handler that panics is answered 500 with nothing of the panic in it,
// counted as a 500; one that panics after it answered keeps its answer;
// a body written without WriteHeader is counted as the 200 it is.
func TestPanicIsAnInternalError(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	var logs syncBuf
	s := api.NewServer(e.eng, api.Options{Registerer: reg, Gatherer: reg, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	h := s.Observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/write":
			w.Write([]byte("ok"))
			w.WriteHeader(http.StatusTeapot) // too late: ignored
			return
		case "/late":
			w.WriteHeader(http.StatusAccepted)
			w.WriteHeader(http.StatusTeapot)
		}
		panic("secret-detail")
	}))
	for path, want := range map[string]int{"/early": 500, "/late": 202, "/write": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want || strings.Contains(rec.Body.String(), "secret-detail") {
			t.Errorf("%s: %d %s, want %d without the panic's text", path, rec.Code, rec.Body, want)
		}
		if want == 500 && !strings.Contains(rec.Body.String(), `"internal"`) {
			t.Errorf("%s: body %s, want an internal error", path, rec.Body)
		}
	}
	// net/http's own abort goes on up: the connection is dropped, nothing
	// is answered.
	abort := s.Observe(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("ErrAbortHandler recovered as %v", v)
			}
		}()
		abort.ServeHTTP(rec, httptest.NewRequest("GET", "/abort", nil))
	}()
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("an aborted request was answered %d %s", rec.Code, rec.Body)
	}
	// The 500 is logged as a failure with its request id.
	if n := strings.Count(logs.String(), `"msg":"request failed"`); n != 1 {
		t.Errorf("%d request failed lines, want 1 (the 500):\n%s", n, logs.String())
	}
	got := requestCounts(t, reg)
	if got["GET unmatched 500"] != 1 || got["GET unmatched 202"] != 1 || got["GET unmatched 200"] != 1 || len(got) != 3 {
		t.Errorf("requests: %v", got)
	}
}

type syncBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A platform key naming a merchant that does not exist is told so, about
// the header.
func TestUnknownMerchantHeader(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/v1/payments", "", "Tender-Merchant", "mer_nosuchshop")
	if r.status != 404 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	er := r.json(t)["error"].(map[string]any)
	if er["param"] != "Tender-Merchant" || !strings.Contains(er["message"].(string), `no merchant "mer_nosuchshop"`) {
		t.Errorf("error %v", er)
	}
}
