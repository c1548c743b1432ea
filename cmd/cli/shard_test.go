package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/pgtest"
)

// shardSpec is a Postgres → Postgres sync of src into object, its state in
// schema <test>_<state>: the sharded syncs and the unsharded reference each
// keep their own.
func shardSpec(db *pgtest.DB, mode, object, stateSchema string, batch int) string {
	return fmt.Sprintf(`version: 1
state: %s&hoist_schema=%s_%s
connections:
  pg: {type: postgres, url: "%s"}
syncs:
  - name: copy
    source: {connection: pg, table: %s.src}
    destination: {connection: pg, object: %s.%s, mode: %s, primary_key: [id], create_table: true}
    batch_size: %d
    concurrency: 2
`, db.URL, db.Schema, stateSchema, db.URL, db.Schema, db.Schema, object, mode, batch)
}

// shardRun is one hoist process's result and its report.
type shardRun struct {
	result
	rep struct {
		Status    string `json:"status"`
		Shard     string `json:"shard"`
		RowsRead  int64  `json:"rows_read"`
		Delivered int64  `json:"delivered"`
		Removed   int64  `json:"removed"`
	}
}

func runHoist(t *testing.T, dir string, args ...string) shardRun {
	t.Helper()
	var r shardRun
	r.result = hoist(t, dir, nil, append([]string{"run", "hoist.yaml", "--output", "json"}, args...)...)
	if line, _, _ := strings.Cut(r.stdout, "\n"); line != "" {
		if err := json.Unmarshal([]byte(line), &r.rep); err != nil {
			t.Fatalf("report %q: %v", line, err)
		}
	}
	return r
}

// runShards starts the n shard processes together and waits for all.
func runShards(t *testing.T, dir string, n int, extra ...string) []shardRun {
	t.Helper()
	out := make([]shardRun, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = runHoist(t, dir, append([]string{"--shard", fmt.Sprintf("%d/%d", i, n)}, extra...)...)
		}()
	}
	wg.Wait()
	for i, r := range out {
		if r.code != 0 || r.rep.Shard != fmt.Sprintf("%d/%d", i, n) {
			t.Fatalf("shard %d/%d: exit %d, report %+v\n%s", i, n, r.code, r.rep, r.stderr)
		}
	}
	return out
}

// sameTables fails unless a and b hold the same rows.
func sameTables(t *testing.T, db *pgtest.DB, a, b string) {
	t.Helper()
	diff := db.Strings(t, fmt.Sprintf(`SELECT count(*)::text FROM (
		(SELECT * FROM %[1]s EXCEPT ALL SELECT * FROM %[2]s) UNION ALL (SELECT * FROM %[2]s EXCEPT ALL SELECT * FROM %[1]s)) d`, a, b))
	if diff[0] != "0" {
		t.Fatalf("%s and %s differ in %s rows", a, b, diff[0])
	}
}

// inShard is the SQL that keeps the ids of shard i of n, written out here
// as docs/spec.md gives it, not taken from hoist.
func inShard(i, n int) string {
	return fmt.Sprintf(`(('x' || substr(md5(id::text), 1, 8))::bit(32)::bigint %% %d) = %d`, n, i)
}

