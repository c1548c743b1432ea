package sync_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// refreshEnv is one sync from a CSV file into a destination the test edits
// by hand between runs.
type refreshEnv struct {
	t     *testing.T
	dir   string
	file  *spec.File
	store state.Store
}

func newRefreshEnv(t *testing.T, conns, dest, extra string) *refreshEnv {
	t.Helper()
	dir := t.TempDir()
	text := `version: 1
connections:
  src: {type: files, path: ., format: csv}
` + conns + `
syncs:
  - name: people
    source: {connection: src, path: people.csv` + extra + `}
    destination: ` + dest + `
    batch_size: 2
`
	f, store := loadSpecAndStore(t, dir, text)
	return &refreshEnv{t: t, dir: dir, file: f, store: store}
}

func (e *refreshEnv) source(csv string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, "people.csv"), []byte(csv), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *refreshEnv) runner(refresh bool) *hsync.Runner {
	return &hsync.Runner{File: e.file, Store: e.store, Opt: hsync.Options{TempDir: e.dir, Refresh: refresh, SortMemory: 64}}
}

func (e *refreshEnv) run(refresh bool) *hsync.Report {
	e.t.Helper()
	rep := e.runner(refresh).Run(context.Background(), e.file.Syncs[0])
	if rep.Status != hsync.StatusOK {
		e.t.Fatalf("run (refresh=%v): %s %s", refresh, rep.Status, rep.Error)
	}
	return rep
}

func (e *refreshEnv) plan(refresh bool) *hsync.PlanReport {
	e.t.Helper()
	pr, err := e.runner(refresh).Plan(context.Background(), e.file.Syncs[0])
	if err != nil {
		e.t.Fatalf("plan (refresh=%v): %v", refresh, err)
	}
	return pr
}

