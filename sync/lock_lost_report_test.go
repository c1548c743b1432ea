package sync_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hoist-dev/hoist/internal/pgtest"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/state"
)

// lockKiller is a Progress that, when the first batch is acknowledged,
// terminates the server session holding the run's lock (as a server
// restart or an admin would) and waits until it is gone.
type lockKiller struct {
	t     *testing.T
	db    *pgtest.DB
	locks string // the state schema's locks table
	once  stdsync.Once
}

func (k *lockKiller) Total(int64) {}
func (k *lockKiller) Finish()     {}
func (k *lockKiller) Add(int) {
	k.once.Do(func() {
		pid := k.db.Strings(k.t, "SELECT backend_pid::text FROM "+k.locks+" WHERE sync = 'people'")[0]
		k.db.Exec(k.t, "SELECT pg_terminate_backend("+pid+")")
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if k.db.Strings(k.t, "SELECT count(*)::text FROM pg_stat_activity WHERE pid = "+pid)[0] == "0" {
				return
			}
		}
		k.t.Error("the lock's session did not end")
	})
}

// TestLostLockReportedOnceWithCommitted: a run on Postgres state whose lock
// is lost mid-run fails with the lost-lock error said once (not once per
// commit it tried), and its report tells the rows it delivered apart from
// the ones the state committed (none): those are sent again next run.
func TestLostLockReportedOnceWithCommitted(t *testing.T) {
	injector.set(nil, 0)
	db := pgtest.New(t)
	for i, tc := range []struct {
		name, dest, object string
		delivered          int64
	}{
		// the last batch commits with the state in one transaction, and
		// rolls back with it
		{"postgres destination", fmt.Sprintf("{type: postgres, url: %q}", db.URL), db.Schema + ".people", 9},
		{"sqlite destination", "{type: sqlite, path: ./dest.db}", "people", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stateSchema := fmt.Sprintf("%s_st%d", db.Schema, i)
			t.Cleanup(func() { db.Exec(t, "DROP SCHEMA IF EXISTS "+pgx.Identifier{stateSchema}.Sanitize()+" CASCADE") })
			dir := t.TempDir()
			f, _ := loadSpecAndStore(t, dir, fmt.Sprintf(`version: 1
state: %s&hoist_schema=%s
connections:
  src: {type: files, path: ., format: csv}
  dst: %s
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: dst, object: %s, mode: upsert, primary_key: [id], create_table: true}
    batch_size: 3
`, db.URL, stateSchema, tc.dest, tc.object))
			writeCSV(t, filepath.Join(dir, "people.csv"), map[int]row{1: {"a", 1, 1}, 2: {"b", 2, 2}, 3: {"c", 3, 3}, 4: {"d", 4, 4},
				5: {"e", 5, 5}, 6: {"f", 6, 6}, 7: {"g", 7, 7}, 8: {"h", 8, 8}, 9: {"i", 9, 9}, 10: {"j", 10, 10}})
			ctx := context.Background()
			store, err := state.Open(ctx, f.State, "")
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			k := &lockKiller{t: t, db: db, locks: pgx.Identifier{stateSchema, "locks"}.Sanitize()}
			r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir,
				Progress: func(string) hsync.Progress { return k }}}
			rep := r.Run(ctx, f.Syncs[0])
			if rep.Status != hsync.StatusFailed || strings.Count(rep.Error, "lost its lock") != 1 || strings.Count(rep.Error, "commit state") > 1 {
				t.Fatalf("want the lost-lock error once, wrapped once, got status %s, error:\n%s", rep.Status, rep.Error)
			}
			if rep.Delivered != tc.delivered || rep.Committed != 0 {
				t.Fatalf("delivered %d, committed %d; want %d and 0", rep.Delivered, rep.Committed, tc.delivered)
			}
			// a run that keeps its lock commits every row it delivers
			r.Opt.Progress = nil
			rep = r.Run(ctx, f.Syncs[0])
			if rep.Status != hsync.StatusOK || rep.Committed != rep.Delivered || rep.Delivered == 0 {
				t.Fatalf("rerun: %+v", rep)
			}
		})
	}
}
