package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// jsonKeys returns the top-level keys of one JSON object in order,
// duplicates included (a map would hide them).
func jsonKeys(t *testing.T, line []byte) ([]string, map[string]any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", line)
	}
	var keys []string
	vals := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		keys = append(keys, tok.(string))
		vals[tok.(string)] = v
	}
	return keys, vals
}

// TestJSONLogsOneSyncKeyAndMilliseconds: with --log-format json -v, every
// log line has each key once (sync too, whichever layer logged it) and
// every duration is a whole number of milliseconds in a key ending in _ms.
func TestJSONLogsOneSyncKeyAndMilliseconds(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(goodConns+`syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
`), 0o644)
	seen := map[string]bool{}
	// the second run's new column makes the destination log "added column"
	for _, csv := range []string{"id,name\n1,Ann\n2,Bob\n", "id,name,email\n1,Ann,a@x\n2,Bob,b@x\n3,Cy,c@x\n"} {
		os.WriteFile(filepath.Join(dir, "people.csv"), []byte(csv), 0o644)
		res := hoist(t, dir, nil, "run", "hoist.yaml", "--log-format", "json", "-v")
		if res.code != 0 {
			t.Fatalf("run: exit %d: %s", res.code, res.stderr)
		}
		sc := bufio.NewScanner(strings.NewReader(res.stderr))
		for sc.Scan() {
			keys, vals := jsonKeys(t, sc.Bytes())
			msg, _ := vals["msg"].(string)
			seen[msg] = true
			count := map[string]int{}
			for _, k := range keys {
				count[k]++
				if count[k] > 1 {
					t.Errorf("%q logs %s twice: %s", msg, k, sc.Text())
				}
				if k == "duration" || k == "elapsed" || k == "wait" {
					t.Errorf("%q logs %s without a unit: %s", msg, k, sc.Text())
				}
				if strings.HasSuffix(k, "_ms") {
					if f, ok := vals[k].(float64); !ok || f != float64(int64(f)) {
						t.Errorf("%q: %s is not whole milliseconds: %s", msg, k, sc.Text())
					}
				}
			}
			if vals["sync"] != "people" {
				t.Errorf("%q does not name the sync: %s", msg, sc.Text())
			}
		}
	}
	for _, msg := range []string{"reading files", "diff done", "batch loaded", "state committed", "sync finished", "added column"} {
		if !seen[msg] {
			t.Errorf("no %q log line (saw %v)", msg, seen)
		}
	}
}
