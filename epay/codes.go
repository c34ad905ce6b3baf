package epay

import (
	"encoding/json"
	"strconv"

	"github.com/tenderpay/tender"
)

// resultWords are the intent results in words (notes §7.5, vendor text).
var resultWords = map[int]string{
	ResultApproved:       "approved",
	ResultDeclined:       "declined by the card issuer",
	ResultCancelled:      "cancelled on the terminal",
	ResultFailed:         "the terminal could not complete the transaction",
	ResultUnknown:        "the terminal did not report the outcome",
	ResultBusy:           "the terminal is busy or in maintenance",
	ResultMaxTransaction: "the terminal's batch is full; close the batch and try again",
}

var resultNames = map[int]string{
	ResultApproved: "APPROVED", ResultDeclined: "DECLINED", ResultCancelled: "CANCELLED", ResultFailed: "FAILED",
	ResultUnknown: "UNKNOWN", ResultBusy: "BUSY", ResultMaxTransaction: "MAX_TRANSACTIONS",
}

// failure maps a final, unsuccessful intent result to Tender's status and failure.
func failure(result int, hostCode string) (tender.Status, *tender.Failure) {
	name := resultNames[result]
	if name == "" {
		name = "RESULT_" + strconv.Itoa(result)
	}
	words := resultWords[result]
	if words == "" {
		words = "the terminal reported an unexpected result"
	}
	f := &tender.Failure{Message: "The payment was not completed: " + words + " (" + name + ").", ProviderCode: strconv.Itoa(result)}
	if hostCode != "" && result == ResultDeclined {
		f.Message = "The payment was not completed: " + words + " (" + name + ", host response " + hostCode + ")."
	}
	switch result {
	case ResultDeclined:
		f.Code = tender.FailDeclined
	case ResultCancelled:
		f.Code = tender.FailCanceledAtTerminal
		return tender.StatusCanceled, f
	case ResultBusy:
		f.Code = tender.FailTerminalBusy
	default:
		f.Code = tender.FailProvider
	}
	return tender.StatusFailed, f
}

// Details keys a payment carries for the POS (see README). The mydata_*
// keys are what goes into the invoice's paymentMethodDetails (notes §9).
const (
	DetailMyDATA               = "mydata" // the whole block as JSON
	DetailMyDATAType           = "mydata_payment_method_type"
	DetailMyDATAAmount         = "mydata_amount"
	DetailMyDATATip            = "mydata_tip_amount"
	DetailMyDATATransactionID  = "mydata_transaction_id"
	DetailMyDATATID            = "mydata_tid"
	DetailMyDATASigningAuthor  = "mydata_signing_author"
	DetailMyDATASignature      = "mydata_signature"
	DetailMyDATAPOSInput       = "mydata_pos_input"
	DetailInvoiceUID           = "invoice_uid"
	DetailIntentID             = "intent_id"
	DetailRRN                  = "rrn"
	DetailAuthCode             = "auth_code"
	DetailMaskedPAN            = "masked_pan"
	DetailCardType             = "card_type"
	DetailSTAN                 = "stan"
	DetailMID                  = "mid"
	DetailBatch                = "batch_number"
	DetailHostResponseCode     = "host_response_code"
	DetailVoidTransactionID    = "void_transaction_id"
	DetailAmount               = "amount"     // what the terminal took, when not the payment's amount
	DetailTip                  = "tip_amount" // the tip the terminal added
	detailMyDATAPaymentTypeIRI = "8"
)

// myDATA is paymentMethodDetails as myDATA and Impact's JSON name it.
type myDATA struct {
	Type               int                `json:"type"`
	Amount             string             `json:"amount"`
	TipAmount          string             `json:"tipAmount"`
	TransactionID      string             `json:"transactionId,omitempty"`
	TID                string             `json:"tid"`
	ProvidersSignature providersSignature `json:"ProvidersSignature"`
	POSInput           string             `json:"posInput"`
}

type providersSignature struct {
	SigningAuthor string `json:"SigningAuthor"`
	Signature     string `json:"Signature"`
}

// signedDetails are the myDATA fields known once Impact has signed.
func signedDetails(st *payState, amount int64) map[string]string {
	return map[string]string{
		DetailMyDATAType: "7", DetailMyDATAAmount: string(Euros(amount)), DetailMyDATATip: string(Euros(st.Tip)),
		DetailMyDATATID: st.TID, DetailMyDATASigningAuthor: signingAuthor(st.ProviderID),
		DetailMyDATASignature: st.Signature, DetailMyDATAPOSInput: st.Input, DetailInvoiceUID: st.UID,
	}
}

// approvedDetails completes the myDATA block and adds the card details.
func approvedDetails(st *payState, in Intent, rec *Transaction) map[string]string {
	d := signedDetails(st, in.Amount)
	d[DetailIntentID] = string(in.ID)
	d[DetailMyDATATip] = string(Euros(in.TipAmount))
	txID := in.TransactionId
	typ := 7
	if rec != nil {
		if txID == "" {
			// Result UNKNOWN keeps no TransactionId on the intent; rebuild
			// the AADE id from the host record (notes §4.2).
			txID = uniquePaymentID(rec)
		}
		d[DetailRRN], d[DetailAuthCode], d[DetailMaskedPAN], d[DetailCardType] = rec.RRN, rec.AuthCode, rec.CardPAN, rec.CardType
		d[DetailSTAN], d[DetailMID], d[DetailBatch] = strconv.Itoa(rec.STAN), rec.MID, strconv.Itoa(rec.BatchNumber)
		d[DetailHostResponseCode] = rec.HostResponseCode
		if rec.PaymentType == 1 || rec.CardType == "IRIS" {
			typ = 8
		}
	}
	d[DetailMyDATATransactionID] = txID
	d[DetailMyDATAType] = strconv.Itoa(typ)
	b, _ := json.Marshal(myDATA{Type: typ, Amount: d[DetailMyDATAAmount], TipAmount: d[DetailMyDATATip], TransactionID: txID,
		TID: st.TID, ProvidersSignature: providersSignature{SigningAuthor: d[DetailMyDATASigningAuthor], Signature: st.Signature},
		POSInput: st.Input})
	d[DetailMyDATA] = string(b)
	return d
}
