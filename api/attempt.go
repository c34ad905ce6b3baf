package api

import (
	"net/http"
	"net/url"

	"github.com/tenderpay/tender"
)

// attemptText is what a shopper reads after an attempt failed, by the
// failure's code: their words, never a provider's field name.
type attemptText struct{ Declined, Auth, Rejected, Other, GiveUp, CancelFailed string }

var attemptWords = map[string]attemptText{
	"en": {"Your card was declined. You can try again with another card.",
		"Your bank could not confirm the payment. You can try again or use another card.",
		"The card details were not accepted. Please check them and try again.",
		"The payment did not go through. You can try again.", "Cancel payment",
		"The payment could not be cancelled just now. Please try again in a moment."},
	"nl": {"Uw kaart is geweigerd. U kunt het opnieuw proberen met een andere kaart.",
		"Uw bank kon de betaling niet bevestigen. Probeer het opnieuw of gebruik een andere kaart.",
		"De kaartgegevens zijn niet geaccepteerd. Controleer ze en probeer het opnieuw.",
		"De betaling is niet gelukt. U kunt het opnieuw proberen.", "Betaling annuleren",
		"De betaling kon nu niet worden geannuleerd. Probeer het zo opnieuw."},
	"de": {"Ihre Karte wurde abgelehnt. Sie können es mit einer anderen Karte erneut versuchen.",
		"Ihre Bank konnte die Zahlung nicht bestätigen. Versuchen Sie es erneut oder nutzen Sie eine andere Karte.",
		"Die Kartendaten wurden nicht akzeptiert. Bitte prüfen Sie sie und versuchen Sie es erneut.",
		"Die Zahlung ist nicht durchgegangen. Sie können es erneut versuchen.", "Zahlung abbrechen",
		"Die Zahlung konnte gerade nicht abgebrochen werden. Bitte versuchen Sie es gleich noch einmal."},
	"fr": {"Votre carte a été refusée. Vous pouvez réessayer avec une autre carte.",
		"Votre banque n’a pas pu confirmer le paiement. Réessayez ou utilisez une autre carte.",
		"Les données de la carte n’ont pas été acceptées. Vérifiez-les et réessayez.",
		"Le paiement n’a pas abouti. Vous pouvez réessayer.", "Annuler le paiement",
		"Le paiement n’a pas pu être annulé pour le moment. Réessayez dans un instant."},
	"el": {"Η κάρτα σας απορρίφθηκε. Μπορείτε να δοκιμάσετε ξανά με άλλη κάρτα.",
		"Η τράπεζά σας δεν μπόρεσε να επιβεβαιώσει την πληρωμή. Δοκιμάστε ξανά ή χρησιμοποιήστε άλλη κάρτα.",
		"Τα στοιχεία της κάρτας δεν έγιναν δεκτά. Ελέγξτε τα και δοκιμάστε ξανά.",
		"Η πληρωμή δεν ολοκληρώθηκε. Μπορείτε να δοκιμάσετε ξανά.", "Ακύρωση πληρωμής",
		"Δεν ήταν δυνατή η ακύρωση της πληρωμής αυτή τη στιγμή. Δοκιμάστε ξανά σε λίγο."},
}

// failureText is the shopper's words for failure f in language lang.
func failureText(lang string, f *tender.Failure) string {
	w, ok := attemptWords[lang]
	if !ok {
		w = attemptWords["en"]
	}
	switch f.Code {
	case tender.FailDeclined:
		return w.Declined
	case tender.FailAuthentication:
		return w.Auth
	case tender.FailInvalid:
		return w.Rejected
	}
	return w.Other
}

// shopperPage is what the checkout of a payment that waits for its
// shopper shows besides the provider's form.
// cancelFailed is true when the shopper's cancel could not be done (the
// provider could not be asked whether anything was taken) and they are
// shown the checkout again.
func (s *Server) shopperPage(p *tender.Payment, lang string, cancelFailed bool) tender.ShopperPage {
	w, ok := attemptWords[lang]
	if !ok {
		w = attemptWords["en"]
	}
	sp := tender.ShopperPage{CancelURL: "/pay/" + url.PathEscape(p.ID) + "/cancel", CancelLabel: w.GiveUp}
	if p.Failure != nil {
		sp.Notice = failureText(lang, p.Failure)
	}
	if cancelFailed {
		sp.Notice = w.CancelFailed
	}
	return sp
}

// cancelByShopper is the checkout's "cancel": the shopper gives up a
// payment that waits for them. Only a form of Tender's own page may post
// it (the browser's Origin or Sec-Fetch-Site says so), so that another
// site cannot end a shopper's payment.
func (s *Server) cancelByShopper(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		http.Error(w, "Cancel from the payment page.", http.StatusForbidden)
		return
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			http.Error(w, "Cancel from the payment page.", http.StatusForbidden)
			return
		}
	}
	if _, err := s.eng.CancelByShopper(r.Context(), id); err != nil && tender.ErrorCodeOf(err) == tender.ENotFound {
		http.Error(w, "No such payment.", http.StatusNotFound)
		return
	} else if err != nil {
		// Nothing was done: the page says so, and the shopper may press
		// cancel again (the payment expires at the provider otherwise).
		s.log.Warn("shopper cancel", "payment", id, "err", err)
		http.Redirect(w, r, "/pay/"+url.PathEscape(id)+"?cancel=failed", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/pay/"+url.PathEscape(id), http.StatusSeeOther)
}
