package sync_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/load"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// pgEnv is one sync over a CSV source into a PostgreSQL table.
type pgEnv struct {
	*env
	db *pgtest.DB
}

func newPGEnv(t *testing.T, mode string) *pgEnv {
	t.Helper()
	injector.set(nil, 0)
	db := pgtest.New(t)
	dir := t.TempDir()
	text := fmt.Sprintf(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  pg: {type: postgres, url: %q}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: pg, object: people, mode: %s, primary_key: [id], create_table: true}
    batch_size: 2
`, db.URL, mode)
	p := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := spec.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	e := &pgEnv{env: &env{t: t, dir: dir, file: f}, db: db}
	e.newState("state")
	return e
}

// newState points the runner at a fresh file state store in dir/name.
func (e *env) newState(name string) {
	store, err := state.Open(context.Background(), "file://"+filepath.Join(e.dir, name), "")
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { store.Close() })
	e.store = store
	e.runner = &hsync.Runner{File: e.file, Store: store, Opt: hsync.Options{TempDir: e.dir}}
}

func (e *pgEnv) rows() string {
	return strings.Join(e.db.Strings(e.t, `SELECT id || '=' || name FROM people ORDER BY id`), " ")
}

// TestFirstLoadPostgresCopiesStraight: a first load into an empty table with
// a primary key goes as plain COPY batches (no staging, no ON CONFLICT);
// the next run, and a first load into a table that holds rows, upsert.
func TestFirstLoadPostgresCopiesStraight(t *testing.T) {
	e := newPGEnv(t, "upsert")
	e.source("id,name\n3,c\n1,a\n2,b\n5,e\n4,d\n")
	rep := e.run()
	if rep.Status != hsync.StatusOK || rep.Delivered != 5 || rep.Added != 5 {
		t.Fatalf("first run: %+v", rep)
	}
	if ops := injector.opsSeen(); ops[load.OpAppend] != 3 || len(ops) != 1 {
		t.Fatalf("first load sent %v, want 3 append batches", ops)
	}
	if got := e.rows(); got != "1=a 2=b 3=c 4=d 5=e" {
		t.Fatalf("destination %s", got)
	}
	st, _ := e.store.Get(context.Background(), "people")
	if st.SnapshotRows != 5 {
		t.Fatalf("snapshot holds %d rows, want 5", st.SnapshotRows)
	}

	injector.set(nil, 0)
	e.source("id,name\n3,c\n1,A\n2,b\n5,e\n4,d\n6,f\n")
	if rep := e.run(); rep.Status != hsync.StatusOK || rep.Delivered != 2 || rep.Added != 1 || rep.Changed != 1 {
		t.Fatalf("second run: %+v", rep)
	}
	if ops := injector.opsSeen(); ops[load.OpUpsert] != 1 || len(ops) != 1 {
		t.Fatalf("second run sent %v, want 1 upsert batch", ops)
	}

	// state lost, table full: every key is new to the snapshot, but not to
	// the table, so the rows are upserted, not appended
	injector.set(nil, 0)
	e.newState("state2")
	e.source("id,name\n3,C\n1,A\n2,b\n5,e\n4,d\n6,f\n")
	if rep := e.run(); rep.Status != hsync.StatusOK || rep.Delivered != 6 {
		t.Fatalf("run on a full table: %+v", rep)
	}
	if ops := injector.opsSeen(); ops[load.OpUpsert] != 3 || len(ops) != 1 {
		t.Fatalf("run on a full table sent %v, want 3 upsert batches", ops)
	}
	if got := e.rows(); got != "1=A 2=b 3=C 4=d 5=e 6=f" {
		t.Fatalf("destination %s", got)
	}
}

// TestFirstLoadDuplicateKey: a duplicate key in a first load fails the run
// with the diff's message, but every key delivered is in the state, so a
// mirror's next run deletes what the source dropped meanwhile. Through
// PostgreSQL (appends: the table's key rejects the second row) and SQLite
// (upserts: both rows land, the later wins).
func TestFirstLoadDuplicateKey(t *testing.T) {
	check := func(t *testing.T, e *env, rows func() string) {
		e.source("id,name\n1,a\n2,b\n3,c\n2,B\n")
		rep := e.run()
		if rep.Status != hsync.StatusFailed || !strings.Contains(rep.Error, "duplicate primary key 2 in the source") ||
			!strings.Contains(rep.Error, "primary_key") {
			t.Fatalf("run with a duplicate key: %+v", rep)
		}
		st, err := e.store.Get(context.Background(), "people")
		if err != nil {
			t.Fatal(err)
		}
		runs, err := e.store.History(context.Background(), "people", 5)
		if err != nil {
			t.Fatal(err)
		}
		if st.SnapshotRows != 3 || len(runs) != 1 || runs[0].Status != hsync.StatusFailed {
			t.Fatalf("state after the failed first load: %d rows, history %+v", st.SnapshotRows, runs)
		}
		e.source("id,name\n1,a\n2,b\n")
		if rep := e.run(); rep.Status != hsync.StatusOK || rep.Removed != 1 {
			t.Fatalf("fixed source: %+v", rep)
		}
		if got := rows(); got != "1=a 2=b" {
			t.Fatalf("destination %q, want 1=a 2=b", got)
		}
	}
	t.Run("postgres", func(t *testing.T) {
		e := newPGEnv(t, "mirror")
		check(t, e.env, e.rows)
	})
	t.Run("sqlite", func(t *testing.T) {
		e := newEnv(t, `{connection: db, object: people, mode: mirror, primary_key: [id], create_table: true}`, "")
		check(t, e, e.names)
	})
}

// TestFirstLoadNullKeys: rows with a NULL key are rejected in a first load
// and cut the batches around them; the cursor stays behind them.
func TestFirstLoadNullKeys(t *testing.T) {
	e := newEnv(t, `{connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}`, "")
	e.file.Syncs[0].Source.Cursor = "ver"
	e.source("id,name,ver\n1,a,1\n,x,2\n2,b,3\n3,c,4\n")
	rep := e.run()
	if rep.Status != hsync.StatusPartial || rep.Delivered != 3 || rep.Rejected != 1 {
		t.Fatalf("report %+v", rep)
	}
	if got := e.names(); got != "1=a 2=b 3=c" {
		t.Fatalf("destination %s", got)
	}
	st, _ := e.store.Get(context.Background(), "people")
	if st.Cursor == nil || st.Cursor.Value != "1" {
		t.Fatalf("cursor %v, want 1 (behind the NULL-key row)", st.Cursor)
	}
	b, err := os.ReadFile(filepath.Join(e.dir, "rejected", "people.jsonl"))
	if err != nil || !strings.Contains(string(b), "primary key is NULL") {
		t.Fatalf("rejected rows: %s %v", b, err)
	}
}
