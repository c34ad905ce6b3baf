package trustpayments

import (
	"slices"
	"strings"

	"github.com/tenderpay/tender"
)

// Outcome classifies a gateway errorcode for the payment (seed table
// "Foutcode", notes §7).
type Outcome int

// Outcomes of an errorcode.
const (
	OutcomeOK             Outcome = iota // 0
	OutcomeUnknown                       // 60010, 60034, 99999, 50000, ...: reconcile, never retry
	OutcomeInvalid                       // 30000: invalid data in the JWT payload
	OutcomeAuthentication                // 60022: 3-D Secure failed, AUTH not performed
	OutcomeDeclined                      // 70000: declined by the issuer
)

// Classify returns the Outcome of an errorcode. Codes the notes do not
// name an outcome for are Unknown: the payment is then reconciled with
// TRANSACTIONQUERY instead of guessed.
func Classify(code string) Outcome {
	switch {
	case code == "0":
		return OutcomeOK
	case code == "30000" || strings.HasPrefix(code, "3") && len(code) == 5:
		return OutcomeInvalid
	case code == "60022":
		return OutcomeAuthentication
	case unknownOutcomeCodes[code]:
		return OutcomeUnknown
	case declineCodes[code]:
		return OutcomeDeclined
	}
	return OutcomeUnknown
}

// StatusOfAuth returns the payment status an approved AUTH record stands
// for, by its settlestatus (seed table "settlestatus", notes §8).
func StatusOfAuth(settlestatus string) (tender.Status, bool) {
	switch settlestatus {
	case "2":
		return tender.StatusAuthorized, true
	case "0", "1", "10", "100":
		return tender.StatusCaptured, true
	case "3":
		return tender.StatusCanceled, true
	}
	return "", false
}

// UpdateOf maps a verified response to an Update (seed "Foutcode"):
// 0 with an approved AUTH → authorized (settlestatus 2) or captured;
// 30000 → failed, invalid data, naming the fields; 60010/60034/99999 and
// 50000 → unknown, to be reconciled; 60022 → failed, authentication;
// 70000 → failed, declined. A chain that has not reached AUTH yet is no news.
func UpdateOf(r *Response) tender.Update {
	main := r.Main()
	auth, hasAuth := r.Auth()
	u := tender.Update{Details: Details(r.Envelope.Response...)}
	if hasAuth {
		u.ProviderReference = auth.Get("transactionreference")
	}
	code := main.Get("errorcode")
	later := ""
	isAuth := auth.Get("requesttypedescription") == "AUTH"
	if hasAuth && main.Get("requesttypedescription") != "AUTH" && (isAuth || auth.Get("errorcode") != "0") {
		// Only the AUTH means money (seed: "Alleen waarden van "AUTH"
		// geven de autorisatie van een betaling aan"), so it decides, not
		// a step chained after it: a failed AUTH fails the payment, and an
		// approved AUTH holds the shopper's money even when a later step
		// (a SUBSCRIPTION) failed; calling the payment failed then would
		// leave that money unaccounted for. The later failure is told in
		// the note. (A verify-only ACCOUNTCHECK moves no money: a failed
		// one decides, an approved one still needs its 3-D Secure step.)
		code = auth.Get("errorcode")
	}
	if hasAuth && auth.Get("errorcode") == "0" {
		later = laterFailure(r.Envelope.Response)
	}
	switch Classify(code) {
	case OutcomeOK:
		if !hasAuth || auth.Get("errorcode") != "0" {
			u.Note = "trustpayments: response without an approved AUTH; payment still open"
			u.Details = nil
			return u
		}
		st, ok := StatusOfAuth(auth.Get("settlestatus"))
		if !ok {
			u.Status = tender.StatusUnknown
			u.Note = "trustpayments: AUTH with unexpected settlestatus; reconciling" + later
			return u
		}
		u.Status = st
		if later != "" {
			u.Note = "trustpayments: the AUTH was approved" + later
		}
		if st == tender.StatusCanceled {
			u.Status = tender.StatusFailed
			u.Failure = &tender.Failure{Code: tender.FailProvider, Message: "Trust Payments cancelled the authorization", ProviderCode: "0"}
		}
		return u
	case OutcomeUnknown:
		u.Status = tender.StatusUnknown
		u.Note = "trustpayments: errorcode " + safeCode(code) + ": outcome unknown, reconciling"
		return u
	}
	u.Status = tender.StatusFailed
	u.Failure = FailureOf(code, main.ErrorData)
	return u
}

// FailureOf describes a failing errorcode in words a merchant can show.
func FailureOf(code string, errordata []string) *tender.Failure {
	f := &tender.Failure{ProviderCode: safeCode(code)}
	switch Classify(code) {
	case OutcomeInvalid:
		f.Code = tender.FailInvalid
		f.Message = "Trust Payments rejected the payment data"
		var fields []string
		for _, d := range errordata {
			if len(fields) < 5 && reFieldName.MatchString(d) {
				fields = append(fields, d)
			}
		}
		if len(fields) > 0 {
			f.Message += " (invalid field: " + strings.Join(fields, ", ") + ")"
		}
	case OutcomeAuthentication:
		f.Code = tender.FailAuthentication
		f.Message = "the cardholder could not be authenticated with 3-D Secure"
	case OutcomeDeclined:
		f.Code = tender.FailDeclined
		f.Message = "the card issuer declined the payment"
	default:
		f.Code = tender.FailProvider
		f.Message = "Trust Payments refused the payment"
	}
	return f
}

// laterFailure describes the first step after the AUTH (or verify) that
// failed, for the note of an approved payment: "; a later SUBSCRIPTION
// failed with errorcode 30000", or "" if none did.
func laterFailure(chain []Result) string {
	after := false
	for _, e := range chain {
		t := e.Get("requesttypedescription")
		if !after {
			after = t == "AUTH" || isVerify(e)
			continue
		}
		if c := e.Get("errorcode"); c != "" && c != "0" {
			return "; a later " + safeType(t) + " failed with errorcode " + safeCode(c)
		}
	}
	return ""
}

// safeType keeps only a request type Tender knows for messages and logs.
func safeType(t string) string {
	if slices.Contains(requestTypes, t) {
		return t
	}
	return "step"
}

// safeCode keeps only a plausible errorcode for messages and logs.
func safeCode(code string) string {
	if reDigit.MatchString(code) && len(code) <= 6 {
		return code
	}
	return "?"
}

func parseMain(m, currency string) (int64, bool) {
	a, err := tender.ParseAmount(m, currency)
	if err != nil {
		return 0, false
	}
	return a.Value, true
}
