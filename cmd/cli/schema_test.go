package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestSchemaCommand: the built binary's `hoist schema` prints valid JSON,
// the schema JSONSchema generates with every connector registered, and
// nothing on stderr; it takes no arguments.
func TestSchemaCommand(t *testing.T) {
	dir := t.TempDir()
	res := hoist(t, dir, nil, "schema")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("hoist schema: exit %d, stderr %q", res.code, res.stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &doc); err != nil {
		t.Fatalf("hoist schema printed invalid JSON: %v\n%s", err, res.stdout)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("$schema is %v", doc["$schema"])
	}
	want, err := spec.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if res.stdout != string(want) {
		t.Fatal("hoist schema does not print what spec.JSONSchema generates")
	}
	types := connector.Types()
	if len(types) < 5 {
		t.Fatalf("only %v registered", types)
	}
	for _, typ := range types {
		if !strings.Contains(res.stdout, `"const": "`+typ+`"`) {
			t.Errorf("the schema has no branch for connection type %s", typ)
		}
	}
	if res := hoist(t, dir, nil, "schema", "extra"); res.code != 1 {
		t.Fatalf("hoist schema extra: exit %d, want 1", res.code)
	}
}
