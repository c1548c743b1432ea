package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runReport runs hoist with --output json in dir and returns its one report.
func runReport(t *testing.T, dir string, args ...string) (rep struct {
	Status    string `json:"status"`
	Added     int64  `json:"added"`
	Delivered int64  `json:"delivered"`
	Error     string `json:"error"`
}, res result) {
	t.Helper()
	res = hoist(t, dir, nil, append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(strings.TrimSpace(res.stdout)), &rep); err != nil {
		t.Fatalf("hoist %v in %s: exit %d, report %q: %v\n%s", args, dir, res.code, res.stdout, err, res.stderr)
	}
	return rep, res
}

// TestStateFollowsTheSpecFromAnyFolder (issue 10, item 1): one spec run
// from three working directories keeps one state, beside the spec, so the
// second and third runs send nothing; README's start-over recipe (delete
// .hoist and the database) really starts over.
func TestStateFollowsTheSpecFromAnyFolder(t *testing.T) {
	proj := t.TempDir()
	specDir := filepath.Join(proj, "syncs")
	elsewhere := t.TempDir()
	os.MkdirAll(specDir, 0o755)
	os.WriteFile(filepath.Join(specDir, "people.csv"), []byte("id,name\n1,Ann\n2,Bob\n3,Cy\n"), 0o644)
	os.WriteFile(filepath.Join(specDir, "hoist.yaml"), []byte(goodConns+`syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: append, create_table: true}
    on_reject: {file: rejected.jsonl}
  - name: keyed
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: keyed, mode: upsert, primary_key: [id], create_table: true}
`), 0o644)
	spec := filepath.Join(specDir, "hoist.yaml")
	runs := []struct{ cwd, spec string }{
		{proj, "syncs/hoist.yaml"},
		{specDir, "hoist.yaml"},
		{elsewhere, spec},
	}
	for i, r := range runs {
		rep, res := runReport(t, r.cwd, "run", r.spec, "--sync", "keyed")
		want := int64(0)
		if i == 0 {
			want = 3
		}
		if res.code != 0 || rep.Delivered != want {
			t.Fatalf("run %d from %s: exit %d, %+v, want %d delivered\n%s", i+1, r.cwd, res.code, rep, want, res.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(specDir, ".hoist", "hoist.yaml", "keyed", "state.json")); err != nil {
		t.Fatalf("state is not beside the spec: %v", err)
	}
	for _, stray := range []string{filepath.Join(proj, ".hoist"), filepath.Join(elsewhere, ".hoist"), filepath.Join(specDir, "syncs"), filepath.Join(proj, "dest.db")} {
		if _, err := os.Stat(stray); err == nil {
			t.Fatalf("%s was written: a relative path was resolved against the working directory", stray)
		}
	}
	// The start-over recipe: delete the state and the database.
	os.RemoveAll(filepath.Join(specDir, ".hoist"))
	os.Remove(filepath.Join(specDir, "dest.db"))
	if rep, res := runReport(t, proj, "run", "syncs/hoist.yaml", "--sync", "keyed"); res.code != 0 || rep.Delivered != 3 {
		t.Fatalf("run after starting over: exit %d %+v %s", res.code, rep, res.stderr)
	}
	// --state on the command line is relative to the working directory.
	if res := hoist(t, elsewhere, nil, "run", spec, "--sync", "people", "--state", "file://st"); res.code != 0 {
		t.Fatalf("run --state: %d %s", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "st", "people", "state.json")); err != nil {
		t.Fatalf("--state file://st is not relative to the working directory: %v", err)
	}
}

// TestTwoSpecsInOneFolderKeepTheirOwnState (item 2): two specs beside each
// other with a sync of the same name each get their own state.
func TestTwoSpecsInOneFolderKeepTheirOwnState(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name\n1,Ann\n2,Bob\n"), 0o644)
	for _, name := range []string{"a", "b"} {
		os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(goodConns+`syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people_`+name+`, mode: upsert, primary_key: [id], create_table: true}
`), 0o644)
	}
	for _, name := range []string{"a", "b"} {
		if rep, res := runReport(t, dir, "run", name+".yaml"); res.code != 0 || rep.Delivered != 2 {
			t.Fatalf("spec %s: exit %d %+v %s", name, res.code, rep, res.stderr)
		}
	}
}

// TestLegacyStateIsAdopted: the state an earlier hoist kept in .hoist/<sync>
// is read by plan and moved in by the next run, which sends nothing.
func TestLegacyStateIsAdopted(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name\n1,Ann\n2,Bob\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(goodConns+`syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
`), 0o644)
	// --state file://.hoist from the spec's folder is the old default layout.
	if rep, res := runReport(t, dir, "run", "hoist.yaml", "--state", "file://.hoist"); res.code != 0 || rep.Delivered != 2 {
		t.Fatalf("first run: %d %+v %s", res.code, rep, res.stderr)
	}
	plan := hoist(t, dir, nil, "plan", "hoist.yaml", "--detailed-exitcode")
	if plan.code != 0 {
		t.Fatalf("plan does not read the legacy state: exit %d %s %s", plan.code, plan.stdout, plan.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".hoist", "hoist.yaml")); err == nil {
		t.Fatal("plan wrote state")
	}
	if rep, res := runReport(t, dir, "run", "hoist.yaml"); res.code != 0 || rep.Delivered != 0 {
		t.Fatalf("run on legacy state: %d %+v %s", res.code, rep, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".hoist", "hoist.yaml", "people", "state.json")); err != nil {
		t.Fatalf("legacy state not moved in: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".hoist", "people")); err == nil {
		t.Fatal("legacy folder left behind")
	}
}
