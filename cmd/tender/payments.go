package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/client"
)

const paymentsUsage = `usage: tender payments list [--limit N] [--status S] [--terminal ID] [--connector C]
       tender payments get ID [--wait 30s]
       tender payments capture ID [--amount 10.50]
       tender payments refund ID [--amount 10.50]
       tender payments cancel ID
(each also takes --url and --key)`

// paymentsCmd is `tender payments ...`: the payment API from a shell.
func paymentsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("%s", paymentsUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("payments "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, paymentsUsage); fs.PrintDefaults() }
	var af apiFlags
	af.register(fs, getenv)
	switch sub {
	case "list":
		var f client.ListPayments
		var status string
		fs.IntVar(&f.Limit, "limit", 20, "how many (1..100)")
		fs.StringVar(&status, "status", "", "only payments in this status")
		fs.StringVar(&f.Terminal, "terminal", "", "only this terminal's payments")
		fs.StringVar(&f.Connector, "connector", "", "only this connector's payments")
		fs.BoolVar(&f.Discrepancy, "discrepancy", false, "only payments a person must look at")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return usageErr("payments list takes no arguments")
		}
		f.Status = client.Status(status)
		c, err := af.client()
		if err != nil {
			return err
		}
		l, err := c.ListPayments(ctx, f)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tAMOUNT\tCONNECTOR\tTERMINAL\tREFERENCE\tCREATED")
		for _, p := range l.Data {
			fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\n", p.ID, p.Status, tender.FormatMinor(p.Amount, p.Currency), p.Currency,
				p.Connector, deref(p.Terminal), deref(p.Reference), p.CreatedAt.Local().Format(time.DateTime))
		}
		if l.HasMore {
			fmt.Fprintf(tw, "(more: --limit, or the API's starting_after=%s)\n", l.Data[len(l.Data)-1].ID)
		}
		return tw.Flush()
	case "get", "capture", "refund", "cancel":
	default:
		return usageErr("unknown subcommand %q\n%s", sub, paymentsUsage)
	}
	wait := fs.Duration("wait", 0, "get: long-poll until the status changes or the payment settles (at most 60s)")
	amountS := fs.String("amount", "", "capture, refund: amount in major units (default: all)")
	// The id may come before the flags: tender payments get pay01... --wait 30s.
	var id string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		id, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 || id == "" {
		return usageErr("payments %s takes one payment id\n%s", sub, paymentsUsage)
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	var p *client.Payment
	switch sub {
	case "get":
		if *wait > 0 {
			p, err = c.WaitPayment(ctx, id, *wait)
		} else {
			p, err = c.GetPayment(ctx, id)
		}
	case "cancel":
		p, err = c.CancelPayment(ctx, id)
	default:
		var minor int64
		if *amountS != "" {
			// The amount's decimals follow the payment's currency.
			cur, err := c.GetPayment(ctx, id)
			if err != nil {
				return err
			}
			a, err := tender.ParseAmount(*amountS, cur.Currency)
			if err != nil {
				return usageErr("--amount: %s", tender.ErrorMessageOf(err))
			}
			minor = a.Value
		}
		if sub == "capture" {
			p, err = c.CapturePayment(ctx, id, minor)
		} else {
			p, err = c.RefundPayment(ctx, id, minor)
		}
	}
	if err != nil {
		return err
	}
	return printJSON(stdout, p)
}

// terminalsCmd is `tender terminals list`.
func terminalsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "usage: tender terminals list [--url URL] [--key KEY]"
	if len(args) == 0 || args[0] != "list" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, usage)
			return nil
		}
		return usageErr("%s", usage)
	}
	fs := flag.NewFlagSet("terminals list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af apiFlags
	af.register(fs, getenv)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCONNECTOR\tACCOUNT\tPROVIDER ID\tLABEL\tSTATE\tPAYMENT\tLAST SEEN")
	after := ""
	for {
		l, err := c.ListTerminals(ctx, 100, after)
		if err != nil {
			return err
		}
		for _, t := range l.Data {
			seen := "-"
			if t.LastSeenAt != nil {
				seen = t.LastSeenAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Connector, t.Account, t.ProviderID, deref(t.Label), t.State, deref(t.Payment), seen)
		}
		if !l.HasMore || len(l.Data) == 0 {
			break
		}
		after = l.Data[len(l.Data)-1].ID
	}
	return tw.Flush()
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
