package sepay

import (
	"strings"
	"time"
)

// This file holds every choice the protocol notes
// (shared/protocols/sepay-wecr.md) mark as inferred [INF] or proposed
// [PROP], so that each can be corrected in one place once Sepay's full
// specification (the PDF behind docs.buckaroo.io/docs/wecr) is known.

// ProtocolVersion is the value of <version> (cardboard sends "2"; §3.1).
const ProtocolVersion = "2"

// DefaultKeyIndex is the integrator key index cardboard always sends (§2.2
// [INF]: it selects among registered integrator certificates).
const DefaultKeyIndex = 0

// TransactionRef derives the WECR transactionref from Tender's payment id.
// The id is 23 lower-case alphanumerics; cardboard uses 9 [A-Z0-9]
// characters and the length limit is unknown (§3.1 [INF]). Deterministic
// so that a lost answer is always followed by a question about the same
// reference; the connector also stores it in Payment.State before Start's
// answer is known, and prefers the stored one.
func TransactionRef(paymentID string) string { return paymentID }

// MerchantRef is the merchantref sent for a payment: the merchant's own
// reference when it has one, else the payment id (§3.2 [INF]: free text,
// optional, length unknown).
func MerchantRef(reference, paymentID string) string {
	if reference != "" {
		return reference
	}
	return paymentID
}

// CancelForceRenderings are the texts tried, in order, for <force> in
// CancelTransaction: the next is tried only when Sepay answers 02 (signature
// failed), because the rendering in the canonical string is unknown (§4.3).
var CancelForceRenderings = [2][2]string{{"false", "true"}, {"False", "True"}}

// StatusUnknownRef is the status code assumed for GetTransactionStatus of a
// transactionref Sepay does not know (§5.1: undocumented; the simulator
// answers 04).
const StatusUnknownRef = StatusInvalid

// ResendWindow is how long after a payment was created the connector may
// send StartTransaction again with the same transactionref, when Sepay says
// it does not know the reference (the first request was lost before it
// arrived). Sepay answers 06 if it did arrive, so this never starts a second
// payment; after the window the payment is failed, so that a terminal never
// wakes up with a stale sale.
const ResendWindow = 2 * time.Minute

// LongPollUnit is the unit of GetTransactionStatus <timeout> (§6.1 [INF]:
// "probably seconds").
const LongPollUnit = time.Second

// CanonicalCandidates returns the canonical strings a response may have been
// signed over, most likely first (§4.4):
//   - the raw text of every element (the Go client rule of the notes);
//   - amount normalised to two decimals (cardboard's "%.2f");
//   - a zero or absent terminalport rendered as "" (cardboard) or "0".
func CanonicalCandidates(s Schema, v Values) []string {
	var out []string
	add := func(c string) {
		for _, o := range out {
			if o == c {
				return
			}
		}
		out = append(out, c)
	}
	amounts := []string{v["amount"]}
	if a, ok := v["amount"]; ok {
		amounts = append(amounts, normalizeAmount(a))
	}
	ports := []string{v["terminalport"]}
	if p := strings.TrimSpace(v["terminalport"]); p == "" || p == "0" {
		ports = append(ports, "", "0")
	}
	for _, a := range amounts {
		for _, p := range ports {
			w := Values{}
			for k, x := range v {
				w[k] = x
			}
			if _, ok := v["amount"]; ok {
				w["amount"] = a
			}
			if hasField(s, "terminalport") {
				w["terminalport"] = p
			}
			add(s.Canonical(w))
		}
	}
	return out
}

func hasField(s Schema, name string) bool {
	for _, f := range s.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// CallbackPath is appended to Op.CallbackURL to form <callbackurl>.
const CallbackPath = "/notify"

// CallbackContentType is what the simulator posts a callback with: the bare
// GetTransactionStatusResult element, signed like a status answer (§6.3
// [PROP]; the real body format is unknown). The connector accepts that or a
// SOAP envelope holding it, only when its signature verifies with Sepay's
// key; a final result so verified is believed as a status answer would be,
// any other is confirmed with GetTransactionStatus.
const CallbackContentType = "text/xml; charset=utf-8"

// TerminalCanceledResults are transactionresult codes of a 13 (failed)
// answer that mean the transaction was canceled on the terminal rather than
// declined (§5.2: whether a cancel at the terminal is 13+code or 14 is
// unknown; both are mapped to canceled).
var TerminalCanceledResults = map[string]bool{"2621": true, "2629": true}

// TransactionTimeLayouts are tried in order to parse <transactiontime>
// (§3.3: format unknown, "ISO-like"; no offset means Europe/Amsterdam).
var TransactionTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "02-01-2006 15:04:05"}

// TicketWidth is the width in characters plain receipt lines are aligned to
// (@AM centre, @AR right; §7). 40 suits 80 mm printers in their small font.
const TicketWidth = 40

// TicketSevenSpacesBreak: cardboard treats a run of seven spaces as a line
// break (§7, "probably a quirk"); the renderer does not.
const TicketSevenSpacesBreak = false

// MaxRefLength bounds transactionref, merchantref, login and SID text this
// package sends (§13: maximum lengths unknown).
const MaxRefLength = 64
