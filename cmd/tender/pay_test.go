package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

func exitOf(err error) int {
	var e *exitError
	if err == nil {
		return 0
	}
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}

func (p *tenderProc) pay(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := run(ctx, append([]string{"pay", "--url", p.URL, "--key", p.Key}, args...), func(string) string { return "" }, &out, &errs)
	if err != nil && exitOf(err) == 1 && !strings.Contains(out.String(), "DECLINED") && !strings.Contains(out.String(), "CANCELED") {
		t.Logf("pay: %v\n%s", err, errs.String())
	}
	return out.String(), exitOf(err)
}

// TestPaySandboxToReceipt takes a Sepay and an ePay sandbox payment with
// tender pay against a real tender serve, to the receipt, and a declined
// one (exit code 1).
func TestPaySandboxToReceipt(t *testing.T) {
	t.Parallel()
	p := startTender(t)

	out, code := p.pay(t, "--terminal", "sepay-term-1", "--amount", "10.50", "--currency", "EUR", "--reference", "R-1")
	if code != 0 || !strings.Contains(out, "APPROVED 10.50 EUR") || !strings.Contains(out, "--- receipt ---") {
		t.Fatalf("Sepay: exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "processing") {
		t.Errorf("Sepay: no progress line shows processing:\n%s", out)
	}

	// ePay pays a Greek invoice: net + VAT = total = amount.
	invoice := `{"issuer_vat":"EL123456789","date":"2026-11-22","branch":0,"type":"11.1","series":"A","number":"77","net_amount":1000,"vat_amount":240,"total_amount":1240}`
	out, code = p.pay(t, "--terminal", "epay-term-1", "--amount", "12.40", "--invoice", invoice)
	if code != 0 || !strings.Contains(out, "APPROVED 12.40 EUR") || !strings.Contains(out, "TRANSACTION ID") {
		t.Fatalf("ePay: exit %d:\n%s", code, out)
	}

	out, code = p.pay(t, "--terminal", "sepay-term-2", "--amount", "51.51")
	if code != 1 || !strings.Contains(out, "DECLINED 51.51 EUR") {
		t.Fatalf("declined: exit %d:\n%s", code, out)
	}
}

// TestPayUsage: usage errors exit 2, --help 0, and amounts follow the
// currency's exponent (never floats).
func TestPayUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"pay", "--help"}, 0},
		{[]string{"pay", "--key", "k"}, 2},
		{[]string{"pay", "--key", "k", "--terminal", "t", "--amount", "10.505"}, 2},
		{[]string{"pay", "--key", "k", "--terminal", "t", "--amount", "10.5", "--currency", "JPY"}, 2},
		{[]string{"pay", "--nonsense"}, 2},
		{[]string{"payments"}, 2},
		{[]string{"payments", "get"}, 2},
		{[]string{"payments", "frobnicate"}, 2},
		{[]string{"terminals"}, 2},
	} {
		var out, errs bytes.Buffer
		err := run(context.Background(), tt.args, func(string) string { return "" }, &out, &errs)
		if got := exitOf(err); got != tt.code {
			t.Errorf("%q: exit %d (%v), want %d", tt.args, got, err, tt.code)
		}
	}
}

// TestPayCtrlCOffersCancel: an interrupt while the terminal works asks
// whether to cancel; yes cancels, and the outcome is printed (exit 1).
func TestPayCtrlCOffersCancel(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	stdoutR, stdoutW := io.Pipe()
	var errs syncBuffer
	done := make(chan error, 1)
	go func() {
		// The sandbox terminal picks up after 3 s: until then the payment
		// is queued and Sepay can cancel it.
		done <- payCmd(ctx, []string{"--url", p.URL, "--key", p.Key, "--terminal", "sepay-term-1", "--amount", "10.00"},
			func(string) string { return "" }, strings.NewReader("y\n"), stdoutW, &errs)
		stdoutW.Close()
	}()
	var out syncBuffer
	go io.Copy(&out, stdoutR)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "processing") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	interrupt()
	var err error
	select {
	case err = <-done:
	case <-time.After(90 * time.Second):
		t.Fatalf("pay did not end after Ctrl-C:\n%s\n%s", out.String(), errs.String())
	}
	time.Sleep(50 * time.Millisecond)
	if !strings.Contains(errs.String(), "Cancel payment") {
		t.Fatalf("no offer to cancel:\n%s", errs.String())
	}
	if exitOf(err) != 1 || !strings.Contains(out.String(), "CANCELED") {
		t.Fatalf("exit %d (%v):\n%s\n%s", exitOf(err), err, out.String(), errs.String())
	}
}

// TestPayTTY: on a terminal, progress is one line rewritten with the
// elapsed time.
func TestPayTTY(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine (%v): TTY mode not tested", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	p := startTender(t)
	var out syncBuffer
	go io.Copy(&out, ptmx)
	err = payCmd(context.Background(), []string{"--url", p.URL, "--key", p.Key, "--terminal", "sepay-term-1", "--amount", "3.00"},
		func(string) string { return "" }, strings.NewReader(""), tty, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	s := out.String()
	if strings.Count(s, "\r\x1b[K") < 3 || !strings.Contains(s, "APPROVED 3.00 EUR") {
		t.Fatalf("TTY output:\n%q", s)
	}
	// Plain output on a file that is not a terminal.
	f, _ := os.CreateTemp(t.TempDir(), "out")
	defer f.Close()
	if newProgress(f).tty {
		t.Fatal("a file is taken for a terminal")
	}
}

// TestPaymentsAndTerminalsCommands drives tender payments and tender
// terminals against a real tender serve.
func TestPaymentsAndTerminalsCommands(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	cli := func(args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := run(context.Background(), append(args, "--url", p.URL, "--key", p.Key), func(string) string { return "" }, &out, &errs)
		return out.String() + errs.String(), err
	}
	out, err := cli("terminals", "list")
	if err != nil || !strings.Contains(out, "sepay-term-1") || !strings.Contains(out, "epay-term-1") {
		t.Fatalf("terminals list: %v\n%s", err, out)
	}
	created := p.mustCall("POST", "/v1/payments", `{"amount":700,"currency":"EUR","terminal":"sepay-term-1","reference":"R-7"}`, 201)
	id := created["id"].(string)
	out, err = cli("payments", "get", id, "--wait", "30s")
	if err != nil || !strings.Contains(out, `"id": "`+id+`"`) {
		t.Fatalf("payments get: %v\n%s", err, out)
	}
	p.waitFor(id, 60*time.Second, "captured")
	out, err = cli("payments", "list", "--terminal", "sepay-term-1")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "7.00 EUR") || !strings.Contains(out, "captured") {
		t.Fatalf("payments list: %v\n%s", err, out)
	}
	if _, err = cli("payments", "refund", id, "--amount", "1.00"); err == nil || !strings.Contains(err.Error(), "not_supported") {
		t.Fatalf("Sepay refund: %v", err)
	}
	if _, err = cli("payments", "capture", id, "--amount", "1.001"); exitOf(err) != 2 {
		t.Fatalf("capture 1.001 EUR: %v", err)
	}
	if _, err = cli("payments", "cancel", "pay_nonexistent"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("cancel missing: %v", err)
	}
	_ = fmt.Sprint
}
