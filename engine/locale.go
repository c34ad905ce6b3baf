package engine

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
)

// paymentLocale checks the create request's locale. A locale given as
// metadata.locale (the way before the field) is taken when the field is
// not given and it is one of Tender's; an unknown one there stays
// metadata only.
func paymentLocale(r PaymentRequest) (string, error) {
	if r.Locale != "" {
		return tender.ParseLocale("locale", r.Locale)
	}
	if l, err := tender.ParseLocale("metadata.locale", r.Metadata["locale"]); err == nil {
		return l, nil
	}
	return "", nil
}

// opLocale is the language of a provider's own texts for p (Op.Locale):
// its locale, else its merchant's default. Terminal payments show no
// text of the provider's to a shopper and skip the lookup.
func (e *Engine) opLocale(ctx context.Context, p *tender.Payment) string {
	if p.Locale != "" || p.Terminal != "" {
		return p.Locale
	}
	id := tender.MerchantOr(p.Merchant)
	var gen uint64
	if e.memo != nil {
		var l string
		var ok bool
		if l, ok, gen = e.memo.locale(id); ok {
			return l
		}
	}
	read := time.Now()
	m, err := e.store.GetMerchant(ctx, id)
	if err != nil {
		return "" // the provider's default language; nothing else depends on it
	}
	l, err := tender.ParseLocale("default_locale", m.DefaultLocale)
	if err != nil {
		l = ""
	}
	if e.memo != nil {
		e.memo.keepLocale(id, l, gen, read)
	}
	return l
}
