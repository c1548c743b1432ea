package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/sqlitedb"
	hsync "github.com/hoist-dev/hoist/sync"
)

// parallelSpec is a spec of many small syncs from one SQLite database to
// JSON lines files: two syncs (half_a, half_b) upserting disjoint keys of
// t1 into one file (the second a few rows only), t0…t{n-1} each to its own file, a sync whose table does not
// exist (broken) and two syncs after it (needs_broken, and needs_needs
// after that), and one after t0 (after_t0).
func parallelSpec(n int) string {
	var b strings.Builder
	b.WriteString(`version: 1
connections:
  src: {type: sqlite, path: src.db}
  out: {type: files, path: out, format: jsonl}
syncs:
`)
	sync := func(name, query, object, after string) {
		fmt.Fprintf(&b, "  - name: %s\n    source: {connection: src, query: %q}\n", name, query)
		fmt.Fprintf(&b, "    destination: {connection: out, object: %s, mode: upsert, primary_key: [id]}\n    batch_size: 50\n", object)
		if after != "" {
			fmt.Fprintf(&b, "    after: [%s]\n", after)
		}
	}
	// First, so that run in parallel they would start together, and
	// half_b, with far fewer rows, would commit first.
	sync("half_a", "select * from t1 where id >= 10", "halves", "")
	sync("half_b", "select * from t1 where id < 10", "halves", "")
	for i := range n {
		sync(fmt.Sprintf("t%d", i), fmt.Sprintf("select * from t%d", i), fmt.Sprintf("t%d", i), "")
	}
	sync("broken", "select * from no_such_table", "broken", "")
	sync("needs_broken", "select * from t2", "needs_broken", "broken")
	sync("needs_needs", "select * from t2", "needs_needs", "needs_broken")
	sync("after_t0", "select * from t0", "after_t0", "t0")
	return b.String()
}

func makeTables(t *testing.T, path string, n, rows int) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.OpenWrite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for i := range n {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE TABLE t%d (id INTEGER PRIMARY KEY, name TEXT, score REAL)", i)); err != nil {
			t.Fatal(err)
		}
		for j := range rows {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO t%d VALUES (?, ?, ?)", i), j, fmt.Sprintf("row %d of t%d", j, i), float64(j)/3); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// parallelRun is what one run of the spec left: reports, states, files and
// log lines.
type parallelRun struct {
	reports    []string
	notStarted int
	states     map[string]string
	files      map[string][]byte
	logs       []map[string]any
}

func runSpecWith(t *testing.T, n, rows, parallel int) *parallelRun {
	t.Helper()
	dir := t.TempDir()
	makeTables(t, filepath.Join(dir, "src.db"), n, rows)
	f, store := loadSpecAndStore(t, dir, parallelSpec(n))
	var logs bytes.Buffer
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}}
	sc, err := hsync.NewSchedule(f, f.Syncs)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reps, left := r.RunAll(ctx, sc, parallel)
	out := &parallelRun{notStarted: len(left), states: map[string]string{}, files: map[string][]byte{}}
	for _, rep := range reps {
		rep.RunID, rep.DurationMS = "", 0
		b, _ := json.Marshal(rep)
		out.reports = append(out.reports, strings.ReplaceAll(string(b), dir, "DIR"))
	}
	for _, s := range f.Syncs {
		st, err := store.Get(ctx, s.Name)
		if err != nil {
			t.Fatal(err)
		}
		var keys bytes.Buffer
		it, err := store.Snapshot(ctx, s.Name)
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			e := it.Entry()
			fmt.Fprintf(&keys, "%x=%x;", e.Key, e.Row)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		it.Close()
		out.states[s.Name] = fmt.Sprintf("cursor=%v rows=%d identity=%+v snapshot=%s", st.Cursor, st.SnapshotRows, st.Identity, keys.String())
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "out"))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "out", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out.files[e.Name()] = b
	}
	for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out.logs = append(out.logs, m)
	}
	return out
}

