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
      operations: ` + tc.ops + "\n"
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
