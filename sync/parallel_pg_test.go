package sync_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/state"
)

// TestParallelRunPostgresState: twelve syncs into PostgreSQL tables, with
// the state in the same database (each sync's last batch commits with its
// state), run eight at once: more syncs than the state store's pool has
// connections, each holding its lock on a connection of its own. Nothing
// waits forever; every table and every state is exact, and a second run
// after changes sends exactly the changes.
func TestParallelRunPostgresState(t *testing.T) {
	injector.set(nil, 0)
	db := pgtest.New(t)
	dir := t.TempDir()
	const n, rows = 12, 300
	makeTables(t, filepath.Join(dir, "src.db"), n, rows)
	stateSchema := db.Schema + "_st"
	t.Cleanup(func() { db.Exec(t, "DROP SCHEMA IF EXISTS "+pgx.Identifier{stateSchema}.Sanitize()+" CASCADE") })
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nstate: %s&hoist_schema=%s\nconnections:\n  src: {type: sqlite, path: src.db}\n  pg: {type: postgres, url: %q}\nsyncs:\n", db.URL, stateSchema, db.URL)
	for i := range n {
		fmt.Fprintf(&b, "  - name: t%d\n    source: {connection: src, table: t%d}\n    destination: {connection: pg, object: %s.t%d, mode: upsert, primary_key: [id], create_table: true}\n    batch_size: 40\n", i, i, db.Schema, i)
	}
	f, _ := loadSpecAndStore(t, dir, b.String())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	store, err := state.Open(ctx, f.State, "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sc, err := hsync.NewSchedule(f, f.Syncs)
	if err != nil {
		t.Fatal(err)
	}
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
	check := func(round string, delivered func(i int) int64) {
		reps, left := r.RunAll(ctx, sc, 8)
		if ctx.Err() != nil || len(left) > 0 {
			t.Fatalf("%s: the run hung or was cut short (%v, %d not started)", round, ctx.Err(), len(left))
		}
		for i, rep := range reps {
			if rep.Sync != fmt.Sprintf("t%d", i) || rep.Status != hsync.StatusOK || rep.Delivered != delivered(i) {
				t.Errorf("%s: report %d: %s %s, %d delivered, want %d: %s", round, i, rep.Sync, rep.Status, rep.Delivered, delivered(i), rep.Error)
			}
			st, err := store.Get(ctx, rep.Sync)
			if err != nil {
				t.Fatal(err)
			}
			if st.SnapshotRows != rows {
				t.Errorf("%s: state of %s holds %d rows, want %d", round, rep.Sync, st.SnapshotRows, rows)
			}
			got := db.Strings(t, fmt.Sprintf("SELECT count(*)::text || ' ' || coalesce(sum(length(name)), 0)::text FROM t%d", i))[0]
			want := db.Strings(t, fmt.Sprintf("SELECT '%d ' || %d", rows, nameLengths(t, filepath.Join(dir, "src.db"), i)))[0]
			if got != want {
				t.Errorf("%s: table t%d holds (rows, name bytes) %s, want %s", round, i, got, want)
			}
		}
	}
	check("first run", func(int) int64 { return rows })

	src, err := sqlitedb.OpenWrite(ctx, filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 2 { // every other table: 10 rows changed
		if _, err := src.ExecContext(ctx, fmt.Sprintf("UPDATE t%d SET name = name || ' (changed)' WHERE id < 10", i)); err != nil {
			t.Fatal(err)
		}
	}
	src.Close()
	check("after changes", func(i int) int64 {
		if i%2 == 0 {
			return 10
		}
		return 0
	})
}

// nameLengths sums the name lengths of table t<i> in the SQLite source.
func nameLengths(t *testing.T, path string, i int) int64 {
	t.Helper()
	db, err := sqlitedb.OpenRead(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(fmt.Sprintf("SELECT sum(length(name)) FROM t%d", i)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