// TestParallelRunIsTheSequentialRun: with --parallel 8 a spec of small
// syncs gives exactly what --parallel 1 gives: the same reports in spec
// order (a failed sync, and the two skipped after it, included), the same
// state for every sync (cursor, snapshot rows and every snapshot entry) and
// the same files, the two syncs writing one file included; every log line
// names its sync.
func TestParallelRunIsTheSequentialRun(t *testing.T) {
	const n, rows = 16, 1000
	seq := runSpecWith(t, n, rows, 1)
	par := runSpecWith(t, n, rows, 8)

	if len(seq.reports) != n+6 || seq.notStarted != 0 {
		t.Fatalf("sequential run: %d reports, %d not started", len(seq.reports), seq.notStarted)
	}
	for i, want := range seq.reports {
		if par.reports[i] != want {
			t.Errorf("report %d:\nparallel   %s\nsequential %s", i, par.reports[i], want)
		}
	}
	var statuses []string
	for _, r := range seq.reports {
		var m map[string]any
		json.Unmarshal([]byte(r), &m)
		statuses = append(statuses, fmt.Sprintf("%s=%s", m["sync"], m["status"]))
		if m["status"] == "skipped" && !strings.Contains(fmt.Sprint(m["error"]), "it runs after") {
			t.Errorf("skipped report without its reason: %s", r)
		}
	}
	wantHead := []string{"half_a=ok", "half_b=ok"}
	wantTail := []string{"broken=failed", "needs_broken=skipped", "needs_needs=skipped", "after_t0=ok"}
	if got := append(statuses[:2:2], statuses[n+2:]...); !slices.Equal(got, append(wantHead, wantTail...)) {
		t.Fatalf("statuses %v, want %v", got, append(wantHead, wantTail...))
	}
	for name, want := range seq.states {
		if par.states[name] != want {
			t.Errorf("state of %s differs:\nparallel   %.300s\nsequential %.300s", name, par.states[name], want)
		}
	}
	if len(seq.files) != n+2 {
		t.Fatalf("sequential run wrote %d files, want %d", len(seq.files), n+2)
	}
	for name, want := range seq.files {
		if !bytes.Equal(par.files[name], want) {
			t.Errorf("out/%s differs (%d bytes parallel, %d sequential)", name, len(par.files[name]), len(want))
		}
	}
	if halves := bytes.Count(par.files["halves.jsonl"], []byte("\n")); halves != rows {
		t.Errorf("halves.jsonl holds %d rows, want %d: the two syncs writing it raced", halves, rows)
	}
	for _, m := range par.logs {
		if _, ok := m["sync"]; !ok {
			t.Errorf("log line without its sync: %v", m)
		}
	}
}

// cancelOnStart is a Progress factory that interrupts the run (Ctrl-C)
// when the named sync starts loading.
type cancelOnStart struct {
	name   string
	cancel context.CancelFunc
}

func (c *cancelOnStart) progress(sync string) hsync.Progress {
	if sync == c.name {
		c.cancel()
	}
	return nopProgress{}
}

type nopProgress struct{}

func (nopProgress) Total(int64) {}
func (nopProgress) Add(int)     {}
func (nopProgress) Finish()     {}

// TestParallelRunInterrupted: Ctrl-C in the middle of a parallel run starts
// no more syncs; the running ones stop as an interrupted sync does (failed,
// saying what was committed), the finished ones keep their state, and the
// ones not started are listed, with no state and no report.
func TestParallelRunInterrupted(t *testing.T) {
	const n, rows = 24, 400
	dir := t.TempDir()
	makeTables(t, filepath.Join(dir, "src.db"), n, rows)
	var b strings.Builder
	b.WriteString("version: 1\nconnections:\n  src: {type: sqlite, path: src.db}\n  out: {type: files, path: out, format: jsonl}\nsyncs:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: t%d\n    source: {connection: src, table: t%d}\n    destination: {connection: out, object: t%d, mode: upsert, primary_key: [id]}\n    batch_size: 20\n", i, i, i)
	}
	f, store := loadSpecAndStore(t, dir, b.String())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := &cancelOnStart{name: "t6", cancel: cancel}
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir, Progress: stop.progress}}
	sc, err := hsync.NewSchedule(f, f.Syncs)
	if err != nil {
		t.Fatal(err)
	}
	reps, left := r.RunAll(ctx, sc, 4)
	if len(reps)+len(left) != n || len(left) == 0 {
		t.Fatalf("%d reports and %d not started, want %d in all and some not started", len(reps), len(left), n)
	}
	reported := map[string]bool{}
	prev := -1
	for _, rep := range reps {
		reported[rep.Sync] = true
		var i int
		fmt.Sscanf(rep.Sync, "t%d", &i)
		if i <= prev {
			t.Fatalf("reports out of spec order: %s after t%d", rep.Sync, prev)
		}
		prev = i
		st, err := store.Get(context.Background(), rep.Sync)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case rep.Status == hsync.StatusOK && st.SnapshotRows == rows:
		case rep.Status == hsync.StatusFailed && strings.HasPrefix(rep.Error, "interrupted: ") && st.SnapshotRows == rep.Committed:
		default:
			t.Errorf("%s: %s (%s), state holds %d rows", rep.Sync, rep.Status, rep.Error, st.SnapshotRows)
		}
	}
	if !reported["t6"] {
		t.Fatalf("t6, running when interrupted, has no report")
	}
	for _, s := range left {
		if reported[s.Name] {
			t.Errorf("%s both reported and not started", s.Name)
		}
		st, err := store.Get(context.Background(), s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if st.SnapshotRows != 0 || st.LastRun != nil {
			t.Errorf("%s was not started but has state: %+v", s.Name, st)
		}
	}
}
