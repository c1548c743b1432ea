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
