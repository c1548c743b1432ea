package cli_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTruncatedJSONLDoesNotDeleteInMirror: a JSON Lines file whose last
// record was cut short (copied while still being written) must fail the run
// naming the file and line; reading it as the end of the file would make
// mirror mode delete that row from the destination.
func TestTruncatedJSONLDoesNotDeleteInMirror(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "people.jsonl")
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(`version: 1
connections:
  src: {type: files, path: ., format: jsonl}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: people
    source: {connection: src, path: people.jsonl}
    destination: {connection: db, object: people, mode: mirror, primary_key: [id], create_table: true}
`), 0o644)
	os.WriteFile(src, []byte("{\"id\":1,\"name\":\"Ann\"}\n{\"id\":2,\"name\":\"Bob\"}\n{\"id\":3,\"name\":\"Cy\"}\n"), 0o644)
	if res := hoist(t, dir, nil, "run", "hoist.yaml"); res.code != 0 {
		t.Fatalf("first run: exit %d: %s", res.code, res.stderr)
	}
	os.WriteFile(src, []byte("{\"id\":1,\"name\":\"Ann\"}\n{\"id\":2,\"name\":\"Bob\"}\n{\"id\":3"), 0o644)
	for _, cmd := range []string{"plan", "run"} {
		res := hoist(t, dir, nil, cmd, "hoist.yaml")
		if res.code != 1 || !strings.Contains(res.stderr, "people.jsonl: line 3: truncated record") {
			t.Fatalf("%s on a truncated file: exit %d\n%s%s", cmd, res.code, res.stdout, res.stderr)
		}
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM people WHERE id = 3`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("row 3 after the failed run: count %d, err %v (want it kept)", n, err)
	}
}

// TestHeaderOnlyCSVCreatesNoTable: a CSV file with only its header says
// nothing of its columns' types; create_table must not make an all-text
// table of it (which would then mangle or refuse the typed rows of the next
// run), but fail naming the column and the file.
func TestHeaderOnlyCSVCreatesNoTable(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(goodConns+`syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name,joined\n"), 0o644)
	res := hoist(t, dir, nil, "run", "hoist.yaml")
	if want := `field \"id\": no type to create it with (people.csv has no data rows`; res.code != 1 || !strings.Contains(res.stderr, want) {
		t.Fatalf("run on a header-only file: exit %d\n%s\nwant %q", res.code, res.stderr, want)
	}
	// The next file with rows creates the table with the types they show.
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name,joined\n1,Ann,2024-01-31\n"), 0o644)
	if res := hoist(t, dir, nil, "run", "hoist.yaml"); res.code != 0 {
		t.Fatalf("run with rows: exit %d\n%s", res.code, res.stderr)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var decl string
	if err := db.QueryRow(`SELECT type FROM pragma_table_info('people') WHERE name = 'id'`).Scan(&decl); err != nil || decl != "INTEGER" {
		t.Fatalf("id column declared %q (%v), want INTEGER", decl, err)
	}
}
