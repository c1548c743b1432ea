package spec_test

import (
	"strings"
	"testing"

	. "github.com/hoist-dev/hoist/sync/spec"
)

const twoConns = `version: 1
connections:
  src: {type: files, path: ., format: csv}
  db: {type: sqlite, path: ./dest.db}
  api: {type: http, base_url: "http://127.0.0.1:1"}
syncs:
`

// TestValidateCatchesWhatFailsLater: each spec here used to validate and then
// fail in plan or run (or never): validate must name file, line and field.
func TestValidateCatchesWhatFailsLater(t *testing.T) {
	tests := []struct {
		name, syncs string
		want        []string
	}{
		{"unterminated path template", `  - name: a
    source: {connection: src, path: a.csv}
    destination:
      connection: api
      mode: upsert
      primary_key: [id]
      operations: {upsert: {path: "/c/{{.Row.id"}}
`, []string{"s.yaml:13: syncs[0].destination.operations.upsert.path: invalid template: unclosed action"}},
		{"unknown template function", `  - name: a
    source: {connection: src, path: a.csv}
    destination:
      connection: api
      mode: upsert
      primary_key: [id]
      operations: {upsert: {path: /c, body: "{{yaml .Rows}}", batch: true}}
`, []string{"s.yaml:13: syncs[0].destination.operations.upsert.body: invalid template:", `function "yaml" not defined`}},
		{"object escapes the folder", `  - name: a
    source: {connection: src, path: a.csv}
    destination: {connection: src, object: ../x, mode: append}
`, []string{`s.yaml:9: syncs[0].destination.object: object "../x" must be a file name inside the connection's folder`}},
		{"absolute object", `  - name: a
    source: {connection: src, path: a.csv}
    destination: {connection: src, object: /tmp/x.csv, mode: append}
`, []string{`s.yaml:9: syncs[0].destination.object: object "/tmp/x.csv" must be a file name`}},
		{"primary key twice", `  - name: a
    source: {connection: src, path: a.csv}
    destination: {connection: db, object: t, mode: upsert, primary_key: [id, id, ""]}
`, []string{`s.yaml:9: syncs[0].destination.primary_key[1]: column "id" is in the primary key twice`,
			`s.yaml:9: syncs[0].destination.primary_key[2]: primary key column is empty`}},
		{"absurd concurrency", `  - name: a
    source: {connection: src, path: a.csv}
    destination: {connection: db, object: t, mode: append}
    concurrency: 100000000
`, []string{"s.yaml:10: syncs[0].concurrency: must be at most 1024 (got 100000000)"}},
		{"mirror without delete", `  - name: a
    source: {connection: src, path: a.csv}
    destination:
      connection: api
      mode: mirror
      primary_key: [id]
      operations: {upsert: {path: /c, batch: true}}
`, []string{"s.yaml:13: syncs[0].destination.operations: mode mirror needs operations.delete"}},
		{"update with only upsert", `  - name: a
    source: {connection: src, path: a.csv}
    destination:
      connection: api
      mode: update
      primary_key: [id]
      operations: {upsert: {path: /c, batch: true}}
`, []string{"s.yaml:13: syncs[0].destination.operations: mode update needs operations.update"}},
		{"replace through an api", `  - name: a
    source: {connection: src, path: a.csv}
    destination:
      connection: api
      mode: replace
      operations: {insert: {path: /c, batch: true}}
`, []string{"s.yaml:11: syncs[0].destination.mode: mode replace cannot be done atomically"}},
		{"second document", `  - name: a
    source: {connection: src, path: a.csv}
    destination: {connection: db, object: t, mode: append}
---
syncs: []
`, []string{"s.yaml:10: the spec holds more than one YAML document"}},
		{"bad scalar types", `  - name: a
    source: {connection: src, path: a.csv}
    destination: {connection: db, object: t, mode: append, create_table: maybe}
    batch_size: lots
`, []string{`s.yaml:9: syncs[0].destination.create_table: expected true or false, got "maybe"`,
			`s.yaml:10: syncs[0].batch_size: expected a whole number, got "lots"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("s.yaml", []byte(twoConns+tc.syncs), env(nil))
			if err == nil {
				t.Fatal("spec validated")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
		})
	}
}

// TestUnknownKeysAndEnvDoNotHideTheRest: an unknown key and an unset variable
// are reported together with the semantic problems, in file order, and the
// field whose value is unknown is not judged a second time.
func TestUnknownKeysAndEnvDoNotHideTheRest(t *testing.T) {
	text := `version: 1
connections:
  wh: {type: postgres, url: "${NOPE_URL}"}
  db: {type: sqlite, path: ./d.db, colour: blue}
syncs:
  - name: a
    source: {connection: wh, table: t}
    destination: {connection: db, object: t, mode: sideways}
    batch_sise: 10
`
	_, err := Parse("s.yaml", []byte(text), env(nil))
	if err == nil {
		t.Fatal("spec validated")
	}
	want := []string{
		"error: s.yaml:3: connections.wh.url: environment variable NOPE_URL is not set",
		"error: s.yaml:4: connections.db.colour: unknown key",
		"error: s.yaml:8: syncs[0].destination.mode: unknown mode \"sideways\" (want insert, update, upsert, mirror, append, replace)",
		"error: s.yaml:9: syncs[0].batch_sise: unknown key (did you mean \"batch_size\"?)",
	}
	var got []string
	for _, line := range strings.Split(err.Error(), "\n") {
		got = append(got, "error: "+line)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestEnvProblemsFollowTheSelectedSyncs: an unset variable in a connection or
// sync the selected syncs do not use does not fail them; with no selection, or
// when a selected sync uses it, it does.
func TestEnvProblemsFollowTheSelectedSyncs(t *testing.T) {
	text := `version: 1
connections:
  files: {type: files, path: ., format: csv}
  wh: {type: postgres, url: "${WH_URL}"}
  db: {type: sqlite, path: ./d.db}
syncs:
  - name: local
    source: {connection: files, path: a.csv}
    destination: {connection: db, object: t, mode: append}
  - name: warehouse
    source: {connection: wh, table: t}
    destination: {connection: db, object: "${WH_TABLE}", mode: append}
`
	tests := []struct {
		names []string
		want  []string // problems expected; none means the spec loads
	}{
		{nil, []string{"s.yaml:4: connections.wh.url: environment variable WH_URL is not set", "s.yaml:12: syncs[1].destination.object: environment variable WH_TABLE is not set"}},
		{[]string{"local"}, nil},
		{[]string{"warehouse"}, []string{"WH_URL is not set", "WH_TABLE is not set"}},
		{[]string{"local", "warehouse"}, []string{"WH_URL is not set"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.names, ","), func(t *testing.T) {
			t.Parallel()
			f, err := ParseSyncs("s.yaml", []byte(text), env(nil), tc.names)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want no problem, got:\n%v", err)
				}
				if f.SyncByName("local") == nil {
					t.Fatal("sync local missing")
				}
				return
			}
			if err == nil {
				t.Fatal("spec loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
		})
	}
}

// TestSharedObjectWarns: two syncs writing one destination object load, with
// a warning naming both; the same name on another connection does not warn.
func TestSharedObjectWarns(t *testing.T) {
	text := twoConns + `  - name: a
    source: {connection: src, path: a.csv}
    destination: {connection: db, object: People, mode: upsert, primary_key: [id]}
  - name: b
    source: {connection: src, path: b.csv}
    destination: {connection: db, object: people, mode: mirror, primary_key: [id]}
  - name: c
    source: {connection: db, table: people}
    destination: {connection: src, object: people, mode: append}
  - name: d
    source: {connection: db, table: people}
    destination: {connection: src, object: people.csv, mode: append}
`
	f, err := Parse("s.yaml", []byte(text), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range f.Warnings {
		got = append(got, w.Error())
	}
	want := []string{
		`s.yaml:12: syncs[1].destination.object: sync "b" writes the same object as sync "a" (syncs[0])`,
		`s.yaml:18: syncs[3].destination.object: sync "d" writes the same object as sync "c" (syncs[2])`,
	}
	if len(got) != len(want) {
		t.Fatalf("warnings:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}
