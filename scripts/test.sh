#!/usr/bin/env bash
# Runs every test of Tender with the race detector, on SQLite and, when
# TENDER_TEST_POSTGRES names a server, on PostgreSQL too (an unreachable one
# fails the store tests). Without it the PostgreSQL suites skip with a line
# saying how to run them; .ci/run sets it, so CI always tests PostgreSQL.
# TENDER_TEST_POSTGRES=local means the local server at 127.0.0.1:5432,
# database test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${TENDER_TEST_POSTGRES:-}" = local ]; then
  export TENDER_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
fi
go vet ./...
# staticcheck, pinned, fetched through the Go module proxy (STYLE.md: vet and
# staticcheck clean).
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go test -race -count=1 -timeout 25m "$@" ./...
