package trustpayments

import (
	"context"

	"github.com/tenderpay/tender"
)

// adopt picks the AUTH a payment keeps among approved ones: the one it
// already names, else the first of the payment's amount that is not
// cancelled, else the first not cancelled, else the first. An AUTH of
// another amount under the payment's orderreference (another integration's
// request JWT) is never kept over one of the payment's own amount: it would
// have the shopper's real AUTH voided as its duplicate.
func adopt(approved []Result, ref string, p *tender.Payment) Result {
	for _, r := range approved {
		if ref != "" && r.Get("transactionreference") == ref {
			return r
		}
	}
	for _, r := range approved {
		if amt, ok := AmountOf(r, p.Currency); ok && amt == p.Amount && r.Get("settlestatus") != "3" {
			return r
		}
	}
	for _, r := range approved {
		if r.Get("settlestatus") != "3" {
			return r
		}
	}
	return approved[0]
}

// voidDuplicate undoes an approved AUTH the payment does not keep: cancel
// it while it is not settled, refund it in full once it is. The refund's
// orderreference is derived from the AUTH, so a retry finds it.
func (c *Connector) voidDuplicate(ctx context.Context, cfg Config, p *tender.Payment, r Result) error {
	ref := r.Get("transactionreference")
	switch r.Get("settlestatus") {
	case "3":
		return nil
	case "0", "1", "2":
		if err := c.cancelAuth(ctx, cfg, ref); err != nil {
			return err
		}
		c.log.Warn("trustpayments: cancelled a duplicate AUTH", "payment", p.ID, "transactionreference", ref)
		return nil
	}
	orderref := refundReference("duplicate:" + ref)
	ws := c.ws(cfg)
	if done, err := findRefund(ctx, ws, cfg, orderref, ref); err != nil || done != nil {
		return err
	}
	res, err := ws.Refund(ctx, cfg.SiteReference, ref, orderref, "", "")
	if err != nil {
		return err
	}
	if code := res.Get("errorcode"); code != "0" {
		return wsError(code, "Trust Payments did not refund a duplicate AUTH")
	}
	c.log.Warn("trustpayments: refunded a duplicate AUTH", "payment", p.ID, "transactionreference", ref)
	return nil
}
