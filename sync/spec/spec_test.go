package spec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/httpkit"
	. "github.com/hoist-dev/hoist/sync/spec"
)

func env(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const base = `version: 1
connections:
  wh: {type: postgres, url: "${WH_URL}"}
  crm:
    type: http
    base_url: http://127.0.0.1:8080
    headers: {Authorization: "Bearer ${CRM_TOKEN}"}
syncs:
  - name: s1
    source: {connection: wh, query: select 1, cursor: updated_at}
    destination:
      connection: crm
      mode: upsert
      primary_key: [id]
      operations: {upsert: {method: POST, path: /contacts/batch, batch: true}}
`

func TestExpand(t *testing.T) {
	e := env(map[string]string{"A": "1", "EMPTY": ""})
	tests := []struct {
		in, want, err string
	}{
		{"plain", "plain", ""},
		{"${A}", "1", ""},
		{"x${A}y${A}", "x1y1", ""},
		{"${B:-def}", "def", ""},
		{"${EMPTY:-def}", "def", ""},
		{"${EMPTY}", "", ""},
		{"$$5", "$5", ""},
		{"cost $5", "cost $5", ""},
		{"${B}", "", "environment variable B is not set"},
		{"${B}${C}", "", "environment variable B, C is not set"},
		{"${A", "", "unterminated"},
		{"${1X}", "", "invalid variable name"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Expand(tc.in, e)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Expand(%q) error %v, want %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseGood(t *testing.T) {
	f, err := Parse("hoist.yaml", []byte(base), env(map[string]string{"WH_URL": "postgres://u:pw@h/db", "CRM_TOKEN": "tok"}))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Syncs[0]
	if s.BatchSize != 0 || s.Concurrency != DefaultConcurrency || *s.MaxDeleteFraction != 0.5 {
		t.Fatalf("defaults not applied: %+v", s)
	}
	if got := f.Connections["crm"].Config.(*httpkit.Config).Headers["Authorization"]; got.Reveal() != "Bearer tok" || got.String() != "****" {
		t.Fatalf("header secret: reveal %q string %q", got.Reveal(), got.String())
	}
	if f.Line("syncs[0].destination.mode") != 13 {
		t.Fatalf("line of mode = %d, want 13", f.Line("syncs[0].destination.mode"))
	}
}

// TestValidateReportsEverything: validate lists every problem, each with
// file:line and field, not just the first.
func TestValidateReportsEverything(t *testing.T) {
	bad := `version: 2
connections:
  wh: {type: postgres, url: "mysql://x", format: csv}
  f: {type: files, path: ./x, format: xml}
syncs:
  - name: a
    source: {connection: nope, query: select 1}
    destination: {connection: wh, object: t, mode: sideways}
  - name: a
    source: {connection: wh, query: q, cursor: c}
    destination: {connection: wh, object: t, mode: mirror, primary_key: [id]}
    mappings:
      - {from: x, value: y, to: z}
      - {from: id, to: z, type: float32}
`
	_, err := Parse("s.yaml", []byte(bad), env(nil))
	if err == nil {
		t.Fatal("want errors")
	}
	want := []string{
		"s.yaml:1: version: version must be 1",
		"s.yaml:3: connections.wh.url: url must start with postgres://",
		"s.yaml:3: connections.wh.format: key \"format\" does not apply to a postgres connection",
		"s.yaml:4: connections.f.format: unknown format \"xml\"",
		"s.yaml:7: syncs[0].source.connection: unknown connection \"nope\"",
		"s.yaml:8: syncs[0].destination.mode: unknown mode \"sideways\"",
		"s.yaml:9: syncs[1].name: duplicate sync name \"a\"",
		"s.yaml:10: syncs[1].source.cursor: mode mirror cannot use a cursor",
		"s.yaml:13: syncs[1].mappings[0]: set exactly one of from or value",
		"s.yaml:14: syncs[1].mappings[1].to: field \"z\" is mapped twice",
		"s.yaml:14: syncs[1].mappings[1].type: unknown type \"float32\"",
		"s.yaml:11: syncs[1].destination.primary_key[0]: primary key \"id\" is not a mapped field",
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in:\n%s", w, msg)
		}
	}
	var p *Problem
	if !errors.As(err, &p) {
		t.Fatalf("errors are not *Problem")
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	_, err := Parse("s.yaml", []byte(strings.Replace(base, "http://127.0.0.1:8080", "ftp://x", 1)), env(map[string]string{"WH_URL": "postgres://u:hunter2@h/db", "CRM_TOKEN": "sekret-token"}))
	if err == nil {
		t.Fatal("want error")
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "sekret-token") {
		t.Fatalf("secret in error: %v", err)
	}
}

// FuzzParse: no input panics the spec parser; every failure is a located Problem.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte("version: 1\nsyncs: [{name: x}]\n"))
	f.Add([]byte("connections: {a: [1,2]}\n"))
	f.Add([]byte("&a x: *a\n"))
	f.Add([]byte(twoConns + "  - {name: a, source: {connection: src, path: a.csv}, destination: {connection: api, mode: mirror, operations: {upsert: {path: '/{{.Row.id'}}}, concurrency: x}\n---\nx: 1\n"))
	f.Add([]byte("version: 1\nconnections: {a: , b: {type: sqlite, path: ${P}}}\nsyncs: [~, {name: s, source: {connection: a}, destination: {connection: b}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse("f.yaml", data, env(map[string]string{"WH_URL": "postgres://h/db"}))
		if err != nil && !strings.HasPrefix(err.Error(), "f.yaml") {
			t.Fatalf("error without file name: %v", err)
		}
	})
}

func TestReplaceRejectsCursor(t *testing.T) {
	text := `version: 1
connections:
  a: {type: sqlite, path: x.db}
syncs:
  - name: s
    source: {connection: a, table: t, cursor: updated_at}
    destination: {connection: a, object: u, mode: replace}
`
	_, err := Parse("s.yaml", []byte(text), env(nil))
	if err == nil || !strings.Contains(err.Error(), "s.yaml:6: syncs[0].source.cursor: mode replace cannot use a cursor") {
		t.Fatalf("got %v", err)
	}
}
