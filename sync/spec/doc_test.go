package spec_test

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/connector"
	. "github.com/hoist-dev/hoist/sync/spec"
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

// yamlKeys lists a struct's yaml keys with their types, inline embeddings
// included, as the spec's decoder reads them.
func yamlKeys(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if opts == "inline" {
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range yamlKeys(ft) {
				m[k] = v
			}
			continue
		}
		if name != "" && name != "-" {
			m[name] = sf.Type
		}
	}
	return m
}

// specStructs returns every struct type a spec decodes into, by table name:
// the envelope's, reached from File by reflection; each connector's
// connection config as "connection <type>"; the source and destination keys
// of every connector merged into the envelope's Source and Dest (the
// reference documents them in one table each, saying which types they
// apply to); and the structs those configs hold.
func specStructs() map[string][]string {
	keys := map[string]map[string]bool{}
	var visit func(name string, t reflect.Type)
	visit = func(name string, t reflect.Type) {
		if keys[name] == nil {
			keys[name] = map[string]bool{}
		}
		for k, ft := range yamlKeys(t) {
			keys[name][k] = true
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft.PkgPath() != reflect.TypeOf(time.Time{}).PkgPath() {
				visit(ft.Name(), ft)
			}
		}
	}
	visit("File", reflect.TypeOf(File{}))
	for _, c := range connector.All() {
		visit("connection "+c.Type, connector.TypeOf(c.NewConfig))
		if c.Source != nil {
			visit("Source", connector.TypeOf(c.Source.NewConfig))
		}
		if c.Dest != nil {
			visit("Dest", connector.TypeOf(c.Dest.NewConfig))
		}
	}
	out := map[string][]string{}
	for name, set := range keys {
		for k := range set {
			out[name] = append(out[name], k)
		}
		sort.Strings(out[name])
	}
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
		check(name, keys)
	}
	check("modes", Modes())
	for table := range doc {
		if _, ok := structs[table]; !ok && table != "modes" {
			t.Errorf("%s has a table for %q, which is not a spec struct or connection type", docPath, table)
		}
	}
}
