package sepay

import "github.com/tenderpay/tender"

// TerminalSaid reads what Sepay's answer about p said about its terminal.
// WECR has no terminal-status call (notes §1): the only words about a
// terminal are a start's refusal, 11 (a request is pending on it, one
// Tender did not send) and 07 (not active, or not enabled for WECR).
func (c *Connector) TerminalSaid(p *tender.Payment) (state, reason string) {
	if p.Failure == nil || p.Status != tender.StatusFailed {
		return "", ""
	}
	switch p.Failure.ProviderCode {
	case StatusPending:
		return tender.TerminalInUse, "Sepay reported a pending request on the terminal (11)"
	case StatusNotEnabled:
		return tender.TerminalOffline, "Sepay reported the terminal not active or not enabled for WECR (07)"
	}
	return "", ""
}
