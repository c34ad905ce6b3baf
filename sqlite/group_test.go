package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestGroupCommit runs many write transactions at once: they share
// commits, a failing one is rolled back alone, and every caller is told
// its own result.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.tx(ctx, func(tx txStmts) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE g (n INTEGER PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := db.commits.Load()
	const n = 200
	boom := errors.New("boom")
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.tx(ctx, func(tx txStmts) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO g (n) VALUES (?)`, i); err != nil {
					return err
				}
				if i%3 == 0 {
					return fmt.Errorf("write %d: %w", i, boom) // after its insert: must be undone
				}
				if i%7 == 1 {
					// A statement that fails inside the write: the write
					// fails, the others do not.
					_, err := tx.ExecContext(ctx, `INSERT INTO g (n) VALUES (?)`, i)
					return err
				}
				return nil
			})
		})
	}
	wg.Wait()
	commits := db.commits.Load() - before
	for i := range n {
		var got int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM g WHERE n = ?`, i).Scan(&got); err != nil {
			t.Fatal(err)
		}
		wantErr := i%3 == 0 || i%7 == 1
		if (errs[i] != nil) != wantErr {
			t.Errorf("write %d: err %v, want error %v", i, errs[i], wantErr)
		}
		if i%3 == 0 && !errors.Is(errs[i], boom) {
			t.Errorf("write %d: err %v, want its own", i, errs[i])
		}
		if want := map[bool]int{true: 0, false: 1}[wantErr]; got != want {
			t.Errorf("write %d: %d rows, want %d", i, got, want)
		}
	}
	if commits >= n {
		t.Errorf("%d writes took %d commits: none shared one", n, commits)
	}
	t.Logf("%d writes in %d commits", n, commits)
}

// TestGroupCommitCanceled: a write whose context ends before it runs is
// not run; a write whose context ends while it runs still completes.
func TestGroupCommitCanceled(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	if err := db.tx(cctx, func(txStmts) error { ran = true; return nil }); err == nil || ran {
		t.Fatalf("canceled write: err %v, ran %v", err, ran)
	}
	cctx, cancel = context.WithCancel(ctx)
	err = db.tx(cctx, func(tx txStmts) error {
		cancel()
		_, err := tx.ExecContext(cctx, `CREATE TABLE c (n INTEGER)`)
		return err
	})
	if err != nil {
		t.Fatalf("write canceled while it ran: %v", err)
	}
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM c`).Scan(&n); err != nil {
		t.Fatalf("its table is missing: %v", err)
	}
}
