package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/pgtest"
)

func openPGStore(t *testing.T) (Store, *pgtest.DB) {
	t.Helper()
	db := pgtest.New(t)
	// The state schema lives inside the test's schema namespace by name.
	s, err := Open(context.Background(), db.URL+"&hoist_schema="+db.Schema+"_state", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		db.Exec(t, "DROP SCHEMA IF EXISTS "+db.Schema+"_state CASCADE")
	})
	return s, db
}

func pgEntries(t *testing.T, it Iterator) []Entry {
	t.Helper()
	var out []Entry
	for it.Next() {
		e := it.Entry()
		out = append(out, Entry{Key: bytes.Clone(e.Key), Row: bytes.Clone(e.Row)})
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIntegrationPostgresStoreCommitSnapshot(t *testing.T) {
	s, _ := openPGStore(t)
	ctx := context.Background()
	st, err := s.Get(ctx, "a")
	if err != nil || st.Cursor != nil || st.SnapshotRows != 0 || st.LastRun != nil {
		t.Fatalf("fresh sync state %+v, %v", st, err)
	}
	// Keys chosen so bytes.Compare order differs from text collation and
	// from length order: high bytes, a prefix, an empty key, NUL bytes.
	keys := [][]byte{{0xff}, {0x00}, {}, {0x00, 0x00}, []byte("a"), []byte("B"), []byte("ab"), {0x7f, 0xff}, {0x80}}
	var delta []Entry
	for i, k := range keys {
		delta = append(delta, Entry{Key: k, Row: []byte(fmt.Sprintf("row%d", i))})
	}
	slices.SortFunc(delta, func(a, b Entry) int { return bytes.Compare(a.Key, b.Key) })
	cur := &cursor.Cursor{Kind: cursor.Timestamp, Value: "2026-01-02T03:04:05.123456Z"}
	run := Run{Status: "ok", Mode: "upsert", StartedAt: time.Now().UTC().Truncate(time.Millisecond), Delivered: 9}
	if err := s.Commit(ctx, "a", &Commit{Cursor: cur, Delta: &SliceIterator{Entries: delta}, Run: run}); err != nil {
		t.Fatal(err)
	}
	it, err := s.Snapshot(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	got := pgEntries(t, it)
	if len(got) != len(delta) {
		t.Fatalf("snapshot has %d entries, want %d", len(got), len(delta))
	}
	for i := range got {
		if !bytes.Equal(got[i].Key, delta[i].Key) || !bytes.Equal(got[i].Row, delta[i].Row) {
			t.Fatalf("entry %d = %x/%s, want %x/%s (bytes.Compare order)", i, got[i].Key, got[i].Row, delta[i].Key, delta[i].Row)
		}
	}
	// Second commit: change one, remove two (one of them given twice, the
	// last entry wins), keep the cursor.
	delta2 := []Entry{{Key: []byte{0x00}}, {Key: []byte("a"), Row: []byte("changed")}, {Key: []byte("ab"), Row: []byte("x")}, {Key: []byte("ab")}}
	run2 := run
	run2.Delivered = 3
	if err := s.Commit(ctx, "a", &Commit{Delta: &SliceIterator{Entries: delta2}, Run: run2}); err != nil {
		t.Fatal(err)
	}
	it, _ = s.Snapshot(ctx, "a")
	got = pgEntries(t, it)
	var ks []string
	for _, e := range got {
		ks = append(ks, fmt.Sprintf("%x=%s", e.Key, e.Row))
	}
	want := "=row2 0000=row3 42=row5 61=changed 7fff=row7 80=row8 ff=row0"
	if strings.Join(ks, " ") != want {
		t.Fatalf("snapshot after delta:\n got %s\nwant %s", strings.Join(ks, " "), want)
	}
	st, err = s.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if *st.Cursor != *cur || st.SnapshotRows != 7 || st.LastRun == nil || st.LastRun.Delivered != 3 {
		t.Fatalf("state %+v (cursor %v, last run %+v)", st, st.Cursor, st.LastRun)
	}
	hist, err := s.History(ctx, "a", 10)
	if err != nil || len(hist) != 2 || hist[0].Delivered != 3 || hist[1].Delivered != 9 || !hist[1].StartedAt.Equal(run.StartedAt) {
		t.Fatalf("history %+v, %v", hist, err)
	}
	// Another sync is untouched; reset forgets cursor and snapshot, keeps history.
	if err := s.Commit(ctx, "b", &Commit{Delta: &SliceIterator{Entries: []Entry{{Key: []byte("k"), Row: []byte("v")}}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Get(ctx, "a")
	if st.Cursor != nil || st.SnapshotRows != 0 || st.LastRun == nil {
		t.Fatalf("after reset: %+v", st)
	}
	if st, _ := s.Get(ctx, "b"); st.SnapshotRows != 1 {
		t.Fatalf("reset of a touched b: %+v", st)
	}
}

// failingIter fails after n entries: the commit must leave no trace.
type failingIter struct {
	SliceIterator
	n int
}

func (f *failingIter) Next() bool { f.n--; return f.n >= 0 && f.SliceIterator.Next() }
func (f *failingIter) Err() error { return errors.New("disk on fire") }

func TestIntegrationPostgresStoreCommitAtomic(t *testing.T) {
	s, _ := openPGStore(t)
	ctx := context.Background()
	cur := &cursor.Cursor{Kind: cursor.Int, Value: "5"}
	bad := &failingIter{SliceIterator: SliceIterator{Entries: []Entry{{Key: []byte("a"), Row: []byte("1")}, {Key: []byte("b"), Row: []byte("2")}}}, n: 1}
	if err := s.Commit(ctx, "x", &Commit{Cursor: cur, Delta: bad, Run: Run{Status: "ok"}}); err == nil {
		t.Fatal("commit with a failing delta succeeded")
	}
	st, err := s.Get(ctx, "x")
	if err != nil || st.Cursor != nil || st.SnapshotRows != 0 || st.LastRun != nil {
		t.Fatalf("failed commit left state behind: %+v %v", st, err)
	}
}

// TestIntegrationPostgresStoreLock: two runners of one sync never hold the
// lock together; one that cannot get it in time is told who holds it.
func TestIntegrationPostgresStoreLock(t *testing.T) {
	s, _ := openPGStore(t)
	ctx := context.Background()
	var holders, overlaps, runs atomic.Int32
	var wg stdsync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				l, err := s.Lock(ctx, "shared", 10*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				if holders.Add(1) > 1 {
					overlaps.Add(1)
				}
				time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond)
				holders.Add(-1)
				runs.Add(1)
				if err := l.Release(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if overlaps.Load() != 0 || runs.Load() != 10 {
		t.Fatalf("%d overlapping holds, %d runs", overlaps.Load(), runs.Load())
	}

	held, err := s.Lock(ctx, "shared", 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Lock(ctx, "shared", 300*time.Millisecond)
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond || waited > 3*time.Second {
		t.Errorf("waited %s for a 300ms lock timeout", waited)
	}
	if le.Holder.PID == 0 || le.Holder.Host == "" || !strings.Contains(err.Error(), fmt.Sprint(le.Holder.PID)) {
		t.Errorf("error %q does not name the holder (%+v)", err, le.Holder)
	}
	// Another sync is independent.
	other, err := s.Lock(ctx, "other", 0)
	if err != nil {
		t.Fatalf("lock of another sync: %v", err)
	}
	other.Release()
	if err := held.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := s.Lock(ctx, "shared", 0)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.Release()
}

// TestIntegrationPostgresStoreConcurrentOpen: runners starting together
// race on CREATE SCHEMA / TABLE IF NOT EXISTS; the DDL lock serialises them.
func TestIntegrationPostgresStoreConcurrentOpen(t *testing.T) {
	db := pgtest.New(t)
	schema := db.Schema + "_race"
	t.Cleanup(func() { db.Exec(t, "DROP SCHEMA IF EXISTS "+schema+" CASCADE") })
	var wg stdsync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), db.URL+"&hoist_schema="+schema, "")
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresStoreURLRedacted(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:s3cret@127.0.0.1:1/db?sslmode=disable&connect_timeout=1", "")
	if err == nil {
		t.Skip("something listens on port 1")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("password in error: %v", err)
	}
}
