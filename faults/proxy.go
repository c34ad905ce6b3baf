package faults

import (
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what the proxy does to one request and its response.
type Fault int

// The faults. Every one but DropRequest lets the request reach the
// provider: the provider acts on it, and Tender does not learn how.
const (
	// None passes the exchange through untouched.
	None Fault = iota
	// DropRequest closes the connection before the request reaches the
	// provider.
	DropRequest
	// DropResponse forwards the request, throws the response away and
	// closes the connection: an answer lost on its way back.
	DropResponse
	// Delay forwards the request and holds the response back for a while
	// (Config.MinDelay to MaxDelay) before passing it on.
	Delay
	// Reset forwards the request, passes on half of the response's first
	// bytes and resets the connection (TCP RST).
	Reset
	// Garbage forwards the request, throws the response away and answers
	// bytes that are no answer of the provider's (random bytes, or an
	// HTTP 200 with a random body), then closes.
	Garbage
	numFaults
)

var faultNames = [...]string{"none", "drop-request", "drop-response", "delay", "reset", "garbage"}

func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "fault?"
}

// Config says how often the proxy does each fault: a probability per
// request (the sum at most 1; the rest pass untouched).
type Config struct {
	DropRequest, DropResponse, Delay, Reset, Garbage float64
	// MinDelay and MaxDelay bound a Delay (default 5 s and 30 s).
	MinDelay, MaxDelay time.Duration
}

// Proxy is a TCP proxy between Tender and one simulator that does faults
// to some of the HTTP exchanges it carries. It knows no HTTP: a request is
// what the client sends after the previous response began; its response is
// what the server sends back next. That is exact for HTTP/1.1 clients that
// do not pipeline, which Go's is.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cfg    Config
	rnd    *rand.Rand
	conns  map[net.Conn]struct{}
	closed bool

	counts [numFaults]atomic.Int64
	done   chan struct{}
	wg     sync.WaitGroup
}

// NewProxy listens on a free port of 127.0.0.1 and forwards every
// connection to target (host:port).
func NewProxy(target string, cfg Config, seed uint64) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	p.SetConfig(cfg)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is http://Addr.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// SetConfig changes the faults for the requests that follow.
func (p *Proxy) SetConfig(cfg Config) {
	if cfg.MinDelay <= 0 {
		cfg.MinDelay = 5 * time.Second
	}
	if cfg.MaxDelay < cfg.MinDelay {
		cfg.MaxDelay = max(cfg.MinDelay, 30*time.Second)
	}
	p.mu.Lock()
	p.cfg = cfg
	p.mu.Unlock()
}

// Counts returns how many requests met each fault (None included).
func (p *Proxy) Counts() map[Fault]int64 {
	m := map[Fault]int64{}
	for f := range numFaults {
		m[f] = p.counts[f].Load()
	}
	return m
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

// roll picks the fault of one request.
func (p *Proxy) roll() (Fault, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.cfg
	x := p.rnd.Float64()
	f := None
	for _, o := range []struct {
		f Fault
		p float64
	}{{DropRequest, c.DropRequest}, {DropResponse, c.DropResponse}, {Delay, c.Delay}, {Reset, c.Reset}, {Garbage, c.Garbage}} {
		if x < o.p {
			f = o.f
			break
		}
		x -= o.p
	}
	var d time.Duration
	if f == Delay {
		d = c.MinDelay + time.Duration(p.rnd.Int64N(int64(c.MaxDelay-c.MinDelay)+1))
	}
	p.counts[f].Add(1)
	return f, d
}

func (p *Proxy) garbage() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := make([]byte, 16+p.rnd.IntN(200))
	for i := range b {
		b[i] = byte(p.rnd.Uint32())
	}
	if p.rnd.IntN(2) == 0 {
		// An HTTP answer with a body that is nothing the provider says.
		head := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\nContent-Length: ")
		head = append(head, strconv.Itoa(len(b))+"\r\n\r\n"...)
		b = append(head, b...)
	}
	return b
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

// exchange is one request and its response on a connection.
type exchange struct {
	fault     Fault
	delay     time.Duration
	responded bool
}

// reset closes c with a TCP RST instead of a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

func (p *Proxy) serve(client net.Conn) {
	defer p.untrack(client)
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		reset(client)
		return
	}
	if !p.track(up) {
		return
	}
	defer p.untrack(up)

	var mu sync.Mutex
	var cur *exchange
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // server → client
		defer wg.Done()
		defer client.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := up.Read(buf)
			if n > 0 {
				mu.Lock()
				ex := cur
				first := ex != nil && !ex.responded
				if ex != nil {
					ex.responded = true
				}
				mu.Unlock()
				f := None
				if ex != nil {
					f = ex.fault
				}
				switch {
				case f == Delay && first:
					select {
					case <-time.After(ex.delay):
					case <-p.done:
						return
					}
				case f == DropResponse:
					client.Close()
					up.Close()
					return
				case f == Reset && first:
					client.Write(buf[:max(n/2, 1)])
					reset(client)
					up.Close()
					return
				case f == Garbage:
					client.Write(p.garbage())
					client.Close()
					up.Close()
					return
				}
				if _, werr := client.Write(buf[:n]); werr != nil {
					up.Close()
					return
				}
			}
			if err != nil {
				if err == io.EOF {
					if tc, ok := client.(*net.TCPConn); ok {
						tc.CloseWrite()
						return
					}
				}
				return
			}
		}
	}()

	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			mu.Lock()
			if cur == nil || cur.responded {
				f, d := p.roll()
				cur = &exchange{fault: f, delay: d}
			}
			f := cur.fault
			mu.Unlock()
			if f == DropRequest {
				reset(client)
				up.Close()
				break
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			if tc, ok := up.(*net.TCPConn); ok && err == io.EOF {
				tc.CloseWrite()
			}
			break
		}
	}
	wg.Wait()
}
