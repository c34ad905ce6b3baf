package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
	"github.com/tenderpay/tender/computop/sim"
)

func init() {
	registerProvider(provider{
		name: computop.Name,
		connector: func(env connectorEnv) tender.Connector {
			return computop.New(computop.Options{HTTPClient: env.HTTPClient, Logger: env.Logger, Clock: env.Clock})
		},
		sandbox: sim.Sandbox,
		command: computopCommand,
		usage: "  computop mac --key KEY PAYID TRANSID MERCHANTID AMOUNT CURRENCY   Paygate HMAC-SHA256 MAC (upper-case hex)\n" +
			"  computop encrypt --key KEY [--aes] TEXT                            Blowfish (or AES) Data in upper-case hex; Len on stderr\n" +
			"  computop decrypt --key KEY [--aes] [--len N] HEX                   plaintext of Data",
	})
}

// computopCommand runs `tender computop mac|encrypt|decrypt`.
func computopCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("%s", "usage: tender computop mac|encrypt|decrypt [flags]")
	}
	fs := flag.NewFlagSet("computop "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	key := fs.String("key", "", "the merchant's HMAC password (mac) or Blowfish/AES password (encrypt, decrypt)")
	switch args[0] {
	case "mac":
		fs.Usage = func() {
			fmt.Fprintln(stderr, "usage: tender computop mac --key KEY PAYID TRANSID MERCHANTID AMOUNT CURRENCY\n(an empty PayID is an empty argument: \"\")")
		}
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		if *key == "" || fs.NArg() != 5 {
			fs.Usage()
			return usageErr("%s", "computop mac: need --key and 5 arguments")
		}
		fmt.Fprintln(stdout, computop.MAC([]byte(*key), fs.Args()...))
		return nil
	case "encrypt", "decrypt":
		aes := fs.Bool("aes", false, "the merchant uses AES (16, 24 or 32-byte key) instead of Blowfish")
		length := fs.Int("len", 0, "Len of the plaintext (decrypt; default: strip the padding)")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		if *key == "" || fs.NArg() != 1 {
			return usageErr("usage: tender computop %s --key KEY [--aes]%s %s", args[0],
				map[bool]string{true: "", false: " [--len N]"}[args[0] == "encrypt"], map[bool]string{true: "TEXT", false: "HEX"}[args[0] == "encrypt"])
		}
		alg := computop.Blowfish
		if *aes {
			alg = computop.AES
		}
		c, err := computop.NewCipher(alg, []byte(*key))
		if err != nil {
			return err
		}
		if args[0] == "encrypt" {
			n, data, err := c.Encrypt(fs.Arg(0))
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, data)
			fmt.Fprintf(stderr, "--len %d\n", n)
			return nil
		}
		data := strings.TrimSpace(fs.Arg(0))
		n := *length
		if n == 0 {
			// Without Len, decrypt everything and take the text before the
			// padding.
			n, err = unpaddedLen(c, data)
			if err != nil {
				return err
			}
		}
		plain, err := c.Decrypt(strconv.Itoa(n), data)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, plain)
		return nil
	}
	return usageErr("unknown computop command %q (mac, encrypt, decrypt)", args[0])
}

// unpaddedLen finds the Len of Data whose sender did not say: the longest
// Len that decrypts to text not ending in a padding byte (0x00-0x10, or a
// space, so a text's own trailing spaces are lost: pass --len to keep them).
func unpaddedLen(c *computop.Cipher, data string) (int, error) {
	hexLen := len(data)
	if i := strings.IndexByte(data, '-'); i >= 0 {
		hexLen = len(data) - i - 1
	}
	for n := hexLen / 2; n > 0; n-- {
		p, err := c.Decrypt(strconv.Itoa(n), data)
		if err == nil && p[len(p)-1] > 0x10 && p[len(p)-1] != ' ' {
			return n, nil
		}
	}
	return 0, errors.New("computop decrypt: Data does not decrypt with this key")
}
