package api

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tenderpay/tender"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyCaller
)

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(keyRequestID).(string)
	return id
}

// caller is who makes an API request: the key, and the merchant it acts
// for on this request.
type caller struct {
	key      *tender.APIKey
	merchant string
}

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(keyCaller).(caller)
	return c
}

func (c caller) platform() bool { return c.key.Scope == tender.ScopePlatform }

// mayUseTerminal says whether the caller may pay on terminal id: any of its
// merchant's terminals, or for a terminal key those it names.
func (c caller) mayUseTerminal(id string) bool {
	return c.key.Scope != tender.ScopeTerminal || slices.Contains(c.key.Terminals, id)
}

type httpMetrics struct {
	requests *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tender_http_request_seconds",
		Help:    "HTTP requests by route pattern, method and status code.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "method", "code"})}
	if reg != nil {
		reg.MustRegister(m.requests)
	}
	return m
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection over (a parked long-poll, longpoll.go); the
// request is logged as the 200 it is answered with later.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, b, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusOK
	}
	return c, b, err
}

// observe gives every request an id, logs it, records its metrics and turns a
// panic into a 500 that reveals nothing.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := tender.NewID("req")
		w.Header().Set("Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), keyRequestID, id))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "request_id", id, "method", r.Method, "path", r.URL.Path, "panic", v)
				if sw.status == 0 {
					s.writeError(sw, r, tender.Errorf(tender.EInternal, "internal error"))
				}
			}
			// The path may hold a payment id, never a secret: API keys
			// travel in headers, provider data in bodies.
			s.log.Info("request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", sw.status, "duration_ms", time.Since(start).Milliseconds())
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// authenticate requires a valid API key in Authorization: Bearer.
func (s *Server) authenticate(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, secret, ok := strings.Cut(h, " ")
		if h == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tender"`)
			s.writeError(w, r, tender.Errorf(tender.EUnauthorized, "no API key given; send Authorization: Bearer <key>"))
			return
		}
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tender"`)
			s.writeError(w, r, tender.Errorf(tender.EUnauthorized, "the Authorization header must be \"Bearer <key>\""))
			return
		}
		k, err := s.eng.Authenticate(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tender", error="invalid_token"`)
			s.writeError(w, r, err)
			return
		}
		c := caller{key: k, merchant: k.Merchant}
		if h := r.Header.Get("Tender-Merchant"); h != "" && h != k.Merchant {
			// A merchant or terminal key naming another merchant learns
			// nothing: that merchant does not exist for it.
			if !c.platform() {
				s.writeError(w, r, &tender.Error{Code: tender.ENotFound, Param: "Tender-Merchant", Message: fmt.Sprintf("no merchant %q", h)})
				return
			}
			if _, err := s.eng.GetMerchant(r.Context(), h); err != nil {
				if tender.ErrorCodeOf(err) == tender.ENotFound {
					err = &tender.Error{Code: tender.ENotFound, Param: "Tender-Merchant", Message: fmt.Sprintf("no merchant %q", h)}
				}
				s.writeError(w, r, err)
				return
			}
			c.merchant = h
		}
		ctx := context.WithValue(r.Context(), keyCaller, c)
		next(w, r.WithContext(tender.WithMerchant(ctx, c.merchant)))
	}
}

// scope lets a request through if its key's scope is one of scopes; a key
// of another scope gets 403 whatever the ids in the request, so the answer
// says nothing about any object.
func (s *Server) scope(next http.HandlerFunc, scopes ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c := callerOf(r); !slices.Contains(scopes, c.key.Scope) {
			s.writeError(w, r, tender.Errorf(tender.EForbidden, "a %s key may not use %s", c.key.Scope, r.Pattern))
			return
		}
		next(w, r)
	}
}
