package sim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/tenderpay/tender/epay"
)

// Impact's POST /PosTransactions/signpos (notes §6.3).
func (s *Sim) signpos(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		writeJSON(w, status, epay.ImpactError{Success: false, Message: msg})
	}
	key := r.Header.Get("APIKey")
	if key == "" || !slices.Contains(s.opts.ImpactAPIKeys, key) {
		fail(http.StatusUnauthorized, "Unauthorized")
		return
	}
	var req epay.SignPOSRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		fail(http.StatusBadRequest, "The request body is not valid JSON")
		return
	}
	tin := strings.TrimPrefix(strings.ToUpper(req.IssuerTin), "EL")
	date, _, _ := strings.Cut(req.IssueDate, "T")
	switch {
	case tin == "" || req.InvoiceTypeCode == "" || req.Series == "" || req.Identifier == "":
		fail(http.StatusBadRequest, "issuerTin, invoiceTypeCode, series and identifier are required")
		return
	case len(date) != 10:
		fail(http.StatusBadRequest, "issueDate is not a date")
		return
	case len(req.TerminalID) != 8:
		fail(http.StatusBadRequest, "terminalId must be 8 characters")
		return
	}
	var c epay.ClearText
	var err error
	for _, a := range []struct {
		n   json.Number
		dst *int64
	}{{req.TotalNetAmount, &c.Net}, {req.TotalVatAmount, &c.VAT}, {req.TotalAmount, &c.Total}, {req.PaymentAmount, &c.Payable}} {
		if *a.dst, err = epay.Cents(a.n); err != nil {
			fail(http.StatusBadRequest, "amounts must be decimal numbers of euros")
			return
		}
	}
	if c.Net+c.VAT != c.Total {
		fail(http.StatusBadRequest, "totalAmount must equal totalNetAmount + totalVatAmount")
		return
	}
	if c.Payable <= 0 || c.Payable > c.Total {
		fail(http.StatusBadRequest, "paymentAmount must be positive and not above totalAmount")
		return
	}
	c.UID = epay.UID(epay.InvoiceKey{IssuerVAT: tin, Date: date, Branch: req.BranchCode,
		Type: req.InvoiceTypeCode, Series: req.Series, Number: req.Identifier})
	if req.Mark != nil {
		c.Mark = jsonInt(*req.Mark)
	}
	c.Timestamp = epay.FormatTimestamp(s.clock.Now())
	c.TID = req.TerminalID
	sig, err := epay.Sign(s.opts.ImpactKey, c.String())
	if err != nil {
		fail(http.StatusInternalServerError, "signing failed")
		return
	}
	s.mu.Lock()
	s.sigTypes[sig] = req.SignatureDurationType
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, epay.SignPOSResponse{Input: c.String(), Signature: sig})
}

// Impact's POST /PosTransactions/validate: {input, signature} → 200 if valid.
func (s *Sim) validate(w http.ResponseWriter, r *http.Request) {
	var req epay.SignPOSResponse
	if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req) != nil {
		writeJSON(w, http.StatusBadRequest, epay.ImpactError{Message: "The request body is not valid JSON"})
		return
	}
	if epay.Verify(s.ImpactPublicKey(), req.Input, req.Signature) != nil {
		writeJSON(w, http.StatusBadRequest, epay.ImpactError{Message: "Invalid signature"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
