package trustpayments

// CheckoutGrace lets the external tests state when a checkout expires.
const CheckoutGrace = checkoutGrace
