package sepay_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/sepay"
)

// rewriteAnswers passes requests on to the simulator and hands every
// answer to the function the test set (none: unchanged).
type rewriteAnswers struct {
	mu sync.Mutex
	f  func(body string) string
}

func (rw *rewriteAnswers) set(f func(string) string) { rw.mu.Lock(); rw.f = f; rw.mu.Unlock() }

func (rw *rewriteAnswers) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw.mu.Lock()
		f := rw.f
		rw.mu.Unlock()
		if f == nil {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		w.WriteHeader(rec.Code)
		io.WriteString(w, f(rec.Body.String()))
	})
}

var signatureElement = regexp.MustCompile(`<signature>[^<]*</signature>`)

// TestAnswerWithoutSignatureRefused: an answer whose signature is empty
// (or missing) is not believed, whatever it says.
func TestAnswerWithoutSignatureRefused(t *testing.T) {
	for name, strip := range map[string]func(string) string{
		"empty":   func(b string) string { return signatureElement.ReplaceAllString(b, "<signature></signature>") },
		"missing": func(b string) string { return signatureElement.ReplaceAllString(b, "") },
		"blank":   func(b string) string { return signatureElement.ReplaceAllString(b, "<signature>  </signature>") },
	} {
		t.Run(name, func(t *testing.T) {
			var rw rewriteAnswers
			e := newEnv(t, rw.wrap)
			p := e.payment(900, sid1)
			e.start(p, sid1)
			e.finish(sid1)
			rw.set(func(b string) string {
				if !signatureElement.MatchString(b) {
					t.Errorf("the answer has no signature to strip: %s", b)
				}
				return strip(b)
			})
			_, err := e.status(p, sid1)
			if !errors.Is(err, sepay.ErrSignature) || tender.ErrorCodeOf(err) != tender.EUnavailable {
				t.Fatalf("answer with the signature %s: %v, want a signature error (unavailable)", name, err)
			}
			if p.Status != tender.StatusProcessing {
				t.Fatalf("an unsigned answer was believed: %s", p.Status)
			}
			rw.set(nil)
			e.status(p, sid1)
			if p.Status != tender.StatusCaptured {
				t.Fatalf("asked again with the signature intact: %s", p.Status)
			}
		})
	}
}

// TestAnswerAboutAnotherTransactionRefused: a genuine, signed Sepay answer
// about another transactionref (a mixed-up or replayed answer) says nothing
// of this payment: the approval of payment A is not believed for B.
func TestAnswerAboutAnotherTransactionRefused(t *testing.T) {
	var rw rewriteAnswers
	e := newEnv(t, rw.wrap)
	a := e.payment(900, sid1)
	e.start(a, sid1)
	e.finish(sid1)
	var answerOfA string
	rw.set(func(b string) string {
		if strings.Contains(b, "GetTransactionStatusResult") {
			answerOfA = b
		}
		return b
	})
	if _, err := e.status(a, sid1); err != nil || a.Status != tender.StatusCaptured {
		t.Fatalf("status of A: %v %s", err, a.Status)
	}
	if !strings.Contains(answerOfA, sepay.TransactionRef(a.ID)) {
		t.Fatalf("the recorded answer is not about A: %s", answerOfA)
	}

	b := e.payment(900, sid1)
	e.start(b, sid1)
	rw.set(func(b string) string {
		if strings.Contains(b, "GetTransactionStatusResult") {
			return answerOfA
		}
		return b
	})
	u, err := e.status(b, sid1)
	if err == nil || u.Status != "" || b.Status != tender.StatusProcessing {
		t.Fatalf("A's signed approval as the answer about B: %+v, %v; payment %s; want refused, still processing", u, err, b.Status)
	}
	if c := tender.ErrorCodeOf(err); c != tender.EUnavailable && c != tender.EInternal {
		t.Fatalf("refused with %v: an answer about another transaction must leave the outcome in doubt", err)
	}
	rw.set(nil)
	e.finish(sid1)
	e.status(b, sid1)
	if b.Status != tender.StatusCaptured {
		t.Fatalf("asked again: %s", b.Status)
	}
	e.ledger(b)
}

// An answer that fails verification once is asked for again at once, in
// the same status question: one tampered answer on the way does not keep
// the payment waiting for the next check.
func TestTamperedAnswerAskedAgainAtOnce(t *testing.T) {
	var rw rewriteAnswers
	e := newEnv(t, rw.wrap)
	p := e.payment(900, sid1)
	e.start(p, sid1)
	e.finish(sid1)
	var asked int
	rw.set(func(b string) string {
		if !strings.Contains(b, "GetTransactionStatusResult") {
			return b
		}
		asked++
		if asked == 1 {
			return strings.Replace(b, "<status>00</status>", "<status>13</status>", 1)
		}
		return b
	})
	u, err := e.status(p, sid1)
	if err != nil || u.Status != tender.StatusCaptured || p.Status != tender.StatusCaptured || asked != 2 {
		t.Fatalf("after one tampered answer: %+v %v, payment %s, asked %d times", u, err, p.Status, asked)
	}
}
