package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/client"
)

// Exit codes of tender pay.
const (
	exitApproved = 0
	exitDeclined = 1 // declined, canceled or failed: no money moved
	exitUsage    = 2
	exitUnknown  = 3 // the outcome is not known (yet)
)

// exitError ends the program with code; err, if not nil, is printed first.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErr is a usage error: exit code 2.
func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// apiFlags are the flags of every command that calls the API.
type apiFlags struct{ url, key, dataDir string }

func (a *apiFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&a.url, "url", envOr(getenv, "TENDER_URL", "http://127.0.0.1:8080"), "Tender's URL (TENDER_URL)")
	fs.StringVar(&a.key, "key", getenv("TENDER_API_KEY"), "API key (TENDER_API_KEY; default: the sandbox key in DATA-DIR/sandbox-api-key)")
	fs.StringVar(&a.dataDir, "data-dir", envOr(getenv, "TENDER_DATA_DIR", defaultDataDir), "where tender serve keeps the sandbox API key (TENDER_DATA_DIR)")
}

func (a *apiFlags) client() (*client.Client, error) {
	if a.key == "" {
		b, err := os.ReadFile(filepath.Join(a.dataDir, "sandbox-api-key"))
		if err != nil {
			return nil, usageErr("no API key: give --key or TENDER_API_KEY (tender apikey create makes one)")
		}
		a.key = strings.TrimSpace(string(b))
	}
	return client.New(a.url, a.key), nil
}

// parseFlags parses args; -h prints the usage and ends with exit code 0,
// a bad flag with 2.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{code: 0}
		}
		return &exitError{code: exitUsage}
	}
	return nil
}

// payCmd is `tender pay`: a terminal payment from start to receipt.
func payCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af apiFlags
	af.register(fs, getenv)
	terminal := fs.String("terminal", "", "terminal id (tender terminals list)")
	amountS := fs.String("amount", "", "amount in major units, e.g. 10.50")
	currency := fs.String("currency", "EUR", "ISO 4217 currency")
	reference := fs.String("reference", "", "your reference (receipt number)")
	invoice := fs.String("invoice", "", "ePay: the Greek invoice, as JSON or @FILE (see epay/README.md)")
	key := fs.String("idempotency-key", "", "Idempotency-Key (default: a random one); the same key finds the same payment again")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tender pay --terminal ID --amount 10.50 [--currency EUR] [--reference R] [--invoice JSON|@FILE] [--url URL] [--key KEY]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("pay takes no arguments, got %q", fs.Args())
	}
	if *terminal == "" || *amountS == "" {
		return usageErr("pay needs --terminal and --amount")
	}
	amount, err := tender.ParseAmount(*amountS, strings.ToUpper(*currency))
	if err != nil {
		return usageErr("--amount: %s", tender.ErrorMessageOf(err))
	}
	req := client.CreatePayment{Amount: amount.Value, Currency: amount.Currency, Terminal: *terminal, Reference: *reference}
	if *invoice != "" {
		raw := []byte(*invoice)
		if name, ok := strings.CutPrefix(*invoice, "@"); ok {
			if raw, err = os.ReadFile(name); err != nil {
				return usageErr("--invoice: %v", err)
			}
		}
		if !json.Valid(raw) {
			return usageErr("--invoice is not JSON")
		}
		req.Invoice = json.RawMessage(raw)
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	var opts []client.CallOption
	if *key != "" {
		opts = append(opts, client.IdempotencyKey(*key))
	}
	out := newProgress(stdout)
	// Starting is not interrupted: once sent, the payment exists.
	p, err := c.CreatePayment(context.WithoutCancel(ctx), req, opts...)
	if err != nil {
		return fmt.Errorf("start payment: %w", err)
	}
	out.status(p)
	p = waitWithCancel(ctx, c, p, out, stdin, stderr)
	out.done()
	return outcome(p, stdout)
}

// waitWithCancel waits for the payment to settle; when ctx ends (Ctrl-C)
// it asks whether to cancel the payment, and waits on either way: the
// terminal or the provider decides whether a cancel still can happen.
func waitWithCancel(ctx context.Context, c *client.Client, p *client.Payment, out *progress, stdin io.Reader, stderr io.Writer) *client.Payment {
	last := p
	changed := func(p *client.Payment) { last = p; out.status(p) }
	if p.Status.Settled() {
		return p
	}
	if got, err := waitTicking(ctx, c, p.ID, changed, out); err == nil {
		return got
	}
	if ctx.Err() == nil {
		return last
	}
	out.pause()
	fmt.Fprintf(stderr, "\nCancel payment %s? [Y/n] ", p.ID)
	answer, _ := bufio.NewReader(stdin).ReadString('\n')
	bg := context.WithoutCancel(ctx)
	if a := strings.ToLower(strings.TrimSpace(answer)); a == "" || a == "y" || a == "yes" {
		if cp, err := c.CancelPayment(bg, p.ID); err != nil {
			fmt.Fprintf(stderr, "cancel refused: %s; waiting for the outcome\n", messageOf(err))
		} else {
			fmt.Fprintln(stderr, "cancel requested; waiting for the outcome")
			changed(cp)
		}
	} else {
		fmt.Fprintln(stderr, "waiting for the outcome")
	}
	// Bounded: a cancel is answered in seconds; a terminal still working
	// gets a few minutes before its status is reported as it is.
	wctx, cancel := context.WithTimeout(bg, 5*time.Minute)
	defer cancel()
	if got, err := waitTicking(wctx, c, p.ID, changed, out); err == nil {
		return got
	}
	return last
}

func waitTicking(ctx context.Context, c *client.Client, id string, changed func(*client.Payment), out *progress) (*client.Payment, error) {
	stop := out.tick()
	defer stop()
	return c.WaitSettled(ctx, id, changed)
}

func messageOf(err error) string {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// outcome prints how the payment ended and its receipt, and returns the
// exit code as an error (nil for approved).
func outcome(p *client.Payment, w io.Writer) error {
	amount := tender.FormatMinor(p.Amount, p.Currency) + " " + p.Currency
	code := exitUnknown
	switch p.Status {
	case client.StatusCaptured, client.StatusAuthorized, client.StatusPartiallyCaptured:
		fmt.Fprintf(w, "APPROVED %s (%s, payment %s)\n", amount, p.Status, p.ID)
		code = exitApproved
	case client.StatusFailed, client.StatusCanceled:
		word := "DECLINED"
		if p.Status == client.StatusCanceled {
			word = "CANCELED"
		}
		fmt.Fprintf(w, "%s %s (payment %s)", word, amount, p.ID)
		if p.Failure != nil {
			fmt.Fprintf(w, ": %s (%s)", p.Failure.Message, p.Failure.Code)
		}
		fmt.Fprintln(w)
		code = exitDeclined
	default:
		fmt.Fprintf(w, "UNKNOWN %s: the payment %s is %s; Tender keeps asking the provider (tender payments get %s)\n", amount, p.ID, p.Status, p.ID)
	}
	if p.Receipt != nil && len(p.Receipt.Lines) > 0 {
		fmt.Fprintln(w, "--- receipt ---")
		for _, l := range p.Receipt.Lines {
			fmt.Fprintln(w, l)
		}
		fmt.Fprintln(w, "---------------")
	}
	if code == exitApproved {
		return nil
	}
	return &exitError{code: code}
}
