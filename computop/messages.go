package computop

// The message tables of the seed (003, "Payment with WERO (EPI)", "Capture
// for Event Dependent Flow", "Reversal"), plus the status inquiry, whose
// fields are an assumption (see assumptions.go). Key spelling follows the
// seed; keys are compared without regard to case.

func addressFields(prefix string, cond Cond, stateLen string) []Field {
	return []Field{
		field(prefix+"FirstName", "ans..25", cond),
		field(prefix+"LastName", "ans..25", cond),
		field(prefix+"Street", "ans..256", cond),
		field(prefix+"AddressAddition", "ans..256", O),
		field(prefix+"City", "ans..40", cond),
		field(prefix+"ZIP", "ans..10", cond),
		field(prefix+"CountryCode", "a2", O),
		field(prefix+"State", "ans.."+stateLen, O),
	}
}

// SpecWero is the table of encrypted parameters of a WERO.aspx request.
var SpecWero = Spec{Name: "WERO.aspx request", Fields: concat(
	[]Field{
		field("MerchantID", "ans..30", M),
		field("TransID", "ans..64", M),
		field("refnr", "ans..30", O),
		field("Amount", "n..10", M),
		field("Currency", "a3", M),
		field("MAC", "an64", M),
		field("OrderDesc", "ans..768", O),
		field("URLSuccess", "ans..256", M),
		field("URLFailure", "ans..256", M),
		field("Response", "a7", O),
		field("URLNotify", "ans..256", M),
		field("UserData", "ans..1024", O),
		field("ReqId", "ans..32", O),
		field("PayType", "an..6", O),
		field("ChDesc", "ans..35", M),
	},
	addressFields("bd", M, "40"),
	addressFields("sd", O, "30"),
	[]Field{
		// Base64 of JSON; the seed gives no length.
		field("ArticleList", "ans", O),
		field("Plain", "ans..50", O),
		field("Custom", "ans..1024", O),
	},
)}

// SpecWeroResult is the table of result parameters sent to URLSuccess,
// URLFailure and URLNotify.
var SpecWeroResult = Spec{Name: "Wero result", Fields: []Field{
	field("mid", "ans..30", M),
	field("PayID", "an32", M),
	field("XID", "an32", M),
	field("TransID", "ans..64", M),
	field("refnr", "ans..30", O),
	field("Status", "a..50", M),
	field("Description", "ans..1024", M),
	field("Code", "an8", M),
	field("MAC", "an64", M),
	field("UserData", "ans..1024", O),
	field("ErrorText", "ans..128", C),
	field("TransactionId", "an..20", O),
	field("Plain", "ans..50", O),
	field("Custom", "ans..1024", O),
}}

// SpecCapture is the table of encrypted parameters of capture.aspx. The
// seed lists no ReqId here; Tender sends one on every request (see
// captureReqID in assumptions.go).
var SpecCapture = Spec{Name: "capture.aspx request", Fields: []Field{
	field("MerchantID", "ans..30", M),
	field("PayID", "an32", M),
	field("TransID", "ans..64", M),
	field("Amount", "n..10", M),
	field("Currency", "a3", M),
	field("MAC", "an64", M),
	field("refnr", "ans..30", O),
	field("ReqId", "ans..32", O),
}}

// SpecReverse is the table of encrypted parameters of reverse.aspx.
var SpecReverse = Spec{Name: "reverse.aspx request", Fields: []Field{
	field("MerchantID", "ans..30", M),
	field("PayID", "an32", M),
	field("TransID", "ans..64", M),
	field("Amount", "n..10", M),
	field("Currency", "a3", M),
	field("MAC", "an64", M),
	field("refnr", "ans..30", O),
	field("UserData", "ans..1024", O),
	field("ReqId", "ans..32", O),
}}

// SpecCredit is the table of encrypted parameters of credit.aspx (notes
// §13: pretix-computop's refund). refnr is not sent: no source shows it.
var SpecCredit = Spec{Name: "credit.aspx request", Fields: []Field{
	field("MerchantID", "ans..30", M),
	field("PayID", "an32", M),
	field("TransID", "ans..64", M),
	field("Amount", "n..10", M),
	field("Currency", "a3", M),
	field("MAC", "an64", M),
	field("ReqId", "ans..32", O),
}}

// SpecActionResult is the table of the response of capture.aspx,
// reverse.aspx and credit.aspx (the credit's is assumed to be the same,
// see creditPath). It carries no MAC (notes §2.2).
var SpecActionResult = Spec{Name: "capture/reverse response", Fields: []Field{
	field("mid", "ans..30", M),
	field("PayID", "an32", M),
	field("XID", "an32", M),
	field("TransID", "ans..64", M),
	field("Status", "a..50", M),
	field("Description", "ans..1024", M),
	field("Code", "an8", M),
	field("refnr", "ans..30", O),
}}

// SpecInquire is the status inquiry (inquire.aspx). Assumed: see
// inquiry* in assumptions.go.
var SpecInquire = Spec{Name: "inquire.aspx request", Fields: []Field{
	field("MerchantID", "ans..30", M),
	field("PayID", "an32", O),
	field("TransID", "ans..64", M),
	field("MAC", "an64", M),
	field("ReqId", "ans..32", O),
}}

// SpecInquireResult is the response of inquire.aspx (assumed, notes §7.6).
var SpecInquireResult = Spec{Name: "inquire.aspx response", Fields: []Field{
	field("mid", "ans..30", M),
	field("PayID", "an32", O),
	field("TransID", "ans..64", M),
	field("Status", "a..50", M),
	field("Description", "ans..1024", M),
	field("Code", "an8", M),
	field("LastStatus", "ans..50", O),
	field("AmountAuth", "n..10", O),
	field("AmountCap", "n..10", O),
	field("AmountCred", "n..10", O),
	field("Currency", "a3", O),
}}

func concat(parts ...[]Field) []Field {
	var out []Field
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
