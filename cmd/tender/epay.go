package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
	"github.com/tenderpay/tender/epay/sim"
)

func init() {
	registerProvider(provider{
		name: "epay",
		connector: func(env connectorEnv) tender.Connector {
			return epay.New(epay.Options{HTTPClient: env.HTTPClient, Logger: env.Logger, Clock: env.Clock})
		},
		sandbox: sim.Sandbox,
		command: epayCommand,
		usage: "  epay apikey --user U --password P --otp CODE [--test] [--url URL]\n" +
			"                      redeem an ePay terminal's one-time code and print its ApiKey\n" +
			"  epay verify-signature --pubkey PEM --input CLEARTEXT --signature SIG\n" +
			"                      check an AADE provider signature (exit 0 valid, 1 invalid)",
	})
}

// epayHTTPClient is used by the epay tools; tests replace it.
var epayHTTPClient = &http.Client{Timeout: 30 * time.Second}

func epayCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("%s", "usage: tender epay apikey|verify-signature [flags]")
	}
	switch args[0] {
	case "apikey":
		return epayAPIKey(ctx, args[1:], stdout, stderr)
	case "verify-signature":
		return epayVerifySignature(args[1:], stdout, stderr)
	}
	return usageErr("unknown epay command %q (apikey, verify-signature)", args[0])
}

// epayAPIKey does what ePay's Windows utility does: log in with User and
// Password and redeem the code the terminal shows for its ApiKey.
func epayAPIKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tender epay apikey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "ePay user")
	password := fs.String("password", "", "ePay password")
	otp := fs.String("otp", "", "the one-time code shown by the terminal")
	test := fs.Bool("test", false, "use ePay's test environment (needs --url: its address is not published)")
	base := fs.String("url", "", "ePay WebECR base URL (default "+epay.DefaultWebECRURL+")")
	prefix := fs.String("path-prefix", "", "path prefix of the WebECR API (\"\" for ePay)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *user == "" || *password == "" || *otp == "" {
		return usageErr("%s", "--user, --password and --otp are required")
	}
	u := *base
	if u == "" {
		if *test {
			return errors.New("ePay's test environment URL is not published; give it with --url")
		}
		u = epay.DefaultWebECRURL
	}
	c := &epay.WebECRClient{BaseURL: u, PathPrefix: *prefix, User: *user, Password: *password, HTTP: epayHTTPClient}
	if err := c.Login(ctx); err != nil {
		if errors.Is(err, epay.ErrAuth) {
			return errors.New("ePay refused the user and password")
		}
		return fmt.Errorf("ePay login: %w", err)
	}
	key, err := c.Redeem(ctx, strings.TrimSpace(*otp))
	if err != nil {
		var ae *epay.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			return errors.New("ePay refused the code: it is wrong, expired or already used; show a new one on the terminal")
		}
		return fmt.Errorf("ePay redeem: %w", err)
	}
	fmt.Fprintln(stdout, key)
	fmt.Fprintln(stderr, "Store it as the terminal's credentials.api_key; it is a secret.")
	return nil
}

// epayVerifySignature checks an AADE provider signature over a clear text.
func epayVerifySignature(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tender epay verify-signature", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pubArg := fs.String("pubkey", "", "the provider's P-256 public key: a PEM file, PEM text, or base64 SPKI")
	input := fs.String("input", "", "the signed clear text UID;MARK;YYYYMMDDhhmmss;net;vat;total;payable;TID")
	sig := fs.String("signature", "", "the signature: base64 or hex, DER or raw 64-byte r||s")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *pubArg == "" || *input == "" || *sig == "" {
		return usageErr("%s", "--pubkey, --input and --signature are required")
	}
	keyText := *pubArg
	if !strings.Contains(keyText, "-----BEGIN") {
		if b, err := os.ReadFile(keyText); err == nil {
			keyText = string(b)
		}
	}
	pub, err := epay.ParsePublicKey(keyText)
	if err != nil {
		return fmt.Errorf("invalid: %w", err)
	}
	if _, err := epay.ParseClearText(*input); err != nil {
		return fmt.Errorf("invalid: %w", err)
	}
	if err := epay.Verify(pub, *input, *sig); err != nil {
		return fmt.Errorf("invalid: %w", err)
	}
	fmt.Fprintln(stdout, "valid")
	return nil
}
