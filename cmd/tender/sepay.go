package main

import (
	"context"
	"crypto/rsa"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/sepay"
	"github.com/tenderpay/tender/sepay/sim"
)

func init() {
	registerProvider(provider{
		name: sepay.Name,
		connector: func(env connectorEnv) tender.Connector {
			return sepay.New(sepay.Options{HTTPClient: env.HTTPClient, Logger: env.Logger, Clock: env.Clock})
		},
		sandbox: sim.Sandbox,
		command: sepayCommand,
		usage: "  sepay keygen --out DIR [--cn NAME]          make the RSA key and certificate for Sepay WECR\n" +
			"  sepay sign --key KEY.pem TEXT              print the base64 WECR signature of TEXT\n" +
			"  sepay verify --cert CERT.pem --signature B64 TEXT   check a WECR signature (exit 0 valid, 1 not)",
	})
}

func sepayCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("%s", "sepay: want a subcommand: keygen, sign or verify")
	}
	switch args[0] {
	case "keygen":
		return sepayKeygen(args[1:], stdout, stderr)
	case "sign":
		return sepaySign(args[1:], stdout, stderr)
	case "verify":
		return sepayVerify(args[1:], stdout, stderr)
	}
	return usageErr("sepay: unknown subcommand %q (keygen, sign, verify)", args[0])
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tender sepay "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Key and certificate file names written by keygen.
const (
	sepayKeyFile  = "sepay-key.pem"
	sepayCertFile = "sepay-cert.pem"
)

func sepayKeygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", stderr)
	out := fs.String("out", "", "directory to write "+sepayKeyFile+" and "+sepayCertFile+" to")
	cn := fs.String("cn", "Tender WECR", "certificate common name (your company or integration)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return usageErr("%s", "sepay keygen: usage: tender sepay keygen --out DIR [--cn NAME]")
	}
	keyPath, certPath := filepath.Join(*out, sepayKeyFile), filepath.Join(*out, sepayCertFile)
	for _, p := range []string{keyPath, certPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("sepay keygen: %s already exists; refusing to overwrite it", p)
		}
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("sepay keygen: %w", err)
	}
	key, err := sepay.GenerateKey()
	if err != nil {
		return err
	}
	certPEM, err := sepay.NewCertificate(key, *cn, time.Now())
	if err != nil {
		return err
	}
	cert, err := sepay.ParseCertificate(certPEM)
	if err != nil {
		return err
	}
	if err := writeNew(keyPath, sepay.MarshalPrivateKey(key), 0o600); err != nil {
		return err
	}
	if err := writeNew(certPath, certPEM, 0o644); err != nil {
		os.Remove(keyPath)
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (RSA %d private key: keep it secret)\n", keyPath, sepay.KeyBits)
	fmt.Fprintf(stdout, "wrote %s (self-signed, SHA-256 with RSA, valid until %s)\n", certPath, cert.NotAfter.Format("2006-01-02"))
	fmt.Fprintf(stdout, "SHA-256 fingerprint: %s\n\n", sepay.Fingerprint(cert))
	fmt.Fprintf(stdout, "Send to Sepay (never the key):\n")
	fmt.Fprintf(stdout, "  1. %s, the certificate of your public key;\n", sepayCertFile)
	fmt.Fprintf(stdout, "  2. the WECR login to link it to (per merchant; Sepay can choose one);\n")
	fmt.Fprintf(stdout, "  3. the SIDs (Sepay IDs) of the merchant's terminals to link to that login.\n")
	fmt.Fprintf(stdout, "Read the fingerprint to Sepay on the phone so they can check the file.\n")
	fmt.Fprintf(stdout, "After Sepay confirms, restart each terminal once. Then create the account with\n")
	fmt.Fprintf(stdout, "credentials.private_key = contents of %s and settings.login = the login.\n", sepayKeyFile)
	return nil
}

// writeNew creates a file that must not exist yet.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("sepay keygen: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("sepay keygen: %w", err)
	}
	return f.Close()
}

func sepaySign(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sign", stderr)
	keyFile := fs.String("key", "", "PEM RSA private key")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyFile == "" || fs.NArg() != 1 {
		return usageErr("%s", "sepay sign: usage: tender sepay sign --key KEY.pem TEXT")
	}
	b, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("sepay sign: %w", err)
	}
	key, err := sepay.ParsePrivateKey(b)
	if err != nil {
		return err
	}
	sig, err := sepay.Sign(key, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, sig)
	return nil
}

func sepayVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", stderr)
	certFile := fs.String("cert", "", "PEM certificate of the signer (Sepay's or yours)")
	sig := fs.String("signature", "", "base64 signature")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *certFile == "" || *sig == "" || fs.NArg() != 1 {
		return usageErr("%s", "sepay verify: usage: tender sepay verify --cert CERT.pem --signature B64 TEXT")
	}
	b, err := os.ReadFile(*certFile)
	if err != nil {
		return fmt.Errorf("sepay verify: %w", err)
	}
	cert, err := sepay.ParseCertificate(b)
	if err != nil {
		return err
	}
	if err := sepay.Verify(cert.PublicKey.(*rsa.PublicKey), fs.Arg(0), strings.TrimSpace(*sig)); err != nil {
		return fmt.Errorf("sepay verify: signature is not valid for this text and certificate (%s): %w", cert.Subject.CommonName, err)
	}
	fmt.Fprintln(stdout, "signature valid")
	return nil
}
