package cli_test

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRefreshBinary: with the built binary, run from another working
// directory, a row deleted and one changed by hand in a SQLite destination
// are invisible to plan, shown by plan --refresh (exit 2 with
// --detailed-exitcode), repaired by run --refresh; then both plans exit 0.
// A destination that cannot be read back fails plan --refresh with exit 1.
func TestRefreshBinary(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(spec, []byte(goodConns+`  crm: {type: http, base_url: http://127.0.0.1:1}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
  - name: to_crm
    source: {connection: src, path: people.csv}
    destination: {connection: crm, object: c, mode: upsert, primary_key: [id], operations: {upsert: {method: POST, path: /c, batch: true}}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name\n1,Ann\n2,Bob\n3,Cy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cwd := t.TempDir() // not the spec's folder
	if res := hoist(t, cwd, nil, "run", spec, "--sync", "people"); res.code != 0 {
		t.Fatalf("run: exit %d: %s", res.code, res.stderr)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM people WHERE id = 2`, `UPDATE people SET name = 'hand' WHERE id = 3`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	if res := hoist(t, cwd, nil, "plan", spec, "--sync", "people", "--detailed-exitcode"); res.code != 0 {
		t.Fatalf("plan without --refresh: exit %d (drift is invisible to it)\n%s%s", res.code, res.stdout, res.stderr)
	}
	res := hoist(t, cwd, nil, "plan", spec, "--sync", "people", "--refresh", "--detailed-exitcode", "--output", "json")
	var pr struct {
		Added, Changed int64
		Samples        []struct {
			Op            string
			Key           map[string]any
			Before, After map[string]any
		}
	}
	if err := json.Unmarshal([]byte(res.stdout), &pr); err != nil || res.code != 2 {
		t.Fatalf("plan --refresh: exit %d, %v\n%s%s", res.code, err, res.stdout, res.stderr)
	}
	if pr.Added != 1 || pr.Changed != 1 || len(pr.Samples) != 2 || pr.Samples[1].Before["name"] != "hand" || pr.Samples[1].After["name"] != "Cy" {
		t.Errorf("plan --refresh: %s", res.stdout)
	}
	res = hoist(t, cwd, nil, "run", spec, "--sync", "people", "--refresh", "--output", "json")
	if res.code != 0 || !strings.Contains(res.stdout, `"delivered":2`) {
		t.Fatalf("run --refresh: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, args := range [][]string{{"plan", spec, "--sync", "people", "--detailed-exitcode"}, {"plan", spec, "--sync", "people", "--refresh", "--detailed-exitcode"}} {
		if res := hoist(t, cwd, nil, args...); res.code != 0 {
			t.Errorf("%v after the repair: exit %d\n%s%s", args, res.code, res.stdout, res.stderr)
		}
	}

	res = hoist(t, cwd, nil, "plan", spec, "--sync", "to_crm", "--refresh")
	if res.code != 1 || !strings.Contains(res.stderr, "--refresh is not supported for destination crm (type http)") {
		t.Errorf("plan --refresh into http: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}
