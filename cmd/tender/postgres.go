package main

import (
	"context"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/postgres"
)

func init() {
	openPostgres = func(ctx context.Context, dsn string) (tender.Store, error) { return postgres.Open(ctx, dsn) }
}
