package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/dashboard"
	"golang.org/x/term"
)

const userUsage = `usage:
  tender user create [--db ...] --email EMAIL [--merchant ID]   (the password is prompted for, or read from stdin)`

// stdin is where `tender user create` reads a password; tests replace it.
var stdin io.Reader = os.Stdin

// userCmd manages dashboard users straight on the database.
func userCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("%s", userUsage)
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", getenv("TENDER_DB"), "database: sqlite:PATH or postgres://... (TENDER_DB)")
	email := fs.String("email", "", "the user's email, with which they sign in")
	merchant := fs.String("merchant", "", "the merchant the user belongs to; without it a platform user, who may switch between merchants")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" || fs.NArg() != 0 {
		return fmt.Errorf("%s", userUsage)
	}
	password, err := readPassword(stderr)
	if err != nil {
		return err
	}
	if *db, err = dbOrDefault(*db, envOr(getenv, "TENDER_DATA_DIR", defaultDataDir)); err != nil {
		return err
	}
	s, err := openStore(ctx, *db)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer s.Close()
	users, ok := s.(tender.UserStore)
	if !ok {
		return errors.New("this database keeps no dashboard users")
	}
	if *merchant != "" {
		if _, err := s.GetMerchant(ctx, *merchant); err != nil {
			return err
		}
	}
	u, err := dashboard.NewUser(*email, *merchant, password)
	if err != nil {
		return err
	}
	if err := users.CreateUser(ctx, u); err != nil {
		return err
	}
	kind := "platform user"
	if u.Merchant != "" {
		kind = "user of merchant " + u.Merchant
	}
	fmt.Fprintf(stdout, "created %s %s (%s)\n", kind, u.Email, u.ID)
	return nil
}

// readPassword prompts for a password without echo on a terminal, twice;
// otherwise it reads the first line of stdin.
func readPassword(stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", errors.New("give the password on stdin")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
