#!/usr/bin/env bash
# Runs every test of Tender with the race detector, on SQLite and on
# PostgreSQL. PostgreSQL comes from TENDER_TEST_POSTGRES (default: the local
# server at 127.0.0.1:5432, database test); an unreachable server fails the
# store tests. Set TENDER_TEST_POSTGRES= (empty) to run without PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
export TENDER_TEST_POSTGRES="${TENDER_TEST_POSTGRES-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
go vet ./...
# staticcheck, pinned, fetched through the Go module proxy (STYLE.md: vet and
# staticcheck clean).
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go test -race -count=1 -timeout 25m "$@" ./...
