package cli_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func writeSpec(t *testing.T, dir, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestValidateReportsEveryProblem: one validate lists every problem of the
// spec, each on its own line with file, line and field: unknown keys and
// unset variables do not hide the checks that come after them, and what
// used to pass validate and fail later is caught.
func TestValidateReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	writeSpec(t, dir, `version: 1
connections:
  src: {type: files, path: ., format: csv}
  wh: {type: postgres, url: "${HOIST_TEST_UNSET_URL}"}
  api: {type: http, base_url: "http://127.0.0.1:1", colour: blue}
syncs:
  - name: a
    source: {connection: src, path: a.csv}
    destination:
      connection: api
      mode: mirror
      primary_key: [id, id]
      operations: {upsert: {path: "/c/{{.Row.id", batch: false}}
  - name: b
    source: {connection: wh, table: t}
    destination: {connection: src, object: ../x, mode: append}
    concurrency: 100000000
---
version: 2
`)
	res := hoist(t, dir, nil, "validate", "hoist.yaml")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	want := []string{
		"error: hoist.yaml:4: connections.wh.url: environment variable HOIST_TEST_UNSET_URL is not set",
		"error: hoist.yaml:5: connections.api.colour: unknown key",
		`error: hoist.yaml:12: syncs[0].destination.primary_key[1]: column "id" is in the primary key twice`,
		"error: hoist.yaml:13: syncs[0].destination.operations.upsert.path: invalid template: unclosed action",
		"error: hoist.yaml:13: syncs[0].destination.operations: mode mirror needs operations.delete",
		`error: hoist.yaml:16: syncs[1].destination.object: object "../x" must be a file name inside the connection's folder`,
		"error: hoist.yaml:17: syncs[1].concurrency: must be at most 1024 (got 100000000)",
		"error: hoist.yaml:18: the spec holds more than one YAML document",
	}
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(lines), len(want), res.stderr)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], w)
		}
	}
}

