package tender

// Terminal states, as GET /v1/terminals/{id} shows them.
const (
	TerminalIdle    = "idle"    // no open payment of Tender's, and the provider said nothing against it
	TerminalInUse   = "busy"    // working on a payment (Tender's, or one the provider reported)
	TerminalOffline = "offline" // the provider said the terminal cannot take payments
	TerminalUnknown = "unknown" // a payment on it is in doubt: Tender cannot tell what the terminal is doing
)

// TerminalReader is implemented by connectors whose provider's answers
// say something about a terminal itself, beyond the payment asked about:
// busy with a transaction Tender did not start, not enabled, offline.
type TerminalReader interface {
	// TerminalSaid reads what the provider's last answer about p (the
	// newest payment on its terminal, settled) said about the terminal:
	// TerminalInUse or TerminalOffline with words for a person, or "" when
	// it said nothing about the terminal.
	TerminalSaid(p *Payment) (state, reason string)
}
