package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/sqlitedb"
)

// parallelFixture writes, in a new folder, a SQLite database of n small
// tables and a spec syncing each to a JSON lines file, plus a sync of a
// missing table (broken) and one after it (after_broken).
func parallelFixture(t *testing.T, n, rows int) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlitedb.OpenWrite(ctx, filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("version: 1\nconnections:\n  src: {type: sqlite, path: src.db}\n  out: {type: files, path: out, format: jsonl}\nsyncs:\n")
	for i := range n {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE TABLE t%d (id INTEGER PRIMARY KEY, email TEXT, updated_at TIMESTAMP)", i)); err != nil {
			t.Fatal(err)
		}
		for j := range rows {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO t%d VALUES (?, ?, ?)", i), j, fmt.Sprintf("u%d@t%d.example", j, i), fmt.Sprintf("2026-01-01 00:%02d:%02d", j/60%60, j%60)); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintf(&b, "  - name: s%d\n    source: {connection: src, table: t%d, cursor: updated_at}\n    destination: {connection: out, object: t%d, mode: upsert, primary_key: [id]}\n", i, i, i)
		if i == 1 {
			b.WriteString("  - name: broken\n    source: {connection: src, table: missing}\n    destination: {connection: out, object: broken, mode: upsert, primary_key: [id]}\n")
			b.WriteString("  - name: after_broken\n    source: {connection: src, table: t0}\n    destination: {connection: out, object: after_broken, mode: upsert, primary_key: [id]}\n    after: [broken]\n")
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	varying  = regexp.MustCompile(`"(run_id|duration_ms|started_at)":("[^"]*"|[0-9]+)`)
	tempPath = regexp.MustCompile(`/tmp/[^"]*/src\.db`)
)

// stable drops what differs from run to run in reports and states.
func stable(s string) string {
	return tempPath.ReplaceAllString(varying.ReplaceAllString(s, ""), "SRC")
}

// TestParallelBinary: the built binary with --parallel 8 prints the same
// JSON reports in the same (spec) order as --parallel 1, exits with the
// same code (1: a sync failed and the one after it was skipped), leaves the
// same state and the same files; every log line names its sync, and the
// skipped sync says why.
func TestParallelBinary(t *testing.T) {
	const n, rows = 40, 200
	type run struct {
		res   result
		state string
		files map[string]string
	}
	do := func(parallel string) run {
		dir := parallelFixture(t, n, rows)
		res := hoist(t, dir, nil, "run", "hoist.yaml", "--parallel", parallel, "-o", "json", "--log-format", "json")
		st := hoist(t, dir, nil, "state", "show", "hoist.yaml", "-o", "json")
		if st.code != 0 {
			t.Fatalf("state show: %d %s", st.code, st.stderr)
		}
		files := map[string]string{}
		entries, _ := os.ReadDir(filepath.Join(dir, "out"))
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(dir, "out", e.Name()))
			files[e.Name()] = string(b)
		}
		return run{res, st.stdout, files}
	}
	seq, par := do("1"), do("8")
	if seq.res.code != 1 || par.res.code != 1 {
		t.Fatalf("exit codes %d (sequential) and %d (parallel), want 1 and 1\n%s", seq.res.code, par.res.code, par.res.stderr)
	}
	if got, want := stable(par.res.stdout), stable(seq.res.stdout); got != want {
		t.Fatalf("reports differ:\nparallel:\n%s\nsequential:\n%s", got, want)
	}
	lines := strings.Split(strings.TrimSpace(par.res.stdout), "\n")
	if len(lines) != n+2 {
		t.Fatalf("%d report lines, want %d", len(lines), n+2)
	}
	var skipped map[string]any
	if err := json.Unmarshal([]byte(lines[3]), &skipped); err != nil {
		t.Fatal(err)
	}
	if skipped["sync"] != "after_broken" || skipped["status"] != "skipped" || skipped["error"] != "skipped: it runs after broken, which failed; nothing was sent" {
		t.Fatalf("report 3: %s", lines[3])
	}
	if got, want := stable(par.state), stable(seq.state); got != want {
		t.Fatalf("states differ:\nparallel:\n%s\nsequential:\n%s", got, want)
	}
	if !strings.Contains(par.state, `"cursor":{"kind":"timestamp"`) {
		t.Fatalf("no cursor in the states: %.500s", par.state)
	}
	if len(seq.files) != n {
		t.Fatalf("%d files, want %d", len(seq.files), n)
	}
	for name, want := range seq.files {
		if par.files[name] != want {
			t.Errorf("out/%s differs", name)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(par.res.stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stderr line not a JSON log line: %q", line)
		}
		if m["sync"] == nil {
			t.Errorf("log line without its sync: %s", line)
		}
	}
}

// TestParallelFlagsAndAfter: --parallel below 1 is refused; an after cycle
// is a validation error naming file, line and entry; --sync runs a sync
// without the sync it runs after, and says so.
func TestParallelFlagsAndAfter(t *testing.T) {
	dir := parallelFixture(t, 2, 5)
	for _, cmd := range []string{"run", "plan"} {
		res := hoist(t, dir, nil, cmd, "hoist.yaml", "--parallel", "0")
		if res.code != 1 || !strings.Contains(res.stderr, "--parallel must be at least 1 (got 0)") {
			t.Fatalf("%s --parallel 0: exit %d: %s", cmd, res.code, res.stderr)
		}
	}
	res := hoist(t, dir, nil, "run", "hoist.yaml", "--sync", "after_broken", "-o", "json")
	if res.code != 0 || !strings.Contains(res.stdout, `"sync":"after_broken","status":"ok"`) ||
		!strings.Contains(res.stderr, "sync runs without waiting for a sync it runs after: --sync did not select it") ||
		!strings.Contains(res.stderr, "after=broken") {
		t.Fatalf("--sync after_broken: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = hoist(t, dir, nil, "plan", "hoist.yaml", "--parallel", "3", "-o", "json")
	if res.code != 1 || strings.Count(res.stdout, "\n") != 3 || !strings.Contains(res.stderr, "no such table: missing") {
		t.Fatalf("plan --parallel 3: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	spec, _ := os.ReadFile(filepath.Join(dir, "hoist.yaml"))
	cyclic := bytes.Replace(spec, []byte("table: missing}\n"), []byte("table: missing}\n    after: [after_broken]\n"), 1)
	os.WriteFile(filepath.Join(dir, "cyclic.yaml"), cyclic, 0o644)
	res = hoist(t, dir, nil, "validate", "cyclic.yaml")
	if res.code != 1 || !strings.Contains(res.stderr, "cyclic.yaml:14: syncs[2].after[0]: these syncs wait for each other in a cycle (broken → after_broken → broken, each after the next)") {
		t.Fatalf("validate a cycle: exit %d\n%s", res.code, res.stderr)
	}
}
