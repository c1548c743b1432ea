package spec

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// docPath is the user-facing reference of the spec format.
const docPath = "../../docs/spec.md"

var (
	docMarker = regexp.MustCompile(`^<!-- (keys|values): (.+) -->$`)
	docRow    = regexp.MustCompile("^\\| `([a-z_0-9]+)` \\|")
)

// docTables reads the key tables of docs/spec.md: each follows a marker
// comment `<!-- keys: NAME -->` and lists one backquoted key per row.
func docTables(t *testing.T) map[string][]string {
	t.Helper()
	fh, err := os.Open(docPath)
	if err != nil {
		t.Fatalf("the spec reference is missing: %v", err)
	}
	defer fh.Close()
	tables := map[string][]string{}
	cur := ""
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := docMarker.FindStringSubmatch(line); m != nil {
			cur = m[2]
			if _, dup := tables[cur]; dup {
				t.Fatalf("%s: two tables for %s", docPath, cur)
			}
			tables[cur] = nil
			continue
		}
		if cur == "" {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if len(tables[cur]) > 0 || (line != "" && !strings.HasPrefix(line, "|")) {
				cur = ""
			}
			continue
		}
		if m := docRow.FindStringSubmatch(line); m != nil {
			tables[cur] = append(tables[cur], m[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return tables
}

// specStructs returns every struct type the spec decodes into, reached from
// File by reflection, with its yaml keys.
func specStructs() map[string][]string {
	out := map[string][]string{}
	var visit func(reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeOf(File{}).PkgPath() {
			return
		}
		if _, seen := out[t.Name()]; seen {
			return
		}
		keys := []string{}
		var children []reflect.Type
		for k, ft := range yamlFields(t) {
			keys = append(keys, k)
			children = append(children, ft)
		}
		sort.Strings(keys)
		out[t.Name()] = keys
		for _, c := range children {
			visit(c)
		}
	}
	visit(reflect.TypeOf(File{}))
	return out
}

// TestDocCoversSpec: docs/spec.md documents every key of every spec struct
// and of every connection type, and nothing the code does not accept, so
// the reference cannot drift from the code.
func TestDocCoversSpec(t *testing.T) {
	doc := docTables(t)
	structs := specStructs()
	if len(structs) < 10 {
		t.Fatalf("reflection found only %v", structs)
	}
	check := func(table string, code []string) {
		t.Helper()
		documented, ok := doc[table]
		if !ok {
			t.Errorf("%s has no `<!-- keys: %s -->` table", docPath, table)
			return
		}
		inCode := map[string]bool{}
		for _, k := range code {
			inCode[k] = true
		}
		inDoc := map[string]bool{}
		for _, k := range documented {
			inDoc[k] = true
			if !inCode[k] {
				t.Errorf("%s documents %s key %q, which the code does not accept", docPath, table, k)
			}
		}
		for _, k := range code {
			if !inDoc[k] {
				t.Errorf("%s: %s key %q is not documented", docPath, table, k)
			}
		}
	}
	for name, keys := range structs {
		if name == "Connection" {
			continue // checked per type below
		}
		check(name, keys)
	}
	// A connection's keys are `type` plus those of its type (connKeys), and
	// every field of Connection belongs to some type.
	check("Connection", []string{"type"})
	all := map[string]bool{"type": true}
	for typ, keys := range connKeys {
		check("connection "+typ, keys)
		for _, k := range keys {
			all[k] = true
		}
	}
	for _, k := range structs["Connection"] {
		if !all[k] {
			t.Errorf("Connection key %q belongs to no connection type in connKeys", k)
		}
	}
	check("modes", modes)
	for table := range doc {
		typ, isConn := strings.CutPrefix(table, "connection ")
		if _, ok := structs[table]; !ok && table != "modes" && !(isConn && connKeys[typ] != nil) {
			t.Errorf("%s has a table for %q, which is not a spec struct or connection type", docPath, table)
		}
	}
}
