package sepay

import (
	"strconv"
	"strings"
)

// WECR status codes (notes §5.1).
const (
	StatusOK         = "00" // Start: queued; Status: approved; Cancel: canceled
	StatusMissing    = "01" // required fields missing
	StatusBadSig     = "02" // signature failed
	StatusInvalid    = "04" // invalid parameters
	StatusDuplicate  = "06" // duplicate transactionref
	StatusNotEnabled = "07" // terminal not enabled for WECR
	StatusPending    = "11" // terminal has a pending request
	StatusFailed     = "13" // transaction failed
	StatusCanceled   = "14" // transaction canceled
	StatusQueued     = "15" // not finished, not canceled: not yet picked up
	StatusInProgress = "17" // picked up, can no longer be canceled
	StatusUndefined  = "99" // undefined error
)

// StatusTexts are the status meanings (cardboard's wording, which appears
// to quote the specification).
var StatusTexts = map[string]string{
	StatusOK:         "Success",
	StatusMissing:    "Some of the required fields are missing",
	StatusBadSig:     "Signature failed",
	StatusInvalid:    "Invalid parameters",
	StatusDuplicate:  "Duplicate request",
	StatusNotEnabled: "Terminal not active or not enabled and/or authorized for transactions through WECR",
	StatusPending:    "Pending request for this terminal",
	StatusFailed:     "Transaction failed",
	StatusCanceled:   "This transaction was canceled",
	StatusQueued:     "Transaction is not finished and has not been canceled yet",
	StatusInProgress: "Transaction already in progress, cannot be canceled anymore",
	StatusUndefined:  "Undefined error",
}

// StatusText returns the meaning of a status code.
func StatusText(code string) string {
	if t, ok := StatusTexts[code]; ok {
		return t
	}
	return "Unknown status " + code
}

// TransactionErrors are host action codes carried in <transactionerror>
// (notes §5.3, ISO 8583:1993 style).
var TransactionErrors = map[int]string{
	0: "Transaction succeeded", 100: "Do not honour", 101: "Expired card", 104: "Restricted card",
	105: "Check security settings of acquirer", 106: "Allowable PIN tries exceeded",
	107: "Refer to card issuer", 109: "Invalid merchant", 110: "Invalid amount",
	111: "Invalid card number", 116: "Not sufficient funds", 117: "Incorrect PIN",
	119: "Transaction not permitted to the customer", 120: "Transaction not permitted to the POS device",
	121: "Exceeds withdrawal amount limit", 123: "Exceeds withdrawal frequency limit",
	128: "PIN key synch error", 141: "Refund declined", 181: "Card blocked",
	185: "Product(s) not allowed", 191: "Unknown transponder", 200: "Pick-up card declined",
	202: "Suspected fraud", 204: "Restricted card declined - capture",
	208: "Lost card declined - capture", 209: "Stolen card declined - capture",
	902: "Invalid transaction", 904: "Format error", 907: "Card issuer or switch inoperative",
	908: "Destination not found", 909: "System malfunction", 911: "Card issuer timed out",
	912: "Card issuer unavailable", 913: "Technical failure", 917: "MAC key synch error",
	2004: "Check ACQ", 2033: "Check ACQ", 2061: "Check ACQ", 2075: "Check ACQ",
}

// TransactionResults are terminal result codes carried in
// <transactionresult> (notes §5.3).
var TransactionResults = map[int]string{
	1803: "Time-out", 1804: "Transaction declined", 1811: "Technical failure",
	1822: "Connection failure", 1823: "Invalid answer", 2621: "Canceled on PIN entry",
	2622: "Time-out on PIN entry", 2623: "Declined by card", 2625: "Corrupted response",
	2627: "Declined by host", 2629: "Cancellation", 3313: "MAC verification failure",
	4021: "Declined by card/terminal", 4352: "Declined by card/terminal",
}

// lookupCode finds a code numerically ("0" and "000" are the same code).
func lookupCode(table map[int]string, code string) (string, bool) {
	code = strings.TrimSpace(code)
	if code == "" {
		return "", false
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		return "", false
	}
	t, ok := table[n]
	return t, ok
}

// TransactionErrorText returns the meaning of a <transactionerror> code.
func TransactionErrorText(code string) (string, bool) { return lookupCode(TransactionErrors, code) }

// TransactionResultText returns the meaning of a <transactionresult> code.
func TransactionResultText(code string) (string, bool) {
	return lookupCode(TransactionResults, code)
}

// isZeroCode reports whether a code is empty or numerically zero.
func isZeroCode(code string) bool {
	code = strings.TrimSpace(code)
	if code == "" {
		return true
	}
	n, err := strconv.Atoi(code)
	return err == nil && n == 0
}

// DescribeFailure puts a failed transaction's codes into words, e.g.
// "Not sufficient funds (card code 116)". Either code may be empty.
func DescribeFailure(transactionError, transactionResult string) string {
	var parts []string
	if !isZeroCode(transactionError) {
		t, ok := TransactionErrorText(transactionError)
		if !ok {
			t = "Declined"
		}
		parts = append(parts, t+" (card code "+strings.TrimSpace(transactionError)+")")
	}
	if !isZeroCode(transactionResult) {
		t, ok := TransactionResultText(transactionResult)
		if !ok {
			t = "Terminal result"
		}
		parts = append(parts, t+" (terminal code "+strings.TrimSpace(transactionResult)+")")
	}
	if len(parts) == 0 {
		return "The card payment failed at the terminal"
	}
	return strings.Join(parts, "; ")
}
