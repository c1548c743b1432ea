package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/cursor"
)

// TestIntegrationPostgresLockLostFailsCommit: when the lock's session ends
// mid-run (here an admin terminates its backend), another runner can take
// the lock, so the first run's commit must fail and leave the state alone;
// the same commit under a held lock goes through.
func TestIntegrationPostgresLockLostFailsCommit(t *testing.T) {
	s, db := openPGStore(t)
	ctx := context.Background()
	commit := func(value string) error {
		return s.Commit(ctx, "s", &Commit{
			Cursor: &cursor.Cursor{Kind: cursor.Int, Value: value},
			Delta:  &SliceIterator{Entries: kvEntries("a=" + value)},
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
	held, _ := s.(*pgStore).locks.get("s")
	db.Exec(t, fmt.Sprintf("SELECT pg_terminate_backend(%d)", held.backend))
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

// blockingIter yields its entries, but only after release is closed once
// the first one is read: a commit that takes as long as the test wants.
type blockingIter struct {
	SliceIterator
	started chan struct{}
	release chan struct{}
	once    bool
}

func (b *blockingIter) Next() bool {
	if !b.once {
		b.once = true
		close(b.started)
		<-b.release
	}
	return b.SliceIterator.Next()
}

// TestIntegrationPostgresLockLostDuringCommit (issue 10, item 5): the lock's
// session ends while a long commit is under way and a second runner asks for
// the lock. The second runner must not start until that commit is over (the
// fencing token's row lock), so two runners never overlap.
func TestIntegrationPostgresLockLostDuringCommit(t *testing.T) {
	s, db := openPGStore(t)
	ctx := context.Background()
	l, err := s.Lock(ctx, "s", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	it := &blockingIter{SliceIterator: SliceIterator{Entries: kvEntries("a=1", "b=2")}, started: make(chan struct{}), release: make(chan struct{})}
	release := stdsync.OnceFunc(func() { close(it.release) })
	t.Cleanup(release) // before the store closes: a failed test never leaves the commit hanging
	committed := make(chan error, 1)
	go func() {
		committed <- s.Commit(ctx, "s", &Commit{Cursor: &cursor.Cursor{Kind: cursor.Int, Value: "1"}, Delta: it, Run: Run{Status: "ok", StartedAt: time.Now()}})
	}()
	<-it.started // the commit's transaction has passed its lock checks
	h, _ := s.(*pgStore).locks.get("s")
	db.Exec(t, fmt.Sprintf("SELECT pg_terminate_backend(%d)", h.backend))

	s2, err := Open(ctx, db.URL+"&hoist_schema="+db.Schema+"_state", "")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	type lockRes struct {
		l   Lock
		err error
		at  time.Time
	}
	second := make(chan lockRes, 1)
	go func() {
		l2, err := s2.Lock(ctx, "s", 20*time.Second)
		second <- lockRes{l2, err, time.Now()}
	}()
	select {
	case r := <-second:
		if r.err == nil {
			r.l.Release()
		}
		t.Fatalf("a second runner took the lock while the first was still committing (err %v)", r.err)
	case <-time.After(1500 * time.Millisecond):
	}
	release()
	if err := <-committed; err != nil {
		t.Fatalf("the commit that began under the lock: %v", err)
	}
	doneAt := time.Now()
	r := <-second
	if r.err != nil {
		t.Fatalf("second runner after the commit: %v", r.err)
	}
	defer r.l.Release()
	if r.at.Before(doneAt.Add(-time.Second)) {
		t.Fatalf("second runner took the lock at %v, before the commit ended at %v", r.at, doneAt)
	}
	// The first runner goes on, not knowing: its next commit is fenced off.
	if err := s.Commit(ctx, "s", &Commit{Cursor: &cursor.Cursor{Kind: cursor.Int, Value: "2"}, Run: Run{Status: "ok"}}); !errors.Is(err, ErrLockLost) {
		t.Fatalf("commit of the runner that lost its lock: %v, want ErrLockLost", err)
	}
	if st, err := s2.Get(ctx, "s"); err != nil || st.Cursor == nil || st.Cursor.Value != "1" {
		t.Fatalf("state: %+v %v", st, err)
	}
}
