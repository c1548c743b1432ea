package spec_test

import (
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/connector"
	. "github.com/hoist-dev/hoist/sync/spec"
)

// TestConnectorKeys: a block's keys are the envelope's plus its connector's,
// checked with the same located messages as any other key.
func TestConnectorKeys(t *testing.T) {
	doc := func(src, dst string) string {
		return `version: 1
connections:
  db: {type: sqlite, path: a.db}
  out: {type: files, path: out, format: csv}
syncs:
  - name: s
    source: {connection: db, ` + src + `}
    destination: {connection: out, object: t, mode: upsert, primary_key: [id]` + dst + `}
`
	}
	tests := []struct {
		name, src, dst string
		err, warn      string
	}{
		{name: "typo in a connector key", src: "qurey: select 1", err: `s.yaml:7: syncs[0].source.qurey: unknown key (did you mean "query"?)`},
		{name: "typo in an envelope key", src: "table: t, cursr: at", err: `s.yaml:7: syncs[0].source.cursr: unknown key (did you mean "cursor"?)`},
		{name: "another type's source key", src: "table: t, endpoint: /x",
			warn: `s.yaml:7: syncs[0].source.endpoint: key "endpoint" does not apply to a sqlite source (it is ignored)`},
		{name: "another type's destination key", src: "table: t", dst: ", create_table: true",
			warn: `s.yaml:8: syncs[0].destination.create_table: key "create_table" does not apply to a files destination (it is ignored)`},
		{name: "a connector's own validation", src: "table: t, query: select 1", err: "s.yaml:7: syncs[0].source: set exactly one of query or table"},
		{name: "valid", src: "table: t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("s.yaml", []byte(doc(tc.src, tc.dst)), env(nil))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var warns []string
			for _, w := range f.Warnings {
				warns = append(warns, w.Error())
			}
			if got := strings.Join(warns, "\n"); got != tc.warn {
				t.Fatalf("warnings %q, want %q", got, tc.warn)
			}
		})
	}
}

// TestUnknownTypeListsTheRegistry: the type list of the message comes from
// the connector registry.
func TestUnknownTypeListsTheRegistry(t *testing.T) {
	_, err := Parse("s.yaml", []byte("version: 1\nconnections:\n  x: {type: kafkaa, brokers: [a]}\nsyncs: []\n"), env(nil))
	want := `s.yaml:3: connections.x.type: unknown connection type "kafkaa" (want ` + connector.List(connector.Types()) + ")"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if strings.Contains(err.Error(), "brokers") {
		t.Fatalf("keys of an unknown type are judged: %v", err)
	}
}
