package spec_test

import (
	"strings"
	"testing"

	. "github.com/hoist-dev/hoist/sync/spec"
)

func TestValidateDiff(t *testing.T) {
	const conns = `version: 1
connections:
  src: {type: files, path: ., format: csv}
  pg: {type: postgres, url: "postgres://u@h/db"}
  db: {type: sqlite, path: ./dest.db}
syncs:
`
	tests := []struct {
		name, syncs string
		want        string // "" validates
	}{
		{"warehouse on postgres", `  - name: a
    source: {connection: pg, table: t}
    destination: {connection: db, object: t, mode: mirror, primary_key: [id]}
    diff: warehouse
`, ""},
		{"client", `  - name: a
    source: {connection: src, path: a.csv}
    destination: {connection: db, object: t, mode: upsert, primary_key: [id]}
    diff: client
`, ""},
		{"unknown engine", `  - name: a
    source: {connection: pg, table: t}
    destination: {connection: db, object: t, mode: upsert, primary_key: [id]}
    diff: cloud
`, `s.yaml:10: syncs[0].diff: unknown diff "cloud" (want client or warehouse)`},
		{"not postgres", `  - name: a
    source: {connection: src, path: a.csv}
    destination: {connection: db, object: t, mode: upsert, primary_key: [id]}
    diff: warehouse
`, "s.yaml:10: syncs[0].diff: diff: warehouse needs a postgres source"},
		{"unkeyed", `  - name: a
    source: {connection: pg, table: t}
    destination: {connection: db, object: t, mode: append}
    diff: warehouse
`, "s.yaml:10: syncs[0].diff: diff: warehouse needs a keyed mode"},
		{"cursor", `  - name: a
    source: {connection: pg, table: t, cursor: at}
    destination: {connection: db, object: t, mode: upsert, primary_key: [id]}
    diff: warehouse
`, "syncs[0].source.cursor: diff: warehouse compares the whole source"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("s.yaml", []byte(conns+tc.syncs), env(nil))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want %q, got %v", tc.want, err)
			}
		})
	}
}
