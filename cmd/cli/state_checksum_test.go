package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEditedStateIsRefused (issue 10, item 6): a cursor edited by hand in
// state.json (still valid JSON) makes plan and run exit 1 naming the file
// and the way out, instead of silently syncing from the edited cursor; the
// `state reset` the message names starts the sync over.
func TestEditedStateIsRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name,at\n1,Ann,5\n2,Bob,7\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(goodConns+`syncs:
  - name: a
    source: {connection: src, path: people.csv, cursor: at}
    destination: {connection: db, object: a, mode: upsert, primary_key: [id], create_table: true}
`), 0o644)
	if rep, res := runReport(t, dir, "run", "hoist.yaml"); res.code != 0 || rep.Delivered != 2 {
		t.Fatalf("first run: %d %+v %s", res.code, rep, res.stderr)
	}
	path := filepath.Join(dir, ".hoist", "hoist.yaml", "a", "state.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), `"value": "7"`, `"value": "5"`, 1)
	if edited == string(b) {
		t.Fatalf("no cursor to edit in %s", b)
	}
	os.WriteFile(path, []byte(edited), 0o644)
	for _, cmd := range []string{"plan", "run"} {
		res := hoist(t, dir, nil, cmd, "hoist.yaml")
		if res.code != 1 || !strings.Contains(res.stderr, path) || !strings.Contains(res.stderr, "checksum") || !strings.Contains(res.stderr, "hoist state reset") {
			t.Fatalf("%s on an edited state.json: exit %d\n%s%s", cmd, res.code, res.stdout, res.stderr)
		}
	}
	if res := hoist(t, dir, nil, "state", "reset", "hoist.yaml", "--sync", "a"); res.code != 0 {
		t.Fatalf("state reset: %d %s", res.code, res.stderr)
	}
	if rep, res := runReport(t, dir, "run", "hoist.yaml"); res.code != 0 || rep.Delivered != 2 {
		t.Fatalf("run after reset: %d %+v %s", res.code, rep, res.stderr)
	}
}
