package tender

import "time"

// MoneyFilter selects the events a report counts (Store.ListMoneyEvents).
type MoneyFilter struct {
	Merchant  string
	Types     []string  // event types, e.g. "payment.refund_succeeded"
	From, To  time.Time // written at or after From and before To
	Terminals []string  // the payments' terminals; none for all
	Connector string    // "" for all
}

// MoneyEvent is an event of a payment with what a report groups it by.
type MoneyEvent struct {
	Event
	Terminal  string
	Connector string
	Currency  string
	// Captured is the payment's CapturedAmount as it is now: the amount of
	// a sale whose event was written before events carried their amount.
	Captured int64
}
