package sync_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"

	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/state"
)

// lockTaker is a Progress that, when the first batch is acknowledged, does
// what an operator removing a stale-looking lock file does: deletes the
// run's lock file, after which a second runner locks the sync.
type lockTaker struct {
	t     *testing.T
	path  string // the sync's lock file
	other state.Store
	once  stdsync.Once
	taken state.Lock
}

func (k *lockTaker) Total(int64) {}
func (k *lockTaker) Finish()     {}
func (k *lockTaker) Add(int) {
	k.once.Do(func() {
		if err := os.Remove(k.path); err != nil {
			k.t.Error(err)
			return
		}
		l, err := k.other.Lock(context.Background(), "people", 0)
		if err != nil {
			k.t.Errorf("the second runner's lock after the lock file was removed: %v", err)
			return
		}
		k.taken = l
	})
}

// TestFileLockLostFailsTheRun: a run on file state whose lock file is
// removed mid-run, and taken by another runner, commits no state: it fails
// with the lost-lock error said once, its report has delivered rows and
// none committed, and the state is as it was. A run that keeps its lock
// then commits as usual.
func TestFileLockLostFailsTheRun(t *testing.T) {
	injector.set(nil, 0)
	dir := t.TempDir()
	f, store := loadSpecAndStore(t, dir, `version: 1
connections:
  src: {type: files, path: ., format: csv}
  dst: {type: sqlite, path: ./dest.db}
syncs:
  - name: people
    source: {connection: src, path: people.csv, cursor: ver}
    destination: {connection: dst, object: people, mode: upsert, primary_key: [id], create_table: true}
    batch_size: 3
`)
	writeCSV(t, filepath.Join(dir, "people.csv"), map[int]row{1: {"a", 1, 1}, 2: {"b", 2, 2}, 3: {"c", 3, 3}, 4: {"d", 4, 4},
		5: {"e", 5, 5}, 6: {"f", 6, 6}, 7: {"g", 7, 7}})
	root := store.(interface{ Root() string }).Root()
	other, err := state.Open(context.Background(), "file://"+root, "")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	k := &lockTaker{t: t, path: filepath.Join(root, "people", "lock"), other: other}
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir,
		Progress: func(string) hsync.Progress { return k }}}
	rep := r.Run(context.Background(), f.Syncs[0])
	if k.taken == nil {
		t.Fatal("the second runner never took the lock")
	}
	if rep.Status != hsync.StatusFailed || strings.Count(rep.Error, "lost its lock") != 1 || !strings.Contains(rep.Error, k.path) {
		t.Fatalf("want the lost-lock error once, naming %s; got status %s, error:\n%s", k.path, rep.Status, rep.Error)
	}
	if rep.Delivered == 0 || rep.Committed != 0 {
		t.Fatalf("delivered %d, committed %d; want some and 0", rep.Delivered, rep.Committed)
	}
	st, err := other.Get(context.Background(), "people")
	if err != nil {
		t.Fatal(err)
	}
	if st.Cursor != nil || st.SnapshotRows != 0 || st.LastRun != nil {
		t.Fatalf("the run that lost its lock changed the state: %+v", st)
	}
	// the second runner lets go; a run that keeps its lock commits
	if err := k.taken.Release(); err != nil {
		t.Fatal(err)
	}
	r.Opt.Progress = nil
	rep = r.Run(context.Background(), f.Syncs[0])
	if rep.Status != hsync.StatusOK || rep.Committed != rep.Delivered || rep.Delivered != 7 {
		t.Fatalf("rerun: %+v", rep)
	}
}
