package trustpayments

import (
	"slices"
	"time"
)

// This file holds every choice the protocol notes
// (shared/protocols/trustpayments.md) mark as inferred [I] or uncertain, so
// they are easy to find and correct.

// DefaultMaxAge is how long a JWT is valid after its iat: 1 hour per the
// seed ("Het JWT is 1 uur geldig") and the help centre; the legacy JS v2
// docs said 15 minutes (notes §3.2, §15.1). Accounts may shorten it with
// settings.jwt_max_age.
const DefaultMaxAge = time.Hour

// DefaultSkew is the allowance for clock differences when checking iat.
// The gateway's tolerance for a future iat is undocumented (notes §15.1);
// 5 minutes follows the notes' suggestion in §5.4.
const DefaultSkew = 5 * time.Minute

// DefaultWebservicesURL is the Webservices JSON endpoint (notes §6.1).
const DefaultWebservicesURL = "https://webservices.securetrading.net/json/"

// DefaultLibraryURL is Trust Payments' own JavaScript library (st.js v3)
// that the hosted checkout page loads in live mode (notes §2).
const DefaultLibraryURL = "https://webservices.securetrading.net/js/v3/st.js"

// LibraryHosts are the hosts Trust Payments documents for st.js: the
// Webservices domains (notes §2, §6.1: webservices.securetrading.net, its
// EU backup webservices2 and the US platform) and the CDN the help centre's
// "Migrating st.js from version 2 to version 3" names
// (https://cdn.eu.trustpayments.com/js/latest/st.js). A full domain list
// exists in the docs that the notes did not see (§15.11); another host needs
// the account's explicit override.
var LibraryHosts = []string{
	"webservices.securetrading.net", "webservices2.securetrading.net", "webservices.securetrading.us",
	"cdn.eu.trustpayments.com",
}

// DefaultTermURL is the termurl the seed says to send for 3-D Secure
// ("U moet de volgende URL in dit veld invoeren"), notes §3.3.
const DefaultTermURL = "https://payments.securetrading.net/process/payments/mobilesdklistener"

// WSVersion is the Webservices envelope version. Only "1.00" is known to be
// accepted (notes §6.2, §15.9).
const WSVersion = "1.00"

// baseAmountAsNumber: the seed's complete example JWT carries baseamount as
// a JSON number (1050) while its payload example encodes a string; the
// gateway accepts both (notes §1.1, §13.3). We send a number, like the
// verified example token; mainamount is sent as a string ("10.50") so no
// JSON reader can turn it into a float.
const baseAmountAsNumber = true

// responseAudienceRequired: response JWTs carry aud = the JWT user name
// from about 2020 on; 2019 fixtures, the legacy v2 doc example and the
// gateway's ERROR responses (50000, 99999) have none (notes §4.2). The
// notes (§5.4) say to check aud only when present, so it is not required;
// a present aud must still be this account's JWT user.
const responseAudienceRequired = false

