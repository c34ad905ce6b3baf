package epay

import (
	"strconv"

	"github.com/tenderpay/tender"
)

// TerminalSaid reads what ePay's answer about p said about its terminal:
// an intent that completed with Result 6 BUSY (the device is busy with
// another transaction or in maintenance, notes §7.5). WebECR has no
// "offline": a device that is not connected leaves the intent pending
// until it expires (FAILED), which says nothing certain about the device,
// and GET /terminal/ reports only Locked, which Tender does not read.
func (c *Connector) TerminalSaid(p *tender.Payment) (state, reason string) {
	if p.Status == tender.StatusFailed && p.Failure != nil && p.Failure.ProviderCode == strconv.Itoa(ResultBusy) {
		return tender.TerminalInUse, "ePay reported the terminal busy or in maintenance (BUSY)"
	}
	return "", ""
}