// samples renders a plan's samples as "op key before→after" lines.
func samples(pr *hsync.PlanReport) string {
	var out []string
	for _, s := range pr.Samples {
		line := fmt.Sprintf("%s %v", s.Op, s.Key["id"])
		var fs []string
		for f := range s.After {
			fs = append(fs, f)
		}
		sort.Strings(fs)
		for _, f := range fs {
			if s.Before != nil {
				line += fmt.Sprintf(" %s:%v→%v", f, s.Before[f], s.After[f])
			} else {
				line += fmt.Sprintf(" %s:%v", f, s.After[f])
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "; ")
}

func counts(pr *hsync.PlanReport) string {
	return fmt.Sprintf("+%d ~%d -%d", pr.Added, pr.Changed, pr.Removed)
}

func sqliteExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func sqliteRows(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id || '=' || name FROM people ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

const refreshPeople = "id,name,score\n1,Ann,1.50\n2,Bo,2.25\n3,Cy,3.00\n4,Di,4.75\n5,Ed,5.10\n"

// TestRefreshSQLiteModes: rows deleted, changed and added by hand in the
// destination are invisible to plan; plan --refresh shows exactly that drift
// as each mode would repair it, run --refresh repairs it, and afterwards
// plan, plan --refresh and a normal run find nothing to do.
func TestRefreshSQLiteModes(t *testing.T) {
	for _, tc := range []struct {
		mode      string
		plan      string // counts of plan --refresh
		samples   string
		delivered int64
		after     string // destination after run --refresh
		warning   string
	}{
		{mode: "upsert", plan: "+1 ~1 -0", samples: "add 2 id:2 name:Bo score:2.25; change 3 name:Hand→Cy",
			delivered: 2, after: "1=Ann 2=Bo 3=Cy 4=Di 5=Ed 99=Extra"},
		{mode: "mirror", plan: "+1 ~1 -1", samples: "add 2 id:2 name:Bo score:2.25; change 3 name:Hand→Cy; remove 99",
			delivered: 3, after: "1=Ann 2=Bo 3=Cy 4=Di 5=Ed"},
		// insert leaves the hand-changed row alone: it counts as unchanged
		// (plan and run count alike), so nothing is pending after the repair.
		{mode: "insert", plan: "+1 ~0 -0", samples: "add 2 id:2 name:Bo score:2.25",
			delivered: 1, after: "1=Ann 2=Bo 3=Hand 4=Di 5=Ed 99=Extra"},
		// update cannot insert the missing key; like a normal update run it
		// records it as sent, so later runs do not try again.
		{mode: "update", plan: "+0 ~1 -0", samples: "change 3 name:Hand→Cy",
			delivered: 1, after: "1=Ann 3=Cy 4=Di 5=Ed 99=Extra", warning: "1 source keys are missing from the destination"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			e := newRefreshEnv(t, "  db: {type: sqlite, path: ./dest.db}",
				`{connection: db, object: people, mode: `+tc.mode+`, primary_key: [id], create_table: true}`, "")
			if tc.mode == "update" {
				sqliteExec(t, filepath.Join(e.dir, "dest.db"), `CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, score TEXT)`,
					`INSERT INTO people VALUES (1,'x','0'),(2,'x','0'),(3,'x','0'),(4,'x','0'),(5,'x','0')`)
			}
			e.source(refreshPeople)
			e.run(false)
			db := filepath.Join(e.dir, "dest.db")
			sqliteExec(t, db, `DELETE FROM people WHERE id = 2`, `UPDATE people SET name = 'Hand' WHERE id = 3`,
				`INSERT INTO people (id, name, score) VALUES (99, 'Extra', '9')`)

			if pr := e.plan(false); pr.Pending() {
				t.Fatalf("plan without --refresh sees the drift: %s %s", counts(pr), samples(pr))
			}
			pr := e.plan(true)
			if got := counts(pr); got != tc.plan {
				t.Errorf("plan --refresh: %s, want %s", got, tc.plan)
			}
			if got := samples(pr); got != tc.samples {
				t.Errorf("plan --refresh samples:\n got %s\nwant %s", got, tc.samples)
			}
			if tc.warning != "" && !strings.Contains(strings.Join(pr.Warnings, "\n"), tc.warning) {
				t.Errorf("warnings %q lack %q", pr.Warnings, tc.warning)
			}

			rep := e.run(true)
			if rep.Delivered != tc.delivered {
				t.Errorf("run --refresh delivered %d, want %d", rep.Delivered, tc.delivered)
			}
			if got := sqliteRows(t, db); got != tc.after {
				t.Errorf("destination after run --refresh: %s, want %s", got, tc.after)
			}
			if pr := e.plan(true); pr.Pending() {
				t.Errorf("plan --refresh after the repair: %s %s", counts(pr), samples(pr))
			}
			if pr := e.plan(false); pr.Pending() {
				t.Errorf("plan after the repair: %s %s", counts(pr), samples(pr))
			}
			if rep := e.run(false); rep.Delivered != 0 {
				t.Errorf("a normal run after run --refresh delivered %d, want 0", rep.Delivered)
			}
			if got := sqliteRows(t, db); got != tc.after {
				t.Errorf("destination after the normal run: %s, want %s", got, tc.after)
			}
		})
	}
}

// TestRefreshTruncatedAndCursor: a truncated destination is refilled by
// run --refresh even though the sync has a cursor that says every row was
// delivered; the refresh ignores the cursor, as --full-refresh does.
func TestRefreshTruncatedAndCursor(t *testing.T) {
	e := newRefreshEnv(t, "  db: {type: sqlite, path: ./dest.db}",
		`{connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}`, ", cursor: id")
	e.source(refreshPeople)
	e.run(false)
	db := filepath.Join(e.dir, "dest.db")
	sqliteExec(t, db, `DELETE FROM people`)
	if pr := e.plan(false); pr.Pending() {
		t.Fatalf("plan without --refresh: %s", counts(pr))
	}
	if pr := e.plan(true); counts(pr) != "+5 ~0 -0" {
		t.Errorf("plan --refresh on the truncated table: %s, want +5 ~0 -0", counts(pr))
	}
	if rep := e.run(true); rep.Delivered != 5 {
		t.Errorf("run --refresh delivered %d, want 5", rep.Delivered)
	}
	if got := sqliteRows(t, db); got != "1=Ann 2=Bo 3=Cy 4=Di 5=Ed" {
		t.Errorf("destination: %s", got)
	}
	st, err := e.store.Get(context.Background(), "people")
	if err != nil {
		t.Fatal(err)
	}
	if st.Cursor.String() != "5" || st.SnapshotRows != 5 {
		t.Errorf("state after run --refresh: cursor %s, %d snapshot rows; want 5 and 5", st.Cursor, st.SnapshotRows)
	}
	if pr := e.plan(true); pr.Pending() {
		t.Errorf("plan --refresh after the repair: %s", counts(pr))
	}
}

// TestRefreshUnsupported: a destination that cannot be read back fails with
// an error naming it; append and replace take --refresh as a no-op and say so.
func TestRefreshUnsupported(t *testing.T) {
	e := newRefreshEnv(t, "  crm: {type: http, base_url: http://127.0.0.1:1}",
		`{connection: crm, object: contacts, mode: upsert, primary_key: [id], operations: {upsert: {method: POST, path: /c, batch: true}}}`, "")
	e.source(refreshPeople)
	_, err := e.runner(true).Plan(context.Background(), e.file.Syncs[0])
	if err == nil || !strings.Contains(err.Error(), "--refresh is not supported for destination crm (type http)") {
		t.Errorf("plan --refresh into http: %v", err)
	}
	rep := e.runner(true).Run(context.Background(), e.file.Syncs[0])
	if rep.Status != hsync.StatusFailed || !strings.Contains(rep.Error, "--refresh is not supported for destination crm") {
		t.Errorf("run --refresh into http: %s %s", rep.Status, rep.Error)
	}

	a := newRefreshEnv(t, "  db: {type: sqlite, path: ./dest.db}",
		`{connection: db, object: people, mode: append, create_table: true}`, "")
	a.source(refreshPeople)
	pr := a.plan(true)
	if !strings.Contains(strings.Join(pr.Warnings, "\n"), "--refresh has no effect in mode append") {
		t.Errorf("plan --refresh in mode append: warnings %q", pr.Warnings)
	}
	if rep := a.run(true); rep.Delivered != 5 {
		t.Errorf("run --refresh in mode append delivered %d, want 5", rep.Delivered)
	}
}

// TestRefreshFilesDrift: a files destination edited by hand (a line
// deleted, a value changed, a line added) is repaired by run --refresh in
// mode mirror, for each text format.
func TestRefreshFilesDrift(t *testing.T) {
	for _, format := range []string{"csv", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			e := newRefreshEnv(t, "  out: {type: files, path: ./out}",
				`{connection: out, object: people.`+format+`, mode: mirror, primary_key: [id]}`, "")
			e.source(refreshPeople)
			e.run(false)
			path := filepath.Join(e.dir, "out", "people."+format)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, line := range strings.SplitAfter(string(data), "\n") {
				switch {
				case strings.Contains(line, "Bo"):
					continue // deleted by hand
				case strings.Contains(line, "Cy"):
					line = strings.Replace(line, "Cy", "Hand", 1)
				}
				kept = append(kept, line)
			}
			extra := "99,Extra,9.00\n"
			if format == "jsonl" {
				extra = `{"id":99,"name":"Extra","score":"9.00"}` + "\n"
			}
			if err := os.WriteFile(path, []byte(strings.Join(kept, "")+extra), 0o644); err != nil {
				t.Fatal(err)
			}
			if pr := e.plan(false); pr.Pending() {
				t.Fatalf("plan without --refresh: %s", counts(pr))
			}
			pr := e.plan(true)
			if got := counts(pr); got != "+1 ~1 -1" {
				t.Errorf("plan --refresh: %s, want +1 ~1 -1 (%s)", got, samples(pr))
			}
			if got, want := samples(pr), "add 2 id:2 name:Bo score:2.25; change 3 name:Hand→Cy; remove 99"; got != want {
				t.Errorf("plan --refresh samples:\n got %s\nwant %s", got, want)
			}
			if rep := e.run(true); rep.Delivered != 3 {
				t.Errorf("run --refresh delivered %d, want 3", rep.Delivered)
			}
			for _, refresh := range []bool{false, true} {
				if pr := e.plan(refresh); pr.Pending() {
					t.Errorf("plan (refresh=%v) after the repair: %s %s", refresh, counts(pr), samples(pr))
				}
			}
			data, _ = os.ReadFile(path)
			for _, want := range []string{"Ann", "Bo", "Cy", "Di", "Ed"} {
				if !strings.Contains(string(data), want) {
					t.Errorf("repaired file lacks %s:\n%s", want, data)
				}
			}
			if strings.Contains(string(data), "Extra") || strings.Contains(string(data), "Hand") {
				t.Errorf("repaired file keeps hand edits:\n%s", data)
			}
		})
	}
}

