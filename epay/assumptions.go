package epay

import (
	"strconv"
	"strings"
	"time"
)

// This file holds every choice the protocol notes (epay-webecr.md) mark as
// inferred [I] or proposed [P], so that each is easy to find and correct
// once ePay or Impact confirm the real behaviour.

// amountOrder is the order of the four amounts in the AADE clear text for the
// Common-WebECR family (Mellon / ePay): Net;VAT;Total;Payable.
//
// Notes §5.3: verified cryptographically for Mellon (a Mellon sample only
// verifies in this order) and matching Impact's "CommonWeb" example; that
// ePay's backend uses the Mellon layout is inferred (§13.1). The Viva family
// uses Payable;Net;VAT;Total.
var amountOrder = [4]AmountField{Net, VAT, Total, Payable}

// emptyMark is how the clear text renders "no MARK" (simultaneous payment):
// an empty field, "UID;;timestamp;...". Notes §5.4.
const emptyMark = ""

// markAbsent reports whether a MARK field of a clear text means "no MARK".
// Impact's CommonWeb example shows "0" where the request had mark 0 (notes
// §5.4 [I]); we accept "0" as "no MARK" when the invoice has none, because
// ePay rebuilds the clear text from ProviderData.Mark (0 → "0") and so still
// verifies the signature Impact made.
func markAbsent(m string) bool { return m == emptyMark || m == "0" }

// markForProviderData maps the MARK text of a signed clear text to WebECR's
// nullable ProviderData.Mark (notes §5.4 [P]): empty → omitted, digits → the
// number. The backend renders null as "" and a number as its decimal text.
func markForProviderData(m string) (*int64, bool) {
	if m == emptyMark {
		return nil, true
	}
	n, err := strconv.ParseInt(m, 10, 64)
	if err != nil || n < 0 || !allDigits(m) {
		return nil, false
	}
	return &n, true
}

// renderProviderDataMark is the backend side of markForProviderData.
func renderProviderDataMark(m *int64) string {
	if m == nil {
		return emptyMark
	}
	return strconv.FormatInt(*m, 10)
}

// DefaultProviderID is Impact's AADE provider number as ProviderData.ProviderId
// ("3"); notes §1.3 and §13.5: the exact format ePay expects ("3", "003") is
// unknown.
const DefaultProviderID = "3"

// signingAuthor is the provider id as myDATA ProvidersSignature.SigningAuthor:
// the three-digit AADE code ("003"), as GKS fills it (notes §9.1 [C]).
func signingAuthor(providerID string) string {
	if allDigits(providerID) && len(providerID) > 0 && len(providerID) < 3 {
		return strings.Repeat("0", 3-len(providerID)) + providerID
	}
	return providerID
}

// DefaultNSPCode is the protocol selector sent to Impact's signpos (notes §6.2).
const DefaultNSPCode = "CommonWeb"

// DefaultSignatureDuration is Impact's signatureDurationType (notes §6.2).
const DefaultSignatureDuration = "H_24"

// Endpoints. Notes §6.1 (Impact UAT/PROD [D]) and §7.1 (ePay production host
// [C]). ePay's test environment URL was not found (§13.4): an account with
// test=Y must configure webecr_test_url.
const (
	DefaultImpactURL     = "https://einvoiceapi.impact.gr"
	DefaultImpactTestURL = "https://einvoiceapiuat.impact.gr"
	DefaultWebECRURL     = "https://webecr.epayworldwide.com:11007"
)

// signatureSkew is how far in the future a provider signature's timestamp
// may be.
const signatureSkew = 5 * time.Minute

// SignatureValidity is how old a provider signature of Impact's
// signatureDurationType may be when it is sent to the terminal, after which
// the connector (before sending) and the ePay simulator treat it as stale:
// H_2 (food and beverage) 2 hours, H_24 (the default, and anything else) 24
// hours (notes §3, §6.2 and §13.8; the secondhand "60 h" is not used).
func SignatureValidity(durationType string) time.Duration {
	if durationType == "H_2" {
		return 2 * time.Hour
	}
	return 24 * time.Hour
}

// transactionLookback is how far before the payment started the transaction
// records are searched (GKS uses start − 10 min, notes §8.3 step 8).
const transactionLookback = 10 * time.Minute

// withdrawPendingByVoid: a payment whose intent is still PENDING (the
// terminal has not fetched it) is cancelled with txnvoid by INTENTID. The
// notes found no ERP-side abort (§7.6); txnvoid by intent id is the closest
// documented operation [I]. Once the terminal has it (SENT) only the
// operator can cancel it on the device.
const withdrawPendingByVoid = true

// greekTime is the zone of the clear text timestamp (notes §5.2).
var greekTime = mustLoadAthens()

func mustLoadAthens() *time.Location {
	loc, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		panic("epay: Europe/Athens time zone missing: " + err.Error())
	}
	return loc
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// uniquePaymentID rebuilds the 21-character AADE unique payment id,
// acquirer(3) + batch(6) + sequence(6) + approval code(6), from a host
// record (notes §4.2 [D] for the layout; that the acquirer code is the
// record's Acquirer field is inferred [I]). Only used when an intent ended
// UNKNOWN and so lost its TransactionId.
func uniquePaymentID(rec *Transaction) string {
	if rec.Acquirer == "" || rec.AuthCode == "" {
		return ""
	}
	pad := func(n int) string {
		s := strconv.Itoa(n)
		for len(s) < 6 {
			s = "0" + s
		}
		return s
	}
	return rec.Acquirer + pad(rec.BatchNumber) + pad(rec.STAN) + rec.AuthCode
}

// refundSigned: a refund transaction (TxnType 1) is sent without
// ProviderData. Notes §8.4: GKS sends ProviderData for refunds only "when
// the series requires a signature"; Tender's refund API has no credit-note
// input, and the credit note is issued after the refund, with the refund's
// AADE transaction id (returned in details). The simulator checks a
// refund's ProviderData when one is sent, and requires none.
const refundSigned = false

// completionUnsigned: a pre-authorization completion (TxnType 3) carries no
// ProviderData; the pre-authorization was signed for the invoice (notes
// §10.3 requires the signature for TxnType 0/1/2/9 only).
const completionUnsigned = true

// InitialTransaction of a refund or completion is the original intent's
// Id, as GKS sends it (notes §7.4); mydata-dll's "TransactionId field of
// the original" reading is not used.

// tipInSignedPayable: whether a tip is inside the payable amount that
// Impact signs and that is the intent's Amount. Notes §5.5 and §13.3: not
// known; WebECR has a separate TipAmount and Impact's signpos no tip field.
// Chosen (the notes' proposal): no. The signed payable, and txninit's
// Amount, exclude the tip, which travels as TipAmount; the invoice's
// amounts exclude it too; myDATA carries it as tipAmount beside amount.
// Tender's payment amount is what the card is charged: payable + tip.
const tipInSignedPayable = false

// entryModes maps the ISO 8583 POS entry mode's first two digits, as the
// host record's PosEntryMode carries it (7 or 73 in the notes, §7.7), to a
// receipt word. Which codes ePay sends is not documented [I]. The record's AID and
// ApplicationLabel field names are assumed too (Impact's updatePayment has
// aid and applicationLabel, notes §9.2; the WebECR record list, §7.7, has
// neither); a record without them prints without those lines.
var entryModes = map[int]string{1: "manual", 2: "magstripe", 5: "chip", 7: "contactless", 10: "ecommerce", 80: "magstripe", 90: "magstripe", 91: "contactless"}
