package tender

import "context"

// ShopperPage is what Tender adds to a connector's hosted checkout, in
// the shopper's language: why the shopper's last attempt failed (their
// words, never a provider's field name) and the form with which they give
// up the payment.
type ShopperPage struct {
	Notice      string // "" when no attempt failed
	CancelURL   string // POST here to give up; "" when not offered
	CancelLabel string
}

type shopperPageKey struct{}

// WithShopperPage returns a context in which a checkout page shows sp.
func WithShopperPage(ctx context.Context, sp ShopperPage) context.Context {
	return context.WithValue(ctx, shopperPageKey{}, sp)
}

// ShopperPageFrom returns the ShopperPage set by WithShopperPage.
func ShopperPageFrom(ctx context.Context) ShopperPage {
	sp, _ := ctx.Value(shopperPageKey{}).(ShopperPage)
	return sp
}