// TestRefreshRebuildsSnapshot: run --refresh leaves the snapshot equal to
// the destination, not just patched by what it sent. After a state reset the
// destination already matches the source, so run --refresh sends nothing,
// and the next normal run must not re-send every row; a row inserted into
// the destination by hand (and left alone by insert mode) is in the
// snapshot too, so the normal run does not try to insert it again.
func TestRefreshRebuildsSnapshot(t *testing.T) {
	e := newRefreshEnv(t, "  db: {type: sqlite, path: ./dest.db}",
		`{connection: db, object: people, mode: insert, primary_key: [id], create_table: true}`, "")
	e.source(refreshPeople)
	e.run(false)
	if err := e.store.Reset(context.Background(), "people"); err != nil {
		t.Fatal(err)
	}
	sqliteExec(t, filepath.Join(e.dir, "dest.db"), `INSERT INTO people (id, name, score) VALUES (6, 'Hand', '6.00')`)
	e.source(refreshPeople + "6,Fay,6.00\n")
	if rep := e.run(true); rep.Delivered != 0 {
		t.Errorf("run --refresh after a state reset delivered %d, want 0", rep.Delivered)
	}
	st, err := e.store.Get(context.Background(), "people")
	if err != nil {
		t.Fatal(err)
	}
	if st.SnapshotRows != 6 {
		t.Errorf("snapshot holds %d rows after run --refresh, want the destination's 6", st.SnapshotRows)
	}
	if rep := e.run(false); rep.Delivered != 0 {
		t.Errorf("a normal run after run --refresh delivered %d, want 0", rep.Delivered)
	}
}
