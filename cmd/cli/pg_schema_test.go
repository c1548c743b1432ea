package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/pgtest"
)

// TestIntegrationPostgresNewMappedColumn: a column added to the source of an
// existing Postgres table. Without create_table, plan says the run would
// fail and names the column (it used to show a clean plan, and run failed);
// with create_table, plan is clean and run adds the column, as for SQLite.
func TestIntegrationPostgresNewMappedColumn(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE people (id bigint PRIMARY KEY, name text)`, `INSERT INTO people VALUES (1, 'Ann')`)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name,score\n1,Ann,5\n2,Bob,7\n"), 0o644)
	spec := func(create bool) {
		os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(fmt.Sprintf(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  pg: {type: postgres, url: "%s"}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: pg, object: %s.people, mode: upsert, primary_key: [id], create_table: %v}
`, db.URL, db.Schema, create)), 0o644)
	}
	spec(false)
	want := `run would fail: sync people: open postgres table ` + db.Schema + `.people: column "score" does not exist in the table`
	if res := hoist(t, dir, nil, "plan", "hoist.yaml"); !strings.Contains(res.stdout, want) {
		t.Fatalf("plan without create_table: exit %d\n%s%s\nwant %q", res.code, res.stdout, res.stderr, want)
	}
	if res := hoist(t, dir, nil, "run", "hoist.yaml"); res.code != 1 || !strings.Contains(res.stderr, `score\" does not exist in the table`) {
		t.Fatalf("run without create_table: exit %d\n%s", res.code, res.stderr)
	}
	spec(true)
	if res := hoist(t, dir, nil, "plan", "hoist.yaml"); res.code != 0 || strings.Contains(res.stdout, "run would fail") {
		t.Fatalf("plan with create_table: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := hoist(t, dir, nil, "run", "hoist.yaml"); res.code != 0 {
		t.Fatalf("run with create_table: exit %d\n%s", res.code, res.stderr)
	}
	if got := strings.Join(db.Strings(t, "SELECT format('%s:%s:%s', id, name, score) FROM people ORDER BY id"), " "); got != "1:Ann:5 2:Bob:7" {
		t.Fatalf("table %q", got)
	}
}

// TestIntegrationPostgresHeaderOnlyCSV: create_table from a header-only CSV
// file fails naming the column and file (plan says so first) and creates no
// all-text table.
func TestIntegrationPostgresHeaderOnlyCSV(t *testing.T) {
	db := pgtest.New(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(fmt.Sprintf(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  pg: {type: postgres, url: "%s"}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: pg, object: %s.people, mode: upsert, primary_key: [id], create_table: true}
`, db.URL, db.Schema)), 0o644)
	want := `column "id": no type to create it with (people.csv has no data rows`
	if res := hoist(t, dir, nil, "plan", "hoist.yaml"); !strings.Contains(res.stdout, "run would fail") || !strings.Contains(res.stdout, want) {
		t.Fatalf("plan: exit %d\n%s%s\nwant %q", res.code, res.stdout, res.stderr, want)
	}
	if res := hoist(t, dir, nil, "run", "hoist.yaml"); res.code != 1 || !strings.Contains(res.stderr, strings.ReplaceAll(want, `"`, `\"`)) {
		t.Fatalf("run: exit %d\n%s", res.code, res.stderr)
	}
	if n := db.Strings(t, "SELECT count(*)::text FROM pg_tables WHERE schemaname = $1", db.Schema); n[0] != "0" {
		t.Fatalf("a table was created")
	}
}
