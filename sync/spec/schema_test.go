package spec_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	. "github.com/hoist-dev/hoist/sync/spec"
)

var update = flag.Bool("update", false, "rewrite docs/hoist.schema.json")

// schemaPath is the committed schema, for editors pointed at the repository.
const schemaPath = "../../docs/hoist.schema.json"

// TestSchemaGolden: docs/hoist.schema.json is what JSONSchema generates, and
// JSONSchema generates the same bytes every time.
func TestSchemaGolden(t *testing.T) {
	got, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	again, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, again) {
		t.Fatal("JSONSchema is not deterministic: two calls differ")
	}
	if *update {
		if err := os.WriteFile(schemaPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("%v (create it: go test ./sync/spec -run TestSchemaGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what JSONSchema generates; rewrite it: go test ./sync/spec -run TestSchemaGolden -update", schemaPath)
	}
}

// drafts are the dialects the schema is checked in: its own, and draft 7,
// the one the YAML language server of editors implements (vscode-yaml ships
// draft 7), so the schema uses only keywords that mean the same in both.
var drafts = []struct {
	name  string
	draft *jsonschema.Draft
}{{"2020-12", jsonschema.Draft2020}, {"draft-07", jsonschema.Draft7}}

// compileSchema compiles the generated schema with a real validator, which
// also checks it against the draft's meta-schema.
func compileSchema(t *testing.T, draft *jsonschema.Draft) *jsonschema.Schema {
	t.Helper()
	data, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if draft != jsonschema.Draft2020 {
		delete(doc.(map[string]any), "$schema")
		c.DefaultDraft(draft)
	}
	if err := c.AddResource("hoist.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("hoist.schema.json")
	if err != nil {
		t.Fatalf("the schema does not compile as %s: %v", draft.String(), err)
	}
	return sch
}

// validateYAML checks a spec against the schema as an editor's YAML
// language server does: the YAML read as JSON values.
func validateYAML(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("invalid YAML: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("YAML to JSON: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

// TestSchemaAcceptsRealSpecs: every spec in the repository (the quickstart,
// the demos, the starter spec, the benchmarks) and every spec example of the
// README and the reference passes the schema.
func TestSchemaAcceptsRealSpecs(t *testing.T) {
	specs := map[string][]byte{}
	isSpec := regexp.MustCompile(`(?m)^version: 1\s*$`)
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".hoist") {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(path); d.IsDir() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if isSpec.Match(data) {
			specs[path] = data
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"../../README.md", "../../docs/spec.md"} {
		for i, block := range yamlBlocks(t, doc) {
			if strings.HasPrefix(block, "version: 1\n") {
				specs[doc+"#"+strconv.Itoa(i+1)] = []byte(block)
			}
		}
	}
	for _, want := range []string{"../../testdata/quickstart/hoist.yaml", "../../cmd/cli/starter.yaml", "../../cmd/fakecrm/demo.yaml", "../../README.md#1"} {
		if _, ok := specs[want]; !ok {
			t.Errorf("the spec %s was not found (found %d)", want, len(specs))
		}
	}
	for _, d := range drafts {
		sch := compileSchema(t, d.draft)
		for path, data := range specs {
			if err := validateYAML(t, sch, data); err != nil {
				t.Errorf("%s does not pass the schema (%s):\n%v", path, d.name, err)
			}
		}
	}
}

// yamlBlocks returns the ```yaml code blocks of a markdown file, dedented.
func yamlBlocks(t *testing.T, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var blocks []string
	var cur *strings.Builder
	indent := ""
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case cur == nil && trimmed == "```yaml":
			cur, indent = &strings.Builder{}, line[:len(line)-len(trimmed)]
		case cur != nil && trimmed == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(strings.TrimPrefix(line, indent) + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// schemaBase is a valid spec using most kinds of key: every case below
// changes one thing in it.
const schemaBase = `version: 1
state: file://.hoist
connections:
  pg:
    type: postgres
    url: postgres://hoist@127.0.0.1:5432/test
    statement_timeout: 30s
  db:
    type: sqlite
    path: dest.db
  api:
    type: http
    base_url: https://api.example.com
    headers: {Authorization: "Bearer x"}
    rate_limit: {requests_per_second: 5, burst: 10}
syncs:
  - name: customers
    source:
      connection: pg
      table: customers
      cursor: updated_at
    destination:
      connection: db
      object: customers
      mode: upsert
      primary_key: [id]
      create_table: true
    mappings:
      - {from: id, to: id}
      - {from: email, to: email, type: string}
    batch_size: 500
    concurrency: 2
    on_duplicate: last
  - name: contacts
    source:
      connection: api
      endpoint: /contacts
      records_path: data
      pagination: {type: page, page_size: 50}
    destination:
      connection: db
      object: contacts
      mode: mirror
      primary_key: [id]
    max_delete_fraction: 0.25
  - name: push
    source:
      connection: db
      query: select id, email from customers
    destination:
      connection: api
      mode: append
      operations:
        upsert: {method: POST, path: /contacts/batch, batch: true}
    on_reject: {file: rejected/push.jsonl, max_rejected: 10}
`

// TestSchemaChecksShape: the schema rejects keys and values of the wrong
// shape and accepts every way hoist reads a value (${VAR} where a number
// belongs, a number where text belongs). Each verdict is checked against
// hoist's own loader too, so the schema is never stricter than hoist.
func TestSchemaChecksShape(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		env      map[string]string
		// want is in the schema's error when the spec must fail; "" passes.
		want string
		// looser: hoist's loader accepts what the schema rejects (yaml.v3
		// truncates 2.5 into an int); the schema is right to refuse it.
		looser bool
	}{
		{name: "the base spec"},
		{name: "number from the environment", old: "batch_size: 500", new: "batch_size: ${BATCH}", env: map[string]string{"BATCH": "100"}},
		{name: "fraction from the environment", old: "max_delete_fraction: 0.25", new: "max_delete_fraction: ${FRACTION:-0.5}"},
		{name: "flag from the environment", old: "create_table: true", new: "create_table: ${CREATE}", env: map[string]string{"CREATE": "true"}},
		{name: "mode from the environment", old: "mode: mirror", new: "mode: ${MODE}", env: map[string]string{"MODE": "mirror"}},
		{name: "duration from the environment", old: "statement_timeout: 30s", new: "statement_timeout: ${PG_TIMEOUT}", env: map[string]string{"PG_TIMEOUT": "5m"}},
		{name: "connection type from the environment", old: "type: sqlite", new: "type: ${DB_TYPE}", env: map[string]string{"DB_TYPE": "sqlite"}},
		{name: "duration as seconds", old: "statement_timeout: 30s", new: "statement_timeout: 30"},
		{name: "duration as a string of seconds", old: "statement_timeout: 30s", new: `statement_timeout: "1.5"`},
		{name: "number where text belongs", old: "cursor: updated_at", new: "cursor: updated_at\n      cursor_lookback: 100"},
		{name: "constants of every scalar type", old: "- {from: id, to: id}", new: "- {from: id, to: id}\n      - {value: 1, to: one}\n      - {value: true, to: yes_flag}"},
		{name: "another type's source key (hoist warns)", old: "table: customers", new: "table: customers\n      endpoint: /ignored"},

		{name: "unknown key in a connection", old: "path: dest.db", new: "path: dest.db\n    passwrd: x", want: "at '/connections/db': additional properties 'passwrd' not allowed"},
		{name: "another type's key in a connection", old: "path: dest.db", new: "path: dest.db\n    url: postgres://x", want: "at '/connections/db': additional properties 'url' not allowed"},
		{name: "connection without type", old: "type: sqlite\n", want: "at '/connections/db': missing property 'type'"},
		{name: "unknown connection type", old: "type: sqlite", new: "type: oracle", want: "at '/connections/db/type': value must be one of 'amqp', 'files'"},
		{name: "unknown top-level key", old: "state: file://.hoist", new: "stat: file://.hoist", want: "at '': additional properties 'stat' not allowed"},
		{name: "typo in a source key", old: "table: customers", new: "tabel: customers", want: "at '/syncs/0/source': additional properties 'tabel' not allowed"},
		{name: "typo in a destination key", old: "create_table: true", new: "create_tabel: true", want: "at '/syncs/0/destination': additional properties 'create_tabel' not allowed"},
		{name: "typo in a sync key", old: "batch_size: 500", new: "batchsize: 500", want: "at '/syncs/0': additional properties 'batchsize' not allowed"},
		{name: "typo in a mapping", old: "- {from: id, to: id}", new: "- {form: id, to: id}", want: "at '/syncs/0/mappings/0': additional properties 'form' not allowed"},
		{name: "typo in pagination", old: "page_size: 50", new: "page_sise: 50", want: "at '/syncs/1/source/pagination': additional properties 'page_sise' not allowed"},
		{name: "typo in an http operation", old: "batch: true", new: "batched: true", want: "at '/syncs/2/destination/operations/upsert': additional properties 'batched' not allowed"},
		{name: "typo in on_reject", old: "max_rejected: 10", new: "max_reject: 10", want: "at '/syncs/2/on_reject': additional properties 'max_reject' not allowed"},
		{name: "wrong mode", old: "mode: mirror", new: "mode: mirorr", want: "at '/syncs/1/destination/mode': value must be one of 'insert'"},
		{name: "wrong on_duplicate", old: "on_duplicate: last", new: "on_duplicate: first", want: "at '/syncs/0/on_duplicate': value must be one of 'error', 'last'"},
		{name: "wrong version", old: "version: 1", new: "version: 2", want: "at '/version': value must be 1"},
		{name: "text where a number belongs", old: "batch_size: 500", new: "batch_size: lots", want: "at '/syncs/0/batch_size': got string, want integer"},
		{name: "quoted number", old: "batch_size: 500", new: `batch_size: "500"`, want: "at '/syncs/0/batch_size': got string, want integer"},
		{name: "fraction where a whole number belongs", old: "concurrency: 2", new: "concurrency: 2.5", want: "at '/syncs/0/concurrency': got number, want integer", looser: true},
		{name: "text where a fraction belongs", old: "max_delete_fraction: 0.25", new: "max_delete_fraction: half", want: "at '/syncs/1/max_delete_fraction': got string, want number"},
		{name: "text where a flag belongs", old: "create_table: true", new: "create_table: maybe", want: "at '/syncs/0/destination/create_table': got string, want boolean"},
		{name: "text where a nested number belongs", old: "requests_per_second: 5", new: "requests_per_second: fast", want: "at '/connections/api/rate_limit/requests_per_second': got string, want number"},
		{name: "bad duration", old: "statement_timeout: 30s", new: "statement_timeout: 30 seconds", want: "at '/connections/pg/statement_timeout': '30 seconds' does not match pattern"},
		{name: "text where a list belongs", old: "primary_key: [id]\n      create_table", new: "primary_key: id\n      create_table", want: "at '/syncs/0/destination/primary_key': got string, want array"},
		{name: "list where a mapping belongs", old: "rate_limit: {requests_per_second: 5, burst: 10}", new: "rate_limit: [5, 10]", want: "at '/connections/api/rate_limit': got array, want object"},
	}
	for _, d := range drafts {
		sch := compileSchema(t, d.draft)
		for _, tc := range tests {
			t.Run(d.name+"/"+tc.name, func(t *testing.T) {
				text := schemaBase
				if tc.old != "" {
					if n := strings.Count(text, tc.old); n != 1 {
						t.Fatalf("%q is in the base spec %d times, want once", tc.old, n)
					}
					text = strings.Replace(text, tc.old, tc.new, 1)
				}
				err := validateYAML(t, sch, []byte(text))
				if tc.want == "" && err != nil {
					t.Fatalf("the schema rejects a valid spec:\n%v\n%s", err, text)
				}
				if tc.want != "" {
					if err == nil {
						t.Fatalf("the schema accepts an invalid spec:\n%s", text)
					}
					if msg := err.Error(); !strings.Contains(msg, tc.want) {
						t.Fatalf("the schema's error does not name %q:\n%s", tc.want, msg)
					}
				}
				env := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
				_, lerr := Parse("hoist.yaml", []byte(text), env)
				if (lerr == nil) != (tc.want == "" || tc.looser) {
					t.Fatalf("hoist's loader disagrees with the schema (loader error: %v)", lerr)
				}
			})
		}
	}
}

// TestSchemaDescribesEveryKey: every key in the schema has a description
// (a doc tag on its struct field), so an editor explains what it hovers.
func TestSchemaDescribesEveryKey(t *testing.T) {
	data, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var root any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	keys := 0
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				for k, p := range props {
					keys++
					if d, _ := p.(map[string]any)["description"].(string); d == "" {
						t.Errorf("%s.%s has no description: give its struct field a doc tag", path, k)
					}
				}
			}
			for k, c := range v {
				walk(c, path+"/"+k)
			}
		case []any:
			for i, c := range v {
				walk(c, path+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(root, "")
	if keys < 50 {
		t.Fatalf("the schema has only %d keys", keys)
	}
}
