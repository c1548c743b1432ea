package state

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/txjoin"
)

// TestIntegrationPostgresStoreJoins: the store joins a transaction opened in
// its own database only, and its commit lands or rolls back with it.
func TestIntegrationPostgresStoreJoins(t *testing.T) {
	s, db := openPGStore(t)
	tj, ok := s.(TxJoiner)
	if !ok {
		t.Fatal("the postgres store cannot join a destination's transaction")
	}
	cfg, err := pgx.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	own := pgconn.JoinTarget(cfg)
	other := *cfg
	other.Database += "_other"
	for _, c := range []struct {
		name   string
		target txjoin.Target
		want   bool
	}{
		{"its own database", own, true},
		{"another database on the server", pgconn.JoinTarget(&other), false},
		{"a writer that cannot join", txjoin.Target{}, false},
	} {
		if got := tj.Joins(c.target); got != c.want {
			t.Errorf("%s: Joins = %v, want %v", c.name, got, c.want)
		}
	}

	ctx := context.Background()
	lock, err := s.Lock(ctx, "a", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	commit := func(target txjoin.Target, raw func(pgx.Tx) any, value string, keep bool) error {
		tx, err := db.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		err = tj.CommitTx(ctx, txjoin.NewTx(target, raw(tx)), "a", &Commit{
			Cursor: &cursor.Cursor{Kind: cursor.Int, Value: value}, Run: Run{Status: "ok"}})
		if err == nil && keep {
			err = tx.Commit(ctx)
		}
		return err
	}
	cursor := func() string {
		st, err := s.Get(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		return st.Cursor.String()
	}
	pgTx := func(tx pgx.Tx) any { return tx }
	if err := commit(own, pgTx, "1", false); err != nil {
		t.Fatal(err)
	}
	if got := cursor(); got != "" {
		t.Fatalf("a commit whose transaction rolled back left cursor %q", got)
	}
	if err := commit(own, pgTx, "2", true); err != nil {
		t.Fatal(err)
	}
	if got := cursor(); got != "2" {
		t.Fatalf("cursor %q after a joined commit, want 2", got)
	}
	if err := commit(pgconn.JoinTarget(&other), pgTx, "3", true); err == nil || !strings.Contains(err.Error(), "another database") {
		t.Fatalf("a transaction of another database was joined: %v", err)
	}
	if err := commit(own, func(pgx.Tx) any { return "not a tx" }, "4", true); err == nil || !strings.Contains(err.Error(), "not a postgres transaction") {
		t.Fatalf("a foreign transaction was joined: %v", err)
	}
	if got := cursor(); got != "2" {
		t.Fatalf("cursor %q after refused joins, want 2", got)
	}
}