// TestValidateSyncIgnoresOtherSyncsEnv: --sync NAME does not fail on an unset
// variable of a connection only other syncs use (validate and plan), while
// plain validate still reports it.
func TestValidateSyncIgnoresOtherSyncsEnv(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name\n1,Ann\n"), 0o644)
	writeSpec(t, dir, goodConns+`  wh: {type: postgres, url: "${HOIST_TEST_UNSET_URL}"}
syncs:
  - name: local
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
  - name: warehouse
    source: {connection: wh, table: people}
    destination: {connection: db, object: wh_people, mode: append, create_table: true}
`)
	if res := hoist(t, dir, nil, "validate", "hoist.yaml"); res.code != 1 || !strings.Contains(res.stderr, "hoist.yaml:5: connections.wh.url: environment variable HOIST_TEST_UNSET_URL is not set") {
		t.Fatalf("validate: exit %d\n%s", res.code, res.stderr)
	}
	if res := hoist(t, dir, nil, "validate", "hoist.yaml", "--sync", "local"); res.code != 0 {
		t.Fatalf("validate --sync local: exit %d\n%s", res.code, res.stderr)
	}
	if res := hoist(t, dir, nil, "plan", "hoist.yaml", "--sync", "local", "--output", "json"); res.code != 0 || !strings.Contains(res.stdout, `"added":1`) {
		t.Fatalf("plan --sync local: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := hoist(t, dir, nil, "validate", "hoist.yaml", "--sync", "warehouse"); res.code != 1 || !strings.Contains(res.stderr, "HOIST_TEST_UNSET_URL is not set") {
		t.Fatalf("validate --sync warehouse: exit %d\n%s", res.code, res.stderr)
	}
}

// TestValidateWarnsSharedObject: two syncs writing one table validate, with
// a warning on stderr in the problem format, and in the JSON report.
func TestValidateWarnsSharedObject(t *testing.T) {
	dir := t.TempDir()
	writeSpec(t, dir, goodConns+`syncs:
  - name: a
    source: {connection: src, path: a.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id]}
  - name: b
    source: {connection: src, path: b.csv}
    destination: {connection: db, object: people, mode: mirror, primary_key: [id]}
`)
	res := hoist(t, dir, nil, "validate", "hoist.yaml", "--output", "json")
	want := `warning: hoist.yaml:11: syncs[1].destination.object: sync "b" writes the same object as sync "a" (syncs[0])`
	if res.code != 0 || !strings.HasPrefix(res.stderr, want) {
		t.Fatalf("exit %d\nstderr %s\nwant prefix %s", res.code, res.stderr, want)
	}
	var rep struct {
		Valid    bool     `json:"valid"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || !rep.Valid || len(rep.Warnings) != 1 {
		t.Fatalf("report %q: %v", res.stdout, err)
	}
}

// TestValidateConnectProbesHTTP: --connect sends a request to an http
// connection's base_url; any HTTP answer (a 404 too) is reachable, no answer
// within the connection's timeout or a refused connection is an error
// naming the connection.
func TestValidateConnectProbesHTTP(t *testing.T) {
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/api" && r.Header.Get("Authorization") == "Bearer t0ken" {
			hits.Add(1)
		}
		http.NotFound(w, r)
	}))
	defer up.Close()
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-time.After(10 * time.Second):
		}
	}))
	defer slow.Close()
	defer close(stop)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	tests := []struct {
		name, base, want string
		code             int
	}{
		{"answers 404", up.URL + "/api", "", 0},
		{"no answer in time", slow.URL, "hoist.yaml:4: connections.api: source api: GET " + slow.URL + ": no answer within 300ms", 1},
		{"refused", downURL, "hoist.yaml:4: connections.api: source api: GET " + downURL, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSpec(t, dir, `version: 1
connections:
  out: {type: files, path: ./out, format: jsonl}
  api: {type: http, base_url: "`+tc.base+`", timeout: 300ms, headers: {Authorization: "Bearer t0ken"}}
syncs:
  - name: a
    source: {connection: api, endpoint: /people}
    destination: {connection: out, object: people, mode: append}
`)
			res := hoist(t, dir, nil, "validate", "hoist.yaml", "--connect")
			if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, want %d; stderr:\n%s\nwant %q", res.code, tc.code, res.stderr, tc.want)
			}
			if strings.Contains(res.stderr, "t0ken") {
				t.Fatalf("token in output: %s", res.stderr)
			}
		})
	}
	if hits.Load() != 1 {
		t.Fatalf("reachable server saw %d probes, want 1", hits.Load())
	}
}

// TestValidateConnectSQLiteWritesNothing: --connect never creates a SQLite
// file: a missing destination database is a warning that run will create it,
// a missing source database an error naming it.
func TestValidateConnectSQLiteWritesNothing(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name\n1,Ann\n"), 0o644)
	toSQLite := goodConns + `  old: {type: sqlite, path: ./sub/old.db}
syncs:
  - name: a
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
`
	writeSpec(t, dir, toSQLite)
	res := hoist(t, dir, nil, "validate", "hoist.yaml", "--connect")
	if res.code != 0 || !strings.Contains(res.stderr, "warning: hoist.yaml:4: connections.db: sqlite database "+filepath.Join(dir, "dest.db")+" does not exist yet; run will create it") {
		t.Fatalf("missing destination: exit %d\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "dest.db")); !os.IsNotExist(err) {
		t.Fatalf("validate --connect created dest.db (%v)", err)
	}

	writeSpec(t, dir, goodConns+`  old: {type: sqlite, path: ./sub/old.db}
syncs:
  - name: a
    source: {connection: old, table: people}
    destination: {connection: src, object: people, mode: append}
`)
	res = hoist(t, dir, nil, "validate", "hoist.yaml", "--connect")
	if res.code != 1 || !strings.Contains(res.stderr, "error: hoist.yaml:5: connections.old: open source old: sqlite database "+filepath.Join(dir, "sub", "old.db")+" does not exist") {
		t.Fatalf("missing source: exit %d\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Fatalf("validate --connect created sub/ (%v)", err)
	}

	// An existing database is opened read-only and left as it was.
	writeSpec(t, dir, toSQLite)
	if res := hoist(t, dir, nil, "run", "hoist.yaml"); res.code != 0 {
		t.Fatalf("run: %s", res.stderr)
	}
	before := snapshotDir(t, dir)
	res = hoist(t, dir, nil, "validate", "hoist.yaml", "--connect")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("validate --connect of an existing database: exit %d\n%s", res.code, res.stderr)
	}
	if after := snapshotDir(t, dir); after != before {
		t.Fatalf("validate --connect changed the folder:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshotDir lists every file of dir with its content, to compare.
func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		fmt.Fprintf(&b, "%s:%x ", p, sha256.Sum256(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