// ResponseAlgorithms is the one place that says which algorithms a
// response JWT (and the nested request JWT in it) may be signed with: the
// account's configured ones (response_jwt_algorithm, jwt_algorithm) and
// HS256, which the notes say responses use ("hashed with SHA-256", §5.2;
// every observed response is HS256, and whether the gateway mirrors
// HS384/HS512 is unknown, §15.2). Nothing else: never "none", never an
// asymmetric algorithm (Verify accepts only HS256/384/512 in any case).
func (cfg Config) ResponseAlgorithms() []string {
	algs := []string{HS256}
	for _, a := range []string{cfg.ResponseAlgorithm, cfg.Algorithm} {
		if ValidAlgorithm(a) && !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	return algs
}

// countyRequiresCountry: the seed documents that billingcounty needs
// billingcountryiso2a; the notes (§3.3) apply the same to customercounty.
var countyRequiresCountry = map[string]string{
	"billingcounty":  "billingcountryiso2a",
	"customercounty": "customercountryiso2a",
}

// unknownOutcomeCodes are errorcodes after which the outcome of an AUTH is
// in doubt: reconcile with TRANSACTIONQUERY, never retry (seed table: 60010,
// 60034, 99999; 50000 "Time-out"; notes §13.6 adds 50005 and the library's
// own 50003 "Invalid response"). 70001 is "Uncertain result" in the SDKs'
// errormessages.json (a fixture calls it "Merchant decline", notes §15.7):
// the official list wins, so it is in doubt, not a decline.
var unknownOutcomeCodes = map[string]bool{
	"50000": true, "50003": true, "50005": true,
	"60010": true, "60034": true, "70001": true, "99999": true,
}

// declineCodes are errorcodes where the bank refused: 70000 Decline,
// 71000 Soft Decline, 72000 Refer to issuer.
var declineCodes = map[string]bool{"70000": true, "71000": true, "72000": true}

// checkoutGrace is how long after the request JWT's validity ends a payment
// with no AUTH on record is still given before Status calls it expired: the
// library may still be finishing a 3-D Secure step started just before the
// token ran out (the nested JWT refreshes iat per step, notes §4.3).
const checkoutGrace = 15 * time.Minute

// CheckoutFollowUp is how long after a shopper's answer settles a checkout
// payment Tender asks Trust Payments about it once more (TRANSACTIONQUERY by
// the payment's id, tender.Update.FollowUp), whatever its status by then:
// an earlier attempt on the same request JWT may have been approved with
// its answer lost on the way to Tender (the browser's post never arrived,
// and the shopper, back on the still-open checkout, paid again). Status
// keeps the AUTH the payment names and voids the other. Long enough for
// such an AUTH to be on record: the library gives up on a request after
// 10 s and its retries, a Webservices client's read time-out is 60 s
// (notes §6.1, §12), so an attempt the shopper left for a second one has
// ended by then; how soon an AUTH shows in TRANSACTIONQUERY is not
// documented, and minutes are our allowance. Short enough that the
// other AUTH is usually still pending settlement (settlestatus 0) and is
// cancelled rather than refunded (notes §8). Status, asked while the
// checkout can still be used (checkoutEnd), asks for one more follow-up
// once it cannot.
const CheckoutFollowUp = 10 * time.Minute

// refundReference derives a REFUND's orderreference from the operation id
// so a retried refund can be found by TRANSACTIONQUERY and never sent twice.
// orderreference is Alphanumeric(25) (seed field table).
const refundReferencePrefix = "rf"

// Credentials on file (seed field table: credentialsonfile is Numeric(1),
// "0", "1" or "2"; notes §3.3): 1 stores the card at a checkout the
// shopper authenticates, 2 charges the stored card. The seed's excerpt
// lost the list's meanings; these follow the notes.
const (
	credentialsStore = "1"
	credentialsUse   = "2"
)

// initiationReasonUnscheduled is the initiationreason of a merchant-
// initiated charge of a saved card. The seed allows "A", "C", "D", "S" and
// "X" and refers to Visa's documentation for their meaning, which the
// notes did not see; Visa's merchant-initiated reasons are, by our
// reading, A reauthorisation, C unscheduled credential on file, D delayed
// charge, S resubmission, X no-show. An off-session charge the merchant
// starts is an unscheduled credential-on-file charge: "C".
const initiationReasonUnscheduled = "C"

// instalmentAccountType: the charges the gateway's subscription module
// makes carry accounttypedescription RECUR (notes §6.5: "response shows
// RECUR"), the SUBSCRIPTION as their parenttransactionreference, their
// subscriptionnumber, and, inherited from the parent ("De belangrijkste
// details zijn overgenomen", seed on parenttransactionreference), the
// first payment's orderreference. That they name the SUBSCRIPTION (not the
// previous charge) as parent is our inference; a TRANSACTIONQUERY on the
// orderreference finds them either way.
const instalmentAccountType = "RECUR"

// mitRecordWindow: a merchant-initiated AUTH is answered synchronously by
// the Webservices API, so a charge in doubt that the gateway has no record
// of this long after it was sent never reached it, and fails (nothing was
// taken). Comfortably longer than any Webservices timeout.
const mitRecordWindow = 10 * time.Minute

// subscriptionRecordWindow is how long after the first payment Tender
// keeps looking for a SUBSCRIPTION the gateway has no record of before it
// stops following the subscription.
const subscriptionRecordWindow = 24 * time.Hour

// Verify-only payments: an ACCOUNTCHECK of baseamount 0 ("like AUTH with
// baseamount 0", notes §6.5) answered with errorcode 0 ends the payment
// captured for 0: nothing moved, the card is verified and saved. The
// gateway's settlestatus on an ACCOUNTCHECK is not documented; Tender reads
// it like an AUTH's (0 verified; the simulator answers 0).

// Pausing a subscription: a TRANSACTIONUPDATE of the SUBSCRIPTION (the
// notes, §6.4: "Only AUTH, REFUND or SUBSCRIPTION", updates "subscription
// fields") with transactionactive. The seed's field table gives its values
// as 0, 1 or 2 (2, the default, pending until the AUTH settles) without
// naming 0 and 1; that 0 suspends the schedule (the gateway makes no
// charges while it holds) and 1 makes it active again is our inference.
// That the update of an already suspended schedule to 0 is accepted is not
// documented either, so SetSubscriptionPaused reads transactionactive first
// and leaves a schedule in the asked state alone; a schedule still at 2 is
// running as far as a resume is concerned. The filter names the
// SUBSCRIPTION's own transactionreference (its orderreference is the first
// payment's, shared with the AUTH, so it would match both).
const (
	subscriptionSuspended = "0"
	subscriptionActive    = "1"
)
