package api_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/tenderpay/tender/api"
)

// notInSpec are the routes of routes.go that are not API v1: providers,
// shoppers and operators call them, not integrators. Every other route the
// router serves must be in api/openapi.json, and every operation there must
// be a route.
var notInSpec = map[string]string{
	"/callbacks/{connector}/{account}/{path...}": "providers' callbacks, authenticated by each provider's own MAC",
	"GET /pay/{id}":         "the shopper's hosted page (HTML)",
	"POST /pay/{id}/cancel": "the shopper giving up on the hosted page (a form)",
	"GET /metrics":          "Prometheus metrics for the operator",
	"/v1/":                  "the catch-all that answers not_found",
	"GET /{$}":              "a plain-text greeting",
}

// routerPatterns reads every pattern registered on the server's mux from
// the package's source (routes.go and any other file), so that a route
// added anywhere is seen. A pattern that is not a string literal fails the
// test: it could not be checked.
func routerPatterns(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			recv, ok := sel.X.(*ast.SelectorExpr)
			if !ok || recv.Sel.Name != "mux" || len(call.Args) != 2 {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a route pattern that is not a string literal cannot be checked against the OpenAPI description", fset.Position(call.Pos()))
				return true
			}
			p, _ := strconv.Unquote(lit.Value)
			out = append(out, p)
			return true
		})
	}
	if len(out) < 10 {
		t.Fatalf("found only %d routes in the api package's source: %v", len(out), out)
	}
	return out
}

type specDoc struct {
	Paths map[string]map[string]json.RawMessage `json:"paths"`
}

func specOperations(t *testing.T) []string {
	t.Helper()
	var d specDoc
	if err := json.Unmarshal(api.OpenAPI, &d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, item := range d.Paths {
		for m := range item {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				out = append(out, strings.ToUpper(m)+" "+path)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIMatchesRouter: every route the router serves is described
// and every described operation is served.
func TestOpenAPIMatchesRouter(t *testing.T) {
	var served []string
	for _, p := range routerPatterns(t) {
		if _, ok := notInSpec[p]; ok {
			continue
		}
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			t.Errorf("route %q has no method: API routes name theirs (or list it in notInSpec with a reason)", p)
			continue
		}
		served = append(served, method+" "+path)
	}
	slices.Sort(served)
	described := specOperations(t)
	for _, r := range served {
		if !slices.Contains(described, r) {
			t.Errorf("route %s is served but not in api/openapi.json", r)
		}
	}
	for _, o := range described {
		if !slices.Contains(served, o) {
			t.Errorf("operation %s is in api/openapi.json but not served (routes.go)", o)
		}
	}

	// And from the outside: every described operation reaches a handler
	// of its own, not the catch-all.
	e := newEnv(t)
	for _, o := range described {
		method, path, _ := strings.Cut(o, " ")
		path = strings.ReplaceAll(strings.ReplaceAll(path, "{id}", "x1"), "{", "")
		r := e.do(method, path, "")
		if r.status == http.StatusNotFound && bytes.Contains(r.body, []byte("no such endpoint")) {
			t.Errorf("%s: answered by the catch-all", o)
		}
	}
}

var (
	specOnce sync.Once
	specVal  validator.Validator
	specErr  error
)

func specValidator(t *testing.T) validator.Validator {
	t.Helper()
	specOnce.Do(func() {
		doc, err := libopenapi.NewDocument(api.OpenAPI)
		if err != nil {
			specErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			specErr = errs[0]
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			var b strings.Builder
			for _, e := range verrs {
				b.WriteString(e.Error() + "; ")
			}
			specErr = &specError{b.String()}
			return
		}
		specVal = v
	})
	if specErr != nil {
		t.Fatalf("api/openapi.json: %v", specErr)
	}
	return specVal
}

type specError struct{ s string }

func (e *specError) Error() string { return e.s }

// checkAgainstSpec fails the test if a response of the API does not match
// api/openapi.json. Responses of routes outside API v1 (callbacks, pages)
// and of the catch-all are not checked here.
func checkAgainstSpec(t *testing.T, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/v1/") && req.URL.Path != "/healthz" && req.URL.Path != "/readyz" {
		return
	}
	if res.StatusCode == http.StatusNotFound && bytes.Contains(body, []byte("no such endpoint")) {
		return
	}
	if res.StatusCode == http.StatusMethodNotAllowed {
		return // the mux's own answer, text/plain
	}
	r := *res
	r.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := specValidator(t).ValidateHttpResponse(req, &r); !ok {
		for _, e := range errs {
			msg := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				msg += "; " + se.FieldPath + ": " + se.Reason
			}
			t.Errorf("%s %s → %d does not match api/openapi.json: %s\n%s", req.Method, req.URL.Path, res.StatusCode, msg, body)
		}
	}
}

// TestOpenAPIServed: the description is served without an API key and is
// a valid OpenAPI 3.1 document.
func TestOpenAPIServed(t *testing.T) {
	specValidator(t)
	e := newEnv(t)
	res, err := http.Get(e.srv.URL + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	// The server describes its own connectors (here testpay, which has no
	// data of its own); cmd/tender's TestOpenAPICommitted checks that the
	// committed file is what the tender binary serves.
	want, err := api.Spec(e.eng.Descriptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !bytes.Equal(b, want) {
		t.Fatalf("GET /v1/openapi.json: %d, %d bytes, want the description of the server's connectors", res.StatusCode, len(b))
	}
	var d struct{ OpenAPI string }
	if err := json.Unmarshal(b, &d); err != nil || d.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, %v", d.OpenAPI, err)
	}
	if _, err := os.Stat("openapi.json"); err != nil {
		t.Fatal(err)
	}
}
