package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestDefaultDatabaseInDataDir: without --db the SQLite database goes into
// the data directory (0700), created 0600; an existing ./tender.db from an
// earlier version keeps being used.
func TestDefaultDatabaseInDataDir(t *testing.T) {
	getenv := func(k string) string {
		if k == "TENDER_DATA_DIR" {
			return "data"
		}
		return ""
	}
	t.Run("new install", func(t *testing.T) {
		t.Chdir(t.TempDir())
		if err := run(context.Background(), []string{"migrate"}, getenv, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat("tender.db"); err == nil {
			t.Fatal("the database was created in the working directory")
		}
		fi, err := os.Stat(filepath.Join("data", "tender.db"))
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("data/tender.db has mode %o, want 600", m)
		}
		if di, _ := os.Stat("data"); di.Mode().Perm() != 0o700 {
			t.Errorf("data has mode %o, want 700", di.Mode().Perm())
		}
	})
	t.Run("existing ./tender.db", func(t *testing.T) {
		t.Chdir(t.TempDir())
		if err := run(context.Background(), []string{"migrate", "--db", "sqlite:tender.db"}, getenv, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		if err := run(context.Background(), []string{"apikey", "create", "--name", "x"}, getenv, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join("data", "tender.db")); err == nil {
			t.Fatal("a new database was made in the data directory beside ./tender.db")
		}
	})
}
