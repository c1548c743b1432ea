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
