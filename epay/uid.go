package epay

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"
)

// InvoiceKey is what identifies an invoice to AADE.
type InvoiceKey struct {
	IssuerVAT string // without the EL prefix
	Date      string // YYYY-MM-DD
	Branch    int
	Type      string // e.g. "11.1"
	Series    string
	Number    string
}

// UID returns the invoice's AADE UID: the upper-case hex SHA-1 of
// "{IssuerVAT}-{IssueDate}-{BranchNo}-{InvoiceType}-{Series}-{AA}" in UTF-8
// (notes §4.1).
func UID(k InvoiceKey) string {
	pre := strings.Join([]string{k.IssuerVAT, k.Date, strconv.Itoa(k.Branch), k.Type, k.Series, k.Number}, "-")
	h := sha1.Sum([]byte(pre))
	return strings.ToUpper(hex.EncodeToString(h[:]))
}
