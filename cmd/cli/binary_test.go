package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hoistBin is the hoist binary built once for these tests.
var hoistBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hoist-bin-*")
	if err != nil {
		panic(err)
	}
	hoistBin = filepath.Join(dir, "hoist")
	build := exec.Command("go", "build", "-tags", "minicore_disabled", "-o", hoistBin, "../hoist")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hoist:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func hoist(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(hoistBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestQuickstartTwice runs the README's quickstart with the built binary:
// the first run delivers the 100k customers, the second nothing (cursor).
func TestQuickstartTwice(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "../../testdata/quickstart/hoist.yaml", filepath.Join(dir, "hoist.yaml"))
	copyFile(t, "../../testdata/quickstart/customers.parquet", filepath.Join(dir, "customers.parquet"))
	type report struct {
		Status    string `json:"status"`
		RowsRead  int64  `json:"rows_read"`
		Delivered int64  `json:"delivered"`
	}
	for i, want := range []int64{100000, 0} {
		res := hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
		if res.code != 0 {
			t.Fatalf("run %d: exit %d: %s", i+1, res.code, res.stderr)
		}
		var rep report
		if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
			t.Fatalf("run %d: report %q: %v", i+1, res.stdout, err)
		}
		if rep.Status != "ok" || rep.Delivered != want {
			t.Fatalf("run %d: %+v, want %d delivered", i+1, rep, want)
		}
	}
	plan := hoist(t, dir, nil, "plan", "hoist.yaml", "--detailed-exitcode")
	if plan.code != 0 || !strings.Contains(plan.stdout, "+ 0 to add, ~ 0 to change, - 0 to remove") {
		t.Fatalf("plan after two runs: exit %d\n%s%s", plan.code, plan.stdout, plan.stderr)
	}
}

const goodConns = `version: 1
connections:
  src: {type: files, path: ., format: csv}
  db: {type: sqlite, path: ./dest.db}
`

// TestBadInput: every kind of bad input ends with exit 1 and a message that
// names the file and line and field (or row), never a panic, and no state.
func TestBadInput(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := "id,name\n1,Ann\n2,Bob\n"
	tests := []struct {
		name  string
		spec  string
		csv   string
		want  []string
		state bool // whether .hoist may hold state afterwards (never moved)
	}{
		{
			name: "typo'd key",
			spec: goodConns + `syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destinaton: {connection: db, object: people, mode: upsert, primary_key: [id]}
`,
			csv:  good,
			want: []string{"hoist.yaml:8: syncs[0].destinaton: unknown key (did you mean \"destination\"?)"},
		},
		{
			name: "missing env var",
			spec: `version: 1
connections:
  wh:
    type: postgres
    url: ${HOIST_TEST_UNSET_URL}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: people
    source: {connection: wh, table: people}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id]}
`,
			want: []string{"hoist.yaml:5: connections.wh.url: environment variable HOIST_TEST_UNSET_URL is not set"},
		},
		{
			name: "unknown connection",
			spec: goodConns + `syncs:
  - name: people
    source: {connection: warehouse, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id]}
`,
			csv:  good,
			want: []string{"hoist.yaml:7: syncs[0].source.connection: unknown connection \"warehouse\" (defined: db, src)"},
		},
		{
			name: "mode needs a primary key",
			spec: goodConns + `syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination:
      connection: db
      object: people
      mode: mirror
`,
			csv:  good,
			want: []string{"hoist.yaml:9: syncs[0].destination.primary_key: mode mirror needs a primary_key"},
		},
		{
			name: "csv with a ragged row",
			spec: goodConns + `syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
`,
			csv:  "id,name\n1,Ann\n2,Bob,extra\n3,Cy\n",
			want: []string{"people.csv: row 2 (line 3): expected 2 fields, got 3"},
		},
		{
			name: "non-UTF-8 file",
			spec: goodConns + `syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
`,
			csv:  "id,name\n1,Ann\n2,B\xffb\n",
			want: []string{"people.csv: row 2 (line 3): column name: invalid UTF-8"},
		},
		{
			name: "unwritable state folder",
			spec: "state: file://" + filepath.Join(blocker, "state") + "\n" + goodConns + `syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}
`,
			csv:  good,
			want: []string{filepath.Join(blocker, "state")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(tc.spec), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.csv != "" {
				if err := os.WriteFile(filepath.Join(dir, "people.csv"), []byte(tc.csv), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, cmd := range []string{"validate", "run"} {
				res := hoist(t, dir, nil, cmd, "hoist.yaml")
				if strings.Contains(res.stderr, "panic") || strings.Contains(res.stderr, "goroutine ") {
					t.Fatalf("%s panicked:\n%s", cmd, res.stderr)
				}
				if cmd == "validate" && res.code == 0 {
					continue // data problems show only when rows are read
				}
				if res.code != 1 {
					t.Fatalf("%s: exit %d, want 1\nstdout: %s\nstderr: %s", cmd, res.code, res.stdout, res.stderr)
				}
				out := res.stdout + res.stderr
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Fatalf("%s: output lacks %q:\n%s", cmd, w, out)
					}
				}
			}
			// No state moved: no cursor and no snapshot were committed.
			show := hoist(t, dir, nil, "state", "show", "hoist.yaml", "--output", "json")
			if show.code == 0 && (strings.Contains(show.stdout, `"cursor"`) || !strings.Contains(show.stdout, `"snapshot_rows":0`)) {
				t.Fatalf("state moved: %s", show.stdout)
			}
		})
	}
}
