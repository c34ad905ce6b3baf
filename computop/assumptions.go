package computop

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Every choice below is inferred, not documented; each cites the notes
// (../shared/protocols/computop-paygate.md) section that leaves it open.
// Correct them here when Computop confirms otherwise.

// DefaultBaseURL is Paygate's production host; test MIDs use it too (notes
// §1, §12.14).
const DefaultBaseURL = "https://www.computop-paygate.com"

// Endpoint paths (notes §1). inquirePath is documented for Paygate in
// general, not on the Wero page.
const (
	weroPath    = "WERO.aspx"
	capturePath = "capture.aspx"
	reversePath = "reverse.aspx"
	inquirePath = "inquire.aspx"
	// creditPath refunds. The seed's Wero page does not document it; notes
	// §13 take it, its fields and its MAC (the request formula, with
	// PayID) from pretix-computop, which refunds Wero through it. Its
	// response is assumed to have capture's shape (SpecActionResult).
	creditPath = "credit.aspx"
)

// creditMinAmount: the helpdesk minimum (min_amount) is a rule of the
// payment request's Amount; nothing says it binds a credit, so credits of
// any positive amount are sent and the last cents of a payment can be
// refunded.
const creditMinAmount = 1

// InquiryMAC is the MAC of a status inquiry. The notes (§7.6) only say "MAC
// per the inquiry docs"; assumed: the request formula without Amount and
// Currency, PayID*TransID*MerchantID. PayID is empty when Tender never
// learnt it (notify lost), so the inquiry is by TransID (also assumed).
func InquiryMAC(key []byte, payID, transID, merchantID string) string {
	return MAC(key, payID, transID, merchantID)
}

// Inquiry LastStatus values the connector understands (notes §7.6 names the
// field, not its values). The amounts AmountAuth/AmountCap/AmountCred are
// read first; LastStatus only decides failed, canceled and pending.
const (
	LastPending    = "PENDING"
	LastAuthorized = "AUTHORIZED"
	LastCaptured   = "CAPTURED"
	LastFailed     = "FAILED"
	LastCanceled   = "CANCELLED"
)

// InquiryNotFound reports whether an inquiry's Code says Paygate has no such
// payment: module 016 "value unknown/not allowed" (notes §5.1; the exact
// code is not published, §12.6).
func InquiryNotFound(code string) bool {
	return KindOf(code) == KindError && Module(code) == ModuleUnknown
}

// Synthetic result codes, used by the simulator and recognised by the
// connector. Real Wero decline codes are not published (notes §12.6):
// 22060200 is the notes' synthetic F6 code; 22060201 is ours for a shopper
// who cancels in the Wero app.
const (
	CodeDeclined          = "22060200"
	CodeCanceledByShopper = "22060201"
)

// canceledByShopper reports whether a failure code means the shopper
// canceled (Tender status canceled) rather than a decline (failed).
func canceledByShopper(code string) bool { return code == CodeCanceledByShopper }

// edSuccessIsAuthorized: a PayType=ED payment whose result has Code
// 00000000 is authorized (awaiting capture) whether Status is
// AUTHORIZE_REQUEST or OK (notes §5.2, §12.4).
const edSuccessIsAuthorized = true

// requireUserDataEcho: Tender binds amount and currency into UserData and
// requires Paygate to echo it in every result (seed: "Paygate forwards the
// parameter with the payment result"). A result without it is rejected.
const requireUserDataEcho = true

// Timing of an open payment whose notify never came (notes §3.2, §12.12:
// nothing documents how long a shopper has in the Wero app).
const (
	// NotifyGrace is how long after Start Tender waits for the notify
	// before an unanswered payment becomes unknown and is reconciled.
	NotifyGrace = 30 * time.Minute
	// AbandonAfter is how long after Start a payment that Paygate's
	// inquiry still does not know is taken as abandoned (canceled, expired).
	AbandonAfter = 24 * time.Hour
)

// CaptureWindow is how long an ED authorization can be captured (seed:
// "WERO (EPI) allows the merchant to capture Event Dependent Authorizations
// for up to 10 days"). Counted by Tender from when it learnt of the
// authorization.
const CaptureWindow = 10 * 24 * time.Hour

// DefaultMinAmount: amounts below 100 minor units need Computop's helpdesk
// (seed, Amount; notes §9.13). An account can lower it (setting min_amount).
const DefaultMinAmount = 100

// maxGetURL: a WERO.aspx URL longer than this is sent as an auto-submitted
// POST form from Tender's page instead (notes §2.6: browsers limit GET URLs
// to about 2048 bytes).
const maxGetURL = 2000

// weroCurrencies: Wero (EPI) pays in euro only (seed: Belgium, France,
// Germany, the Netherlands).
var weroCurrencies = map[string]bool{"EUR": true}

// ReqID derives Paygate's ReqId (ans..32) from Tender's operation id, so a
// retried request carries the same ReqId and Paygate does not act twice
// (seed, ReqId). Short ids of letters, digits, '-' and '_' are used as
// they are; others become "h" + 31 hex digits of their SHA-256.
func ReqID(opID string) string {
	if opID == "" {
		return ""
	}
	if len(opID) <= 32 && strings.Trim(opID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == "" {
		return opID
	}
	sum := sha256.Sum256([]byte(opID))
	return "h" + hex.EncodeToString(sum[:])[:31]
}

// ChDesc returns the soft descriptor (ans..35, ISO 20022 character set) for
// a reference, transliterated and cut as FATCHIP's Wero method does (notes
// §4.1, §9.15).
func ChDesc(s string) string {
	s = Transliterate(s)
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/-?:().,'+ ", r)) {
			b.WriteRune(r)
		}
		if b.Len() == 35 {
			break
		}
	}
	return strings.TrimSpace(b.String())
}

// transliterations keeps free text ASCII, so Len is the same in bytes and
// characters and the charset question (notes §12.2) does not arise.
var transliterations = strings.NewReplacer(
	"Ä", "Ae", "Ö", "Oe", "Ü", "Ue", "ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss",
	"À", "A", "Á", "A", "Â", "A", "à", "a", "á", "a", "â", "a", "Ç", "C", "ç", "c",
	"È", "E", "É", "E", "Ê", "E", "Ë", "E", "è", "e", "é", "e", "ê", "e", "ë", "e",
	"Î", "I", "Ï", "I", "î", "i", "ï", "i", "Ô", "O", "ô", "o", "Ù", "U", "Û", "U", "ù", "u", "û", "u",
	"Ÿ", "Y", "ÿ", "y", "Œ", "Oe", "œ", "oe", "Æ", "Ae", "æ", "ae", "Ñ", "N", "ñ", "n",
	"Å", "A", "å", "a", "Ø", "O", "ø", "o", "ĳ", "ij", "Ĳ", "IJ",
)

// Transliterate replaces the accented letters of the Wero countries'
// languages by ASCII; other non-ASCII characters are left for the caller to
// refuse.
func Transliterate(s string) string { return transliterations.Replace(s) }
