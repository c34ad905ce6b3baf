// Package dashboard serves the merchant dashboard at /dashboard: signing
// in, payments (live list, detail, capture, refund, cancel), what needs
// attention, terminals, webhooks and reports. Pages are rendered on the
// server with html/template and work without JavaScript; a small script
// of Tender's own (static/live.js) keeps the payment list live.
package dashboard

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the dashboard.
type Options struct {
	// Users keeps dashboard users and sessions.
	Users tender.UserStore
	// Secure marks cookies Secure; set it when the public URL is https.
	Secure bool
	Logger *slog.Logger
	Clock  tender.Clock // default: the system clock
	// SessionTTL is how long a sign-in lasts (default 12 h).
	SessionTTL time.Duration
	// MaxFailures sign-in failures in a row lock a user for Lockout
	// (defaults 5 and 15 min).
	MaxFailures int
	Lockout     time.Duration
	// PollEvery is how often the live payment list asks for changes
	// (default 2 s).
	PollEvery time.Duration
}

// Server is the dashboard's handler; mount it at /dashboard/.
type Server struct {
	eng   *engine.Engine
	users tender.UserStore
	o     Options
	log   *slog.Logger
	clock tender.Clock
	tmpl  *template.Template
	mux   *http.ServeMux
}

// New returns the dashboard.
func New(eng *engine.Engine, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = tender.SystemClock{}
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.Lockout <= 0 {
		o.Lockout = 15 * time.Minute
	}
	if o.PollEvery <= 0 {
		o.PollEvery = 2 * time.Second
	}
	s := &Server{eng: eng, users: o.Users, o: o, log: o.Logger, clock: o.Clock, mux: http.NewServeMux()}
	s.tmpl = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
	s.routes()
	return s
}

// routes is the dashboard's whole surface.
func (s *Server) routes() {
	static, _ := fs.Sub(staticFS, "static")
	s.mux.Handle("GET /dashboard/static/", http.StripPrefix("/dashboard/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /dashboard/signin", s.signInPage)
	s.mux.HandleFunc("POST /dashboard/signin", s.signIn)

	in := s.signedIn
	s.mux.Handle("GET /dashboard/{$}", in(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard/payments", http.StatusSeeOther)
	}))
	s.mux.Handle("POST /dashboard/signout", in(s.signOut))
	s.mux.Handle("POST /dashboard/merchant", in(s.switchMerchant))
	s.mux.Handle("GET /dashboard/payments", in(s.payments))
	s.mux.Handle("GET /dashboard/payments/rows", in(s.paymentRows))
	s.mux.Handle("GET /dashboard/payments/{id}", in(s.payment))
	s.mux.Handle("POST /dashboard/payments/{id}/{action}", in(s.paymentAction))
	s.mux.Handle("GET /dashboard/attention", in(s.attention))
	s.mux.Handle("GET /dashboard/terminals", in(s.terminals))
	for _, kind := range []string{"terminal", "account"} {
		s.mux.Handle("GET /dashboard/"+kind+"s/{id}/edit", in(withKind(kind, s.editPage)))
		s.mux.Handle("POST /dashboard/"+kind+"s/{id}", in(withKind(kind, s.edit)))
	}
	s.mux.Handle("GET /dashboard/webhooks", in(s.webhooks))
	s.mux.Handle("POST /dashboard/webhooks/{endpoint}/deliveries/{id}/redeliver", in(s.redeliver))
	s.mux.Handle("GET /dashboard/reports", in(s.reports))
	s.mux.HandleFunc("/dashboard/", http.NotFound)
}

// ServeHTTP serves every dashboard page with headers that keep it to
// itself: a Content-Security-Policy allowing only Tender's own scripts and
// styles (no inline script), no framing, no caching of what a user sees.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// page is what every page template gets.
type page struct {
	Title     string
	Nav       string
	User      *tender.User
	CSRF      string
	Merchant  string
	Merchants []*tender.Merchant // for a platform user's switcher
	Error     string
	Data      any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if a := authOf(r.Context()); a != nil {
		p.User, p.CSRF, p.Merchant = a.user, a.sess.CSRF, a.sess.Merchant
		if a.user.Merchant == "" {
			p.Merchants, _, _ = s.eng.ListMerchants(r.Context(), tender.MerchantFilter{Limit: 100})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := s.tmpl.ExecuteTemplate(w, name, p); err != nil {
		s.log.Error("dashboard: render", "page", name, "err", err)
	}
}

// fail shows err's caller-safe message; the cause is only logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch tender.ErrorCodeOf(err) {
	case tender.ENotFound:
		status = http.StatusNotFound
	case tender.EInvalid:
		status = http.StatusBadRequest
	case tender.EConflict:
		status = http.StatusConflict
	default:
		s.log.Error("dashboard", "path", r.URL.Path, "err", err)
	}
	s.render(w, r, status, "error.html", page{Title: "Error", Error: tender.ErrorMessageOf(err)})
}

type authKey struct{}

type auth struct {
	user *tender.User
	sess *tender.Session
}

func authOf(ctx context.Context) *auth {
	a, _ := ctx.Value(authKey{}).(*auth)
	return a
}
