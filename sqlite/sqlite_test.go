package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/sqlite"
	"github.com/tenderpay/tender/storetest"
)

// openFile opens a fresh database file, the way `tender serve` does.
func openFile(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "tender.db"))
	if err != nil {
		tb.Fatalf("sqlite.Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tender.Store { return openFile(t) })
}

func TestStoreMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tender.Store {
		db, err := sqlite.Open(context.Background(), ":memory:")
		if err != nil {
			t.Fatalf("sqlite.Open(:memory:): %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func BenchmarkCreatePayment(b *testing.B) { storetest.BenchCreatePayment(b, openFile(b)) }

func BenchmarkUpdatePayment(b *testing.B) { storetest.BenchUpdatePayment(b, openFile(b)) }