// TestIntegrationPostgresShards runs four shard processes of one sync at
// once on one postgres state store, and one unsharded reference run of the
// same source into another table: after a first load, after edits, after a
// shard killed mid-run and rerun alone, and after the count changes from 4
// to 2, the sharded destination equals the reference (and the source).
func TestIntegrationPostgresShards(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, mode := range []string{"upsert", "mirror"} {
		t.Run(mode, func(t *testing.T) {
			db := pgtest.New(t)
			pgSource(t, db, 20000)
			dir, refDir := t.TempDir(), t.TempDir()
			os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(shardSpec(db, mode, "dst", "state", 200)), 0o644)
			os.WriteFile(filepath.Join(refDir, "hoist.yaml"), []byte(shardSpec(db, mode, "ref", "refstate", 1000)), 0o644)
			// the state schema exists before four processes race to make it
			if res := hoist(t, dir, nil, "state", "show", "hoist.yaml"); res.code != 0 {
				t.Fatalf("state show: %s", res.stderr)
			}
			reference := func() shardRun {
				r := runHoist(t, refDir)
				if r.code != 0 {
					t.Fatalf("reference run: exit %d %s", r.code, r.stderr)
				}
				sameTables(t, db, "dst", "ref")
				if mode == "mirror" {
					sameTables(t, db, "dst", "src")
				}
				return r
			}
			edit := func(round int) {
				db.Exec(t, fmt.Sprintf(`UPDATE src SET email = email || '+%d' WHERE id %% 13 = %d`, round, round),
					fmt.Sprintf(`INSERT INTO src SELECT g, 'new'||g||'@example.com', g, true, now(), '{}' FROM generate_series(%d, %d) g`, 100000*round, 100000*round+499))
				if mode == "mirror" {
					db.Exec(t, fmt.Sprintf(`DELETE FROM src WHERE id %% 17 = %d`, round))
				}
			}

			// first load: each shard sends its part only
			runs := runShards(t, dir, 4)
			var read int64
			for _, r := range runs {
				if r.rep.RowsRead < 4000 || r.rep.RowsRead > 6000 {
					t.Fatalf("shard %s read %d of 20000 rows", r.rep.Shard, r.rep.RowsRead)
				}
				read += r.rep.RowsRead
			}
			if read != 20000 {
				t.Fatalf("the shards read %d rows, want 20000", read)
			}
			ref := reference()

			// edits: the shards send exactly the changes the reference sends,
			// and each shard's plan says what its run then sends
			edit(1)
			var planned [4]int64
			for i := range 4 {
				res := hoist(t, dir, nil, "plan", "hoist.yaml", "--output", "json", "--shard", fmt.Sprintf("%d/4", i))
				var p struct{ Added, Changed, Removed int64 }
				if err := json.Unmarshal([]byte(res.stdout), &p); res.code != 0 || err != nil {
					t.Fatalf("plan --shard %d/4: exit %d %v %s", i, res.code, err, res.stderr)
				}
				planned[i] = p.Added + p.Changed + p.Removed
			}
			runs = runShards(t, dir, 4)
			for i, r := range runs {
				if r.rep.Delivered != planned[i] {
					t.Fatalf("shard %d: planned %d changes, delivered %d", i, planned[i], r.rep.Delivered)
				}
			}
			ref = reference()
			var delivered int64
			for _, r := range runs {
				delivered += r.rep.Delivered
			}
			if delivered != ref.rep.Delivered || delivered == 0 {
				t.Fatalf("the shards delivered %d, the reference %d", delivered, ref.rep.Delivered)
			}

			// shard 2 killed mid-run, the others finish; shard 2 alone ends it
			edit(2)
			db.Exec(t, `UPDATE src SET amount = amount + 1 WHERE `+inShard(2, 4))
			want := db.Strings(t, `SELECT count(*)::text FROM src WHERE `+inShard(2, 4))[0]
			cmd := exec.Command(hoistBin, "run", "hoist.yaml", "--shard", "2/4", "--concurrency", "1")
			cmd.Dir = dir
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				var landed int
				db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM dst d JOIN src s USING (id) WHERE d.amount = s.amount AND `+inShard(2, 4)).Scan(&landed)
				if landed >= 400 {
					if fmt.Sprint(landed) == want {
						break // finished first
					}
					cmd.Process.Signal(syscall.SIGKILL)
					killed = true
					break
				}
			}
			cmd.Wait()
			if !killed {
				t.Fatal("could not kill shard 2 mid-run")
			}
			for _, i := range []int{0, 1, 3} {
				if r := runHoist(t, dir, "--shard", fmt.Sprintf("%d/4", i)); r.code != 0 {
					t.Fatalf("shard %d: %s", i, r.stderr)
				}
			}
			rerun := runHoist(t, dir, "--shard", "2/4")
			// the rerun reads shard 2's rows only: the other shards' state is theirs
			if rerun.code != 0 || fmt.Sprint(rerun.rep.RowsRead) != want || rerun.rep.Delivered == 0 {
				t.Fatalf("shard 2 rerun: exit %d, read %d and delivered %d, want %s read\n%s", rerun.code, rerun.rep.RowsRead, rerun.rep.Delivered, want, rerun.stderr)
			}
			reference()

			// 4 → 2: refused, naming both layouts and the ways out
			refused := runHoist(t, dir, "--shard", "0/2")
			if refused.code != 1 || !strings.Contains(refused.stdout+refused.stderr, "shard 0 of 4") ||
				!strings.Contains(refused.stdout+refused.stderr, "shard 0 of 2") || !strings.Contains(refused.stdout+refused.stderr, "--reshard") {
				t.Fatalf("4 → 2 without --reshard: exit %d %s %s", refused.code, refused.stdout, refused.stderr)
			}
			if r := runHoist(t, dir); r.code != 1 || !strings.Contains(r.stdout+r.stderr, "unsharded") {
				t.Fatalf("4 → unsharded without --reshard: exit %d %s %s", r.code, r.stdout, r.stderr)
			}
			edit(3)
			runShards(t, dir, 2, "--reshard")
			reference()
			// the old layout's shards 2 and 3 are forgotten; 2 shards go on as usual
			show := hoist(t, dir, nil, "state", "show", "hoist.yaml", "--output", "json")
			if strings.Contains(show.stdout, `"shard":"2/4"`) || strings.Contains(show.stdout, `"shard":"3/4"`) || !strings.Contains(show.stdout, `"shard":"1/2"`) {
				t.Fatalf("state after --reshard:\n%s", show.stdout)
			}
			edit(4)
			runs = runShards(t, dir, 2)
			ref = reference()
			if runs[0].rep.Delivered+runs[1].rep.Delivered != ref.rep.Delivered {
				t.Fatalf("after the reshard the shards delivered %d+%d, the reference %d", runs[0].rep.Delivered, runs[1].rep.Delivered, ref.rep.Delivered)
			}
		})
	}
}

// TestIntegrationWarehouseStateShow: state show names the diff engine.
func TestIntegrationWarehouseStateShow(t *testing.T) {
	db := pgtest.New(t)
	pgSource(t, db, 100)
	dir := t.TempDir()
	spec := strings.Replace(pgSpec(db, "mirror"), "    batch_size: 1000\n", "    diff: warehouse\n    batch_size: 1000\n", 1)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(spec), 0o644)
	if r := runHoist(t, dir); r.code != 0 || r.rep.Delivered != 100 {
		t.Fatalf("run: exit %d %+v %s", r.code, r.rep, r.stderr)
	}
	show := hoist(t, dir, nil, "state", "show", "hoist.yaml")
	if !strings.Contains(show.stdout, "diff:     warehouse (snapshot in the source database, schema hoist_diff)") {
		t.Fatalf("state show:\n%s", show.stdout)
	}
	if r := runHoist(t, dir); r.code != 0 || r.rep.RowsRead != 0 {
		t.Fatalf("rerun read %d rows, want 0: %s", r.rep.RowsRead, r.stderr)
	}
}
