package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/extract"
)

// TestIntegrationPostgresLockLostFailsCommit: when the lock's session ends
// mid-run (here an admin terminates its backend), another runner can take
// the lock, so the first run's commit must fail and leave the state alone;
// the same commit under a held lock goes through.
func TestIntegrationPostgresLockLostFailsCommit(t *testing.T) {
	s, db := openPGStore(t)
	ctx := context.Background()
	commit := func(cursor string) error {
		return s.Commit(ctx, "s", &Commit{
			Cursor: &extract.Cursor{Kind: extract.CursorInt, Value: cursor},
			Delta:  &SliceIterator{Entries: kvEntries("a=" + cursor)},
			Run:    Run{Status: "ok", StartedAt: time.Now()},
		})
	}
	l, err := s.Lock(ctx, "s", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := commit("1"); err != nil {
		t.Fatalf("commit under a held lock: %v", err)
	}
	backend, _ := s.(*pgStore).locks.get("s")
	db.Exec(t, fmt.Sprintf("SELECT pg_terminate_backend(%d)", backend))
	// another runner (a process of its own: a store of its own) takes the
	// lock once the server has dropped it (termination is asynchronous)
	s2, err := Open(ctx, db.URL+"&hoist_schema="+db.Schema+"_state", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	other, err := s2.Lock(ctx, "s", 10*time.Second)
	if err != nil {
		t.Fatalf("the lock was not freed by the terminated session: %v", err)
	}
	defer other.Release()
	// the first run goes on, not knowing; its commit must not land
	err = commit("2")
	if !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), "lost its lock") {
		t.Fatalf("commit after the lock was lost: %v, want ErrLockLost", err)
	}
	st, err := s.Get(ctx, "s")
	if err != nil || st.Cursor == nil || st.Cursor.Value != "1" {
		t.Fatalf("state after the refused commit: %+v, %v", st, err)
	}
	if got := pgEntries(t, mustSnapshot(t, s, "s")); len(got) != 1 || string(got[0].Row) != "1" {
		t.Fatalf("snapshot after the refused commit: %s", entriesString(got))
	}
	l.Release() // its connection is gone: an error, and nothing else
}

func mustSnapshot(t *testing.T, s Store, sync string) Iterator {
	t.Helper()
	it, err := s.Snapshot(context.Background(), sync)
	if err != nil {
		t.Fatal(err)
	}
	return it
}
