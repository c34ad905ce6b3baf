package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/tenderpay/tender/api"
)

var (
	specOnce sync.Once
	specVal  validator.Validator
)

// specTransport checks every request it sends and every answer it gets
// against api/openapi.json.
type specTransport struct {
	t    *testing.T
	next http.RoundTripper
}

func loadSpec() {
	specOnce.Do(func() {
		doc, err := libopenapi.NewDocument(api.OpenAPI)
		if err != nil {
			panic(err)
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			panic(errs[0])
		}
		specVal = v
	})
}

func newSpecTransport(t *testing.T) *specTransport {
	loadSpec()
	return &specTransport{t: t, next: http.DefaultTransport}
}

// checkResponseSpec fails t if an answer of API v1 does not match
// api/openapi.json (requests are not checked: tests send bad ones on
// purpose). Other routes (callbacks, pages) and the catch-all's answers
// are not checked.
func checkResponseSpec(t *testing.T, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	loadSpec()
	if !strings.HasPrefix(req.URL.Path, "/v1/") || res.StatusCode == http.StatusMethodNotAllowed ||
		res.StatusCode == http.StatusNotFound && bytes.Contains(body, []byte("no such endpoint")) {
		return
	}
	c := *res
	c.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := specVal.ValidateHttpResponse(req, &c); !ok {
		for _, e := range errs {
			msg := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				msg += "; " + se.FieldPath + ": " + se.Reason
			}
			t.Errorf("answer to %s %s (%d) does not match api/openapi.json: %s\n%s", req.Method, req.URL.Path, res.StatusCode, msg, strings.TrimSpace(string(body)))
		}
	}
}

func (s *specTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := specVal.ValidateHttpRequestSync(check); !ok {
		for _, e := range errs {
			s.t.Errorf("request %s %s does not match api/openapi.json: %s: %s", req.Method, req.URL.Path, e.Message, e.Reason)
		}
	}
	res, err := s.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	c := *res
	c.Body = io.NopCloser(bytes.NewReader(b))
	check.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := specVal.ValidateHttpResponse(check, &c); !ok {
		for _, e := range errs {
			msg := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				msg += "; " + se.FieldPath + ": " + se.Reason
			}
			s.t.Errorf("answer to %s %s (%d) does not match api/openapi.json: %s\n%s", req.Method, req.URL.Path, res.StatusCode, msg, strings.TrimSpace(string(b)))
		}
	}
	return res, nil
}
