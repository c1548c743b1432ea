package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitWritesAValidSpec: hoist init writes the starter spec, refuses to
// overwrite it, and the spec validates.
func TestInitWritesAValidSpec(t *testing.T) {
	dir := t.TempDir()
	if res := hoist(t, dir, nil, "init"); res.code != 0 {
		t.Fatalf("init: %d %s", res.code, res.stderr)
	}
	if res := hoist(t, dir, nil, "init"); res.code != 1 || !strings.Contains(res.stderr, "already exists") {
		t.Fatalf("second init: %d %s", res.code, res.stderr)
	}
	if res := hoist(t, dir, nil, "validate", "hoist.yaml"); res.code != 0 {
		t.Fatalf("starter spec does not validate: %s", res.stderr)
	}
}

// TestPlanDetailedExitCode: 2 while changes are pending, 0 once run applied
// them; plan writes no state.
func TestPlanDetailedExitCode(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name\n1,Ann\n2,Bob\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(goodConns+`syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
`), 0o644)
	res := hoist(t, dir, nil, "plan", "hoist.yaml", "--detailed-exitcode", "--output", "json")
	if res.code != 2 || !strings.Contains(res.stdout, `"added":2`) {
		t.Fatalf("pending plan: exit %d %s %s", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".hoist")); err == nil {
		t.Fatal("plan wrote state")
	}
	if res := hoist(t, dir, nil, "run", "hoist.yaml"); res.code != 0 {
		t.Fatalf("run: %s", res.stderr)
	}
	if res := hoist(t, dir, nil, "plan", "hoist.yaml", "--detailed-exitcode"); res.code != 0 {
		t.Fatalf("plan after run: exit %d %s", res.code, res.stdout)
	}
	if res := hoist(t, dir, nil, "version", "--output", "json"); res.code != 0 || !strings.Contains(res.stdout, `"version"`) {
		t.Fatalf("version: %s", res.stdout)
	}
}

// TestStateCommandsAndSyncSelection: --sync picks syncs, --state moves the
// store, state show reports the cursor, state reset forgets it, and an
// unknown --sync is an error naming the known ones.
func TestStateCommandsAndSyncSelection(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name,at\n1,Ann,5\n2,Bob,7\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(goodConns+`syncs:
  - name: a
    source: {connection: src, path: people.csv, cursor: at}
    destination: {connection: db, object: a, mode: upsert, primary_key: [id], create_table: true}
  - name: b
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: b, mode: append, create_table: true}
`), 0o644)
	other := filepath.Join(t.TempDir(), "state")
	res := hoist(t, dir, nil, "run", "hoist.yaml", "--sync", "a", "--state", "file://"+other, "--output", "json")
	if res.code != 0 || strings.Count(res.stdout, "\n") != 1 || !strings.Contains(res.stdout, `"cursor_after":"7"`) {
		t.Fatalf("run --sync a: exit %d %s %s", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".hoist")); err == nil {
		t.Fatal("--state was ignored: .hoist/ was written beside the spec")
	}
	show := hoist(t, dir, nil, "state", "show", "hoist.yaml", "--state", "file://"+other, "--sync", "a")
	if show.code != 0 || !strings.Contains(show.stdout, "cursor:   7") || !strings.Contains(show.stdout, "snapshot: 2 rows") {
		t.Fatalf("state show: %s %s", show.stdout, show.stderr)
	}
	if res := hoist(t, dir, nil, "state", "reset", "hoist.yaml", "--state", "file://"+other); res.code != 1 || !strings.Contains(res.stderr, "--sync") {
		t.Fatalf("reset without --sync must refuse: %d %s", res.code, res.stderr)
	}
	if res := hoist(t, dir, nil, "state", "reset", "hoist.yaml", "--state", "file://"+other, "--sync", "a"); res.code != 0 {
		t.Fatalf("reset: %s", res.stderr)
	}
	show = hoist(t, dir, nil, "state", "show", "hoist.yaml", "--state", "file://"+other, "--sync", "a", "--output", "json")
	if strings.Contains(show.stdout, `"cursor"`) || !strings.Contains(show.stdout, `"snapshot_rows":0`) {
		t.Fatalf("after reset: %s", show.stdout)
	}
	if res := hoist(t, dir, nil, "run", "hoist.yaml", "--sync", "nope"); res.code != 1 || !strings.Contains(res.stderr, "no sync named nope (syncs: a, b)") {
		t.Fatalf("unknown sync: %d %s", res.code, res.stderr)
	}
}

// TestValidateConnect: an unreachable database passes plain validate (the
// spec is fine) and fails validate --connect, naming the connection's line.
func TestValidateConnect(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(`version: 1
connections:
  wh: {type: postgres, url: "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: a
    source: {connection: wh, table: people}
    destination: {connection: db, object: a, mode: upsert, primary_key: [id], create_table: true}
`), 0o644)
	if res := hoist(t, dir, nil, "validate", "hoist.yaml"); res.code != 0 {
		t.Fatalf("validate: %s", res.stderr)
	}
	res := hoist(t, dir, nil, "validate", "hoist.yaml", "--connect")
	if res.code != 1 || !strings.Contains(res.stderr, "hoist.yaml:3: connections.wh") {
		t.Fatalf("validate --connect: exit %d %s", res.code, res.stderr)
	}
}
