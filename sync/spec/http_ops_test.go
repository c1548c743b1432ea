package spec_test

import (
	"strings"
	"testing"

	. "github.com/hoist-dev/hoist/sync/spec"
)

// TestHTTPOperationsPerMode: validate refuses a mode whose operations a run
// could not do, and warns (without failing) about declared operations the
// mode never sends, at their line.
func TestHTTPOperationsPerMode(t *testing.T) {
	tests := []struct {
		name, mode, ops string
		extra           string   // more destination keys
		err             string   // "" = valid
		warns           []string // warning prefixes, in order
	}{
		{name: "mirror with create and update verbs", mode: "mirror",
			ops: `{insert: {path: /c}, update: {path: "/c/{{.Row.id}}"}, delete: {path: "/c/{{.Row.id}}"}}`},
		{name: "mirror with upsert", mode: "mirror",
			ops: `{upsert: {path: /c, batch: true}, delete: {path: /c/d, batch: true}}`},
		{name: "upsert with insert only", mode: "upsert", ops: `{insert: {path: /c}}`,
			err: "operations: mode upsert needs operations.upsert, or operations.insert and operations.update"},
		{name: "mirror without upsert", mode: "mirror", ops: `{update: {path: /c/x}, delete: {path: /c/x}}`,
			err: "operations: mode mirror needs operations.upsert, or operations.insert and operations.update"},
		{name: "mirror without delete", mode: "mirror", ops: `{insert: {path: /c}, update: {path: /c/x}}`,
			err: "operations: mode mirror needs operations.delete"},
		{name: "upsert never used beside insert and update", mode: "upsert",
			ops:   `{upsert: {path: /c}, insert: {path: /c}, update: {path: /c/x}}`,
			warns: []string{"s.yaml:13: syncs[0].destination.operations.upsert: operations.insert and operations.update take new and changed rows"}},
		{name: "update alone beside upsert", mode: "mirror",
			ops:   `{upsert: {path: /c}, update: {path: /c/x}, delete: {path: /c/x}}`,
			warns: []string{"s.yaml:13: syncs[0].destination.operations.update: new and changed rows go through operations.upsert"}},
		{name: "delete outside mirror", mode: "upsert", ops: `{upsert: {path: /c}, delete: {path: /c/x}}`,
			warns: []string{"s.yaml:13: syncs[0].destination.operations.delete: mode upsert never sends operations.delete"}},
		{name: "insert mode", mode: "insert", ops: `{insert: {path: /c}, upsert: {path: /c}, update: {path: /c/x}}`,
			warns: []string{
				"s.yaml:13: syncs[0].destination.operations.update: mode insert never sends operations.update",
				"s.yaml:13: syncs[0].destination.operations.upsert: mode insert never sends operations.upsert",
			}},
		{name: "ID used, never learnt", mode: "mirror",
			ops: `{insert: {path: /c}, update: {path: "/c/{{.ID}}"}, delete: {path: "/c/{{.ID}}"}}`,
			err: "operations.delete.path: uses the record ID (.ID), but no operation learns one"},
		{name: "ID learnt by the create", mode: "mirror",
			ops: `{insert: {path: /c, id_path: id}, update: {path: "/c/{{.ID}}"}, delete: {path: "/c/{{.ID}}"}}`},
		{name: "results need a way to match", mode: "upsert",
			ops: `{upsert: {path: /c, batch: true, results: {path: results}}}`,
			err: "operations.upsert.results: say how a result names its row"},
		{name: "id_path on a batch", mode: "upsert", ops: `{upsert: {path: /c, batch: true, id_path: id}}`,
			err: "operations.upsert.id_path: id_path reads a per-row response"},
		{name: "errors by position warn", mode: "upsert", ops: `{upsert: {path: /c, batch: true, errors_path: errors}}`,
			warns: []string{"s.yaml:13: syncs[0].destination.operations.upsert.errors_path: errors_path matches an error to its row by an index field, or else by its place"}},
		{name: "errors by key", mode: "upsert", ops: `{upsert: {path: /c, batch: true, errors: {path: errors, keys: context.ids}}}`},
		{name: "errors with two ways", mode: "upsert", ops: `{upsert: {path: /c, batch: true, errors: {path: errors, keys: k, index: i}}}`,
			err: "operations.upsert.errors: set one of keys, ids, index or ordered"},
		{name: "unused lookup", mode: "upsert", ops: `{upsert: {path: /c}, lookup: {path: /c, id_path: id}}`,
			warns: []string{"s.yaml:13: syncs[0].destination.operations.lookup: no operation's path or body uses the record ID"}},
		{name: "archive for on_delete archive", mode: "mirror",
			ops: `{upsert: {path: /c}, delete: {path: /c/x}}`, extra: "      on_delete: archive\n",
			err: "operations: mode mirror needs operations.archive for on_delete: archive"},
		{name: "on_delete ignore needs no delete", mode: "mirror", ops: `{upsert: {path: /c}}`, extra: "      on_delete: ignore\n"},
		{name: "bad nulls", mode: "upsert", ops: `{upsert: {path: /c}}`, extra: "      nulls: maybe\n",
			err: `nulls: nulls "maybe" is not one of send, skip, clear`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text := twoConns + `  - name: a
    source: {connection: src, path: a.csv}
    destination:
      connection: api
      mode: ` + tc.mode + `
      primary_key: [id]
      operations: ` + tc.ops + "\n" + tc.extra
			f, err := Parse("s.yaml", []byte(text), env(nil))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range f.Warnings {
				got = append(got, w.Error())
			}
			if len(got) != len(tc.warns) {
				t.Fatalf("warnings:\n%s\nwant %d", strings.Join(got, "\n"), len(tc.warns))
			}
			for i, w := range tc.warns {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("warning %d = %q, want prefix %q", i, got[i], w)
				}
			}
		})
	}
}
