package client_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tenderpay/tender/client"
)

// notInClient are the operations of api/openapi.json the client leaves
// out, and why.
var notInClient = map[string]string{
	"getOpenAPI":        "the description itself",
	"healthz":           "for load balancers",
	"readyz":            "for load balancers",
	"listPaymentEvents": "is ListEvents",
}

// TestEveryOperationHasAMethod: each operation of api/openapi.json is a
// method of *Client named after its operationId, so that a route added to
// the API shows up here.
func TestEveryOperationHasAMethod(t *testing.T) {
	b, err := os.ReadFile("../api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[*client.Client]()
	for path, item := range doc.Paths {
		for method, op := range item {
			name := strings.ToUpper(op.OperationID[:1]) + op.OperationID[1:]
			_, has := typ.MethodByName(name)
			if _, skip := notInClient[op.OperationID]; skip || has {
				if skip && has {
					t.Errorf("%s is in notInClient but has a method", op.OperationID)
				}
				continue
			}
			t.Errorf("%s %s (%s) has no client method %s", strings.ToUpper(method), path, op.OperationID, name)
		}
	}
}
