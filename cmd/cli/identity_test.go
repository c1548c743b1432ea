package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateIdentity (issue 10, item 2): a sync repointed at another object,
// keyed differently, fed from another source or mapped differently never
// trusts state recorded for what it was. Each case runs the built binary:
// a first run, an edit of the spec, then what plan and run do.
func TestStateIdentity(t *testing.T) {
	const base = `syncs:
  - name: s
    source: {connection: src, path: SRC, cursor: at}
    destination: {connection: db, object: OBJ, mode: MODE, primary_key: [PK], create_table: true}
    MAPPINGS
`
	spec := func(src, obj, mode, pk, mappings string) string {
		r := strings.NewReplacer("SRC", src, "OBJ", obj, "MODE", mode, "PK", pk, "MAPPINGS", mappings)
		out := r.Replace(base)
		if mode == "append" {
			out = strings.Replace(out, ", primary_key: [id]", "", 1)
		}
		return goodConns + out
	}
	toFiles := func(spec string) string {
		return strings.Replace(spec, "destination: {connection: db,", "destination: {connection: src,", 1)
	}
	noMap := ""
	withMap := "mappings: [{from: id, to: id}, {from: at, to: at}, {from: name, to: name}, {value: x, to: tag}]"
	tests := []struct {
		name         string
		before, edit string
		// what run does after the edit, without --full-refresh
		refused   bool
		delivered int64
	}{
		{name: "destination object", before: spec("a.csv", "people", "upsert", "id", noMap), edit: spec("a.csv", "people2", "upsert", "id", noMap), refused: true},
		// (into a CSV file: a table's unique index would refuse the new key)
		{name: "primary key", before: toFiles(spec("a.csv", "out", "upsert", "id", noMap)), edit: toFiles(spec("a.csv", "out", "upsert", "name", noMap)), refused: true},
		// b.csv's cursor values are all below a.csv's: kept, the cursor would skip them all
		{name: "source", before: spec("a.csv", "people", "upsert", "id", noMap), edit: spec("b.csv", "people", "upsert", "id", noMap), delivered: 2},
		// a new mapped column reaches every row, not only those past the cursor
		{name: "mapped schema", before: spec("a.csv", "people", "upsert", "id", noMap), edit: spec("a.csv", "people", "upsert", "id", withMap), delivered: 3},
		{name: "append source", before: spec("a.csv", "ev", "append", "id", noMap), edit: spec("b.csv", "ev", "append", "id", noMap), refused: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id,at,name\n1,100,Ann\n2,110,Bob\n3,120,Cy\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "b.csv"), []byte("id,at,name\n7,50,Dee\n8,60,Eve\n"), 0o644)
			writeSpec(t, dir, tc.before)
			if rep, res := runReport(t, dir, "run", "hoist.yaml"); res.code != 0 || rep.Delivered != 3 {
				t.Fatalf("first run: %d %+v %s", res.code, rep, res.stderr)
			}
			writeSpec(t, dir, tc.edit)
			plan := hoist(t, dir, nil, "plan", "hoist.yaml")
			rep, res := runReport(t, dir, "run", "hoist.yaml")
			if tc.refused {
				for what, out := range map[string]string{"plan": plan.stderr, "run": rep.Error} {
					if !strings.Contains(out, "state was recorded for another target") || !strings.Contains(out, "--full-refresh") {
						t.Fatalf("%s after the edit: %q, want a refusal naming --full-refresh", what, out)
					}
				}
				if plan.code != 1 || res.code != 1 || rep.Delivered != 0 {
					t.Fatalf("plan exit %d, run exit %d %+v: want both refused", plan.code, res.code, rep)
				}
				planFull := hoist(t, dir, nil, "plan", "hoist.yaml", "--full-refresh", "--output", "json")
				want := int64(3)
				if strings.Contains(tc.edit, "b.csv") {
					want = 2
				}
				rep, res = runReport(t, dir, "run", "hoist.yaml", "--full-refresh")
				if res.code != 0 || rep.Delivered != want {
					t.Fatalf("run --full-refresh: %d %+v %s", res.code, rep, res.stderr)
				}
				if !strings.Contains(planFull.stdout, `"added":`+string(rune('0'+want))) || !strings.Contains(planFull.stdout, "state identity changed") {
					t.Fatalf("plan --full-refresh: %s", planFull.stdout)
				}
			} else {
				if res.code != 0 || rep.Delivered != tc.delivered {
					t.Fatalf("run after the edit: %d %+v, want %d delivered %s", res.code, rep, tc.delivered, res.stderr)
				}
				if !strings.Contains(plan.stdout, "state identity changed") {
					t.Fatalf("plan does not say the identity changed:\n%s", plan.stdout)
				}
			}
			if show := hoist(t, dir, nil, "state", "show", "hoist.yaml"); !strings.Contains(show.stdout, "target:   ") {
				t.Fatalf("state show names no target:\n%s", show.stdout)
			}
			// Then the state is the new target's: nothing more to send.
			if rep, res := runReport(t, dir, "run", "hoist.yaml"); res.code != 0 || rep.Delivered != 0 {
				t.Fatalf("run after that: %d %+v %s", res.code, rep, res.stderr)
			}
		})
	}
}

// TestStateIdentityRefresh: a sync repointed at another table can also be
// repaired with --refresh, which diffs against what the new table holds and
// rebuilds the snapshot from it.
func TestStateIdentityRefresh(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id,name\n1,Ann\n2,Bob\n3,Cy\n"), 0o644)
	sync := func(obj string) string {
		return goodConns + `syncs:
  - name: s
    source: {connection: src, path: a.csv}
    destination: {connection: db, object: ` + obj + `, mode: upsert, primary_key: [id], create_table: true}
`
	}
	writeSpec(t, dir, sync("people"))
	if rep, res := runReport(t, dir, "run", "hoist.yaml"); res.code != 0 || rep.Delivered != 3 {
		t.Fatalf("first run: %d %+v %s", res.code, rep, res.stderr)
	}
	writeSpec(t, dir, sync("people2"))
	if rep, res := runReport(t, dir, "run", "hoist.yaml", "--refresh"); res.code != 0 || rep.Delivered != 3 {
		t.Fatalf("run --refresh into the new table: %d %+v %s", res.code, rep, res.stderr)
	}
	if rep, res := runReport(t, dir, "run", "hoist.yaml"); res.code != 0 || rep.Delivered != 0 {
		t.Fatalf("run after that: %d %+v %s", res.code, rep, res.stderr)
	}
}
