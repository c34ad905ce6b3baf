package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/engine"
)

var update = flag.Bool("update", false, "rewrite api/openapi.json from api/openapi.base.json and the providers' descriptions")

// TestOpenAPICommitted: the committed api/openapi.json is the description
// that `tender serve` serves, assembled from api/openapi.base.json and the
// registered providers' connectors. `go generate ./api` rewrites it.
func TestOpenAPICommitted(t *testing.T) {
	var conns []tender.Connector
	for _, p := range providers {
		conns = append(conns, p.connector(connectorEnv{Clock: tender.SystemClock{}}))
	}
	got, err := api.Spec(engine.Describe(conns))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "api", "openapi.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, api.OpenAPI) {
		t.Fatalf("api/openapi.json is not what the server describes: run `go generate ./api` (it was assembled from api/openapi.base.json and the connectors' Describe)")
	}
}
