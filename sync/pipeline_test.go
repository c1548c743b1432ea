package sync_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// env is one sync over a CSV source into a sqlite table the test creates.
type env struct {
	t      *testing.T
	dir    string
	file   *spec.File
	store  state.Store
	runner *hsync.Runner
}

func newEnv(t *testing.T, dest string, ddl string) *env {
	t.Helper()
	injector.set(nil, 0)
	dir := t.TempDir()
	text := `version: 1
connections:
  src: {type: files, path: ., format: csv}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: ` + dest + `
    batch_size: 2
    on_reject: {file: rejected/people.jsonl, max_rejected: 5}
`
	p := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if ddl != "" {
		db, err := sql.Open("sqlite", filepath.Join(dir, "dest.db"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ddl); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	f, err := spec.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(context.Background(), "file://"+filepath.Join(dir, ".hoist"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{t: t, dir: dir, file: f, store: store}
	e.runner = &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
	return e
}

func (e *env) source(csv string) {
	if err := os.WriteFile(filepath.Join(e.dir, "people.csv"), []byte(csv), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) run() *hsync.Report { return e.runner.Run(context.Background(), e.file.Syncs[0]) }

// names lists the destination's rows as "id=name" in id order.
func (e *env) names() string {
	db, err := sql.Open("sqlite", filepath.Join(e.dir, "dest.db"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id || '=' || name FROM people ORDER BY id`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func (e *env) count() int {
	db, err := sql.Open("sqlite", filepath.Join(e.dir, "dest.db"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM people`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestRejectedRows: rows the destination rejects go to the rejected-rows
// file with key, row and error, stay out of the snapshot, and are retried
// (and delivered once fixed) on the next run.
func TestRejectedRows(t *testing.T) {
	e := newEnv(t, `{connection: db, object: people, mode: upsert, primary_key: [id]}`,
		`CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (name <> 'BAD'))`)
	e.source("id,name\n1,Ann\n2,BAD\n3,Cy\n4,Di\n5,BAD\n")
	rep := e.run()
	if rep.Status != hsync.StatusPartial || rep.Rejected != 2 || rep.Delivered != 3 {
		t.Fatalf("report %+v", rep)
	}
	f, err := os.Open(filepath.Join(e.dir, "rejected", "people.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	f.Close()
	if len(lines) != 2 || lines[0]["key"].(map[string]any)["id"] != float64(2) || lines[0]["row"].(map[string]any)["name"] != "BAD" || !strings.Contains(lines[0]["error"].(string), "CHECK") {
		t.Fatalf("rejected lines: %v", lines)
	}
	st, _ := e.store.Get(context.Background(), "people")
	if st.SnapshotRows != 3 {
		t.Fatalf("snapshot has %d rows, want 3 (rejected rows stay out)", st.SnapshotRows)
	}
	// retried next run: still rejected while bad, delivered once fixed
	if rep := e.run(); rep.Rejected != 2 || rep.Delivered != 0 {
		t.Fatalf("rerun: %+v", rep)
	}
	e.source("id,name\n1,Ann\n2,Bob\n3,Cy\n4,Di\n5,Eve\n")
	if rep := e.run(); rep.Status != hsync.StatusOK || rep.Delivered != 2 || rep.Added != 2 {
		t.Fatalf("after fix: %+v", rep)
	}
	if e.count() != 5 {
		t.Fatalf("destination has %d rows", e.count())
	}
}

func TestMaxRejectedFailsTheRun(t *testing.T) {
	e := newEnv(t, `{connection: db, object: people, mode: upsert, primary_key: [id]}`,
		`CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT CHECK (name <> 'BAD'))`)
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := 1; i <= 10; i++ {
		b.WriteString(strconv.Itoa(i) + ",BAD\n")
	}
	e.source(b.String())
	rep := e.run()
	if rep.Status != hsync.StatusFailed || !strings.Contains(rep.Error, "max_rejected 5") {
		t.Fatalf("report %+v", rep)
	}
}

// TestMirrorMassDeleteGuard: an emptied source must not wipe the destination.
func TestMirrorMassDeleteGuard(t *testing.T) {
	e := newEnv(t, `{connection: db, object: people, mode: mirror, primary_key: [id], create_table: true}`, "")
	e.source("id,name\n1,a\n2,b\n3,c\n4,d\n")
	if rep := e.run(); rep.Status != hsync.StatusOK || rep.Delivered != 4 {
		t.Fatalf("first run %+v", rep)
	}
	e.source("id,name\n1,a\n")
	rep := e.run()
	if rep.Status != hsync.StatusFailed || !strings.Contains(rep.Error, "refusing to delete 3 of 4 rows") || rep.Delivered != 0 {
		t.Fatalf("guard: %+v", rep)
	}
	if e.count() != 4 {
		t.Fatalf("destination lost rows: %d", e.count())
	}
	p, err := e.runner.Plan(context.Background(), e.file.Syncs[0])
	if err != nil || len(p.Warnings) == 0 || p.Removed != 3 {
		t.Fatalf("plan should warn: %+v %v", p, err)
	}
	e.runner.Opt.AllowMassDelete = true
	if rep := e.run(); rep.Status != hsync.StatusOK || rep.Removed != 3 || rep.Delivered != 3 {
		t.Fatalf("allowed: %+v", rep)
	}
	if e.count() != 1 {
		t.Fatalf("destination has %d rows, want 1", e.count())
	}
}

// TestFullRefresh re-sends every row and keeps the snapshot meanwhile.
func TestFullRefresh(t *testing.T) {
	e := newEnv(t, `{connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}`, "")
	e.source("id,name\n1,a\n2,b\n3,c\n")
	e.run()
	if rep := e.run(); rep.Delivered != 0 || rep.Unchanged != 3 {
		t.Fatalf("second run %+v", rep)
	}
	e.runner.Opt.FullRefresh = true
	if rep := e.run(); rep.Delivered != 3 || rep.Resent != 3 || rep.Unchanged != 0 {
		t.Fatalf("full refresh %+v", rep)
	}
	st, _ := e.store.Get(context.Background(), "people")
	if st.SnapshotRows != 3 {
		t.Fatalf("snapshot rows %d", st.SnapshotRows)
	}
}

// TestLockExcludesSecondRunner: a second runner of the same sync waits for
// the lock timeout, then fails naming the holder.
func TestLockExcludesSecondRunner(t *testing.T) {
	e := newEnv(t, `{connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}`, "")
	e.source("id,name\n1,a\n")
	lock, err := e.store.Lock(context.Background(), "people", 0)
	if err != nil {
		t.Fatal(err)
	}
	e.runner.Opt.LockTimeout = 300 * time.Millisecond
	start := time.Now()
	rep := e.run()
	if rep.Status != hsync.StatusFailed || !strings.Contains(rep.Error, "pid") || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("locked run: %+v after %s", rep, time.Since(start))
	}
	lock.Release()
	if rep := e.run(); rep.Status != hsync.StatusOK {
		t.Fatalf("after release: %+v", rep)
	}
}

// TestCursorNeverPassesUnsentChanges: a keyed sync sends its changes in key
// order, not cursor order. Batch 0 (cursor 3) is delivered, batch 1 (cursor
// 6) fails, and the changes after it include one with cursor 1: every one of
// them must count as undelivered, so the committed cursor stays below them
// and the next run delivers all of them. (A first load sends in source
// order, so a first run with one row makes the second one diff.)
func TestCursorNeverPassesUnsentChanges(t *testing.T) {
	e := newEnv(t, `{connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}`, "")
	e.file.Syncs[0].Source.Cursor = "ver"
	e.file.Syncs[0].BatchSize = 1
	e.file.Syncs[0].Concurrency = 1
	e.source("id,name,ver\n9,i,0\n")
	if rep := e.run(); rep.Status != hsync.StatusOK {
		t.Fatalf("seeding run: %+v", rep)
	}
	// rows in cursor order, as a source ordered by its cursor delivers them
	e.source("id,name,ver\n9,i,0\n7,g,1\n8,h,2\n1,a,3\n6,f,4\n3,c,5\n2,b,6\n")
	injector.failBatch(1) // key order: 1(ver 3), 2(ver 6) fails, 3(ver 5), 6, 7(ver 1), 8
	defer injector.set(nil, 0)
	rep := e.run()
	if rep.Status != hsync.StatusFailed {
		t.Fatalf("first run: %+v", rep)
	}
	st, _ := e.store.Get(context.Background(), "people")
	if st.Cursor == nil || st.Cursor.Value != "0" {
		t.Fatalf("cursor moved to %v past undelivered rows", st.Cursor)
	}
	injector.set(nil, 0)
	if rep := e.run(); rep.Status != hsync.StatusOK {
		t.Fatalf("second run: %+v", rep)
	}
	if n := e.count(); n != 7 {
		t.Fatalf("destination has %d rows, want 7", n)
	}
}

// TestAppendWithCursor: append sends every extracted row once, and the
// cursor makes the next run send only the new ones.
func TestAppendWithCursor(t *testing.T) {
	e := newEnv(t, `{connection: db, object: people, mode: append, create_table: true}`, "")
	e.file.Syncs[0].Source.Cursor = "at"
	e.source("id,name,at\n1,a,1\n2,b,2\n")
	if rep := e.run(); rep.Status != hsync.StatusOK || rep.Delivered != 2 || rep.CursorAfter != "2" {
		t.Fatalf("first: %+v", rep)
	}
	e.source("id,name,at\n1,a,1\n2,b,2\n1,a2,3\n3,c,4\n")
	if rep := e.run(); rep.Status != hsync.StatusOK || rep.Delivered != 2 || rep.CursorAfter != "4" {
		t.Fatalf("second: %+v", rep)
	}
	if n := e.count(); n != 4 {
		t.Fatalf("destination has %d rows, want 4 appended events", n)
	}
}

// TestUpdateModeOnlyTouchesExistingKeys: update sends changed rows (and rows
// new to the snapshot, which may exist in the destination) as updates; keys
// the destination lacks are never inserted, count as not held rather than
// delivered, and stay out of the snapshot, so each run offers them again.
func TestUpdateModeOnlyTouchesExistingKeys(t *testing.T) {
	e := newEnv(t, `{connection: db, object: people, mode: update, primary_key: [id]}`,
		`CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO people VALUES (1, 'old'), (2, 'old')`)
	e.source("id,name\n1,a\n2,b\n3,new\n")
	if rep := e.run(); rep.Status != hsync.StatusOK || rep.Added != 3 || rep.Delivered != 2 || rep.NotHeld != 1 {
		t.Fatalf("first run (keys new to the snapshot go out as updates): %+v", rep)
	}
	e.source("id,name\n1,a\n2,B\n3,new\n")
	if rep := e.run(); rep.Added != 1 || rep.Changed != 1 || rep.Unchanged != 1 || rep.Delivered != 1 || rep.NotHeld != 1 {
		t.Fatalf("update run: %+v", rep)
	}
	if got := e.names(); got != "1=a 2=B" {
		t.Fatalf("destination: %s", got)
	}
	if n := e.count(); n != 2 {
		t.Fatalf("update inserted a row: %d rows", n)
	}
}
