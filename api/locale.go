package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"golang.org/x/text/language"
)

// The languages of the shopper pages. A small table of Tender's own, not
// CLDR: five locales, a handful of sentences, and the amount and date
// formats their shoppers expect.
var pageLanguages = []language.Tag{language.English, language.Dutch, language.German, language.French, language.Greek}

var pageMatcher = language.NewMatcher(pageLanguages)

// words are the shopper pages' texts in one language.
type words struct {
	Lang, Title, Success, Failed, FailedBecause, WaitingYou, WaitingProvider,
	Continue, Back, Expired, PaymentID, Redirecting string
	Months        [12]string
	DateFormat    string // with "D", "M", "Y"
	Decimal, Thou string
	SymbolFirst   bool // "€10.50" (en), "€ 10,50" (nl) against "10,50 €"
	SymbolSpace   bool
}

var pageWords = map[string]words{
	"en": {Lang: "en", Title: "Payment", Success: "Payment successful.", Failed: "The payment did not go through.",
		FailedBecause: "The payment did not go through:", WaitingYou: "Waiting for you to complete the payment.",
		WaitingProvider: "Waiting for confirmation from the payment provider…", Continue: "Continue to payment",
		Back: "Back to the shop", Expired: "This payment has expired. Go back to the shop to start a new one.",
		PaymentID: "Payment", Redirecting: "Taking you back to the shop…",
		Months:     [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		DateFormat: "D M Y", Decimal: ".", Thou: ",", SymbolFirst: true},
	"nl": {Lang: "nl", Title: "Betaling", Success: "Betaling geslaagd.", Failed: "De betaling is niet gelukt.",
		FailedBecause: "De betaling is niet gelukt:", WaitingYou: "We wachten tot u de betaling afrondt.",
		WaitingProvider: "We wachten op bevestiging van de betaalprovider…", Continue: "Verder naar betalen",
		Back: "Terug naar de winkel", Expired: "Deze betaling is verlopen. Ga terug naar de winkel om opnieuw te beginnen.",
		PaymentID: "Betaling", Redirecting: "U gaat terug naar de winkel…",
		Months:     [12]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
		DateFormat: "D M Y", Decimal: ",", Thou: ".", SymbolFirst: true, SymbolSpace: true},
	"de": {Lang: "de", Title: "Zahlung", Success: "Zahlung erfolgreich.", Failed: "Die Zahlung ist nicht durchgegangen.",
		FailedBecause: "Die Zahlung ist nicht durchgegangen:", WaitingYou: "Wir warten, bis Sie die Zahlung abschließen.",
		WaitingProvider: "Wir warten auf die Bestätigung des Zahlungsanbieters…", Continue: "Weiter zur Zahlung",
		Back: "Zurück zum Shop", Expired: "Diese Zahlung ist abgelaufen. Gehen Sie zurück zum Shop, um neu zu beginnen.",
		PaymentID: "Zahlung", Redirecting: "Sie werden zum Shop zurückgeleitet…",
		Months:     [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		DateFormat: "D. M Y", Decimal: ",", Thou: ".", SymbolSpace: true},
	"fr": {Lang: "fr", Title: "Paiement", Success: "Paiement réussi.", Failed: "Le paiement n’a pas abouti.",
		FailedBecause: "Le paiement n’a pas abouti :", WaitingYou: "Nous attendons que vous finalisiez le paiement.",
		WaitingProvider: "Nous attendons la confirmation du prestataire de paiement…", Continue: "Continuer vers le paiement",
		Back: "Retour à la boutique", Expired: "Ce paiement a expiré. Retournez à la boutique pour recommencer.",
		PaymentID: "Paiement", Redirecting: "Retour à la boutique…",
		Months:     [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		DateFormat: "D M Y", Decimal: ",", Thou: "\u202f", SymbolSpace: true},
	"el": {Lang: "el", Title: "Πληρωμή", Success: "Η πληρωμή ολοκληρώθηκε.", Failed: "Η πληρωμή δεν ολοκληρώθηκε.",
		FailedBecause: "Η πληρωμή δεν ολοκληρώθηκε:", WaitingYou: "Περιμένουμε να ολοκληρώσετε την πληρωμή.",
		WaitingProvider: "Περιμένουμε επιβεβαίωση από τον πάροχο πληρωμών…", Continue: "Συνέχεια στην πληρωμή",
		Back: "Επιστροφή στο κατάστημα", Expired: "Η πληρωμή έχει λήξει. Επιστρέψτε στο κατάστημα για να ξεκινήσετε ξανά.",
		PaymentID: "Πληρωμή", Redirecting: "Επιστρέφετε στο κατάστημα…",
		Months:     [12]string{"Ιανουαρίου", "Φεβρουαρίου", "Μαρτίου", "Απριλίου", "Μαΐου", "Ιουνίου", "Ιουλίου", "Αυγούστου", "Σεπτεμβρίου", "Οκτωβρίου", "Νοεμβρίου", "Δεκεμβρίου"},
		DateFormat: "D M Y", Decimal: ",", Thou: ".", SymbolSpace: true},
}

// pageLanguage picks the page's language: the first of the payment's
// locale, the merchant's default locale and the browser's Accept-Language
// that Tender has, else English.
func pageLanguage(r *http.Request, locales ...string) words {
	for _, l := range locales {
		if l == "" {
			continue
		}
		if t, err := language.Parse(l); err == nil {
			if w, ok := pageWords[baseOf(t)]; ok {
				return w
			}
		}
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		tags, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(tags) > 0 {
			_, i, conf := pageMatcher.Match(tags...)
			if conf != language.No {
				return pageWords[baseOf(pageLanguages[i])]
			}
		}
	}
	return pageWords["en"]
}

func baseOf(t language.Tag) string {
	b, _ := t.Base()
	return b.String()
}

var currencySymbols = map[string]string{"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥", "CHF": "CHF", "SEK": "kr", "DKK": "kr", "NOK": "kr", "PLN": "zł"}

// money formats minor units of currency as a shopper of w's language
// reads it: "€10.50" (en), "€ 10,50" (nl), "10,50 €" (de, fr, el).
func (w words) money(v int64, currency string) string {
	s := tender.FormatMinor(v, currency)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(w.Thou)
		}
		b.WriteRune(d)
	}
	num := b.String()
	if hasFrac {
		num += w.Decimal + frac
	}
	if neg {
		num = "-" + num
	}
	sym, ok := currencySymbols[currency]
	if !ok {
		sym = currency
	}
	sep := ""
	if w.SymbolSpace || len([]rune(sym)) > 1 {
		sep = "\u00a0"
	}
	if w.SymbolFirst {
		return sym + sep + num
	}
	return num + sep + sym
}

// date formats t's day as w's language writes it: "1 December 2026",
// "1. Dezember 2026", "1 Δεκεμβρίου 2026".
func (w words) date(t time.Time) string {
	r := strings.NewReplacer("D", strconv.Itoa(t.Day()), "M", w.Months[t.Month()-1], "Y", strconv.Itoa(t.Year()))
	return r.Replace(w.DateFormat)
}
