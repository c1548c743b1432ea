package cli_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/pgtest"
)

// updateDest is a destination the update-mode test can seed and read back
// by hand, as a user would.
type updateDest struct {
	name string
	open func(t *testing.T, dir string) updateTarget
}

type updateTarget struct {
	head   string // spec lines after "version: 1": state, the "dest" connection
	object string
	// put replaces the destination's content with rows "id,name".
	put func(rows ...string)
	// dump returns its rows "id,name" in id order, joined by spaces.
	dump func() string
}

var updateDests = []updateDest{
	{name: "sqlite", open: func(t *testing.T, dir string) updateTarget {
		db := openSQLite(t, dir)
		t.Cleanup(func() { db.Close() })
		return updateTarget{
			head:   "connections:\n  dest: {type: sqlite, path: ./dest.db}\n",
			object: "people",
			put: func(rows ...string) {
				sqlExec(t, db, "CREATE TABLE IF NOT EXISTS people (id INTEGER PRIMARY KEY, name TEXT)", "DELETE FROM people")
				for _, r := range rows {
					id, name, _ := strings.Cut(r, ",")
					sqlExec(t, db, "INSERT INTO people VALUES ("+id+", '"+name+"')")
				}
			},
			dump: func() string { return sqlDump(t, db, "SELECT id || ',' || name FROM people ORDER BY id") },
		}
	}},
	{name: "postgres", open: func(t *testing.T, dir string) updateTarget {
		// state in the same database: the last batch and the state commit
		// share a transaction
		db := pgtest.New(t)
		return updateTarget{
			head:   fmt.Sprintf("state: %s&hoist_schema=%s_state\nconnections:\n  dest: {type: postgres, url: %q}\n", db.URL, db.Schema, db.URL),
			object: db.Schema + ".people",
			put: func(rows ...string) {
				db.Exec(t, "CREATE TABLE IF NOT EXISTS people (id bigint PRIMARY KEY, name text)", "DELETE FROM people")
				for _, r := range rows {
					id, name, _ := strings.Cut(r, ",")
					db.Exec(t, "INSERT INTO people VALUES ("+id+", '"+name+"')")
				}
			},
			dump: func() string {
				return strings.Join(db.Strings(t, "SELECT id || ',' || name FROM people ORDER BY id"), " ")
			},
		}
	}},
	{
		// the files destination learns what it holds only when it merges,
		// after the last batch
		name: "files", open: func(t *testing.T, dir string) updateTarget {
			path := filepath.Join(dir, "out", "people.csv")
			return updateTarget{
				head:   "connections:\n  dest: {type: files, path: ./out, format: csv}\n",
				object: "people",
				put: func(rows ...string) {
					os.MkdirAll(filepath.Dir(path), 0o755)
					if err := os.WriteFile(path, []byte("id,name\n"+strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				dump: func() string {
					b, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					lines := strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
					slices.Sort(lines) // merged rows move to the end; ids are single digits
					return strings.Join(lines, " ")
				},
			}
		}},
}

func sqlExec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func sqlDump(t *testing.T, db *sql.DB, query string) string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}

func openSQLite(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

type updateReport struct {
	Status    string `json:"status"`
	Added     int64  `json:"added"`
	Delivered int64  `json:"delivered"`
	Rejected  int64  `json:"rejected"`
	NotHeld   *int64 `json:"not_held"`
}

// updateRun runs the spec and checks the JSON report's delivered and
// not_held counts (the field must be there, 0 included).
func updateRun(t *testing.T, dir, step string, delivered, notHeld int64) {
	t.Helper()
	res := hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
	var rep updateReport
	if err := json.Unmarshal([]byte(strings.TrimSpace(res.stdout)), &rep); err != nil {
		t.Fatalf("%s: exit %d, report %q: %v\n%s", step, res.code, res.stdout, err, res.stderr)
	}
	if res.code != 0 || rep.Status != "ok" || rep.Rejected != 0 || rep.NotHeld == nil || rep.Delivered != delivered || *rep.NotHeld != notHeld {
		t.Fatalf("%s: exit %d, report %s; want status ok, %d delivered, %d not held\n%s", step, res.code, res.stdout, delivered, notHeld, res.stderr)
	}
}

func snapshotRows(t *testing.T, dir, want string) {
	t.Helper()
	show := hoist(t, dir, nil, "state", "show", "hoist.yaml")
	if !strings.Contains(show.stdout, "snapshot: "+want+" rows") {
		t.Fatalf("state show, want a snapshot of %s rows:\n%s%s", want, show.stdout, show.stderr)
	}
}

// TestUpdateModeCountsRowsNotHeld (issue 10, item 7): in update mode a row
// whose key the destination lacks is left alone, and the run says so
// ("not_held") instead of counting it delivered; it stays out of the
// snapshot, so once the destination gains the key, the row is updated
// (without a cursor: by the next run; with one: once the row changes,
// since the cursor passed it). Before, the row counted as delivered, went
// into the snapshot, and was never tried again.
func TestUpdateModeCountsRowsNotHeld(t *testing.T) {
	for _, d := range updateDests {
		for _, cursor := range []bool{false, true} {
			name := d.name + "/no cursor"
			src := "{connection: src, path: people.csv}"
			if cursor {
				name, src = d.name+"/cursor", "{connection: src, path: people.csv, cursor: at}"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				d := d.open(t, dir)
				os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte("version: 1\n"+d.head+`  src: {type: files, path: ., format: csv}
syncs:
  - name: people
    source: `+src+`
    destination: {connection: dest, object: `+d.object+`, mode: update, primary_key: [id]}
    mappings:
      - {from: id, to: id}
      - {from: name, to: name}
`), 0o644)
				os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name,at\n1,ann,10\n2,bob,20\n3,cy,30\n"), 0o644)
				d.put("1,old", "2,bob")

				updateRun(t, dir, "first run", 2, 1)
				if got := d.dump(); got != "1,ann 2,bob" {
					t.Fatalf("destination after the first run: %q, want key 3 left out", got)
				}
				snapshotRows(t, dir, "2")
				if !cursor {
					// offered again, and again not held; the text summary says so
					res := hoist(t, dir, nil, "run", "hoist.yaml")
					if res.code != 0 || !strings.Contains(res.stdout, "0 delivered, 0 rejected, 1 not held in") {
						t.Fatalf("second run: exit %d\n%s%s", res.code, res.stdout, res.stderr)
					}
				}

				d.put("1,ann", "2,bob", "3,hand")
				if cursor {
					// the cursor passed row 3: it is offered once it changes
					updateRun(t, dir, "run after the key appeared", 0, 0)
					os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,name,at\n1,ann,10\n2,bob,20\n3,cyd,40\n"), 0o644)
				}
				want := map[bool]string{false: "3,cy", true: "3,cyd"}[cursor]
				plan := hoist(t, dir, nil, "plan", "hoist.yaml", "--output", "json")
				if !strings.Contains(plan.stdout, `"added":1`) {
					t.Fatalf("plan before the update of key 3: %s%s", plan.stdout, plan.stderr)
				}
				updateRun(t, dir, "run once the destination holds key 3", 1, 0)
				if got := d.dump(); got != "1,ann 2,bob "+want {
					t.Fatalf("destination: %q, want key 3 updated to %s", got, want)
				}
				snapshotRows(t, dir, "3")
				updateRun(t, dir, "rerun", 0, 0)
			})
		}
	}
}
