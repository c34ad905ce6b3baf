package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/trustpayments"
	"github.com/tenderpay/tender/trustpayments/sim"
)

func init() {
	registerProvider(provider{
		name: trustpayments.Name,
		connector: func(env connectorEnv) tender.Connector {
			return trustpayments.New(trustpayments.Options{HTTPClient: env.HTTPClient, Logger: env.Logger, Clock: env.Clock})
		},
		sandbox: sim.Sandbox,
		command: trustpaymentsCommand,
		usage: "  trustpayments jwt sign --secret S [--alg HS256|HS384|HS512] --iss ISS [--iat UNIX] PAYLOAD_JSON\n" +
			"  trustpayments jwt verify --secret S [--alg ...] [--max-age DUR | --ignore-expiry] TOKEN",
	})
}

func trustpaymentsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "jwt" {
		return usageErr("%s", "usage: tender trustpayments jwt sign|verify [flags]")
	}
	switch args[1] {
	case "sign":
		return tpJWTSign(args[2:], stdout, stderr)
	case "verify":
		return tpJWTVerify(args[2:], time.Now(), stdout, stderr)
	}
	return usageErr("unknown command %q: use tender trustpayments jwt sign|verify", args[1])
}

// tpJWTSign prints the request JWT {"iss","iat","payload"} for a payload object.
func tpJWTSign(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tender trustpayments jwt sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secret := fs.String("secret", "", "the JWT secret (required)")
	alg := fs.String("alg", trustpayments.HS256, "HS256, HS384 or HS512")
	iss := fs.String("iss", "", "the JWT user name (required)")
	iat := fs.Int64("iat", 0, "issued-at as Unix seconds (default now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *secret == "" || *iss == "" || fs.NArg() != 1 {
		return usageErr("%s", "usage: tender trustpayments jwt sign --secret S [--alg HS256|HS384|HS512] --iss ISS [--iat UNIX] PAYLOAD_JSON")
	}
	if !trustpayments.ValidAlgorithm(*alg) {
		return usageErr("--alg must be HS256, HS384 or HS512")
	}
	payload := []byte(fs.Arg(0))
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(payload, &obj); err != nil || obj == nil {
		return usageErr("%s", "PAYLOAD_JSON must be a JSON object (the payload claim)")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, payload); err != nil {
		return err
	}
	if *iat == 0 {
		*iat = time.Now().Unix()
	}
	issJSON, _ := json.Marshal(*iss)
	claims := `{"iss":` + string(issJSON) + `,"iat":` + strconv.FormatInt(*iat, 10) + `,"payload":` + compact.String() + `}`
	tok, err := trustpayments.Sign(*alg, []byte(*secret), []byte(claims))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// tpJWTVerify prints the header and claims of a valid token, or fails
// with a one-line reason.
func tpJWTVerify(args []string, now time.Time, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tender trustpayments jwt verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secret := fs.String("secret", "", "the JWT secret (required)")
	alg := fs.String("alg", trustpayments.HS256, "the only algorithm accepted: HS256, HS384 or HS512")
	maxAge := fs.Duration("max-age", trustpayments.DefaultMaxAge, "how long after iat the token is valid")
	ignore := fs.Bool("ignore-expiry", false, "do not check iat")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *secret == "" || fs.NArg() != 1 {
		return usageErr("%s", "usage: tender trustpayments jwt verify --secret S [--alg ...] [--max-age DUR | --ignore-expiry] TOKEN")
	}
	maxAgeSet := false
	fs.Visit(func(f *flag.Flag) { maxAgeSet = maxAgeSet || f.Name == "max-age" })
	if maxAgeSet && *ignore {
		return usageErr("%s", "--max-age and --ignore-expiry exclude each other")
	}
	tok, err := trustpayments.Verify(fs.Arg(0), trustpayments.VerifyOptions{Alg: *alg, Secret: []byte(*secret), Now: now, MaxAge: *maxAge, IgnoreExpiry: *ignore})
	if err != nil {
		return fmt.Errorf("invalid token: %s", reason(err))
	}
	out, _ := json.MarshalIndent(map[string]json.RawMessage{"header": tok.HeaderJSON, "claims": tok.ClaimsJSON}, "", "  ")
	_, err = fmt.Fprintln(stdout, string(out))
	return err
}

func reason(err error) string {
	for _, e := range []error{trustpayments.ErrSignature, trustpayments.ErrAlgorithm, trustpayments.ErrExpired, trustpayments.ErrFuture, trustpayments.ErrMalformed} {
		if errors.Is(err, e) {
			return err.Error()
		}
	}
	return "malformed: " + err.Error()
}
