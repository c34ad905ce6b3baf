package api

import (
	_ "embed"
	"net/http"
)

//go:generate go test ../cmd/tender -run TestOpenAPICommitted -update

// OpenAPI is the committed OpenAPI 3.1 description of API v1 with the four
// providers of the tender binary: Spec of openapi.base.json and their
// connectors' descriptions (kept equal by cmd/tender's
// TestOpenAPICommitted; edit openapi.base.json or a connector's Describe,
// then run `go generate ./api`). Tests check it against routes.go and
// every response the API tests receive. The server serves Spec of its
// own connectors at GET /v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(s.spec)
}
