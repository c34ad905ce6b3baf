package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tenderpay/tender/epay"
)

// TestSignatureValidityOfItsType: ePay takes a provider signature for as
// long as the signatureDurationType it was made for: three hours after
// Impact signed, an H_24 signature still pays and an H_2 one is stale.
func TestSignatureValidityOfItsType(t *testing.T) {
	for dur, ok := range map[string]bool{"H_24": true, "H_2": false} {
		s, srv, c, wc := setup(t)
		s.AddAPIKey("key1", "11111111")
		ic := &epay.ImpactClient{BaseURL: srv.URL + "/impact", APIKey: "ik", HTTP: srv.Client()}
		r, ct, err := ic.SignPOS(context.Background(), epay.SignPOSRequest{IssuerTin: "EL999999999", IssueDate: "2026-05-01",
			InvoiceTypeCode: "11.1", Series: "A", Identifier: "7", PaymentAmount: "1.24", TotalNetAmount: "1.00",
			TotalVatAmount: "0.24", TotalAmount: "1.24", TerminalID: "11111111", SignatureDurationType: dur})
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(3 * time.Hour)
		req := epay.TxnInitRequest{Amount: 124, CurrencyCode: 978, CustomerReference: "ref-" + dur,
			ProviderData: &epay.ProviderData{Uid: ct.UID, SignatureTimestamp: ct.Timestamp, NetAmount: 100, VatAmount: 24,
				TotalAmount: 124, ProviderId: "3", Signature: r.Signature}}
		_, err = wc.TxnInit(context.Background(), "key1", "1", req)
		var ae *epay.APIError
		if ok && err != nil || !ok && (!errors.As(err, &ae) || ae.Status != 400) {
			t.Errorf("%s signature 3 h later: %v, want accepted=%v", dur, err, ok)
		}
	}
}
