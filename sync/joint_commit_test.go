package sync_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/internal/txjoin"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/state"
)

// failingTx is a state store whose commit inside the destination's
// transaction fails, as a lost state database or a full disk would.
type failingTx struct {
	state.Store
	tj state.TxJoiner
}

func (f failingTx) Joins(target txjoin.Target) bool { return f.tj.Joins(target) }
func (f failingTx) CommitTx(context.Context, txjoin.Tx, string, *state.Commit) error {
	return errors.New("injected state commit failure")
}

// TestStateCommitsWithTheLastBatch: with a Postgres destination in the
// state store's database, the last batch and the state commit are one
// transaction (same xmin); when the state commit fails, the last batch is
// rolled back with it, the earlier batches stay, and a rerun ends exact.
func TestStateCommitsWithTheLastBatch(t *testing.T) {
	injector.set(nil, 0)
	db := pgtest.New(t)
	dir := t.TempDir()
	stateSchema := db.Schema + "_st"
	t.Cleanup(func() { db.Exec(t, "DROP SCHEMA IF EXISTS "+pgx.Identifier{stateSchema}.Sanitize()+" CASCADE") })
	specText := fmt.Sprintf(`version: 1
state: %s&hoist_schema=%s
connections:
  src: {type: files, path: ., format: csv}
  pg: {type: postgres, url: %q}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: pg, object: %s.people, mode: upsert, primary_key: [id], create_table: true}
    batch_size: 3
    concurrency: 2
`, db.URL, stateSchema, db.URL, db.Schema)
	f, _ := loadSpecAndStore(t, dir, specText)
	writeCSV(t, filepath.Join(dir, "people.csv"), map[int]row{1: {"a", 1, 1}, 2: {"b", 2, 2}, 3: {"c", 3, 3}, 4: {"d", 4, 4},
		5: {"e", 5, 5}, 6: {"f", 6, 6}, 7: {"g", 7, 7}, 8: {"h", 8, 8}, 9: {"i", 9, 9}, 10: {"j", 10, 10}})
	ctx := context.Background()
	store, err := state.Open(ctx, f.State, "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	count := func() string {
		return db.Strings(t, "SELECT count(*)::text FROM people")[0]
	}

	// the state commit fails inside the last batch's transaction
	r := &hsync.Runner{File: f, Store: failingTx{store, store.(state.TxJoiner)}, Opt: hsync.Options{TempDir: dir}}
	rep := r.Run(ctx, f.Syncs[0])
	if rep.Status != hsync.StatusFailed || rep.Delivered != 9 {
		t.Fatalf("run with a failing state commit: %+v", rep)
	}
	// keys sort by length, then text (1…9, 10): the last batch holds id 10 alone
	if got := count(); got != "9" {
		t.Fatalf("destination has %s rows, want 9: the last batch must roll back with the state", got)
	}
	if got := db.Strings(t, "SELECT count(*)::text FROM people WHERE id = 10")[0]; got != "0" {
		t.Fatal("the last batch was committed without its state")
	}

	// a normal run: the last batch and the state share one transaction
	r.Store = store
	rep = r.Run(ctx, f.Syncs[0])
	if rep.Status != hsync.StatusOK || rep.Delivered != 1 || count() != "10" {
		t.Fatalf("rerun: %+v (%s rows)", rep, count())
	}
	last := db.Strings(t, "SELECT xmin::text FROM people WHERE id = 10")[0]
	run := db.Strings(t, "SELECT xmin::text FROM "+pgx.Identifier{stateSchema}.Sanitize()+".runs ORDER BY started_at DESC LIMIT 1")[0]
	if last != run {
		t.Fatalf("last batch in transaction %s, state in %s: not one transaction", last, run)
	}
	if first := db.Strings(t, "SELECT xmin::text FROM people WHERE id = 1")[0]; first == run {
		t.Fatalf("an earlier batch shares the state's transaction %s: batches are not separate", run)
	}
}
