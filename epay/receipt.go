package epay

import (
	"strconv"
	"time"

	"github.com/tenderpay/tender"
)

// ePay's WebECR gives Tender no receipt text (only a ReceiptReference to an
// image, notes §7.5), so Tender writes the lines a Greek card receipt
// carries from the intent and the host record: merchant, terminal and
// merchant id, date and time (Greek time), transaction type, card brand and
// masked number, AID and application label, entry mode, authorization code,
// STAN, RRN, amount (and tip), AADE transaction id and the outcome. Labels
// are English or Greek by the account's receipt_language.

// receiptLabels are the receipt's words, by language.
var receiptLabels = map[string]map[string]string{
	"en": {
		"terminal": "TERMINAL", "mid": "MERCHANT ID", "date": "DATE", "sale": "SALE", "preauth": "PRE-AUTHORIZATION", "completion": "PRE-AUTH COMPLETION",
		"card": "CARD", "aid": "AID", "app": "APPLICATION", "entry": "ENTRY", "auth": "AUTH CODE", "stan": "STAN",
		"rrn": "RRN", "amount": "AMOUNT", "tip": "TIP", "total": "TOTAL", "txid": "TRANSACTION ID", "host": "RESPONSE",
		"approved": "APPROVED", "declined": "DECLINED", "cancelled": "CANCELLED",
		"contactless": "CONTACTLESS", "chip": "CHIP", "magstripe": "MAGNETIC STRIPE", "manual": "MANUAL", "ecommerce": "E-COMMERCE",
	},
	"el": {
		"terminal": "ΤΕΡΜΑΤΙΚΟ", "mid": "ΚΩΔ. ΕΜΠΟΡΟΥ", "date": "ΗΜΕΡΟΜΗΝΙΑ", "sale": "ΠΩΛΗΣΗ", "preauth": "ΠΡΟΕΓΚΡΙΣΗ", "completion": "ΟΛΟΚΛΗΡΩΣΗ ΠΡΟΕΓΚΡΙΣΗΣ",
		"card": "ΚΑΡΤΑ", "aid": "AID", "app": "ΕΦΑΡΜΟΓΗ", "entry": "ΤΡΟΠΟΣ", "auth": "ΚΩΔ. ΕΓΚΡΙΣΗΣ", "stan": "STAN",
		"rrn": "RRN", "amount": "ΠΟΣΟ", "tip": "ΦΙΛΟΔΩΡΗΜΑ", "total": "ΣΥΝΟΛΟ", "txid": "ΚΩΔ. ΣΥΝΑΛΛΑΓΗΣ", "host": "ΑΠΑΝΤΗΣΗ",
		"approved": "ΕΓΚΡΙΘΗΚΕ", "declined": "ΑΠΟΡΡΙΦΘΗΚΕ", "cancelled": "ΑΚΥΡΩΘΗΚΕ",
		"contactless": "ΑΝΕΠΑΦΑ", "chip": "ΤΣΙΠ", "magstripe": "ΜΑΓΝΗΤΙΚΗ ΤΑΙΝΙΑ", "manual": "ΧΕΙΡΟΚΙΝΗΤΑ", "ecommerce": "ΗΛΕΚΤΡΟΝΙΚΑ",
	},
}

func entryMode(code int) string {
	if k, ok := entryModes[code]; ok {
		return k
	}
	if code >= 10 {
		if k, ok := entryModes[code/10]; ok { // 73 → 7: contactless, PIN capability 3
			return k
		}
	}
	return ""
}

// receipt writes the receipt of a terminal transaction that ended with
// result (approved, declined or cancelled); rec may be nil (a cancel on
// the terminal leaves no host record) and txID empty.
func (c *Connector) receipt(cfg *config, p *tender.Payment, st *payState, in Intent, rec *Transaction, result int, txID string) *tender.Receipt {
	lang := "en"
	if cfg != nil && cfg.lang != "" {
		lang = cfg.lang
	}
	l := receiptLabels[lang]
	var lines []string
	add := func(label, value string) {
		if value != "" {
			lines = append(lines, l[label]+": "+value)
		}
	}
	if cfg != nil && cfg.merchantName != "" {
		lines = append(lines, cfg.merchantName)
	}
	at := c.opts.Clock.Now()
	mid := ""
	if rec != nil {
		mid = rec.MID
		if t, err := time.Parse(time.RFC3339, rec.Timestamp); err == nil {
			at = t
		}
	}
	add("terminal", st.TID)
	add("mid", mid)
	add("date", at.In(greekTime).Format("02/01/2006 15:04:05"))
	kind := l["sale"]
	switch {
	case in.TxnType == TxnCompletion:
		kind = l["completion"]
	case st.PreAuth:
		kind = l["preauth"]
	}
	lines = append(lines, kind)
	if rec != nil {
		add("card", joinSpace(rec.CardType, rec.CardPAN))
		add("aid", rec.AID)
		add("app", rec.ApplicationLabel)
		if k := entryMode(rec.PosEntryMode); k != "" {
			add("entry", l[k])
		} else if rec.PosEntryMode != 0 {
			add("entry", strconv.Itoa(rec.PosEntryMode))
		}
		add("auth", rec.AuthCode)
		if rec.STAN != 0 {
			add("stan", strconv.Itoa(rec.STAN))
		}
		add("rrn", rec.RRN)
	}
	amount, tip := in.Amount, in.TipAmount
	if rec != nil && rec.Amount > 0 {
		amount, tip = rec.Amount, rec.TipAmount
	}
	if amount == 0 {
		amount, tip = p.Amount-st.Tip, st.Tip
	}
	add("amount", "EUR "+string(Euros(amount)))
	if tip != 0 {
		add("tip", "EUR "+string(Euros(tip)))
		add("total", "EUR "+string(Euros(amount+tip)))
	}
	add("txid", txID)
	switch result {
	case ResultApproved:
		lines = append(lines, l["approved"])
	case ResultCancelled:
		lines = append(lines, l["cancelled"])
	default:
		if rec != nil {
			add("host", rec.HostResponseCode)
		}
		lines = append(lines, l["declined"])
	}
	return &tender.Receipt{Lines: lines}
}

func joinSpace(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}
