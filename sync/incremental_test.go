package sync_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/pgtest"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/state"
)

// TestIncrementalRunsOnDeltaTables: a cursor sync over a 3,000-row source
// changes 1% of it per run. Past the first run, each run looks up only the
// extracted keys and, in the file store, commits a small delta table
// (merged into one past the limit); every run must leave the destination
// equal to the source, the snapshot's row count exact, and a rerun with
// nothing to send. The Postgres store answers the same lookups.
func TestIncrementalRunsOnDeltaTables(t *testing.T) {
	t.Run("file", func(t *testing.T) { incrementalRuns(t, "") })
	t.Run("postgres", func(t *testing.T) {
		db := pgtest.New(t)
		incrementalRuns(t, db.URL+"&hoist_schema="+db.Schema+"_state") // pgtest drops it
	})
}

func incrementalRuns(t *testing.T, stateURL string) {
	dir := t.TempDir()
	f, store := loadSpecAndStore(t, dir, `version: 1
connections:
  src: {type: files, path: ., format: csv}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: people
    source: {connection: src, path: people.csv, cursor: ver}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
    batch_size: 100
`)
	ctx := context.Background()
	if stateURL != "" {
		var err error
		if store, err = state.Open(ctx, stateURL, ""); err != nil {
			t.Fatal(err)
		}
		defer store.Close()
	}
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
	rng := rand.New(rand.NewPCG(5, 5))
	src := map[int]row{}
	for id := 1; id <= 3000; id++ {
		version++
		src[id] = row{name: fmt.Sprintf("n%d", id), score: id % 100, ver: version}
	}
	nextID := 3000
	sawDelta := false
	for round := range 12 {
		changed, added := map[int]bool{}, 0
		if round > 0 {
			for range 30 {
				id := 1 + rng.IntN(3000)
				version++
				src[id] = row{name: fmt.Sprintf("c%d-%d", round, id), score: rng.IntN(100), ver: version}
				changed[id] = true
			}
			for range 5 {
				nextID++
				version++
				src[nextID] = row{name: fmt.Sprintf("new%d", nextID), score: 1, ver: version}
				added++
			}
		}
		writeCSV(t, filepath.Join(dir, "people.csv"), src)
		rep := r.Run(ctx, f.Syncs[0])
		if rep.Status != hsync.StatusOK {
			t.Fatalf("round %d: %s: %s", round, rep.Status, rep.Error)
		}
		// the lookups tell changed keys from new ones
		if round > 0 && (rep.Added != int64(added) || rep.Changed != int64(len(changed)) || rep.Delivered != int64(added+len(changed))) {
			t.Fatalf("round %d: added %d, changed %d, delivered %d; want %d added, %d changed", round, rep.Added, rep.Changed, rep.Delivered, added, len(changed))
		}
		got := sqliteKind().read(t, dir)
		if len(got) != len(src) {
			t.Fatalf("round %d: destination has %d rows, source %d", round, len(got), len(src))
		}
		for id, want := range src {
			want.ver = 0
			if got[id] != want {
				t.Fatalf("round %d: id %d: destination %+v, source %+v", round, id, got[id], want)
			}
		}
		st, err := store.Get(ctx, "people")
		if err != nil || st.SnapshotRows != int64(len(src)) {
			t.Fatalf("round %d: snapshot rows %d (%v), source %d", round, st.SnapshotRows, err, len(src))
		}
		if again := r.Run(ctx, f.Syncs[0]); again.Status != hsync.StatusOK || again.Delivered != 0 {
			t.Fatalf("round %d: rerun delivered %d (%s %s)", round, again.Delivered, again.Status, again.Error)
		}
		files, _ := os.ReadDir(filepath.Join(dir, ".hoist", "people"))
		for _, e := range files {
			sawDelta = sawDelta || strings.HasPrefix(e.Name(), "delta-")
		}
	}
	if stateURL == "" && !sawDelta {
		t.Fatal("no run committed a delta table: the incremental path was not exercised")
	}
}
