package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/tenderpay/tender/api"
)

// A long-poll handed over by its handler answers like any other: status,
// headers, the payment, then closes the connection it took over.
func TestParkedLongPollAnswers(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","terminal":"till-1"}`, 201)
	id := p["id"].(string)
	conn := e.rawLongPoll(id)
	defer conn.Close()
	time.Sleep(100 * time.Millisecond)
	if cb := e.do("POST", "/callbacks/testpay/tp1/notify", `{"ref":"T-`+id+`","status":"captured"}`, "X-Sig", "s3cret"); cb.status != 200 {
		t.Fatalf("callback: %d", cb.status)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || got["status"] != "captured" || got["id"] != id {
		t.Fatalf("HTTP %d %v", res.StatusCode, got)
	}
	if !res.Close || res.Header.Get("Request-Id") == "" || res.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
		res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Date") == "" {
		t.Fatalf("headers %v (close %v)", res.Header, res.Close)
	}
	var b [1]byte
	if n, err := conn.Read(b[:]); n != 0 || err == nil {
		t.Fatalf("the connection stayed open after the answer: %d %v", n, err)
	}
}

// A long-poll of a payment that is settled already is answered at once on
// the connection net/http keeps: the next request goes on the same one.
func TestSettledLongPollKeepsTheConnection(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","terminal":"till-1"}`, 201)
	id := p["id"].(string)
	if cb := e.do("POST", "/callbacks/testpay/tp1/notify", `{"ref":"T-`+id+`","status":"captured"}`, "X-Sig", "s3cret"); cb.status != 200 {
		t.Fatalf("callback: %d", cb.status)
	}
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	for i := range 2 {
		fmt.Fprintf(conn, "GET /v1/payments/%s?wait=1h HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", id, e.key)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d on the connection: %v", i+1, err)
		}
		var got map[string]any
		err = json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || got["status"] != "captured" {
			t.Fatalf("request %d: HTTP %d %v %v", i+1, res.StatusCode, got, err)
		}
		if res.Close {
			t.Fatalf("request %d: the answer closed the connection", i+1)
		}
	}
}

// A client that hangs up during a parked long-poll gives its slot back.
func TestParkedLongPollClientHangsUp(t *testing.T) {
	defer api.SetSweepEvery(50 * time.Millisecond)()
	e := newEnv(t)
	e.srv.Config.Handler = api.NewServer(e.eng, api.Options{MaxPollsPerKey: 1})
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","terminal":"till-1"}`, 201)
	id := p["id"].(string)
	conn := e.rawLongPoll(id)
	deadline := time.Now().Add(10 * time.Second)
	for e.do("GET", "/v1/payments/"+id+"?wait=1ms", "").status != 429 {
		if time.Now().After(deadline) {
			// Say what became of the first long-poll, if it was answered.
			conn.SetReadDeadline(time.Now().Add(time.Second))
			b, err := io.ReadAll(conn)
			t.Fatalf("the first long-poll never held its slot; its connection read %q (%v)", b, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn.Close()
	for {
		r := e.do("GET", "/v1/payments/"+id+"?wait=1ms", "")
		if r.status == 200 {
			break
		}
		if r.status != 429 || time.Now().After(deadline) {
			t.Fatalf("after the client hung up: %d, want its slot back", r.status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A server that shuts down answers its parked long-polls with the payment
// as it is: net/http no longer knows their connections.
func TestEndLongPollsAnswersParked(t *testing.T) {
	e := newEnv(t)
	s := api.NewServer(e.eng, api.Options{})
	e.srv.Config.Handler = s
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","terminal":"till-1"}`, 201)
	id := p["id"].(string)
	conn := e.rawLongPoll(id)
	defer conn.Close()
	time.Sleep(300 * time.Millisecond) // parked by then; if not, EndLongPolls finds nothing and the read below times out
	s.EndLongPolls()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer after EndLongPolls: %v", err)
	}
	defer res.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 || got["status"] != "processing" {
		t.Fatalf("HTTP %d %v %v", res.StatusCode, got, err)
	}
}

// rawLongPoll opens a connection of its own and sends a long-poll of
// payment id on it (wait=1h), for tests that watch the connection itself.
func (e *env) rawLongPoll(id string) net.Conn {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /v1/payments/%s?wait=1h HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", id, e.key)
	return conn
}
