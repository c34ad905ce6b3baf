package api

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// Long-polls are parked: once a GET /v1/payments/{id}?wait= must wait,
// the handler takes the connection over from net/http (Hijack) and
// returns, leaving a few words in the engine's watchers
// (engine.WatchPayment) and here. A waiting connection then costs no
// goroutine of its own, no read goroutine and no buffers: with net/http
// holding it, each waiter kept two goroutines (one with the stack of the
// database reads it had made) and 10 KiB of buffers, about 50 KiB in all.
// The answer is written when the payment changes or the wait ends, with
// Connection: close (the connection is no longer net/http's to keep).
// HTTP/2 and response writers that cannot hand over wait in the handler.

// parking holds the parked long-polls of a Server.
type parking struct {
	every    time.Duration // sweepEvery when the server was made
	mu       sync.Mutex
	conns    map[*parkedConn]struct{}
	sweeping bool
}

// parkedConn is one parked long-poll: only what its answer needs, not
// the request.
type parkedConn struct {
	s        *Server
	conn     net.Conn
	header   http.Header // the response headers set before the hand-over
	id       string      // the payment
	merchant string
	reqID    string
	minor    int    // HTTP/1.minor
	release  func() // its long-poll slot
	stop     func() bool
	once     sync.Once
	// ready is closed once conn (or direct) is set: the engine may
	// answer before the hand-over is done.
	ready   chan struct{}
	direct  http.ResponseWriter // the handler's own writer, when the hand-over failed
	written chan struct{}       // closed once direct was written
}

// request is a stand-in for the parked request, for writeError (its id)
// and reads (its merchant).
func (pc *parkedConn) request() *http.Request {
	ctx := tender.WithMerchant(context.WithValue(context.Background(), keyRequestID, pc.reqID), pc.merchant)
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/v1/payments/"+pc.id, nil)
	return r
}

// sweepEvery is how often parked connections are checked for a client
// that hung up, so that its long-poll slot is given back.
var sweepEvery = 5 * time.Second

// park hands the long-poll over; false means the connection cannot be
// taken over and the caller waits itself. On true the request is
// answered (now or later) and release called once it is. A payment that
// need not be waited for (settled already) is answered at once on the
// connection net/http keeps: only a waiter gives its connection up.
func (s *Server) park(w http.ResponseWriter, r *http.Request, id string, wait time.Duration, release func()) bool {
	if r.ProtoMajor != 1 {
		return false
	}
	header := w.Header().Clone()
	pc := &parkedConn{s: s, header: header, id: id, merchant: tender.MerchantFrom(r.Context()),
		reqID: requestID(r), minor: r.ProtoMinor, release: release, ready: make(chan struct{})}
	p, stop, err := s.eng.WatchPayment(context.WithoutCancel(r.Context()), id, wait, pc.answer)
	if err != nil || stop == nil {
		if err != nil {
			s.writeError(w, r, err)
		} else {
			writeJSON(w, http.StatusOK, s.prov.payment(p))
		}
		release()
		return true
	}
	// From here the engine may answer at any time (a change right after
	// it looked): the answer waits for the connection (ready).
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		if stop() {
			return false // withdrawn: the caller waits itself
		}
		// Being answered: on this writer, before the handler returns.
		pc.direct, pc.written = w, make(chan struct{})
		close(pc.ready)
		<-pc.written
		return true
	}
	// A request pipelined behind this one is not read: the answer closes
	// the connection. What net/http buffered is dropped with brw.
	_ = brw
	pc.conn, pc.stop = conn, stop
	s.parking.add(pc)
	close(pc.ready)
	return true
}

// answer writes the payment (nil: it could not be read at the deadline).
func (pc *parkedConn) answer(p *tender.Payment) {
	pc.finish(func(w http.ResponseWriter) {
		if p == nil {
			pc.s.writeError(w, pc.request(), tender.Errorf(tender.EUnavailable, "the payment could not be read; ask again"))
			return
		}
		writeJSON(w, http.StatusOK, pc.s.prov.payment(p))
	})
}

// finish renders the response with render and writes it to the
// connection, once, then closes it and gives the slot back.
func (pc *parkedConn) finish(render func(http.ResponseWriter)) {
	<-pc.ready
	pc.once.Do(func() {
		if pc.direct != nil {
			defer close(pc.written)
			defer pc.release()
			render(pc.direct)
			return
		}
		pc.s.parking.remove(pc)
		defer pc.release()
		defer pc.conn.Close()
		b := &bufferedResponse{h: pc.header}
		render(b)
		if b.status == 0 {
			b.status = http.StatusOK
		}
		b.h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		res := &http.Response{StatusCode: b.status, ProtoMajor: 1, ProtoMinor: pc.minor, Header: b.h,
			ContentLength: int64(b.body.Len()), Body: io.NopCloser(&b.body), Close: true}
		pc.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		w := bufio.NewWriterSize(pc.conn, 4<<10) // only while writing
		if err := res.Write(w); err == nil {
			w.Flush()
		}
	})
}

// gone ends a parked long-poll whose client hung up.
func (pc *parkedConn) gone() {
	if pc.stop != nil && !pc.stop() {
		return // being answered
	}
	pc.once.Do(func() {
		pc.s.parking.remove(pc)
		pc.conn.Close()
		pc.release()
	})
}

func (pk *parking) add(pc *parkedConn) {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if pk.conns == nil {
		pk.conns = map[*parkedConn]struct{}{}
	}
	pk.conns[pc] = struct{}{}
	if !pk.sweeping {
		pk.sweeping = true
		go pk.sweep()
	}
}

func (pk *parking) remove(pc *parkedConn) {
	pk.mu.Lock()
	delete(pk.conns, pc)
	pk.mu.Unlock()
}

// sweep looks every sweepEvery, while any are parked, for connections
// whose client hung up.
func (pk *parking) sweep() {
	for {
		time.Sleep(pk.every)
		pk.mu.Lock()
		if len(pk.conns) == 0 {
			pk.sweeping = false
			pk.mu.Unlock()
			return
		}
		all := make([]*parkedConn, 0, len(pk.conns))
		for pc := range pk.conns {
			all = append(all, pc)
		}
		pk.mu.Unlock()
		for _, pc := range all {
			if connGone(pc.conn) {
				pc.gone()
			}
		}
	}
}

// EndLongPolls answers every parked long-poll now with its payment as it
// is, as a server that shuts down must (http.Server.RegisterOnShutdown:
// net/http does not know the connections it handed over).
func (s *Server) EndLongPolls() {
	s.parking.mu.Lock()
	all := make([]*parkedConn, 0, len(s.parking.conns))
	for pc := range s.parking.conns {
		all = append(all, pc)
	}
	s.parking.mu.Unlock()
	var wg sync.WaitGroup
	for _, pc := range all {
		if pc.stop != nil && !pc.stop() {
			continue // being answered
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(pc.request().Context(), 5*time.Second)
			defer cancel()
			p, err := s.eng.GetPayment(ctx, pc.id)
			if err != nil {
				p = nil
			}
			pc.answer(p)
		})
	}
	wg.Wait()
}

// bufferedResponse is a ResponseWriter that keeps the response for
// writing to a parked connection.
type bufferedResponse struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.h }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
